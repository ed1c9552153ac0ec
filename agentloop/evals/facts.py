"""What an evaluator reads: a run's facts, taken from the run's own record.

The same :class:`RunFacts` is built from each of the three places a run can be read:

* a live (or replayed) run's :class:`~agentloop.RunResult` (its ``steps``), :func:`from_result`;
* a run's trace events (a ``--trace`` file, or a run of the SQLite run log), :func:`from_events`;
* a run of the run log by id, :func:`from_log`.

So an evaluator scores a run the same way whether it just happened, was logged last week, or was
replayed from a cassette.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentloop.result import RunResult

__all__ = ["RunFacts", "ToolCallFact", "from_events", "from_log", "from_result", "priced"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallFact:
    """One tool call of a run.

    Attributes:
        name: The tool the model called.
        arguments: The decoded arguments, or None when the model sent invalid JSON.
        raw_arguments: The arguments as the model sent them.
        status: ``ok``, ``error``, ``denied``, ``answered``, ``timeout`` or ``cancelled``.
        is_error: Whether the model was sent an error.
    """

    name: str
    arguments: Mapping[str, Any] | None
    raw_arguments: str = "{}"
    status: str = "ok"
    is_error: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class RunFacts:
    """The facts of one run that evaluators score.

    Attributes:
        output: The run's output as a JSON value (text, or a structured output's JSON form).
        stop_reason: Why the run stopped.
        tool_calls: Every tool call, in order.
        model_calls: How many model requests the run made.
        prompt_tokens: Input tokens, summed over the run.
        completion_tokens: Output tokens, summed over the run.
        total_tokens: Tokens, summed over the run.
        duration: Seconds the run took, or None when unknown.
        cost: Money the run cost (the dataset's pricing), or None when unknown.
        error: ``{"type", "message"}`` of a run that ended with an error, else None.
        run_id: The run's id.
    """

    output: Any = None
    stop_reason: str = "stop"
    tool_calls: tuple[ToolCallFact, ...] = ()
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    duration: float | None = None
    cost: float | None = None
    error: Mapping[str, str] | None = None
    run_id: str = ""

    @property
    def text(self) -> str:
        """The output as text (structured outputs as compact JSON)."""
        if self.output is None:
            return ""
        if isinstance(self.output, str):
            return self.output
        return json.dumps(self.output, ensure_ascii=False, sort_keys=True)

    @property
    def tool_names(self) -> tuple[str, ...]:
        """The names of the tools called, in order."""
        return tuple(call.name for call in self.tool_calls)


def from_result(
    result: RunResult, *, duration: float | None = None, error: Mapping[str, str] | None = None
) -> RunFacts:
    """The facts of a live or replayed run, read from its :class:`~agentloop.RunResult`.

    Args:
        result: The run's result (a partial one for a run that failed).
        duration: Seconds the run took (default: from its first step's start to its last's end).
        error: The error that ended the run, if any.
    """
    calls = tuple(
        _call(s.tool_name or "", s.arguments, s.status or "ok", s.is_error)
        for s in result.steps
        if s.kind == "tool"
    )
    if duration is None and result.steps:
        start = min(s.started_at for s in result.steps)
        duration = max(s.started_at + s.duration for s in result.steps) - start
    usage = result.usage
    return RunFacts(
        output=result.to_dict()["output"] if error is None else None,
        stop_reason=result.stop_reason,
        tool_calls=calls,
        model_calls=sum(1 for s in result.steps if s.kind == "model"),
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        duration=duration,
        error=error,
        run_id=result.run_id,
    )


def from_events(events: Iterable[Any]) -> RunFacts:
    """The facts of a recorded run, read from its trace events (one run's).

    Args:
        events: :class:`~agentloop.tracing.TraceEvent` objects, or their dicts (a trace file's
            lines, or ``agentloop.logs.queries.get_run(...)["events"]``).
    """
    calls: list[ToolCallFact] = []
    model_calls = 0
    finished: Mapping[str, Any] = {}
    run_id = ""
    for event in events:
        kind, data = _unpack(event)
        run_id = run_id or str(data.get("run_id") or getattr(event, "run_id", "") or "")
        if kind == "tool_call":
            calls.append(
                _call(
                    str(data.get("name") or ""),
                    data.get("arguments"),
                    str(data.get("status") or "ok"),
                    bool(data.get("is_error")),
                )
            )
        elif kind == "model_response":
            model_calls += 1
        elif kind == "run_finished":
            finished = data
    usage = finished.get("usage") or {}
    error = finished.get("error")
    return RunFacts(
        output=finished.get("output") if not error else None,
        stop_reason=str(finished.get("stop_reason") or ("error" if error else "stop")),
        tool_calls=tuple(calls),
        model_calls=model_calls,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        total_tokens=int(usage.get("total_tokens") or 0),
        duration=finished.get("duration"),
        error=error,
        run_id=run_id,
    )


def from_log(path: str | Path, run_id: str) -> RunFacts:
    """The facts of a run of the SQLite run log, by id (or an unambiguous id prefix).

    Raises:
        ConfigurationError: No run has that id.
        StorageError: The file is not a readable run log.
    """
    from agentloop.logs import RunLog
    from agentloop.logs.queries import get_run

    log = RunLog(path)
    try:
        run = get_run(log.db, run_id)
    finally:
        log.close()
    return replace(from_events(run["events"]), run_id=run["run_id"])


def priced(facts: RunFacts, pricing: Mapping[str, float] | None) -> RunFacts:
    """``facts`` with ``cost`` from ``pricing`` (``prompt``/``completion`` per million tokens)."""
    if not pricing or facts.cost is not None:
        return facts
    cost = (
        facts.prompt_tokens * float(pricing.get("prompt", 0.0))
        + facts.completion_tokens * float(pricing.get("completion", 0.0))
    ) / 1_000_000
    return replace(facts, cost=cost)


def _call(name: str, raw: Any, status: str, is_error: bool) -> ToolCallFact:
    text = raw if isinstance(raw, str) else json.dumps(raw if raw is not None else {})
    try:
        decoded = json.loads(text) if text.strip() else {}
    except ValueError:
        decoded = None
    arguments = decoded if isinstance(decoded, dict) else None
    return ToolCallFact(
        name=name, arguments=arguments, raw_arguments=text, status=status, is_error=is_error
    )


def _unpack(event: Any) -> tuple[str, Mapping[str, Any]]:
    if isinstance(event, Mapping):
        return str(event.get("type")), event
    return str(event.type), {**event.data, "run_id": event.run_id}
