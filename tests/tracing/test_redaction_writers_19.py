"""Each writer redacts on its own, not only behind a TraceRecorder (issue 19: one rule, every writer).

tests/tracing/test_redaction.py runs every writer behind a recorder, which redacts first; so a
writer that stopped redacting the events it is handed directly (an archive written with
``write_trace``, runs imported with ``RunLog.write_all``, messages added to a session) would
go unnoticed there. Each key is new, and known to the process only through its source (the key
store, or agentloop.toml), so a writer that keeps it fails.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from agentloop.config import load_settings
from agentloop.logs import RunLog
from agentloop.providers.keys import save_key, stored_key
from agentloop.sessions import SQLiteSession
from agentloop.tracing.events import TraceEvent
from agentloop.tracing.jsonl import write_trace


def _key_of(source: str, tmp_path: Path) -> str:
    key = f"{source}-{uuid.uuid4().hex}"
    if source == "store":
        home = {"AGENTLOOP_HOME": str(tmp_path / "home")}
        save_key("zprovider", key, env=home)
        assert stored_key("zprovider", env=home) == key
    else:
        (tmp_path / "agentloop.toml").write_text(f'model = "local:m"\napi_key = "{key}"\n')
        assert load_settings({}, {"HOME": str(tmp_path)}, tmp_path).api_key == key
    return key


def _events(key: str) -> list[TraceEvent]:
    return [
        TraceEvent(type="run_started", run_id="run-1", seq=0, time=1.0,
                   data={"prompt": f"my key is {key}", "messages": []}),
        TraceEvent(type="tool_call", run_id="run-1", seq=1, time=2.0,
                   data={"name": "t", "id": f"call_{key}", "arguments": "{}",
                         "content": key, "status": "ok"}),
        TraceEvent(type="run_finished", run_id="run-1", seq=2, time=3.0,
                   data={"output": f"echo {key}"}),
    ]  # fmt: skip


def _dump(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


SOURCES = ["store", "toml"]


@pytest.mark.parametrize("source", SOURCES)
def test_write_trace_redacts_events_handed_to_it(tmp_path: Path, source: str) -> None:
    key = _key_of(source, tmp_path)
    path = tmp_path / "archive.jsonl"
    write_trace(path, _events(key))
    text = path.read_text(encoding="utf-8")
    assert key not in text and "[REDACTED]" in text


@pytest.mark.parametrize("source", SOURCES)
def test_run_log_write_all_redacts_imported_events(tmp_path: Path, source: str) -> None:
    key = _key_of(source, tmp_path)
    path = tmp_path / "logs.db"
    log = RunLog(path)
    log.write_all(_events(key))
    log.close()
    text = _dump(path)
    assert "run-1" in text  # the run was written
    assert key not in text and "[REDACTED]" in text


@pytest.mark.parametrize("source", SOURCES)
def test_a_session_redacts_messages_added_to_it(tmp_path: Path, source: str) -> None:
    key = _key_of(source, tmp_path)
    path = tmp_path / "s.db"
    session = SQLiteSession(path, "c")
    session.add_messages(
        [{"role": "user", "content": f"key {key}"}, {"role": "tool", "content": key}]
    )
    session.set_metadata({"note": key})
    session.close()
    text = _dump(path)
    assert key not in text and "[REDACTED]" in text
