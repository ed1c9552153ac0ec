"""Stream events: what a model's stream yields as chunks arrive (text, refusal, tool-call and usage deltas).

``ChatStream`` and every model's ``stream()`` yield these; the loop turns the text ones into run
events. :class:`~agentloop.messages.ChatResponse` is what they assemble into.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentloop.messages import Usage

__all__ = ["FinishEvent", "RefusalDelta", "StreamEvent", "TextDelta", "ToolCallDelta", "UsageEvent"]


@dataclass(frozen=True, kw_only=True, slots=True)
class TextDelta:
    """A fragment of the assistant's text, yielded as soon as it arrives."""

    delta: str
    choice_index: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class RefusalDelta:
    """A fragment of a structured-output refusal."""

    delta: str
    choice_index: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call.

    Attributes:
        index: Position of the call in the assembled ``tool_calls`` (after the
            fallback for servers that send no ``index``).
        id: The call id, on the fragment that first carries it, else None.
        name: The tool name, on the fragment that first carries it, else None.
        arguments_delta: The piece of the arguments' JSON text in this fragment.
        choice_index: The choice this call belongs to.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments_delta: str = ""
    choice_index: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class UsageEvent:
    """Token counts reported mid-stream (the last one wins)."""

    usage: Usage


@dataclass(frozen=True, kw_only=True, slots=True)
class FinishEvent:
    """A choice finished, with its normalized finish reason."""

    finish_reason: str | None
    choice_index: int = 0


StreamEvent = TextDelta | RefusalDelta | ToolCallDelta | UsageEvent | FinishEvent
