"""The interfaces the loop is written against: the model it talks to and the stream it reads.

They are protocols, not base classes: the HTTP-backed model, the offline model and a scripted
model satisfy :class:`Model` structurally, so the loop never imports an HTTP library. What
one run reads of an agent is a concrete frozen snapshot, :class:`agentloop.runspec.RunSpec`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pluggy

    from agentloop.deltas import StreamEvent
    from agentloop.messages import ChatResponse

__all__ = ["AgentView", "ChatStreamLike", "Model", "is_loaded_instance"]


class ChatStreamLike(Protocol):
    """An iterable of stream events; ``.response`` is the assembled response afterwards."""

    def __iter__(self) -> Iterator[StreamEvent]: ...

    @property
    def response(self) -> ChatResponse: ...

    def close(self) -> None: ...


@runtime_checkable
class Model(Protocol):
    """What the loop talks to: the HTTP-backed model, the offline model, a scripted model.

    ``messages`` are wire-format dicts; ``params`` are chat-completions body
    parameters (``tools``, ``tool_choice``, ``temperature``, ...), only those set.
    Both are read-only for the model: they may share objects with the run's transcript
    (the loop copies them only when a plugin may change a request), so a model that needs
    to change a message builds a new one.
    """

    @property
    def name(self) -> str: ...

    def create(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatResponse: ...

    def stream(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatStreamLike: ...


@runtime_checkable
class AgentView(Protocol):
    """An agent as plugins see it (``agentloop_tools(agent)``, ``context.agent``): an Agent.

    Typed as a protocol so the hook specifications need not import the agent (which
    imports the plugins); :class:`~agentloop.Agent` is the one implementation.
    """

    name: str
    model: Model

    @property
    def plugin_manager(self) -> pluggy.PluginManager: ...

    @property
    def hook(self) -> Any: ...


def is_loaded_instance(value: object, module: str, name: str) -> bool:
    """Whether ``value`` is an instance of ``module.name``, without importing ``module``.

    If the module was never imported, nothing can be an instance of its classes; asking
    this way keeps the loop and the agent from importing the HTTP stack (``requests``).
    """
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None) if loaded is not None else None
    return cls is not None and isinstance(value, cls)
