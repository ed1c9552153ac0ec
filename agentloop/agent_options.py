"""What ``Agent(...)`` and ``Agent.run(...)`` accept: checked and normalized before any run.

Every check here fails at construction (or at the start of ``run``) with a
:class:`~agentloop.ConfigurationError` that names the option and what it takes.
The limits of a run are a :class:`~agentloop.runspec.RunLimits`, which checks itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConfigurationError
from agentloop.jsondata import copy_json
from agentloop.messages import Message
from agentloop.protocols import is_loaded_instance
from agentloop.runspec import DEFAULT_TOOL_TIMEOUT, LIMIT_NAMES, RunLimits

if TYPE_CHECKING:
    from agentloop.protocols import Model
    from agentloop.tools import Tool

__all__ = [
    "DEFAULT_TOOL_TIMEOUT",
    "Prompt",
    "as_tool",
    "initial_messages",
    "limits_from",
    "normalize_tool_choice",
    "resolve_model_arg",
]

Prompt = str | Mapping[str, Any] | Message | Sequence[Mapping[str, Any] | Message]
_KEYWORD_CHOICES = ("auto", "none", "required")
_DEFAULTS = RunLimits()


def limits_from(limits: RunLimits | None, options: Mapping[str, Any]) -> RunLimits:
    """The run's limits: ``limits`` if given, else built from the keyword arguments.

    Raises:
        ConfigurationError: A limit is out of range, or both ``limits=`` and a limit
            keyword different from its default were given.
    """
    if limits is None:
        return RunLimits(**{name: options[name] for name in LIMIT_NAMES})
    if not isinstance(limits, RunLimits):
        raise ConfigurationError(f"limits must be a RunLimits, got {limits!r}")
    both = [n for n in LIMIT_NAMES if options[n] != getattr(_DEFAULTS, n)]
    if both:
        raise ConfigurationError(
            f"pass either limits=RunLimits(...) or {', '.join(both)}=..., not both "
            f"(put {both[0]} into the RunLimits)"
        )
    return limits


def resolve_model_arg(model: Any, *, base_url: str | None, api_key: str | None) -> Model:
    """A model string resolved with its provider, or a model object checked for create/stream."""
    if isinstance(model, str):
        from agentloop.providers.registry import resolve_model

        return resolve_model(model, base_url=base_url, api_key=api_key)
    if is_loaded_instance(model, "agentloop.client.chat", "ChatClient"):
        raise ConfigurationError(
            "a ChatClient needs a model name: pass ChatModel(client, 'MODEL') "
            "(from agentloop import ChatModel) or a model string such as 'local:MODEL'"
        )
    if not callable(getattr(model, "create", None)) or not callable(getattr(model, "stream", None)):
        raise ConfigurationError(
            f"model must be a model string or an object with create() and stream(), got {model!r}"
        )
    return model  # type: ignore[no-any-return]


def as_tool(value: Any) -> Tool:
    """A ``tools=[...]`` entry as a Tool: a Tool, a function (``@tool``), or an Agent."""
    from agentloop.tools import Tool, tool

    if isinstance(value, Tool):
        return value
    if callable(getattr(value, "as_tool", None)) and hasattr(value, "plugin_manager"):
        return value.as_tool()  # an Agent: run as a sub-agent
    if callable(value):
        return tool(value)
    raise ConfigurationError(
        f"tools=[...] takes @tool objects, functions or tool names, got {value!r}"
    )


def normalize_tool_choice(choice: Any) -> Any:
    """``tool_choice`` in its wire form: a keyword, a dict, or a tool name made a dict."""
    if choice is None or isinstance(choice, Mapping):
        return dict(choice) if choice is not None else None
    if not isinstance(choice, str) or not choice:
        raise ConfigurationError(f"tool_choice must be a string or a dict, got {choice!r}")
    if choice in _KEYWORD_CHOICES:
        return choice
    return {"type": "function", "function": {"name": choice}}


def _wire(message: Mapping[str, Any] | Message) -> dict[str, Any]:
    if isinstance(message, Message):
        return message.to_dict()
    if not isinstance(message, Mapping) or "role" not in message:
        raise ConfigurationError(f"a message must be a dict with a 'role', got {message!r}")
    return copy_json(dict(message))  # type: ignore[no-any-return]


def initial_messages(
    instructions: str | None, prompt: Prompt, history: Iterable[Any] | None
) -> list[dict[str, Any]]:
    """System message (unless the history already starts with it), history, then the prompt."""
    messages = [_wire(m) for m in history or ()]
    if isinstance(prompt, str):
        messages.append({"role": "user", "content": prompt})
    elif isinstance(prompt, (Mapping, Message)):
        messages.append(_wire(prompt))
    else:
        messages.extend(_wire(m) for m in prompt)
    if instructions is not None:
        first = messages[0] if messages else {}
        if not (first.get("role") == "system" and first.get("content") == instructions):
            messages.insert(0, {"role": "system", "content": instructions})
    return messages
