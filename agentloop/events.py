"""Run events: what ``Agent.stream`` yields and ``agentloop_stream_event`` receives, in order.

A run produces, per model call, its :class:`~agentloop.TextDelta` events (one
per fragment when streaming, one with the whole text otherwise), then a
:class:`StepFinished` for the model call; then for each tool call a
:class:`ToolCallStarted`, a :class:`ToolCallFinished` and a
:class:`StepFinished`; and last a single :class:`RunFinished`.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentloop.deltas import TextDelta
from agentloop.messages import ToolCall, ToolResult
from agentloop.result import RunResult, Step

__all__ = [
    "RunEvent",
    "RunFinished",
    "StepFinished",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallStarted",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallStarted:
    """The loop is about to handle a tool call (validation, hooks, then the tool).

    Attributes:
        call: The model's call.
        tool_name: The name called (may be unknown to the agent).
    """

    call: ToolCall
    tool_name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallFinished:
    """A tool call has its result (success, error, denial, timeout or cancellation).

    Attributes:
        call: The model's call.
        result: What the model is sent (``result.is_error`` / ``result.status``).
        duration: Seconds from start to result.
    """

    call: ToolCall
    result: ToolResult
    duration: float


@dataclass(frozen=True, kw_only=True, slots=True)
class StepFinished:
    """A model call or a tool call finished; ``step`` is its record in ``RunResult.steps``.

    Attributes:
        step: The step record.
        kind: ``"model"`` or ``"tool"`` (same as ``step.kind``).
    """

    step: Step
    kind: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RunFinished:
    """The run ended with an answer; always the last event of a successful run.

    Attributes:
        result: The complete :class:`~agentloop.RunResult`.
    """

    result: RunResult


RunEvent = TextDelta | ToolCallStarted | ToolCallFinished | StepFinished | RunFinished
