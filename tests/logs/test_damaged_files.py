"""Files a user or a crash can damage: one AgentloopError naming the file, never an internal error."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from agentloop import StorageError
from agentloop.logs import RunLog
from agentloop.logs.queries import get_run, list_runs
from agentloop.sessions import SQLiteSession
from agentloop.storage import connect
from agentloop.tracing.cassette import CassetteError, read_cassette
from agentloop.tracing.events import TraceError, TraceEvent
from agentloop.tracing.jsonl import read_trace


def logged_run(path: Path) -> None:
    log = RunLog(path)
    events = [
        TraceEvent(type="run_started", run_id="run-1", seq=0, time=1.0,
                   data={"prompt": "hi", "messages": []}),
        TraceEvent(type="tool_call", run_id="run-1", seq=1, time=2.0,
                   data={"name": "t", "arguments": "{}", "content": "x", "status": "ok"}),
        TraceEvent(type="run_finished", run_id="run-1", seq=2, time=3.0,
                   data={"output": "ok", "error": {"type": "E", "message": "m"}}),
    ]  # fmt: skip
    log.write_all(events)
    log.close()


@pytest.mark.parametrize("table", ["events", "runs"])
def test_rows_with_invalid_json_are_one_storage_error(tmp_path: Path, table: str) -> None:
    path = tmp_path / "logs.db"
    logged_run(path)
    conn = sqlite3.connect(path)
    column = "data" if table == "events" else "error"
    conn.execute(f"UPDATE {table} SET {column} = '{{not json'")
    conn.commit()
    conn.close()
    log = RunLog(path)
    with pytest.raises(StorageError, match=str(path)):
        get_run(log.db, "run-1")
    with pytest.raises(StorageError, match="not a JSON object"):
        list_runs(log.db)
    log.close()


def test_corrupt_pages_are_one_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    logged_run(path)
    data = bytearray(path.read_bytes())
    for page in range(1, len(data) // 4096):
        data[page * 4096 : page * 4096 + 100] = b"\xa5" * 100
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match=r"logs\.db"):
        log = RunLog(path)
        list_runs(log.db)


def test_a_hand_deleted_session_row_does_not_break_later_runs(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    session = SQLiteSession(path, "c")
    session.add_messages([{"role": "user", "content": str(i)} for i in range(3)])
    session.db.conn.execute("DELETE FROM session_messages WHERE position = 1")
    held = session.get_messages()
    session.add_messages([{"role": "assistant", "content": "next"}], after=len(held))
    assert [m["content"] for m in session.get_messages()] == ["0", "2", "next"]
    session.db.conn.execute("UPDATE session_messages SET message = 'x{' WHERE position = 0")
    with pytest.raises(StorageError, match="not JSON"):
        session.get_messages()
    session.db.conn.execute("UPDATE sessions SET metadata = '[' ")
    with pytest.raises(StorageError, match="not JSON"):
        session.metadata  # noqa: B018
    session.close()


@pytest.mark.parametrize(
    "line",
    [
        b'{"v": 1, "type": "run_started", "run_id": "r", "seq": null, "time": 1}',
        '{"v": 1, "type": "run_started", "run_id": "r", "seq": 0, "time": 1, "prompt": "é'.encode()[
            :-1
        ],
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_a_cut_or_edited_trace_is_one_trace_error(tmp_path: Path, line: bytes) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(line + b"\n")
    with pytest.raises(TraceError, match=r"t\.jsonl:1"):
        read_trace(path)


HEADER = json.dumps({"agentloop_cassette": 1})


@pytest.mark.parametrize(
    "line",
    [
        "[1, 2]",
        json.dumps({"seq": 0, "request": {}, "response": {"status": "abc"}}),
        json.dumps({"seq": 0, "request": {}, "response": {"status": 200, "body_b64": "%%%"}}),
        json.dumps({"seq": "x", "request": {}, "response": {}}),
        "[" * 5000 + "]" * 5000,
    ],
)
def test_a_hand_edited_cassette_is_one_cassette_error(tmp_path: Path, line: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(HEADER + "\n" + line + "\n")
    with pytest.raises(CassetteError, match=r"c\.jsonl:2"):
        read_cassette(path)


def test_new_database_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    db = connect(folder / "logs.db", component="logs", migrations=[["CREATE TABLE t (x)"]])
    with db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
    for file in folder.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    db.close()


def test_a_locked_file_is_waited_for_once(tmp_path: Path) -> None:
    """After one write waited the whole busy timeout, the next fail at once (one warning)."""
    path = tmp_path / "logs.db"
    SQLiteSession(path, "c").close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    first = SQLiteSession(path, "c", timeout=0.2)
    with pytest.raises(StorageError, match="locked"):
        first.set_metadata({"a": 1})
    # an hour's busy timeout: waiting it would hang the test, so passing proves no wait
    second = SQLiteSession(path, "c", timeout=3600)
    with pytest.raises(StorageError, match="locked"):
        second.add_messages([{"role": "user", "content": "x"}])
    holder.execute("ROLLBACK")
    second.add_messages([{"role": "user", "content": "x"}])  # the lock is gone: writes again
    assert len(second.get_messages()) == 1
    holder.close()
    first.close()
    second.close()
    assert os.path.exists(path)
