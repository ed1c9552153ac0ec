"""Tool-call dispatch for the run loop: one assistant turn's calls in, one result each out.

For each call, in order: find the tool (unknown names get the list of valid
tools), validate the arguments, ask ``agentloop_before_tool_call`` (approval,
cache); then run the rest through ``agentloop_call_tool`` -- consecutive
calls concurrently in the run's bounded thread pool, a ``sequential`` tool
alone -- with a per-tool timeout; then ``agentloop_after_tool_call``, the size
cap, and one ``tool`` message per call with its id, in the order of the calls.
Tool failures become error results for the model; only :class:`AbortRun`,
the retry budget and ``KeyboardInterrupt`` end the run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentloop.errors import (
    AbortRun,
    LoopDetected,
    RunAborted,
    ToolArgumentError,
    ToolError,
    ToolRetriesExceeded,
)
from agentloop.events import StepFinished, ToolCallFinished, ToolCallStarted
from agentloop.messages import ToolCall, ToolResult
from agentloop.result import Step

if TYPE_CHECKING:
    from agentloop.events import RunEvent
    from agentloop.loop.state import RunState
    from agentloop.loop.threads import ToolTask
    from agentloop.tools import Tool

__all__ = [
    "cancel_open_calls",
    "check_repeats",
    "dispatch_tool_calls",
    "error_result",
    "truncate",
]

_COUNTED_FAILURES = ("error", "timeout")


@dataclass(slots=True)
class _Pending:
    """One call on its way to a result."""

    call: ToolCall
    tool: Tool | None
    arguments: dict[str, Any] | None = None  # decoded and validated, once
    started: float = field(default_factory=time.perf_counter)
    started_at: float = field(default_factory=time.time)
    result: ToolResult | None = None
    task: ToolTask | None = None
    abort: AbortRun | None = None


def dispatch_tool_calls(
    run: RunState, calls: Sequence[ToolCall], *, cancel_reason: str | None = None
) -> Generator[RunEvent, None, list[ToolCall]]:
    """Answer every call of one assistant turn, yielding run events as results arrive.

    Each call's arguments are decoded and validated exactly once (:func:`_parse`); the
    repeated-call guard, ``agentloop_before_tool_call``, ``agentloop_call_tool`` and the
    result all use that one decoded dict.

    Args:
        run: The run's state (messages, steps, tools, pool, counters).
        calls: The turn's tool calls, in order.
        cancel_reason: When set, no call runs; each is answered with this reason.

    Yields:
        ``ToolCallStarted`` for each call, then per call in order
        ``ToolCallFinished`` and ``StepFinished``.

    Returns:
        The calls a ``before`` hook deferred (status ``deferred``: awaiting an approval
        decided later); they get no result, and the loop ends the run awaiting approval.

    Raises:
        LoopDetected: A call repeated too often (before any call of the turn ran).
        RunAborted: A tool or hook raised :class:`AbortRun` (after every call has its result).
        ToolRetriesExceeded: A tool failed more often than its retry budget.
    """
    pending: list[_Pending] = []
    limit = run.limits.max_tool_calls_per_turn
    for n, call in enumerate(calls):
        yield run.emit(ToolCallStarted(call=call, tool_name=call.name))
        if cancel_reason is not None:
            pending.append(_Pending(call=call, tool=None, result=cancelled(call, cancel_reason)))
        elif limit is not None and n >= limit:
            pending.append(
                _Pending(call=call, tool=None, result=_over_limit(call, len(calls), limit))
            )
        else:
            pending.append(_parse(run, call))
    if cancel_reason is None:
        check_repeats(run, pending)
        for item in pending:
            if item.result is None and run.guards is not None:
                yield from run.guards.check_tool(item)  # may answer it (block) or change arguments
            if item.result is None:
                _ask_before(run, item)
    deferred = [p.call for p in pending if p.result is not None and p.result.status == "deferred"]
    for i, item in enumerate(pending):
        if item.result is not None and item.result.status == "deferred":
            continue  # stays unanswered: decided in another run (agentloop.durable)
        if item.result is None and item.task is None:
            _start(run, pending, i)
        yield from _finish(run, item)
    _raise_if_run_must_end(run, pending)
    return deferred


def check_repeats(run: RunState, pending: Sequence[_Pending]) -> None:
    """Raise :class:`LoopDetected` when a call repeats with the same arguments too often.

    Counts every call of the run by name and canonical arguments (key order ignored,
    from the decoded arguments when they decoded); the ``max_repeated_calls + 1``-th
    identical call ends the run.
    """
    limit = run.limits.max_repeated_calls
    for item in pending:
        call = item.call
        key = (call.name, _canonical(item))
        run.seen_calls[key] += 1
        if limit is not None and run.seen_calls[key] > limit:
            raise LoopDetected(
                f"the model called {call.name!r} with the same arguments {run.seen_calls[key]} "
                f"times (max_repeated_calls={limit}): {_short(call.arguments, 200)}"
            )


def _parse(run: RunState, call: ToolCall) -> _Pending:
    """Resolve the tool and decode and validate the arguments (the only place that does)."""
    tool = run.tools.get(call.name)
    item = _Pending(call=call, tool=tool)
    if tool is None:
        available = ", ".join(sorted(run.tools)) or "(none)"
        item.result = error_result(
            call, f"error: unknown tool {_short(call.name)!r}; available tools: {available}"
        )
        return item
    try:
        item.arguments = tool.parse_arguments(call.arguments)
    except Exception as exc:
        item.result = _failed(item, exc)
    return item


def _ask_before(run: RunState, item: _Pending) -> None:
    """Ask ``agentloop_before_tool_call`` whether to run, deny or answer the call."""
    try:
        item.result = run.hook.agentloop_before_tool_call(
            context=run.context, call=item.call, tool=item.tool, arguments=item.arguments
        )
    except Exception as exc:
        item.result = _failed(item, exc)


def _over_limit(call: ToolCall, count: int, limit: int) -> ToolResult:
    return error_result(
        call,
        f"error: this turn asked for {count} tool calls; only the first {limit} are run "
        f"(max_tool_calls_per_turn={limit}). Call the rest in a later turn.",
    )


def _start(run: RunState, pending: list[_Pending], first: int) -> None:
    """Start ``pending[first]``; a non-sequential call starts with the next non-sequential ones."""
    group = [pending[first]]
    if not _is_sequential(pending[first]):
        for item in pending[first + 1 :]:
            if item.result is not None:
                continue
            if _is_sequential(item):
                break
            group.append(item)
    if len(group) == 1 and run.limits.timeout_for(group[0].tool) is None:
        return  # run inline by _finish: no thread needed
    for item in group:
        item.task = run.executor().submit(_call_tool, run, item)


def _is_sequential(item: _Pending) -> bool:
    return bool(getattr(item.tool, "sequential", False))


def _finish(run: RunState, item: _Pending) -> Iterator[RunEvent]:
    """Wait for one call's result, post-process it, record it and yield its events."""
    if item.result is None:
        item.result = _await_result(run, item)
    result = item.result
    if (
        item.tool is not None
        and result.status != "cancelled"
        and "agentloop_after_tool_call" in run.implemented
    ):
        try:
            replaced = run.hook.agentloop_after_tool_call(
                context=run.context, call=item.call, tool=item.tool, result=result
            )
        except Exception as exc:
            replaced = _failed(item, exc)
        result = replaced if replaced is not None else result
    result = _with_identity(result, item.call, run.limits.max_result_chars)
    duration = time.perf_counter() - item.started
    step = _record(run, item.call, result, item.started_at, duration)
    if result.is_error and result.status in _COUNTED_FAILURES:
        run.failures[_failure_key(item)] += 1
    yield run.emit(ToolCallFinished(call=item.call, result=result, duration=duration))
    yield run.emit(StepFinished(step=step, kind="tool"))


