"""One redaction rule for every writer: trace file, run log, session messages, cassettes, CLI lines.

Each key here is new (a uuid) and known to the process only through the source under test (the
key store, agentloop.toml, the client's credential), so a writer that keeps it fails the test.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply, chunk, completion, json_reply, sse_reply, tool_call_chunk

from agentloop import Agent, tool
from agentloop.client import ChatClient
from agentloop.config import load_settings
from agentloop.logs import RunLog
from agentloop.providers.keys import save_key, stored_key
from agentloop.secrets import Redactor
from agentloop.sessions import SQLiteSession
from agentloop.tracing import TraceRecorder
from agentloop.tracing.cassette import RecordingTransport, read_cassette
from agentloop.tracing.jsonl import JsonlTrace


def new_key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


@tool
def read_other_key() -> str:
    """Read a key a tool happens to see."""
    return "the other key is " + os.environ["REDACTION_TEST_API_KEY"]


def dump_db(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def test_keys_from_the_store_and_the_environment_never_reach_trace_log_or_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_key, env_key = new_key("ks"), new_key("env")
    home = {"AGENTLOOP_HOME": str(tmp_path / "home")}
    save_key("zprovider", store_key, env=home)
    assert stored_key("zprovider", env=home) == store_key  # the run's key, from the key store
    monkeypatch.setenv("REDACTION_TEST_API_KEY", env_key)
    trace, db = tmp_path / "run.jsonl", tmp_path / "logs.db"
    with FakeServer() as server:
        server.script(
            sse_reply(
                [
                    chunk(role="assistant", id=f"chatcmpl-{store_key}"),
                    tool_call_chunk(f"call_{store_key}", "read_other_key", "{}"),
                    chunk(finish="tool_calls"),
                ]
            ),
            sse_reply([chunk(content=f"your key is {store_key}", finish="stop")]),
        )
        sink = JsonlTrace(trace)
        log = RunLog(db)
        session = SQLiteSession(db, "conv-1")
        agent = Agent(
            "local:m",
            base_url=server.base_url,
            api_key="unrelated-1234",
            tools=[read_other_key],
            plugins=[TraceRecorder(sink), log.recorder()],
            load_plugins=False,
        )
        result = agent.run("hi", session=session)
        sink.close()
        log.close()
        session.close()
    assert store_key in result.output  # the server really echoed it
    for text in (trace.read_text(encoding="utf-8"), dump_db(db)):
        assert store_key not in text and env_key not in text
        assert "[REDACTED]" in text


def test_a_key_from_agentloop_toml_is_redacted_by_every_writer(tmp_path: Path) -> None:
    key = new_key("toml")
    (tmp_path / "agentloop.toml").write_text(f'model = "local:m"\napi_key = "{key}"\n')
    settings = load_settings({}, {}, tmp_path)
    assert settings.api_key == key
    assert Redactor().text(f"echo {key}") == "echo [REDACTED]"


def test_cassettes_redact_request_ids_binary_bodies_and_the_base_url(tmp_path: Path) -> None:
    key = new_key("cas")
    path = tmp_path / "run.cassette.jsonl"
    with FakeServer() as server:
        server.script(
            json_reply(completion("ok"), headers={"x-request-id": f"req-{key}", "request-id": key}),
            Reply(
                status=400,
                headers={"Content-Type": "application/octet-stream"},
                body=[b"\xff\xfe bad " + key.encode() + b" \xff"],
            ),
        )
        base_url = f"{server.base_url}/{key}"
        client = ChatClient(base_url=base_url, api_key=key, max_retries=0)
        client.transport = RecordingTransport(path, meta={"base_url": base_url})
        client.create(model="m", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(Exception):  # noqa: B017 - the 400 is not what is tested
            client.create(model="m", messages=[{"role": "user", "content": "again"}])
        client.close()
    text = path.read_text(encoding="utf-8")
    assert key not in text
    header, exchanges = read_cassette(path)
    assert "[REDACTED]" in header["base_url"]
    assert exchanges[0]["response"]["headers"]["x-request-id"] == "req-[REDACTED]"
    raw = base64.b64decode(exchanges[1]["response"]["body_b64"])
    assert key.encode() not in raw and b"[REDACTED]" in raw


def test_cli_error_lines_hide_a_key_of_the_store(tmp_path: Path) -> None:
    key = new_key("cli")
    home = tmp_path / "home"
    save_key("openai", key, env={"AGENTLOOP_HOME": str(home)})
    env = {**os.environ, "AGENTLOOP_HOME": str(home)}
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "agentloop", "run", "hi", "--model", "openai:gpt-x", "--no-log",
         "--base-url", f"http://127.0.0.1:9/{key}/v1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert key not in done.stderr and key not in done.stdout
    assert "[REDACTED]" in done.stderr, done.stderr  # the line did name the URL


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x1c"])
def test_trace_and_cassette_readers_split_on_newline_only(tmp_path: Path, separator: str) -> None:
    from agentloop.tracing.events import TraceEvent
    from agentloop.tracing.jsonl import read_trace, write_trace

    trace = tmp_path / "t.jsonl"
    event = TraceEvent(
        type="run_started", run_id="r", seq=0, time=1.0, data={"prompt": f"a{separator}b"}
    )
    write_trace(trace, [event])
    assert read_trace(trace)[0].data["prompt"] == f"a{separator}b"
    cassette = tmp_path / "c.jsonl"
    lines = [
        {"agentloop_cassette": 1},
        {"seq": 0, "request": {"json": {"p": f"x{separator}y"}}, "response": {"status": 200}},
    ]
    cassette.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    assert read_cassette(cassette)[1][0]["request"]["json"]["p"] == f"x{separator}y"


def test_the_viewer_gets_numbers_or_null_for_a_string_duration() -> None:
    from agentloop.tracing.events import TraceEvent
    from agentloop.tracing.viewer import embed_json

    events = [
        TraceEvent(
            type="tool_call", run_id="r", seq=0, time=1.0, data={"duration": "1s", "step": "x"}
        )
    ]
    data = json.loads(embed_json(events).replace("\\u003c", "<").replace("\\u003e", ">"))
    assert data[0]["duration"] is None and data[0]["step"] is None
