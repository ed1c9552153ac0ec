"""The run's tool threads: daemon threads, a bounded number at a time, started in call order.

Threads are kept for reuse by every run of the process (a thread start costs more than a
typical tool call); each run still bounds how many of its calls run at once.

A call's hand-off is two plain locks, not a ``Future`` and ``Event``s: a parked thread waits
on its own locked ``wake`` lock and the loop waits on the task's locked ``done`` lock, so a
tool call costs the two thread switches it needs and no condition-variable bookkeeping (every
run pays this: the default tool timeout puts every call on a thread).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ToolTask", "ToolThreads"]


def _locked() -> threading.Lock:
    """A new lock, already held: the first ``acquire`` waits for someone's ``release``."""
    lock = threading.Lock()
    lock.acquire()
    return lock


class ToolThreads:
    """Runs tool calls on daemon threads, at most ``size`` at a time, started in call order.

    Unlike ``ThreadPoolExecutor`` workers, daemon threads do not hold the
    process open at exit, so a tool that never returns (its timeout already
    reported to the model) cannot hang the program. The loop gives the slot
    of such an abandoned call back (:meth:`release`), so a hung tool never
    blocks the calls after it.

    Args:
        size: The most calls running at once.
        name: Thread name prefix.
    """

    def __init__(self, size: int, name: str) -> None:
        self._free = size
        self._name = name
        self._cond = threading.Condition()
        self._queue: deque[ToolTask] = deque()

    def submit(self, fn: Callable[..., Any], *args: Any) -> ToolTask:
        """Queue ``fn(*args)``; it starts once the calls queued before it have a slot."""
        task = ToolTask(fn=fn, args=args)
        with self._cond:
            self._queue.append(task)
            self._start_queued()
        return task

    def release(self, task: ToolTask) -> None:
        """Give ``task``'s slot back (once): it finished, or the loop stopped waiting for it."""
        with self._cond:
            if task.holds_slot:
                task.holds_slot = False
                self._free += 1
                self._start_queued()

    def shutdown(self) -> None:
        """Cancel calls still waiting for a slot; running ones finish unobserved."""
        with self._cond:
            while self._queue:
                self._queue.popleft().finish(CancelledError())

    def _start_queued(self) -> None:
        """Start queued tasks while slots are free (called with the lock held)."""
        while self._free > 0 and self._queue:
            task = self._queue.popleft()
            self._free -= 1
            task.holds_slot = True
            task.started, task.started_at = time.perf_counter(), time.time()
            task.running.set()
            _WORKERS.run(self._run, task)

    def _run(self, task: ToolTask) -> None:
        threading.current_thread().name = self._name
        try:
            outcome: Any = task.fn(*task.args)
        except BaseException as exc:  # handed to the waiting loop thread, which re-raises
            outcome = exc
        self.release(task)  # before the loop wakes: a finished call holds no slot it can see
        task.finish(outcome)


@dataclass(eq=False)
class ToolTask:
    """One call queued on :class:`ToolThreads`: its outcome and when it really started."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    running: threading.Event = field(default_factory=threading.Event)
    holds_slot: bool = False
    started: float = 0.0
    started_at: float = 0.0
    outcome: Any = None
    done: threading.Lock = field(default_factory=_locked)

    def finish(self, outcome: Any) -> None:
        """Store the call's value (or the exception it raised) and wake the waiting loop."""
        self.outcome = outcome
        self.running.set()  # a call cancelled while queued never ran: nobody waits for that
        self.done.release()

    def result(self, timeout: float | None = None) -> Any:
        """The call's value (its exception is raised); ``TimeoutError`` after ``timeout`` s."""
        if not self.done.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError
        self.done.release()  # later calls of result() return at once
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class _Worker:
    """One reusable daemon thread; idle ones wait on their locked ``wake`` lock."""

    __slots__ = ("job", "wake")

    def __init__(self, job: tuple[Callable[..., Any], Any]) -> None:
        self.job: tuple[Callable[..., Any], Any] | None = job
        self.wake = _locked()


class _WorkerCache:
    """Daemon threads shared by all runs; one idle for ``idle_seconds`` exits."""

    def __init__(self, idle_seconds: float = 30.0) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._idle_seconds = idle_seconds

    def run(self, fn: Callable[..., Any], arg: Any) -> None:
        """Run ``fn(arg)`` on an idle thread, or on a new one when none is idle."""
        with self._lock:
            if self._idle:
                worker = self._idle.pop()
                worker.job = (fn, arg)
                worker.wake.release()
                return
        worker = _Worker((fn, arg))
        threading.Thread(
            target=self._loop, args=(worker,), name="agentloop-tool", daemon=True
        ).start()

    def _loop(self, worker: _Worker) -> None:
        while True:
            job, worker.job = worker.job, None
            if job is not None:
                job[0](job[1])
            with self._lock:
                self._idle.append(worker)
            if not worker.wake.acquire(timeout=self._idle_seconds):
                with self._lock:
                    if worker in self._idle:  # not handed a job while timing out
                        self._idle.remove(worker)
                        return
                # handed a job while timing out: run() released wake under the lock
                worker.wake.acquire()


_WORKERS = _WorkerCache()