def _await_result(run: RunState, item: _Pending) -> ToolResult:
    """Run the call inline, or wait for its thread within the tool's timeout.

    The timeout counts from when the call got a thread, not from when it was
    queued. A timed-out call's thread cannot be stopped: the loop stops
    waiting, gives its slot to the next call and drops its late result.
    """
    assert item.tool is not None  # internal invariant: unknown tools were answered by _parse
    try:
        if item.task is None:
            return _call_tool(run, item)
        task = item.task
        # returns at once: every call queued before this one has finished or was given up on
        task.running.wait()
        item.started, item.started_at = task.started, task.started_at
        timeout = run.limits.timeout_for(item.tool)
        remaining = None if timeout is None else timeout - (time.perf_counter() - task.started)
        try:
            result: ToolResult = task.result(
                timeout=None if remaining is None else max(remaining, 0)
            )
            # A tool that held the GIL past its deadline kept this thread from noticing
            # in time; its late result is dropped all the same.
            if timeout is None or time.perf_counter() - task.started <= timeout:
                return result
            raise FutureTimeout
        except FutureTimeout:
            run.executor().release(task)
            return ToolResult(
                call_id=item.call.id,
                name=item.call.name,
                content=f"error: tool {item.call.name!r} timed out after {timeout:.1f} s",
                is_error=True,
                status="timeout",
            )
    except Exception as exc:
        return _failed(item, exc)


def _failed(item: _Pending, exc: Exception) -> ToolResult:
    """The error result of a tool or ``before`` hook that raised (an AbortRun is kept on ``item``)."""
    if isinstance(exc, (AbortRun, RunAborted)):  # RunAborted: the outcome's name, raised by mistake
        item.abort = exc if isinstance(exc, AbortRun) else AbortRun(str(exc))
        return error_result(item.call, f"aborted: {exc}")
    if isinstance(exc, ToolArgumentError):
        return error_result(item.call, f"error: {exc}")
    return error_result(item.call, exception_text(exc))


