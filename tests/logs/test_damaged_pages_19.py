"""Corrupt pages that only a read meets: one StorageError naming the file (issue 19).

tests/logs/test_damaged_files.py damages so many pages that opening the file already fails;
here only the events table's root page is damaged, so ``RunLog`` opens the file (its schema
page is intact) and the damage is met by the read queries (``get_run``) and ``agentloop logs``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cli_support import agentloop

from agentloop import StorageError
from agentloop.logs import RunLog
from agentloop.logs.queries import get_run
from agentloop.tracing.events import TraceEvent


def _log_with_a_damaged_events_table(path: Path) -> None:
    log = RunLog(path)
    events = [
        TraceEvent(type="run_started", run_id="run-1", seq=0, time=1.0,
                   data={"prompt": "hi", "messages": []}),
        *(
            TraceEvent(type="tool_call", run_id="run-1", seq=i, time=2.0,
                       data={"name": "t", "arguments": "{}", "content": "x" * 3000, "status": "ok"})
            for i in range(1, 40)
        ),
        TraceEvent(type="run_finished", run_id="run-1", seq=40, time=3.0, data={"output": "ok"}),
    ]  # fmt: skip
    log.write_all(events)
    log.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'events'").fetchone()
    (size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    assert root > 1  # not the schema page: the file still opens
    with open(path, "r+b") as file:
        file.seek((root - 1) * size)
        file.write(b"\xa5" * size)


def test_a_damaged_page_met_by_a_read_is_one_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    _log_with_a_damaged_events_table(path)
    log = RunLog(path)  # opens: the damage is further in
    try:
        try:
            get_run(log.db, "run-1")
        except StorageError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
        else:
            raise AssertionError("a read over a damaged page returned")
    finally:
        log.close()


def test_logs_show_over_a_damaged_page_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    _log_with_a_damaged_events_table(path)
    proc = agentloop("logs", "--db", str(path), "show", "run-1", cwd=tmp_path)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "logs.db" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and "--debug" not in proc.stderr
