"""The run log: every run's events in SQLite, kept through SIGKILL, concurrent, secret-free."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
from loop_support import add

from agentloop import Agent, AgentloopWarning, tool
from agentloop.errors import StorageError
from agentloop.logs import RunLog, data_dir, log_path
from agentloop.logs.queries import get_run, list_runs
from agentloop.logs.schema import SCHEMA_VERSION
from agentloop.storage import connect
from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response


def _run(log: RunLog, prompt: str = "add 2 and 3", **recorder: object) -> object:
    model = ScriptedModel(
        [tool_calls_response(tool_call("add", {"a": 2, "b": 3}, id="c1")), text_response("five")]
    )
    agent = Agent(
        model,
        instructions="Be brief.",
        tools=[add],
        plugins=[log.recorder(**recorder)],
        load_plugins=False,
    )
    return agent.run(prompt)


def test_a_run_is_logged_with_its_steps_and_found_again(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "logs.db")
    result = _run(log, conversation_id="conv-1")
    _run(log, "something else entirely")
    [run] = list_runs(log.db, query="add", limit=5)
    assert run["run_id"] == result.run_id and run["conversation_id"] == "conv-1"
    assert (run["prompt"], run["answer"], run["stop_reason"]) == ("add 2 and 3", "five", "stop")
    assert run["tool_calls"][0]["name"] == "add" and run["tool_calls"][0]["content"] == "5"
    assert [r["prompt"] for r in list_runs(log.db, limit=0)] == [
        "something else entirely",
        "add 2 and 3",
    ]
    assert list_runs(log.db, conversation="conv-1", limit=0)[0]["run_id"] == result.run_id
    assert list_runs(log.db, model="scripted") and not list_runs(log.db, model="gpt-4o")
    assert not list_runs(log.db, since=time.time() + 60)
    whole = get_run(log.db, result.run_id[:8])
    kinds = [e["type"] for e in whole["events"]]
    assert kinds == [
        "run_started", "model_request", "model_response", "tool_call",
        "model_request", "model_response", "run_finished",
    ]  # fmt: skip
    assert whole["events"][0]["instructions"] == "Be brief."
    # the documented views work for sqlite3 users
    rows = log.db.query(
        "SELECT name, arguments, status FROM tool_calls WHERE run_id = ?", (result.run_id,)
    )
    assert [tuple(r) for r in rows] == [("add", '{"a": 2, "b": 3}', "ok")]
    assert log.db.query("SELECT runs FROM conversations WHERE id = 'conv-1'")[0][0] == 1


def test_the_schema_is_versioned_and_migrated_forward(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    first = (("CREATE TABLE things (a TEXT)",),)
    connect(path, component="demo", migrations=first).close()
    second = (
        *first,
        ("ALTER TABLE things ADD COLUMN b TEXT", "INSERT INTO things VALUES ('x', 'y')"),
    )
    db = connect(path, component="demo", migrations=second)
    assert [tuple(r) for r in db.query("SELECT a, b FROM things")] == [("x", "y")]
    assert db.query("SELECT version FROM agentloop_schema WHERE component = 'demo'")[0][0] == 2
    with pytest.raises(StorageError, match="knows up to 1"):
        connect(path, component="demo", migrations=first)
    log = RunLog(path)  # another component in the same file
    assert (
        log.db.query("SELECT version FROM agentloop_schema WHERE component = 'logs'")[0][0]
        == SCHEMA_VERSION
    )


SLOW = """
import sys, time
from agentloop import Agent, tool
from agentloop.logs import RunLog
from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response

@tool
def add(a: int, b: int) -> int:
    '''Add.

    Args:
        a: A.
        b: B.
    '''
    return a + b

@tool
def slow() -> str:
    '''Take forever.'''
    time.sleep(60)
    return "never"

