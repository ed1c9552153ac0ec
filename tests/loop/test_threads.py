"""The run's tool threads (agentloop.loop.threads): hand-off, bound, order, cancel, errors."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError

import pytest

from agentloop.loop.threads import ToolThreads


def test_a_result_is_handed_back_and_can_be_read_again() -> None:
    threads = ToolThreads(2, "t")
    task = threads.submit(lambda a, b: a + b, 2, 3)
    assert task.result(timeout=30) == 5
    assert task.result(timeout=0) == 5  # the outcome stays; no second wait


def test_the_tools_exception_is_raised_to_the_waiting_loop() -> None:
    def fails() -> None:
        raise ValueError("bad input")

    task = ToolThreads(1, "t").submit(fails)
    with pytest.raises(ValueError, match="bad input"):
        task.result(timeout=30)


def test_waiting_past_the_timeout_raises_timeout_error_and_the_slot_can_be_released() -> None:
    gate = threading.Event()
    threads = ToolThreads(1, "t")
    stuck = threads.submit(gate.wait)
    queued = threads.submit(lambda: "second")
    with pytest.raises(TimeoutError):
        stuck.result(timeout=0)
    assert not queued.running.is_set()  # one slot, held by the stuck call
    threads.release(stuck)  # the loop gives up on it: the next call gets the slot
    assert queued.result(timeout=30) == "second"
    gate.set()
    assert stuck.result(timeout=30) is True  # its late result still arrives


def test_calls_beyond_the_bound_wait_and_start_in_call_order() -> None:
    gate = threading.Event()

    def job(n: int) -> int:
        gate.wait(30)
        return n

    threads = ToolThreads(2, "t")
    tasks = [threads.submit(job, n) for n in range(5)]
    assert [t.running.is_set() for t in tasks] == [True, True, False, False, False]
    gate.set()
    assert [t.result(timeout=30) for t in tasks] == [0, 1, 2, 3, 4]
    starts = [t.started for t in tasks]  # given a slot under the lock, in queue order
    assert starts == sorted(starts)


def test_shutdown_cancels_the_queued_calls_only() -> None:
    gate = threading.Event()
    threads = ToolThreads(1, "t")
    running = threads.submit(gate.wait, 30)
    queued = threads.submit(lambda: "never")
    threads.shutdown()
    with pytest.raises(CancelledError):
        queued.result(timeout=30)
    gate.set()
    assert running.result(timeout=30) is True
