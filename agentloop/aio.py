"""``await agent.arun(...)`` and ``async for event in agent.astream(...)``: runs for async code.

The engine stays synchronous (``requests`` is): an async run is the ordinary
run, driven on a worker thread while the event loop awaits it. ``arun`` makes
one hop to a thread and back; ``astream`` makes one hop per event, pulling
the next event only when the consumer asks for it (the same back-pressure as
``stream``). Worker threads come from one process-wide pool of
``AGENTLOOP_ASYNC_THREADS`` threads (default 64): more concurrent async runs
than that wait for a thread.

Cancelling the awaiting task cancels the run's :class:`~agentloop.batch.scope.CancelScope`:
the open model response is closed, the run stops at its next safe point with
unfinished tool calls answered ``cancelled``, and only once the worker thread
has let go of the run is :class:`asyncio.CancelledError` raised, with the
partial :class:`~agentloop.RunResult` as ``.agentloop_result``. No thread is
left running a model call that nobody awaits. (A synchronous tool that is
running cannot be interrupted: the cancel waits for it to return.)
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from agentloop.batch.scope import CancelScope, partial_result, run_scoped, scoped_events
from agentloop.events import RunFinished

if TYPE_CHECKING:
    from agentloop.events import RunEvent
    from agentloop.result import RunResult

__all__ = ["arun", "astream"]

_CANCEL_REASON = "the awaiting task was cancelled"
_END = object()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


async def arun(agent: Any, prompt: Any, *, history: Any = None, deps: Any = None) -> RunResult:
    """Run ``agent`` on ``prompt`` off the event loop; see :meth:`agentloop.Agent.arun`."""
    scope = CancelScope(_CANCEL_REASON)
    future = _executor().submit(run_scoped, agent, prompt, history=history, deps=deps, scope=scope)
    waiting = asyncio.wrap_future(future)
    try:
        return await asyncio.shield(waiting)
    except asyncio.CancelledError as cancel:
        cancel.agentloop_result = await _cancel(scope, future, waiting)  # type: ignore[attr-defined]
        raise


async def astream(
    agent: Any, prompt: Any, *, history: Any = None, deps: Any = None
) -> AsyncIterator[RunEvent]:
    """Yield the run's events as they happen; see :meth:`agentloop.Agent.astream`."""
    scope = CancelScope(_CANCEL_REASON)
    stream = getattr(agent, "stream_mode", None) is not False
    events = scoped_events(agent, prompt, history=history, deps=deps, stream=stream, scope=scope)
    executor = _executor()
    finished = False
    try:
        while True:
            future = executor.submit(_next, events)
            waiting = asyncio.wrap_future(future)
            try:
                event = await asyncio.shield(waiting)
            except asyncio.CancelledError as cancel:
                finished = True
                partial = await _cancel(scope, future, waiting, events)
                cancel.agentloop_result = partial  # type: ignore[attr-defined]
                raise
            if event is _END:
                finished = True
                return
            yield event
    except BaseException:
        finished = finished or not _alive(events)
        raise
    finally:
        if not finished:  # the consumer stopped early: close the run, as closing stream() does
            await _settle(asyncio.wrap_future(executor.submit(events.close)))


def _next(events: Generator[RunEvent, None, None]) -> Any:
    return next(events, _END)


def _alive(events: Generator[RunEvent, None, None]) -> bool:
    return getattr(events, "gi_frame", None) is not None


async def _cancel(
    scope: CancelScope,
    future: Future[Any],
    waiting: asyncio.Future[Any],
    events: Generator[RunEvent, None, None] | None = None,
) -> RunResult | None:
    """Cancel the run and wait (uncancellably) until its thread let go; return the partial result."""
    scope.cancel()
    if future.cancel():  # it never got a thread
        if events is None:
            return None
        done = await _settle(asyncio.wrap_future(_executor().submit(_next, events)))
    else:
        done = await _settle(waiting)
    error = done.exception()
    if error is not None:
        return partial_result(error)
    value = done.result()
    if events is None:
        return value  # type: ignore[no-any-return]  # arun: it finished before the cancel
    if isinstance(value, RunFinished):
        return value.result
    if value is _END:
        return None
    # the step in flight ended normally: the next one sees the cancel and ends the run
    done = await _settle(asyncio.wrap_future(_executor().submit(_next, events)))
    error = done.exception()
    return partial_result(error) if error is not None else None


async def _settle(future: asyncio.Future[Any]) -> asyncio.Future[Any]:
    """Wait for ``future`` even while this task is being cancelled again."""
    while not future.done():
        try:
            await asyncio.wait({future})
        except asyncio.CancelledError:
            continue
    return future


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            size = int(os.environ.get("AGENTLOOP_ASYNC_THREADS") or 64)
            _pool = ThreadPoolExecutor(max_workers=max(size, 1), thread_name_prefix="agentloop-aio")
        return _pool
