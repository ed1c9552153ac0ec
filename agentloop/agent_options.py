"""What ``Agent(...)`` and ``Agent.run(...)`` accept: checked and normalized before any run.

Every check here fails at construction (or at the start of ``run``) with a
:class:`~agentloop.ConfigurationError` that names the argument and what it takes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConfigurationError
from agentloop.loop.state import _copy_json as copy_json
from agentloop.messages import Message

if TYPE_CHECKING:
    from agentloop.protocols import Model
    from agentloop.tools import Tool

__all__ = [
    "DEFAULT_TOOL_TIMEOUT",
    "Prompt",
    "as_tool",
    "check_limits",
    "initial_messages",
    "normalize_tool_choice",
    "resolve_model_arg",
]

Prompt = str | Mapping[str, Any] | Message | Sequence[Mapping[str, Any] | Message]
_KEYWORD_CHOICES = ("auto", "none", "required")
_COUNTS = (
    "max_steps",
    "max_parallel_tools",
    "max_tool_retries",
    "output_retries",
    "max_repeated_calls",
    "max_result_chars",
    "max_tokens_total",
    "max_tool_calls_per_turn",
    "max_context_tokens",
)
_OPTIONAL_COUNTS = (
    "max_repeated_calls",
    "max_result_chars",
    "max_tokens_total",
    "max_tool_calls_per_turn",
    "max_context_tokens",
)
DEFAULT_TOOL_TIMEOUT = 300.0
"""Seconds a tool call may take when neither the tool nor the agent says (``None`` opts out)."""


def resolve_model_arg(model: Any, *, base_url: str | None, api_key: str | None) -> Model:
    """A model string resolved with its provider, or a model object checked for create/stream."""
    if isinstance(model, str):
        from agentloop.providers.registry import resolve_model

        return resolve_model(model, base_url=base_url, api_key=api_key)
    client_module = sys.modules.get("agentloop.client.chat")  # never import requests from here
    if client_module is not None and isinstance(model, client_module.ChatClient):
        raise ConfigurationError(
            "a ChatClient needs a model name: pass ChatModel(client, 'MODEL') "
            "(from agentloop import ChatModel) or a model string such as 'local:MODEL'"
        )
    if not callable(getattr(model, "create", None)) or not callable(getattr(model, "stream", None)):
        raise ConfigurationError(
            f"model must be a model string or an object with create() and stream(), got {model!r}"
        )
    return model  # type: ignore[no-any-return]


def check_limits(agent: Any) -> None:
    """Raise ConfigurationError for a limit out of range (None means "no limit" where allowed)."""
    for name in _COUNTS:
        least = 0 if name.endswith("_retries") else 1
        _check_count(name, getattr(agent, name), least, optional=name in _OPTIONAL_COUNTS)
    tool_timeout = agent.tool_timeout
    if tool_timeout is not None and not (
        isinstance(tool_timeout, (int, float))
        and not isinstance(tool_timeout, bool)
        and tool_timeout > 0
    ):
        raise ConfigurationError(
            f"tool_timeout must be a positive number of seconds or None, got {tool_timeout!r}"
        )


def _check_count(name: str, value: Any, least: int, *, optional: bool) -> None:
    """Raise ConfigurationError unless ``value`` is an int >= ``least`` (or None if optional)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        allowed = " or None" if optional else ""
        raise ConfigurationError(f"{name} must be an integer >= {least}{allowed}, got {value!r}")


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
