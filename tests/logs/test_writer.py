"""Group commit: what the run log promises about when each event is on disk."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agentloop import Agent, StorageError, tool
from agentloop.logs import RunLog
from agentloop.logs.writer import GroupWriter
from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response


def _committed(path: Path) -> list[str]:
    """The event types another connection sees (what a crash would leave)."""
    with sqlite3.connect(path, timeout=10) as conn:
        return [r[0] for r in conn.execute("SELECT type FROM events ORDER BY run, seq")]


def _wait_for(path: Path, kind: str) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen = _committed(path)
        if kind in seen:
            return seen
        time.sleep(0.01)
    pytest.fail(f"{kind} was never committed; the file holds {_committed(path)}")


def test_a_tool_runs_only_after_the_turn_that_asked_for_it_is_committed(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    seen: list[list[str]] = []

    @tool
    def look() -> str:
        """Read the log from another connection, as a crash would leave it."""
        seen.append(_committed(path))
        return "ok"

    model = ScriptedModel([tool_calls_response(tool_call("look", {})), text_response("done")])
    log = RunLog(path)
    agent = Agent(model, tools=[look], plugins=[log.recorder()], load_plugins=False)
    agent.run("go")
    assert seen == [["run_started", "model_request", "model_response"]]
    # and the whole run is committed once run() has returned, before any close()
    assert _committed(path) == [
        "run_started",
        "model_request",
        "model_response",
        "tool_call",
        "model_request",
        "model_response",
        "run_finished",
    ]


def test_an_event_no_barrier_follows_is_committed_by_the_writer_thread(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    log = RunLog(path)
    seen: list[list[str]] = []

    def slow_model(request: Any) -> Any:
        # the run waits on its model: nothing but the writer thread can commit run_started
        seen.append(_wait_for(path, "run_started"))
        return text_response("done")

    agent = Agent(ScriptedModel([slow_model]), plugins=[log.recorder()], load_plugins=False)
    agent.run("go")
    assert seen == [["run_started"]]


def test_a_failed_write_reaches_only_its_own_run() -> None:
    written: list[str] = []

    def write(batch: Sequence[str]) -> dict[str, BaseException]:
        written.extend(item for item in batch if item != "bad")
        return {"bad": ValueError("no")} if "bad" in batch else {}

    writer = GroupWriter(write, key=lambda item: item, name="test-writer")
    for item in ("a", "bad", "b"):
        writer.put(item)
    writer.flush()
    assert written == ["a", "b"]
    assert isinstance(writer.failure("bad"), ValueError)
    assert writer.failure("bad") is None  # given once
    assert writer.failure("a") is None


def test_a_write_that_raises_fails_every_run_of_the_batch() -> None:
    def write(batch: Sequence[str]) -> dict[str, BaseException]:
        raise OSError("disk gone")

    writer = GroupWriter(write, key=lambda item: item, name="test-writer")
    writer.put("a")
    writer.put("b")
    writer.flush()
    assert isinstance(writer.failure("a"), OSError) and isinstance(writer.failure("b"), OSError)


def test_batches_keep_their_order_across_threads() -> None:
    written: list[int] = []
    lock = threading.Lock()

    def write(batch: Sequence[int]) -> dict[str, BaseException]:
        with lock:
            written.extend(batch)
        return {}

    writer = GroupWriter(write, key=str, name="test-writer", linger=0.0)
    order: list[int] = []

    def worker(start: int) -> None:
        for i in range(start, start + 200):
            with lock:
                order.append(i)
                writer.put(i)
            if i % 7 == 0:
                writer.flush()

    threads = [threading.Thread(target=worker, args=(n * 1000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.flush()
    assert written == order


def test_barriers_that_take_every_item_leave_the_writer_thread_alone() -> None:
    """A fast run's items are all taken by its barriers: the writer thread must neither write
    them (the barrier would wait on that write) nor end and restart at every run."""
    by_thread: list[str] = []

    def write(batch: Sequence[int]) -> dict[str, BaseException]:
        by_thread.append(threading.current_thread().name)
        time.sleep(0.0005)  # a commit: it lets other threads run, as SQLite's does
        return {}

    writer = GroupWriter(write, key=str, name="test-writer")
    threads = set()
    for i in range(300):
        writer.flush(writer.put(i))
        threads.add(writer._thread)
    assert by_thread == ["MainThread"] * 300
    assert len(threads) == 1  # one writer thread for all 300 "runs"
    deadline = time.monotonic() + 30
    while writer._thread is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert writer._thread is None  # and it ends once idle


def test_a_run_whose_event_cannot_be_written_warns_and_the_next_run_is_logged(
    tmp_path: Path,
) -> None:
    log = RunLog(tmp_path / "logs.db")
    recorder = log.recorder()
    agent = Agent(ScriptedModel(["one", "two"]), plugins=[recorder], load_plugins=False)
    log.db.conn.execute("CREATE TRIGGER no_answers BEFORE UPDATE ON runs "
                        "WHEN new.answer = 'one' BEGIN SELECT RAISE(ABORT, 'refused'); END")  # fmt: skip
    with pytest.warns(Warning, match="not recorded"):
        agent.run("first")
    agent.run("second")
    rows = log.db.query("SELECT answer, gap FROM runs ORDER BY n")
    assert rows[0]["answer"] is None and "refused" in rows[0]["gap"]
    assert rows[1]["answer"] == "two" and rows[1]["gap"] is None


def test_calling_the_log_directly_writes_at_once(tmp_path: Path) -> None:
    from agentloop.tracing.events import TraceEvent

    path = tmp_path / "logs.db"
    log = RunLog(path)
    log(TraceEvent(type="run_started", run_id="r1", seq=0, time=1.0, data={"prompt": "hi"}))
    assert _committed(path) == ["run_started"]
    with pytest.raises(StorageError):  # a run the log never saw start
        log(TraceEvent(type="tool_call", run_id="r2", seq=1, time=1.0, data={}))
