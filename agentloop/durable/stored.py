"""A run as the store holds it, read back for a resume: transcript, open calls, ledger, lineage.

The transcript is rebuilt from the run's trace events: ``run_started.messages`` (everything the
run began with), then one assistant message per ``model_response`` and one ``tool`` message per
``tool_call``, in order. What a request hook changed only for the model's eyes (trimming,
output instructions) is not part of the transcript, so it is not part of this either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agentloop.errors import RunNotResumable
from agentloop.messages import Message, ToolCall

__all__ = ["RESUMABLE", "StoredRun", "lineage", "load_run"]

# how a finished run may have ended and still be continued (the others are done)
RESUMABLE = ("awaiting_approval", "interrupted", "cancelled", "error")
_FIX_UNKNOWN = "agentloop logs lists the runs of this store"


@dataclass(kw_only=True, slots=True)
class StoredRun:
    """One logged run, rebuilt.

    Attributes:
        run_id: The run.
        finished: Whether its ``run_finished`` event was written.
        stop_reason: How it ended (None while unfinished, or killed).
        agent: The agent's name as logged.
        conversation_id: The conversation it belongs to, if any.
        messages: The rebuilt transcript.
        pending: Calls of the last assistant message without a result.
        tools: The tool names its last logged model request offered (None: no request logged).
        effects: Ledger records of the pending calls over the run's lineage:
            ``call_id -> {state: (arguments, result JSON)}``.
        resumed_as: The run that continued it, if any.
        claimed: Whether a resume holds the run (``resumed_as`` may still be unset).
    """

    run_id: str
    finished: bool
    stop_reason: str | None
    agent: str | None
    conversation_id: str | None
    messages: list[dict[str, Any]]
    pending: list[ToolCall]
    tools: list[str] | None
    effects: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    resumed_as: str | None = None
    claimed: bool = False


def load_run(db: Any, run_id: str, shown: str) -> StoredRun:
    """Read run ``run_id`` back from the store ``db`` (shown in messages as ``shown``).

    Raises:
        RunNotResumable: No such run, or its events cannot be read back into a transcript.
    """
    rows = db.query(
        "SELECT n, finished_at, stop_reason, agent, conversation_id FROM runs WHERE id = ?",
        (run_id,),
    )
    if not rows:
        raise RunNotResumable(
            f"there is no run {run_id!r} in {shown} (a run made with --no-log or without "
            f"store= was never recorded and cannot be resumed); {_FIX_UNKNOWN}",
            run_id=run_id,
        )
    n, finished_at, stop_reason, agent, conversation = (rows[0][i] for i in range(5))
    events = db.query("SELECT seq, type, data FROM events WHERE run = ? ORDER BY seq", (n,))
    messages, tools = _transcript(run_id, events, shown)
    if finished_at is not None and stop_reason in ("interrupted", "cancelled", "error"):
        messages = _without_cancelled_tail(messages)
    for message in messages:
        message.pop("_status", None)
    pending = _open_calls(messages)
    claim = db.query("SELECT resumed_as FROM run_resumes WHERE run_id = ?", (run_id,))
    run = StoredRun(
        run_id=run_id,
        finished=finished_at is not None,
        stop_reason=stop_reason,
        agent=agent,
        conversation_id=conversation,
        messages=messages,
        pending=pending,
        tools=tools,
        resumed_as=claim[0][0] if claim else None,
        claimed=bool(claim),
    )
    if pending:
        run.effects = _effects(db, lineage(db, run_id), [c.id for c in pending])
    return run


def lineage(db: Any, run_id: str) -> list[str]:
    """``run_id`` and the runs it resumed, newest first (``resumed_from`` walked back)."""
    chain = [run_id]
    while len(chain) < 1000:
        rows = db.query("SELECT run_id FROM run_resumes WHERE resumed_as = ?", (chain[-1],))
        if not rows:
            break
        chain.append(str(rows[0][0]))
    return chain


def _effects(
    db: Any, runs: list[str], call_ids: list[str]
) -> dict[str, dict[str, tuple[Any, Any]]]:
    marks = ", ".join("?" for _ in runs)
    calls = ", ".join("?" for _ in call_ids)
    rows = db.query(
        f"SELECT call_id, state, arguments, result FROM tool_effects WHERE run_id IN ({marks}) "  # noqa: S608 - placeholders only
        f"AND call_id IN ({calls})",
        (*runs, *call_ids),
    )
    found: dict[str, dict[str, tuple[Any, Any]]] = {}
    for call_id, state, arguments, result in (tuple(r) for r in rows):
        found.setdefault(call_id, {})[state] = (arguments, json.loads(result) if result else None)
    return found


def _transcript(
    run_id: str, events: list[Any], shown: str
) -> tuple[list[dict[str, Any]], list[str] | None]:
    """The transcript and the last request's tool names, from the run's events."""
    messages: list[dict[str, Any]] | None = None
    tools: list[str] | None = None
    for row in events:
        kind = row[1]
        try:
            data = json.loads(row[2])
        except (TypeError, ValueError):
            raise _corrupt(run_id, shown, f"event {row[0]} is not JSON") from None
        if kind == "run_started":
            messages = data.get("messages")
            if not isinstance(messages, list):
                raise RunNotResumable(
                    f"run {run_id!r} in {shown} was logged without its messages "
                    "(include_content=False), so it cannot be rebuilt; start it again",
                    run_id=run_id,
                )
            messages = [dict(m) for m in messages if isinstance(m, dict)]
        elif messages is None:
            raise _corrupt(run_id, shown, "its first event is not run_started")
        elif kind == "model_request":
            names = [
                (t.get("function") or {}).get("name")
                for t in (data.get("params") or {}).get("tools") or ()
                if isinstance(t, dict)
            ]
            tools = [str(n) for n in names if n]
        elif kind == "model_response":
            messages.append(_assistant(data))
        elif kind == "tool_call":
            messages.append(
                {"role": "tool", "content": data.get("content") or "",
                 "tool_call_id": data.get("call_id"), "name": data.get("name"),
                 "_status": data.get("status")}
            )  # fmt: skip
    if messages is None:
        raise _corrupt(run_id, shown, "it has no events")
    return messages, tools


def _assistant(data: dict[str, Any]) -> dict[str, Any]:
    calls = tuple(
        ToolCall(id=str(c.get("id")), name=str(c.get("name")), arguments=c.get("arguments") or "{}")
        for c in data.get("tool_calls") or ()
        if isinstance(c, dict)
    )
    message = Message(
        role="assistant", content=data.get("text"), tool_calls=calls, refusal=data.get("refusal")
    )
    return message.to_dict()


def _without_cancelled_tail(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop the ``cancelled`` results a stopped run gave its open calls: they were never run."""
    end = len(messages)
    while (
        end
        and messages[end - 1].get("role") == "tool"
        and messages[end - 1].get("_status") == "cancelled"
    ):
        end -= 1
    return messages[:end]


def _open_calls(messages: list[dict[str, Any]]) -> list[ToolCall]:
    """The calls of the last assistant message that no later ``tool`` message answers."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "assistant":
            answered = {m.get("tool_call_id") for m in messages[i + 1 :]}
            return [
                ToolCall.from_dict(c)
                for c in messages[i].get("tool_calls") or ()
                if c.get("id") not in answered
            ]
    return []


def _corrupt(run_id: str, shown: str, why: str) -> RunNotResumable:
    return RunNotResumable(
        f"run {run_id!r} in {shown} cannot be rebuilt from the log ({why}); "
        "it cannot be resumed: start it again",
        run_id=run_id,
    )
