"""Group commit: the run log's writes happen on one thread of their own, in order, in batches.

A run hands each event to :class:`GroupWriter` and goes on. At a *barrier*
(:meth:`GroupWriter.flush`) the caller commits everything queued so far in one transaction, in
its own thread; the run log puts one before a tool runs and one at the end of a run, so a tool
never acts before the model turn that asked for it is committed, and a run that has returned
is entirely in the log. What waits longer than ``linger`` (20 ms: the first event of a run
whose model is slow, a tool's result while the next model call runs) is committed by the
writer thread, which looks every ``linger`` (it is never woken per item: a wake per run costs
the run a thread switch, and its barrier usually takes the item first); so an item waits at
most two ``linger``. A fast run of two model calls and a tool is then two commits instead of
five, and the events of many threads share commits.

An item that fails is reported to its run: :meth:`GroupWriter.failure` returns the error once,
at that run's next write or barrier. The thread ends a second after the last item came (an
unclosed log leaves no thread behind) and starts again with the next item; at interpreter exit,
what is queued is written first.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupWriter"]

T = TypeVar("T")
_IDLE = 1.0  # seconds with nothing to write before the thread ends
_LINGER = 0.02  # seconds an item waits for a barrier to write it
_LIVE: weakref.WeakSet[GroupWriter[object]] = weakref.WeakSet()


class GroupWriter(Generic[T]):
    """Write items in order, many per ``write``: at a barrier, or after ``linger`` seconds.

    Args:
        write: Writes one batch; returns the errors of the runs whose items failed, by run
            (an exception it raises fails every item of the batch).
        key: The run an item belongs to (whom a failure is reported to).
        name: The thread's name.
        linger: How long an item waits for a barrier before the thread writes it.
    """

    def __init__(
        self,
        write: Callable[[Sequence[T]], Mapping[str, BaseException]],
        key: Callable[[T], str],
        name: str,
        linger: float = _LINGER,
    ) -> None:
        self._write = write
        self._key = key
        self._name = name
        self._linger = linger
        self._cond = threading.Condition()
        self._writing = threading.Lock()  # one batch at a time: batches keep their order
        self._pending: list[T] = []
        self._queued = 0  # items handed over so far
        self._written = 0  # items written (or failed) so far
        self._failed: dict[str, BaseException] = {}
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._since = 0.0  # when the oldest pending item was queued
        _LIVE.add(self)  # type: ignore[arg-type]

    def put(self, item: T) -> int:
        """Queue one item; returns its ticket for :meth:`flush`."""
        with self._cond:
            if self._pid != os.getpid():  # first use, or a forked child (it has no thread)
                self._pending, self._queued, self._written, self._failed = [], 0, 0, {}
                self._pid, self._thread = os.getpid(), None
            self._pending.append(item)
            self._queued += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            if len(self._pending) == 1:
                self._since = time.monotonic()
            return self._queued

    def flush(self, ticket: int | None = None) -> None:
        """Write, in this thread, every item queued up to ``ticket`` (default: all) that the
        writer thread has not written yet."""
        with self._cond:
            target = self._queued if ticket is None else ticket
            if self._written >= target or self._pid != os.getpid():
                return
        self._write_pending()

    def failure(self, key: str) -> BaseException | None:
        """The error a batch holding ``key``'s items failed with (given once), or None."""
        with self._cond:
            return self._failed.pop(key, None)

    def close(self) -> None:
        """Write what is queued; the thread then ends within ``linger``."""
        self.flush()

    def _write_pending(self) -> None:
        with self._writing:
            with self._cond:
                batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                failed = dict(self._write(batch))
            except Exception as exc:  # noqa: BLE001 - handed to each run of the batch
                failed = {self._key(item): exc for item in batch}
            with self._cond:
                for key, error in failed.items():
                    self._failed.setdefault(key, error)
                self._written += len(batch)

    def _loop(self) -> None:
        # The thread polls every ``linger`` instead of being woken by each first item: a
        # wake per run would cost the run a thread switch for nothing, as a barrier
        # usually takes the item first.
        while True:
            with self._cond:
                now = time.monotonic()
                if not self._pending:
                    # idle since the last item came: end (put starts a new thread)
                    if now - self._since >= _IDLE:
                        self._thread = None
                        return
                    self._cond.wait(self._linger)
                    continue
                left = self._since + self._linger - now
                if left > 0:  # give a barrier the chance to take it along with its own write
                    self._cond.wait(left)
                    continue
            self._write_pending()


@atexit.register
def _flush_all() -> None:
    """At exit, write what every log still has queued (its thread is a daemon)."""
    for writer in list(_LIVE):
        writer.flush()
