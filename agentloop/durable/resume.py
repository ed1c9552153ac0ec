"""Resume a logged run: rebuild its transcript, answer its open calls, continue the loop.

The steps (:func:`prepare_resume`, then :func:`resume_events`):

1. read the run back from the store (:mod:`agentloop.durable.stored`); refuse an unknown,
   finished, corrupt or unlogged run, and an agent whose tools differ (unless ``force``);
2. plan each open call of the last assistant message from the ledger and the decisions:
   a recorded result answers it (never run again); ``started`` with no end is *unknown*
   (rerun when the tool is ``idempotent`` or the decision says so, else the model is told
   the outcome is unknown); a deferred call runs, is denied or edited as decided;
3. claim the run in ``run_resumes`` (one row per run: of two resumes or two deciders, the
   database lets exactly one in; the other gets :class:`~agentloop.ResumeConflict`);
4. run the agent's spec on the transcript with the open calls answered first
   (:func:`agentloop.loop.engine.run_events` with ``pending``); the new run's id is
   recorded as ``resumed_as`` when it starts.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from agentloop.durable.decisions import Decision, Deny, Edit, PendingCall, decision_to_json
from agentloop.durable.ledger import Ledger, ResumePlan, result_from_json
from agentloop.durable.stored import RESUMABLE, StoredRun, load_run
from agentloop.errors import (
    AgentChangedError,
    ResumeConflict,
    ResumeError,
    RunNotResumable,
    UnknownCallError,
)
from agentloop.loop.engine import run_events
from agentloop.messages import ToolCall, ToolResult
from agentloop.plugins.manager import collect_tools
from agentloop.storage import storage_error

__all__ = ["Asker", "PreparedResume", "find_ledger", "pending_calls", "prepare_resume",
           "resume_events"]  # fmt: skip

Asker = Callable[[PendingCall], "Decision | None"]


@dataclass(kw_only=True, slots=True)
class PreparedResume:
    """A claimed resume, ready to run (what :func:`resume_events` drives).

    Attributes:
        spec: The agent's run spec.
        stored: The run read back from the store.
        plan: What the open calls get.
        ledger: The ledger plugin carrying the plan.
    """

    spec: Any
    stored: StoredRun
    plan: ResumePlan
    ledger: Ledger


def find_ledger(agent: Any) -> Ledger:
    """The agent's ledger plugin (registered with ``store=``, or by the CLI's run log).

    Raises:
        RunNotResumable: The agent logs no runs, so none of its runs can be resumed.
    """
    for plugin in agent.plugin_manager.get_plugins():
        if isinstance(plugin, Ledger):
            return plugin
    raise RunNotResumable(
        "this agent has no store, so it cannot resume runs; build it with "
        "Agent(..., store=PATH_OR_URL) on the store that logged the run"
    )


def pending_calls(db: Any, run_id: str, shown: str) -> list[PendingCall]:
    """The open calls of run ``run_id`` and what the ledger knows of each."""
    stored = load_run(db, run_id, shown)
    return [_pending(stored, call) for call in stored.pending]


def prepare_resume(
    agent: Any,
    run_id: str,
    *,
    decisions: Mapping[str, Decision] | None = None,
    force: bool = False,
    ask: Asker | None = None,
) -> PreparedResume:
    """Check, plan and claim the resume of ``run_id`` by ``agent`` (steps 1-3).

    Raises:
        RunNotResumable: Unknown, finished, corrupt or unlogged run; an agent without store.
        AgentChangedError: The agent's tools differ from the run's (``force`` resumes anyway).
        UnknownCallError: A decision names a call that is not open in the run.
        ResumeConflict: The run already moved on (resumed, or decided, by someone else).
        StorageError: The store cannot be used.
    """
    ledger = find_ledger(agent)
    shown = str(ledger.log.path)
    stored = load_run(ledger.db, run_id, shown)
    _check_state(stored, force)
    spec = agent.spec()
    tools = collect_tools(spec)
    _check_tools(stored, sorted(tools), force)
    plan = _plan(stored, tools, dict(decisions or {}), ask)
    _claim(ledger, stored, plan, decisions or {}, force)
    ledger.expect(plan)
    return PreparedResume(spec=spec, stored=stored, plan=plan, ledger=ledger)


def resume_events(
    prepared: PreparedResume, *, deps: Any = None, stream: bool = False
) -> Iterator[Any]:
    """Run a prepared resume (step 4), yielding run events; the last one is ``RunFinished``."""
    stored = prepared.stored
    try:
        yield from run_events(
            prepared.spec, stored.messages, deps=deps, stream=stream, pending=stored.pending
        )
    finally:
        prepared.ledger.withdraw(prepared.plan)


def _check_state(stored: StoredRun, force: bool) -> None:
    run_id = stored.run_id
    if stored.resumed_as is not None:
        raise ResumeConflict(
            f"run {run_id!r} already moved on: it was resumed as {stored.resumed_as!r}; "
            f"resume or decide {stored.resumed_as!r} instead (agentloop logs --pending)",
            run_id=run_id,
        )
    if stored.claimed and not force:
        raise ResumeConflict(
            f"run {run_id!r} already moved on: another process is resuming it (claimed, its "
            "run not started yet); if that process died, take it over with --force (force=True)",
            run_id=run_id,
        )
    if stored.finished and stored.stop_reason not in RESUMABLE:
        raise RunNotResumable(
            f"run {run_id!r} finished ({stored.stop_reason}); there is nothing to resume: "
            "continue its conversation with a new run (agentloop run -c, or history=)",
            run_id=run_id,
        )


def _check_tools(stored: StoredRun, tools: list[str], force: bool) -> None:
    if stored.tools is None or force:
        return
    missing = tuple(sorted(set(stored.tools) - set(tools)))
    added = tuple(sorted(set(tools) - set(stored.tools)))
    if missing or added:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"new {', '.join(added)}"] if added else []
        raise AgentChangedError(
            f"run {stored.run_id!r} was made with other tools than this agent has "
            f"({'; '.join(parts)}); resume it with the agent that made it, or with --force "
            "(force=True)",
            run_id=stored.run_id,
            missing=missing,
            added=added,
        )


def _pending(stored: StoredRun, call: ToolCall) -> PendingCall:
    effects = stored.effects.get(call.id, {})
    if "completed" in effects or "failed" in effects:
        state = "recorded"
    elif "started" in effects:
        state = "unknown"
    elif "deferred" in effects:
        state = "deferred"
    else:
        state = "not_started"
    return PendingCall(
        run_id=stored.run_id, call_id=call.id, name=call.name, arguments=call.arguments,
        state=state,
    )  # fmt: skip


def _plan(
    stored: StoredRun, tools: Mapping[str, Any], decisions: dict[str, Decision], ask: Asker | None
) -> ResumePlan:
    """What each open call gets (see the module's docs, step 2)."""
    open_ids = {c.id for c in stored.pending}
    for call_id in decisions:
        if call_id not in open_ids:
            listed = ", ".join(f"{c.id} ({c.name})" for c in stored.pending) or "none"
            raise UnknownCallError(
                f"run {stored.run_id!r} has no pending call {call_id!r} (pending: {listed}); "
                "agentloop logs --pending lists what waits",
                run_id=stored.run_id,
            )
    plan = ResumePlan(
        source_run_id=stored.run_id, claim=uuid.uuid4().hex, first_message=len(stored.messages)
    )
    for call in stored.pending:
        info = _pending(stored, call)
        effects = stored.effects.get(call.id, {})
        tool = tools.get(call.name)
        decision = decisions.get(call.id)
        if info.state == "recorded":  # never run again: the recorded result answers it
            record = effects.get("completed") or effects.get("failed") or (None, None)
            plan.answers[call.id] = result_from_json(call, record[1])
            continue
        if decision is None and ask is not None and info.state in ("unknown", "deferred"):
            decision = ask(info)
        if info.state == "unknown" and decision is None:
            decision = True if getattr(tool, "idempotent", False) else None
            if decision is None:
                plan.answers[call.id] = _unknown(call)
                continue
        if decision is None:
            continue  # runs as any call does (a deferred one is deferred or asked again)
        _apply(plan, call, tool, decision, unknown=info.state == "unknown", run_id=stored.run_id)
    return plan


def _apply(
    plan: ResumePlan, call: ToolCall, tool: Any, decision: Decision, *, unknown: bool, run_id: str
) -> None:
    if isinstance(decision, Edit):
        arguments = dict(decision.arguments)
        if tool is not None:
            try:
                arguments = tool.parse_arguments(json.dumps(arguments))
            except Exception as exc:
                raise ResumeError(
                    f"the edited arguments of call {call.id!r} ({call.name}) do not fit the "
                    f"tool: {exc}; fix the edit (--edit ARGS_JSON)",
                    run_id=run_id,
                ) from exc
        plan.edits[call.id] = arguments
        plan.approved.add(call.id)
    elif decision is True:
        plan.approved.add(call.id)
    elif unknown:
        reason = decision.reason if isinstance(decision, Deny) else "the user chose not to"
        plan.answers[call.id] = _unknown(call, because=reason)
    else:
        reason = decision.reason if isinstance(decision, Deny) else "the user did not approve"
        plan.answers[call.id] = ToolResult(
            call_id=call.id, name=call.name, content=f"denied: {reason}", is_error=True,
            status="denied",
        )  # fmt: skip


def _unknown(call: ToolCall, *, because: str | None = None) -> ToolResult:
    why = because or f"{call.name!r} is not marked idempotent"
    return ToolResult(
        call_id=call.id,
        name=call.name,
        content=(
            "error: the outcome of this call is unknown: the run stopped after the call "
            f"started and before its result was recorded. It was not run again ({why}); it "
            "may or may not have taken effect, so check before calling it again."
        ),
        is_error=True,
        status="error",
    )


def _claim(
    ledger: Ledger,
    stored: StoredRun,
    plan: ResumePlan,
    decisions: Mapping[str, Decision],
    force: bool,
) -> None:
    """Insert the run's one ``run_resumes`` row; the database lets one claimant in."""
    record = json.dumps({k: decision_to_json(v) for k, v in decisions.items()})
    try:
        with ledger.db.transaction() as conn:
            if force:  # take over a claim whose process died before its run started
                conn.execute(
                    "DELETE FROM run_resumes WHERE run_id = ? AND resumed_as IS NULL",
                    (stored.run_id,),
                )
            won = conn.execute(
                "INSERT INTO run_resumes (run_id, claim, resumed_as, decisions, time) "
                "VALUES (?, ?, NULL, ?, ?) ON CONFLICT (run_id) DO NOTHING RETURNING claim",
                (stored.run_id, plan.claim, record, time.time()),
            ).fetchall()
    except Exception as exc:
        raise storage_error(exc, ledger.log.path) from exc
    if not won:
        raise ResumeConflict(
            f"run {stored.run_id!r} already moved on: another process resumed it or decided "
            "its pending calls first; see agentloop logs (and --pending for what still waits)",
            run_id=stored.run_id,
        )
