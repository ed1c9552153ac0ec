"""The local engine: ``workers`` threads in this process, each running one item at a time.

Every item is ``Agent.run`` (through :func:`~agentloop.batch.scope.run_scoped`,
so a stop can cancel it), retried from scratch after a transient API error
(connection, timeout, 429, 5xx, a broken stream) up to ``retries`` times.
Any other failure is the item's result: one failing item never stops the batch.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from agentloop.batch.items import BatchItem, ItemResult
from agentloop.batch.scope import CancelScope, Limiter, partial_result, run_scoped
from agentloop.errors import (
    APIConnectionError,
    InternalServerError,
    RateLimitError,
    RunCancelled,
    StreamError,
)

if TYPE_CHECKING:
    from agentloop.result import RunResult

__all__ = ["TRANSIENT", "LocalEngine", "run_item"]

#: Errors after which an item is run again (within its retry budget).
TRANSIENT: tuple[type[Exception], ...] = (
    APIConnectionError,
    RateLimitError,
    InternalServerError,
    StreamError,
)
_STOP_REASON = "the batch was stopped"


def run_item(
    agent: Any,
    item: BatchItem,
    *,
    scope: CancelScope,
    limiter: Limiter | None = None,
    retries: int = 2,
    backoff: float = 0.5,
) -> ItemResult:
    """Run one item, retrying transient API errors; never raises but :class:`RunCancelled`.

    Args:
        agent: The agent.
        item: The item.
        scope: Cancelled when the batch stops.
        limiter: The batch's shared rate limiter, or None.
        retries: Extra attempts after a transient API error.
        backoff: Seconds before the first retry (doubled each time, at most 30 s).
    """
    started = time.perf_counter()
    attempts = 0
    while True:
        attempts += 1
        try:
            result: RunResult = run_scoped(
                agent,
                item.prompt,
                history=item.history,
                deps=item.deps,
                scope=scope,
                limiter=limiter,
            )
        except RunCancelled:
            raise
        except TRANSIENT as exc:
            if attempts <= retries and not scope.wait(min(backoff * 2 ** (attempts - 1), 30.0)):
                continue
            scope.check()
            return _failed(item, exc, started, attempts)
        except Exception as exc:
            return _failed(item, exc, started, attempts)
        duration = time.perf_counter() - started
        return ItemResult.from_run(item, result, duration=duration, attempts=attempts)


def _failed(item: BatchItem, exc: Exception, started: float, attempts: int) -> ItemResult:
    duration = time.perf_counter() - started
    return ItemResult.from_run(
        item, partial_result(exc), duration=duration, attempts=attempts, error=exc
    )


class LocalEngine:
    """Run items on ``workers`` threads; :meth:`results` yields them as they finish.

    Args:
        agent: The agent (read-only, shared by all threads).
        items: The items to run, in order of starting.
        workers: Concurrent runs.
        retries: Per-item retry budget for transient API errors.
        limiter: Shared rate limiter, or None.
    """

    def __init__(
        self,
        agent: Any,
        items: Iterable[BatchItem],
        *,
        workers: int = 4,
        retries: int = 2,
        limiter: Limiter | None = None,
    ) -> None:
        self._agent = agent
        self._items = iter(items)
        self._workers = workers
        self._retries = retries
        self._limiter = limiter
        self._scope = CancelScope(_STOP_REASON)
        self._lock = threading.Lock()
        self._stopping = False
        self._done: queue.SimpleQueue[ItemResult | BaseException | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self.running = 0

    def results(self) -> Iterator[ItemResult]:
        """Start the threads and yield each item's result as it finishes."""
        self._threads = [
            threading.Thread(target=self._work, name=f"agentloop-batch-{n}", daemon=True)
            for n in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()
        alive = len(self._threads)
        while alive:
            got = self._done.get()
            if got is None:
                alive -= 1
            elif isinstance(got, BaseException):
                raise got
            else:
                yield got

    def stop(self) -> list[ItemResult]:
        """Start no new item, cancel the running ones, wait for the threads.

        Returns:
            Results that finished but were not yielded yet (cancelled items are
            not results: they run again on resume).
        """
        with self._lock:
            self._stopping = True
        self._scope.cancel()
        for thread in self._threads:
            thread.join()
        left = []
        while not self._done.empty():
            got = self._done.get()
            if isinstance(got, ItemResult):
                left.append(got)
        return left

    def close(self) -> None:
        """Nothing to release: the threads end with the items."""

    def _next_item(self) -> BatchItem | None:
        with self._lock:
            if self._stopping:
                return None
            item = next(self._items, None)
            if item is not None:
                self.running += 1
            return item

    def _work(self) -> None:
        try:
            while (item := self._next_item()) is not None:
                try:
                    result = run_item(
                        self._agent,
                        item,
                        scope=self._scope,
                        limiter=self._limiter,
                        retries=self._retries,
                    )
                except RunCancelled:
                    continue
                finally:
                    with self._lock:
                        self.running -= 1
                self._done.put(result)
        except BaseException as exc:  # a bug in a driver, not an item failure: surface it
            self._done.put(exc)
        finally:
            self._done.put(None)
