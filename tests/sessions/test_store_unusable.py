"""A CLI run whose logs.db cannot be used: one warning, and the warning is true.

Two findings of issue 19: a lock held past the busy timeout cost a run three busy timeouts and
two warnings, and a sessions schema from a newer agentloop warned "not logged" while the run
was logged anyway. Both are run here as a user meets them: ``agentloop run`` in a subprocess.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cli_support import CALC, agentloop

from agentloop import StorageError
from agentloop.logs import RunLog
from agentloop.sessions import SQLiteSession
from agentloop.tracing.events import TraceEvent

PROMPT = "What is 2 + 3?"


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("agentloop: warning:")]


def _runs(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])


def _conversations(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM sessions").fetchone()[0])


def _a_store(home: Path) -> Path:
    """``home``'s logs.db with one logged run and conversation, as after a first CLI run."""
    proc = agentloop("run", CALC, PROMPT, "--model", "offline", AGENTLOOP_HOME=str(home))
    assert proc.returncode == 0, proc.stderr
    path = home / "logs.db"
    assert _runs(path) == 1 and _conversations(path) == 1
    return path


def test_a_lock_held_past_the_busy_timeout_gives_one_warning_and_no_half_log(
    tmp_path: Path,
) -> None:
    path = _a_store(tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process keeps the write lock for the whole run
    try:
        proc = agentloop(
            "run",
            CALC,
            PROMPT,
            "--model",
            "offline",
            AGENTLOOP_HOME=str(tmp_path),
            AGENTLOOP_BUSY_TIMEOUT="0.5",
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 0, proc.stderr
    assert "5" in proc.stdout  # the run itself is not lost
    [warning] = _warnings(proc.stderr)  # one, not one per write that waited
    assert "locked" in warning and str(path) in warning and "not logged" in warning
    assert "Traceback" not in proc.stderr
    # the warning is true: nothing of this run reached the file, not even a first event
    assert _runs(path) == 1 and _conversations(path) == 1


def test_the_given_up_file_is_not_waited_for_again_in_the_run(tmp_path: Path) -> None:
    """After the one wait, every later write of the process fails at once (no second wait).

    The later stores are opened with an hour's busy timeout: a second wait would hang the test
    (its generous timeout fails it), so the test passing proves there was none.
    """
    path = tmp_path / "logs.db"
    RunLog(path).close()
    SQLiteSession(path, "c").close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    first = SQLiteSession(path, "c", timeout=0.2)
    log = RunLog(path, timeout=3600)
    later = SQLiteSession(path, "c", timeout=3600)
    event = TraceEvent(type="run_started", run_id="r1", seq=0, time=0.0, data={})
    try:
        with pytest.raises(StorageError, match="locked"):
            first.set_metadata({"a": 1})  # the one write that waits the busy timeout
        with pytest.raises(StorageError, match="locked"):
            log.write_all([event])  # the run log's writes, in the same process: no wait
        with pytest.raises(StorageError, match="locked"):
            later.add_messages([{"role": "user", "content": "x"}])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    later.add_messages([{"role": "user", "content": "x"}])  # the lock is gone: writes again
    assert len(later.get_messages()) == 1
    for store in (first, log, later):
        store.close()


def test_a_newer_sessions_schema_warns_not_logged_and_logs_nothing(tmp_path: Path) -> None:
    path = _a_store(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE agentloop_schema SET version = 99 WHERE component = 'sessions'")
    proc = agentloop("run", CALC, PROMPT, "--model", "offline", AGENTLOOP_HOME=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "5" in proc.stdout
    [warning] = _warnings(proc.stderr)
    assert "sessions schema is version 99" in warning and "not logged" in warning
    assert str(path) in warning
    # the warning is true: the run log, whose schema is fine, did not log the run either
    assert _runs(path) == 1


def test_a_newer_log_schema_warns_not_logged_and_stores_no_conversation(tmp_path: Path) -> None:
    path = _a_store(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE agentloop_schema SET version = 99 WHERE component = 'logs'")
    proc = agentloop("run", CALC, PROMPT, "--model", "offline", AGENTLOOP_HOME=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    [warning] = _warnings(proc.stderr)
    assert "schema is version 99" in warning and "not logged" in warning
    assert _conversations(path) == 1