model = ScriptedModel([
    tool_calls_response(tool_call("add", {"a": 2, "b": 3}, id="c1")),
    tool_calls_response(tool_call("slow", {}, id="c2")),
    text_response("done"),
])
agent = Agent(model, tools=[add, slow], plugins=[RunLog(sys.argv[1]).recorder()], load_plugins=False)
agent.run("add, then wait")
"""


def _responses(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            return int(
                conn.execute(
                    "SELECT count(*) FROM events WHERE type = 'model_response'"
                ).fetchone()[0]
            )
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_a_run_killed_during_a_slow_tool_keeps_its_finished_steps(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    proc = subprocess.Popen([sys.executable, "-c", SLOW, str(path)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if _responses(path) >= 2:  # the second response (the slow call) is logged
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the run never reached the slow tool (exit code {proc.poll()})")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    log = RunLog(path)
    [run] = list_runs(log.db)
    assert run["finished_at"] is None and run["prompt"] == "add, then wait"
    assert [(c["name"], c["content"]) for c in run["tool_calls"]] == [("add", "5")]
    kinds = [e["type"] for e in get_run(log.db, run["run_id"])["events"]]
    assert kinds == [
        "run_started",
        "model_request",
        "model_response",
        "tool_call",
        "model_request",
        "model_response",
    ]


def test_fifty_threads_and_four_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    script = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from test_store import _run\n"
        "from agentloop.logs import RunLog\n"
        "log = RunLog(sys.argv[1])\n"
        "for _ in range(10):\n"
        "    _run(log, 'from a process')\n"
    )
    here = str(Path(__file__).parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, str(Path(here).parent)])}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), here], env=env) for _ in range(4)
    ]
    log = RunLog(path)
    threads = [threading.Thread(target=_run, args=(log, "from a thread")) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    runs = list_runs(log.db, limit=0, tool_calls=False)
    assert len(runs) == 90 and all(r["finished_at"] and r["answer"] == "five" for r in runs)
    assert log.db.query("SELECT count(*) FROM events")[0][0] == 90 * 7
    assert len(list_runs(log.db, query="thread", limit=0)) == 50


def test_the_canary_key_never_reaches_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_server: object
) -> None:
    from fakeserver import completion, json_reply

    canary = "sk-canary-0f3e9a7d"
    monkeypatch.setenv("AGENTLOOP_API_KEY", canary)

    @tool
    def leak() -> str:
        """Return the key (a tool that echoes a secret)."""
        return f"the key is {os.environ['AGENTLOOP_API_KEY']}"

    call = {"id": "c1", "type": "function", "function": {"name": "leak", "arguments": "{}"}}
    fake_server.script(  # type: ignore[attr-defined]
        json_reply(completion(None, tool_calls=[call], finish="tool_calls")),
        json_reply(completion(f"done, key {canary}")),
    )
    log = RunLog(tmp_path / "logs.db")
    agent = Agent(
        "local:fake-model",
        base_url=fake_server.base_url,  # type: ignore[attr-defined]
        api_key=canary,
        tools=[leak],
        plugins=[log.recorder(secrets=[canary])],
        load_plugins=False,
    )
    agent.run(f"use {canary} please")
    auth = fake_server.requests[0].headers.get("Authorization")  # type: ignore[attr-defined]
    assert auth == f"Bearer {canary}"  # the key was really used
    log.close()
    for file in tmp_path.iterdir():
        assert canary.encode() not in file.read_bytes(), file.name


def test_when_only_logging_fails_the_run_goes_on_and_the_log_marks_the_gap(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "logs.db")
    _run(log)
    pages = log.db.query("PRAGMA page_count")[0][0]
    log.db.conn.execute(f"PRAGMA max_page_count = {pages + 1}")  # a full disk, simulated

    @tool
    def big() -> str:
        """Return a lot of text."""
        return "x" * 200_000

    model = ScriptedModel([tool_calls_response(tool_call("big", {}, id="b1")), text_response("ok")])
    agent = Agent(model, tools=[big], plugins=[log.recorder()], load_plugins=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = agent.run("make it big")
    assert result.output == "ok"
    [warning] = [w for w in caught if issubclass(w.category, AgentloopWarning)]
    assert str(tmp_path / "logs.db") in str(warning.message) and "full" in str(warning.message)
    run = next(r for r in list_runs(log.db, limit=0) if r["run_id"] == result.run_id)
    assert run["gap"] and "tool_call" in run["gap"] and run["finished_at"] is None


def test_bad_files_are_one_line_errors_naming_the_file(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(StorageError) as info:
        RunLog(corrupt)
    assert info.value.reason == "corrupt" and str(corrupt) in str(info.value)
    path = tmp_path / "locked.db"
    RunLog(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        log = RunLog(path, timeout=0.2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _run(log)
            assert any("locked" in str(w.message) and str(path) in str(w.message) for w in caught)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_the_user_data_dir(tmp_path: Path) -> None:
    assert data_dir({"AGENTLOOP_HOME": str(tmp_path)}) == tmp_path
    assert log_path({"AGENTLOOP_HOME": str(tmp_path)}) == tmp_path / "logs.db"
    home = {"HOME": "/home/u"}
    assert data_dir(home, "linux") == Path("/home/u/.local/share/agentloop")
    assert data_dir({**home, "XDG_DATA_HOME": "/x"}, "linux") == Path("/x/agentloop")
    assert data_dir(home, "darwin") == Path("/home/u/Library/Application Support/agentloop")
    assert data_dir({**home, "LOCALAPPDATA": "C:/L"}, "win32") == Path("C:/L/agentloop")


def test_events_are_stored_as_their_trace_json(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "logs.db")
    result = _run(log)
    [row] = log.db.query("SELECT data FROM events WHERE type = 'run_finished'")
    data = json.loads(row["data"])
    assert data["output"] == "five" and data["steps"] == len(result.steps)  # type: ignore[attr-defined]
