"""The one background event loop per process that drives the async MCP SDK from sync code.

agentloop runs tools on plain threads; the SDK is async (anyio on asyncio).
Every MCP connection of the process lives as a task on this loop, started
lazily on a daemon thread. Synchronous callers hand it coroutines with
:func:`run` and block on the answer, so parallel tool calls from several
threads become concurrent requests on the connections. At interpreter exit
the registered closers stop every server still running. A forked child
starts its own loop (its parent's servers are not its own).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio
    import concurrent.futures

__all__ = ["on_exit", "run", "submit"]

_T = TypeVar("_T")
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_closers: list[Callable[[], Awaitable[None]]] = []
_EXIT_TIMEOUT = 5.0


def _get_loop() -> asyncio.AbstractEventLoop:
    import asyncio

    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="agentloop-mcp-loop", daemon=True
            )
            thread.start()
            _loop = loop
            atexit.register(_shutdown)
        return _loop


def submit(coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
    """Schedule ``coro`` on the background loop; return a thread-safe future."""
    import asyncio

    return asyncio.run_coroutine_threadsafe(coro, _get_loop())


def run(coro: Coroutine[Any, Any, _T], timeout: float | None = None) -> _T:
    """Run ``coro`` on the background loop and wait for its result.

    Args:
        coro: The coroutine.
        timeout: Seconds to wait; on expiry the coroutine is cancelled and
            :class:`TimeoutError` raised.

    Raises:
        RuntimeError: Called from the background loop itself (it would deadlock).
    """
    import asyncio

    loop = _get_loop()
    if threading.current_thread().name == "agentloop-mcp-loop":
        coro.close()
        raise RuntimeError("agentloop_mcp: blocking call made on the MCP event loop thread")
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result(timeout)
    except TimeoutError:
        if future.done():
            raise  # the coroutine's own timeout
        future.cancel()
        raise TimeoutError(f"no answer within {timeout} s") from None


def on_exit(closer: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Register an async closer to run at interpreter exit; return a function to unregister it."""
    with _lock:
        _closers.append(closer)

    def remove() -> None:
        with _lock:
            if closer in _closers:
                _closers.remove(closer)

    return remove


def _forget_after_fork() -> None:
    """In a forked child the loop's thread does not exist: start a new loop on first use."""
    global _loop, _lock
    _loop, _lock = None, threading.Lock()
    _closers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _shutdown() -> None:
    """At exit: run every closer (stop servers), bounded in time, then stop the loop."""
    import asyncio

    loop = _loop
    if loop is None or loop.is_closed() or not loop.is_running():
        return
    with _lock:
        closers = list(_closers)
        _closers.clear()

    async def close_all() -> None:
        await asyncio.gather(*(c() for c in closers), return_exceptions=True)

    if closers:
        # exit must not hang or fail on a server that will not stop
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(_EXIT_TIMEOUT)
    loop.call_soon_threadsafe(loop.stop)
