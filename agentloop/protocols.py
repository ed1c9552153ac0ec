"""The interfaces the loop is written against: a model it talks to, and the agent settings it reads.

They are protocols, not base classes: the HTTP-backed model, the offline model and a scripted
model satisfy :class:`Model` structurally, and :class:`~agentloop.Agent` satisfies
:class:`RunSpec`, so the loop never imports the agent or an HTTP library.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pluggy

    from agentloop.deltas import StreamEvent
    from agentloop.messages import ChatResponse

__all__ = ["ChatStreamLike", "Model", "RunSpec"]


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


class RunSpec(Protocol):
    """The settings of an agent that one run reads (what :class:`~agentloop.Agent` provides)."""

    model: Model
    model_settings: Mapping[str, Any]
    tool_choice: Any
    reset_tool_choice: bool
    max_steps: int
    max_parallel_tools: int
    max_repeated_calls: int | None
    max_tool_calls_per_turn: int | None
    max_result_chars: int | None
    max_tokens_total: int | None
    max_tool_retries: int
    output_retries: int
    tool_timeout: float | None
    output_spec: Any  # agentloop.loop.output.OutputSpec (the loop owns that type)

    @property
    def plugin_manager(self) -> pluggy.PluginManager: ...

    @property
    def hook(self) -> Any: ...