def _call_tool(run: RunState, item: _Pending) -> ToolResult:
    """Ask ``agentloop_call_tool`` for the result (first non-None wins)."""
    call = item.call
    result = run.hook.agentloop_call_tool(
        context=run.context, call=call, tool=item.tool, arguments=item.arguments
    )
    if result is None:
        return error_result(call, f"error: no plugin runs tool {call.name!r}")
    return result


def _with_identity(result: ToolResult, call: ToolCall, cap: int | None) -> ToolResult:
    """Pin the result to its call (id and name), cap its size, make it valid UTF-8."""
    content = truncate(
        result.content if isinstance(result.content, str) else str(result.content), cap
    )
    try:
        content.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: no server or transcript file accepts them
        content = content.encode("utf-8", "backslashreplace").decode("utf-8")
    if (result.call_id, result.name, result.content) == (call.id, call.name, content):
        return result
    return ToolResult(
        call_id=call.id,
        name=call.name,
        content=content,
        is_error=result.is_error,
        status=result.status,
        value=result.value,
    )


def _record(
    run: RunState, call: ToolCall, result: ToolResult, started_at: float, duration: float
) -> Step:
    """Append the call's ``tool`` message to the transcript and its step to the run's steps."""
    run.append(result.to_message().to_dict())
    step = Step(
        kind="tool",
        index=run.context.step,
        started_at=started_at,
        duration=duration,
        call_id=call.id,
        tool_name=call.name,
        arguments=call.arguments,
        status=result.status,
        is_error=result.is_error,
    )
    run.steps.append(step)
    return step


def cancel_open_calls(run: RunState, reason: str) -> None:
    """Give every tool call of the last assistant turn that has no result a cancelled one."""
    messages = run.context.messages
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "assistant":
            break
    else:
        return
    answered = {m.get("tool_call_id") for m in messages[i + 1 :] if m.get("role") == "tool"}
    for raw in messages[i].get("tool_calls") or ():
        call = ToolCall.from_dict(raw)
        if call.id not in answered:
            _record(run, call, cancelled(call, reason), time.time(), 0.0)


def _failure_key(item: _Pending) -> str:
    """The ``run.failures`` key of a call: its tool's name (one shared key for unknown tools)."""
    return item.tool.name if item.tool is not None else "<unknown tool>"


def _raise_if_run_must_end(run: RunState, pending: list[_Pending]) -> None:
    """After the whole turn is answered: end the run on an abort or an exhausted retry budget."""
    for item in pending:
        if item.abort is not None:
            raise RunAborted(
                f"run aborted by tool {item.call.name!r}: {item.abort}"
            ) from item.abort
    for item in pending:
        key = _failure_key(item)
        budget = run.limits.retries_for(item.tool)
        if run.failures[key] > budget:
            what = "calls to unknown tools" if item.tool is None else f"tool {key!r}"
            raise ToolRetriesExceeded(
                f"{what} failed {run.failures[key]} times in this run (retry budget {budget}); "
                f"last error: {item.result.content if item.result else ''}"
            )


def error_result(call: ToolCall, content: str, status: Any = "error") -> ToolResult:
    """Return an error result for ``call`` (``content`` is what the model reads)."""
    return ToolResult(
        call_id=call.id, name=call.name, content=content, is_error=True, status=status
    )


def cancelled(call: ToolCall, reason: str) -> ToolResult:
    """Return the result of a call that was never run."""
    return error_result(call, f"cancelled: {reason}", status="cancelled")


def exception_text(exc: BaseException) -> str:
    """Return the model-facing text of a tool exception (no traceback)."""
    if isinstance(exc, ToolError):
        return f"error: {exc.format_for_model()}"
    return f"error: {type(exc).__name__}: {exc}"


def truncate(text: str, cap: int | None) -> str:
    """Cut ``text`` to about ``cap`` chars, keeping head and tail around a marker.

    Args:
        text: The tool result.
        cap: The maximum number of characters kept, or None for no cap.

    Returns:
        ``text`` unchanged when short enough, else head, ``[truncated N chars]``, tail.
    """
    if cap is None or len(text) <= cap:
        return text
    head = cap * 3 // 4
    tail = cap - head
    cut = len(text) - cap
    return f"{text[:head]}\n[truncated {cut} chars]\n{text[len(text) - tail :] if tail else ''}"


def _short(text: str, limit: int = 256) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _canonical(item: _Pending) -> str:
    if item.arguments is None:  # did not decode: compare the raw text
        return item.call.arguments
    try:
        return json.dumps(item.arguments, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return item.call.arguments
