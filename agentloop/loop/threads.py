"""The run's tool threads: daemon threads, a bounded number at a time, started in call order.

Threads are kept for reuse by every run of the process (a thread start costs more than a
typical tool call); each run still bounds how many of its calls run at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ToolTask", "ToolThreads"]


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
                self._queue.popleft().future.cancel()

    def _start_queued(self) -> None:
        """Start queued tasks while slots are free (called with the lock held)."""
        while self._free > 0 and self._queue:
            task = self._queue.popleft()
            if not task.future.set_running_or_notify_cancel():
                continue
            self._free -= 1
            task.holds_slot = True
            task.started, task.started_at = time.perf_counter(), time.time()
            task.running.set()
            _WORKERS.run(self._run, task)

    def _run(self, task: ToolTask) -> None:
        threading.current_thread().name = self._name
        try:
            result = task.fn(*task.args)
        except BaseException as exc:  # handed to the waiting loop thread, which re-raises
            task.future.set_exception(exc)
        else:
            task.future.set_result(result)
        finally:
            self.release(task)


@dataclass(eq=False)
class ToolTask:
    """One call queued on :class:`ToolThreads`: its future and when it really started."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: Future[Any] = field(default_factory=Future)
    running: threading.Event = field(default_factory=threading.Event)
    holds_slot: bool = False
    started: float = 0.0
    started_at: float = 0.0


class _Worker:
    """One reusable daemon thread; idle ones wait for their next job."""

    __slots__ = ("job", "wake")

    def __init__(self, job: tuple[Callable[..., Any], Any]) -> None:
        self.job: tuple[Callable[..., Any], Any] | None = job
        self.wake = threading.Event()


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
                worker.wake.set()
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
                worker.wake.clear()
                self._idle.append(worker)
            if not worker.wake.wait(self._idle_seconds):
                with self._lock:
                    if worker in self._idle:  # not handed a job while timing out
                        self._idle.remove(worker)
                        return


_WORKERS = _WorkerCache()
