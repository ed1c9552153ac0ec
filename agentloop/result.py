"""What a run leaves behind: its :class:`Step` records and the :class:`RunResult`.

Both are plain frozen records built by the loop; ``to_dict()`` gives a
JSON-serializable form (what ``agentloop run --json`` prints).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agentloop.jsondata import plain_json
from agentloop.messages import Usage

__all__ = ["RunResult", "Step"]

StepKind = Literal["model", "tool", "handoff", "guardrail"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """One model call, tool call, handoff or guardrail check of a run, with its timing.

    Attributes:
        kind: ``"model"`` for a model call, ``"tool"`` for a tool call.
        index: The model call this step belongs to (1 for the first model call
            and the tool calls it asked for).
        started_at: Wall-clock start, Unix seconds.
        duration: Seconds the call took (for a tool that timed out: until the timeout).
        finish_reason: Model steps: the response's normalized finish reason.
        usage: Model steps: the tokens of this call, when the server reported them.
        tool_calls: Model steps: how many tool calls the response asked for.
        call_id: Tool steps: the id of the call.
        tool_name: Tool steps: the name the model called.
        arguments: Tool steps: the raw JSON arguments the model sent.
        status: Tool steps: ``ok``, ``error``, ``denied``, ``answered``,
            ``timeout`` or ``cancelled``.
        is_error: Tool steps: whether the model was sent an error.
        agent: Handoff steps: the agent the run was handed to; guardrail steps: the agent
            that was active.
        from_agent: Handoff steps: the agent that handed the run on.
        guardrail: Guardrail steps: the guardrail's name.
        point: Guardrail steps: ``input``, ``tool_call`` or ``output``.
        outcome: Guardrail steps: ``allow``, ``block``, ``replace`` or ``retry``.
        detail: Guardrail steps: the block's reason or the retry's feedback (a replaced
            value is not kept: only that it was replaced).
    """

    kind: StepKind
    index: int
    started_at: float
    duration: float
    finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: int = 0
    call_id: str | None = None
    tool_name: str | None = None
    arguments: str | None = None
    status: str | None = None
    is_error: bool = False
    agent: str | None = None
    from_agent: str | None = None
    guardrail: str | None = None
    point: str | None = None
    outcome: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable dict; fields that do not apply to the kind are left out."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "index": self.index,
            "started_at": self.started_at,
            "duration": self.duration,
        }
        if self.kind == "model":
            out["finish_reason"] = self.finish_reason
            out["usage"] = self.usage.to_dict() if self.usage else None
            out["tool_calls"] = self.tool_calls
        elif self.kind == "handoff":
            out.update(call_id=self.call_id, from_agent=self.from_agent, agent=self.agent)
        elif self.kind == "guardrail":
            out.update(
                point=self.point,
                guardrail=self.guardrail,
                outcome=self.outcome,
                detail=self.detail,
                call_id=self.call_id,
                agent=self.agent,
            )
        else:
            out.update(
                call_id=self.call_id,
                tool_name=self.tool_name,
                arguments=self.arguments,
                status=self.status,
                is_error=self.is_error,
            )
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class RunResult:
    """Everything a run produced; also attached, partial, to errors that end a run early.

    Attributes:
        output: The final answer: its text, or the validated value when the
            agent has an ``output_type``. None when the run ended early.
        messages: The whole conversation as wire-format dicts (system
            message, history, prompt, every assistant turn and tool result),
            ready to pass back as ``history``.
        usage: Token counts summed over every model call (``usage.requests``
            is the number of model calls).
        steps: Every model call and tool call, in order, with timing.
        stop_reason: Why the run stopped: the final response's finish reason
            (``stop``, ``length``, ``content_filter``, ...) or ``refusal`` on
            success, else one of ``max_steps``, ``loop_detected``,
            ``token_budget``, ``tool_retries``, ``output_validation``,
            ``aborted``, ``interrupted``, ``cancelled`` (a stream closed
            early), ``awaiting_approval`` (calls wait for a decision: ``pending``) or ``error``.
        run_id: The run's id (also ``RunContext.run_id``).
        agent: The name of the agent that answered (after handoffs, the last one).
        pending: With ``stop_reason="awaiting_approval"``: the calls waiting for a decision
            (``ToolCall``: ``id``, ``name``, ``arguments``); continue with ``Agent.resume``.
    """

    output: Any = None
    messages: tuple[Mapping[str, Any], ...] = ()
    usage: Usage = Usage(requests=0)
    steps: tuple[Step, ...] = ()
    stop_reason: str = "stop"
    run_id: str = ""
    agent: str | None = None
    pending: tuple[Any, ...] = ()

    @property
    def text(self) -> str:
        """The last assistant message's text ("" when there is none)."""
        for message in reversed(self.messages):
            if message.get("role") == "assistant" and isinstance(message.get("content"), str):
                return str(message["content"])
        return ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable dict (``output`` is converted to plain JSON values)."""
        return {
            "run_id": self.run_id,
            "agent": self.agent,
            "output": plain_json(self.output),
            "stop_reason": self.stop_reason,
            "usage": {**self.usage.to_dict(), "requests": self.usage.requests},
            "steps": [s.to_dict() for s in self.steps],
            "messages": [dict(m) for m in self.messages],
            **({"pending": [c.to_dict() for c in self.pending]} if self.pending else {}),
        }
