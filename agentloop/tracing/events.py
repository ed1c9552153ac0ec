"""The trace event: one versioned JSON object per fact of a run (the unit of every run record).

A run's trace is a sequence of events, in the order they happened, each one line of JSONL::

    {"v": 1, "type": "model_response", "run_id": "9f...", "seq": 3, "time": 1767225600.12, ...}

The envelope keys are ``v`` (the format version, :data:`TRACE_VERSION`), ``type``, ``run_id``,
``seq`` (0, 1, 2, ... within the run) and ``time`` (Unix seconds). The other keys depend on the
type; they are documented in ``docs/seeing-runs.md`` and summarised in :data:`EVENT_FIELDS`.
Readers must ignore keys they do not know (new optional keys do not change the version); a
change that removes or redefines a key increments :data:`TRACE_VERSION`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentloop.errors import TraceError

__all__ = ["ENVELOPE", "EVENT_FIELDS", "TRACE_VERSION", "TraceError", "TraceEvent"]

TRACE_VERSION = 1
ENVELOPE = ("v", "type", "run_id", "seq", "time")

# type -> the keys its events carry (beyond the envelope); every key is always present,
# with null where it does not apply.
EVENT_FIELDS: Mapping[str, tuple[str, ...]] = {
    # the run begins: who runs what, and the transcript it starts from
    "run_started": (
        "agent",
        "model",
        "provider",
        "instructions",
        "prompt",
        "messages",
        "conversation_id",
    ),
    # one request to the model, as sent (body parameters, no secrets); ``messages`` holds
    # the request's messages from index ``messages_from`` on (those the run's previous
    # request did not hold; all of them on the first request, or after the history changed)
    "model_request": ("step", "messages", "messages_from", "message_count", "params"),
    # the model's answer to that request
    "model_response": (
        "step",
        "response_id",
        "model",
        "text",
        "refusal",
        "tool_calls",
        "finish_reason",
        "usage",
        "started_at",
        "duration",
    ),
    # one tool call and its result (ok, error, denied, answered, timeout, cancelled)
    "tool_call": (
        "step",
        "call_id",
        "name",
        "arguments",
        "status",
        "is_error",
        "content",
        "started_at",
        "duration",
    ),
    # the run was handed from one agent to another (Agent(handoffs=...), docs/teams.md)
    "handoff": ("step", "call_id", "from_agent", "to_agent"),
    # a guardrail's answer at one point (input, tool_call, output): allow, block, replace,
    # retry; ``detail`` is a block's reason or a retry's feedback (never a replaced value)
    "guardrail": ("step", "point", "guardrail", "outcome", "detail", "call_id", "agent"),
    # history was trimmed or summarised to fit the context budget
    "context_trimmed": ("step", "dropped_messages", "summary", "reason"),
    # the run ended: its output, why it stopped, total usage, and the error if any
    "run_finished": ("output", "stop_reason", "usage", "error", "steps", "duration"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceEvent:
    """One fact of a run, in the trace vocabulary.

    Attributes:
        type: One of the keys of :data:`EVENT_FIELDS`.
        run_id: The run's id (``RunResult.run_id``).
        seq: The event's position in its run, from 0.
        time: Unix seconds when the event was recorded.
        data: The type's keys (JSON values only).
    """

    type: str
    run_id: str
    seq: int
    time: float
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the event as one flat JSON object (envelope first)."""
        out: dict[str, Any] = {
            "v": TRACE_VERSION,
            "type": self.type,
            "run_id": self.run_id,
            "seq": self.seq,
            "time": self.time,
        }
        out.update(self.data)
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TraceEvent:
        """Read an event written by :meth:`to_dict` (any version up to :data:`TRACE_VERSION`).

        Args:
            raw: One decoded trace line.

        Raises:
            TraceError: The object lacks the envelope or comes from a newer format.
        """
        if not isinstance(raw, Mapping):
            raise TraceError(f"a trace event must be a JSON object, got {type(raw).__name__}")
        missing = [k for k in ENVELOPE if k not in raw]
        if missing:
            raise TraceError(f"trace event lacks {', '.join(missing)}: {str(dict(raw))[:120]}")
        version = raw["v"]
        if not isinstance(version, int) or version > TRACE_VERSION:
            raise TraceError(
                f"trace event has format version {version!r}; this agentloop reads up to "
                f"{TRACE_VERSION} (upgrade agentloop)"
            )
        wrong = [
            f"{key} {raw[key]!r}"
            for key, ok in (
                ("type", isinstance(raw["type"], str)),
                ("run_id", isinstance(raw["run_id"], str)),
                ("seq", isinstance(raw["seq"], int) and not isinstance(raw["seq"], bool)),
                (
                    "time",
                    isinstance(raw["time"], int | float) and not isinstance(raw["time"], bool),
                ),
            )
            if not ok
        ]
        if wrong:
            raise TraceError(f"trace event has a wrong envelope: {', '.join(wrong)[:200]}")
        data = {k: v for k, v in raw.items() if k not in ENVELOPE}
        return cls(
            type=raw["type"],
            run_id=raw["run_id"],
            seq=raw["seq"],
            time=float(raw["time"]),
            data=data,
        )
