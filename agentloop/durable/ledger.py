"""The tool-effect ledger: a plugin that records, in the run's store, what each tool call did.

Per ``(run_id, call_id)``, appended to the ``tool_effects`` table of the run log
(:mod:`agentloop.logs.schema`, version 2):

* ``started``: committed *before* the tool runs (a call whose record cannot be committed is
  not run: the model gets an error result);
* ``completed`` / ``failed``: committed after it returns, with its result;
* ``deferred``: the call needs an approval that will be decided later (``approval="defer"``).

``started`` with no end is "unknown after a crash". The same plugin carries out a resume's
plan (:mod:`agentloop.durable.resume`): recorded results answer their calls, decided calls run
or are denied, and with ``defer=True`` calls that need approval are deferred.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from agentloop.errors import AgentloopWarning, StorageError
from agentloop.hookspecs import hookimpl
from agentloop.messages import ToolCall, ToolResult
from agentloop.storage import storage_error

__all__ = ["DEFERRED_TEXT", "Ledger", "ResumePlan", "result_from_json", "result_to_json"]

DEFERRED_TEXT = "deferred: awaiting approval"


@dataclass(kw_only=True, slots=True)
class ResumePlan:
    """What a resumed run does with the calls its predecessor left open (built by resume).

    Attributes:
        source_run_id: The run being resumed.
        claim: The token of the ``run_resumes`` row this resume holds.
        first_message: The transcript's length, to recognise the run when it starts.
        answers: Calls answered without running (recorded results, unknown outcomes, denials).
        approved: Calls that run without asking again (approved, edited, or rerun).
        edits: New arguments of edited calls.
    """

    source_run_id: str
    claim: str
    first_message: int
    answers: dict[str, ToolResult] = field(default_factory=dict)
    approved: set[str] = field(default_factory=set)
    edits: dict[str, dict[str, Any]] = field(default_factory=dict)


class Ledger:
    """The tool-effect ledger of one store, and the carrier of resume plans (a plugin).

    Args:
        log: The run log (:class:`~agentloop.logs.RunLog`) whose store holds the ledger.
        defer: Defer every call of a tool with ``requires_approval`` (``approval="defer"``):
            the run ends ``awaiting_approval`` instead of asking an approver.
    """

    def __init__(self, log: Any, *, defer: bool = False) -> None:
        self.log = log
        self.db = log.db
        self.defer = defer
        self._lock = threading.Lock()
        self._plans: list[ResumePlan] = []
        self._active: dict[str, ResumePlan] = {}

    # -- records ---------------------------------------------------------------------------

    def record(
        self,
        run_id: str,
        call: ToolCall,
        state: str,
        *,
        arguments: Any = None,
        result: ToolResult | None = None,
    ) -> None:
        """Append one ledger record in its own transaction (committed when this returns).

        Raises:
            StorageError: The store refused the write.
        """
        args = call.arguments if arguments is None else json.dumps(arguments, default=str)
        payload = None if result is None else json.dumps(result_to_json(result))
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO tool_effects (run_id, call_id, state, name, arguments, result, "
                    "time) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (run_id, call.id, state, call.name, args, payload, time.time()),
                )
        except Exception as exc:
            raise storage_error(exc, self.log.path) from exc

    def expect(self, plan: ResumePlan) -> None:
        """Carry out ``plan`` in the next run that starts on a transcript of its length."""
        with self._lock:
            self._plans.append(plan)

    def withdraw(self, plan: ResumePlan) -> None:
        """Forget ``plan`` (its run ended, or never started)."""
        with self._lock:
            if plan in self._plans:
                self._plans.remove(plan)
            for run_id, active in list(self._active.items()):
                if active is plan:
                    del self._active[run_id]

    # -- hooks -----------------------------------------------------------------------------

    @hookimpl(tryfirst=True)
    def agentloop_run_start(self, context: Any) -> None:
        """Bind a waiting resume plan to the run that resumes it, and record the lineage."""
        with self._lock:
            plan = next((p for p in self._plans if p.first_message == len(context.messages)), None)
            if plan is None:
                return
            self._plans.remove(plan)
            self._active[context.run_id] = plan
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE run_resumes SET resumed_as = ? WHERE claim = ?",
                (context.run_id, plan.claim),
            )

    @hookimpl
    def agentloop_run_end(self, context: Any) -> None:
        """Forget the run's plan."""
        with self._lock:
            self._active.pop(context.run_id, None)

    @hookimpl(tryfirst=True)
    def agentloop_before_tool_call(
        self, context: Any, call: ToolCall, tool: Any, arguments: dict[str, Any] | None
    ) -> ToolResult | None:
        """Answer from the resume plan; defer a call that needs approval (``defer=True``)."""
        plan = self._active.get(context.run_id)
        if plan is not None:
            if call.id in plan.answers:
                return plan.answers[call.id]
            if call.id in plan.edits and arguments is not None:
                arguments.clear()  # the one decoded dict the call runs with (loop/toolcalls)
                arguments.update(plan.edits[call.id])
            if call.id in plan.approved:
                return None
        if self.defer and getattr(tool, "requires_approval", False):
            self.record(context.run_id, call, "deferred")
            return ToolResult(
                call_id=call.id,
                name=call.name,
                content=DEFERRED_TEXT,
                is_error=True,
                status="deferred",
            )
        return None

    @hookimpl(tryfirst=True)
    def agentloop_approve_tool_call(self, context: Any, call: ToolCall) -> bool | None:
        """A call the resume's decisions approved runs without asking again."""
        plan = self._active.get(context.run_id)
        return True if plan is not None and call.id in plan.approved else None

    @hookimpl(wrapper=True)
    def agentloop_call_tool(
        self, context: Any, call: ToolCall, arguments: dict[str, Any]
    ) -> Generator[None, ToolResult | None, ToolResult | None]:
        """``started`` before the tool runs, ``completed``/``failed`` with its result after."""
        self.record(context.run_id, call, "started", arguments=arguments)
        try:
            result = yield
        except Exception as exc:
            self._finish(context.run_id, call, "failed", _raised(call, exc))
            raise
        if result is not None:
            state = "failed" if result.is_error else "completed"
            self._finish(context.run_id, call, state, result)
        return result

    def _finish(self, run_id: str, call: ToolCall, state: str, result: ToolResult) -> None:
        """Record the end; a failed write leaves the outcome unknown, it does not fail the call."""
        try:
            self.record(run_id, call, state, result=result)
        except StorageError as exc:
            warnings.warn(
                AgentloopWarning(f"the result of call {call.id} is not in the ledger: {exc}"),
                stacklevel=2,
            )


def _raised(call: ToolCall, exc: BaseException) -> ToolResult:
    from agentloop.loop.toolcalls import exception_text

    return ToolResult(
        call_id=call.id, name=call.name, content=exception_text(exc), is_error=True,
        status="error",
    )  # fmt: skip


def result_to_json(result: ToolResult) -> dict[str, Any]:
    """What the ledger stores of a result (what the model read, not the Python value)."""
    return {"content": result.content, "is_error": result.is_error, "status": result.status}


def result_from_json(call: ToolCall, data: Any) -> ToolResult:
    """The result a ledger record holds, for ``call``."""
    data = data if isinstance(data, dict) else {}
    return ToolResult(
        call_id=call.id,
        name=call.name,
        content=str(data.get("content", "")),
        is_error=bool(data.get("is_error")),
        status=data.get("status") or "ok",
    )
