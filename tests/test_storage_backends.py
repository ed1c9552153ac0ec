"""The store seam: the run log and sessions behave the same on SQLite and on PostgreSQL.

Every test here runs on both backends (``store_target``: a SQLite file, or a fresh database of
a real PostgreSQL server started by the tests, see ``pg_support``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from loop_support import add

from agentloop import Agent, SessionConflictError
from agentloop.errors import ConversationNotFoundError, StorageError
from agentloop.logs import RunLog
from agentloop.logs.queries import get_run, list_runs
from agentloop.sessions import latest_session, open_session
from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response

ROOT = Path(__file__).resolve().parent.parent


def _run(log: RunLog, prompt: str = "add 2 and 3", conversation: str | None = None) -> object:
    model = ScriptedModel(
        [tool_calls_response(tool_call("add", {"a": 2, "b": 3}, id="c1")), text_response("five")]
    )
    agent = Agent(
        model, tools=[add], plugins=[log.recorder(conversation_id=conversation)], load_plugins=False
    )
    return agent.run(prompt)


def test_a_logged_run_is_listed_searched_and_read_back(store_target: str) -> None:
    log = RunLog(store_target)
    result = _run(log, conversation="conv-1")
    _run(log, "something else entirely")
    [run] = list_runs(log.db, query="add", limit=5)
    assert run["run_id"] == result.run_id and run["conversation_id"] == "conv-1"
    assert (run["prompt"], run["answer"], run["stop_reason"]) == ("add 2 and 3", "five", "stop")
    assert run["tool_calls"][0]["name"] == "add" and run["tool_calls"][0]["content"] == "5"
    assert [r["prompt"] for r in list_runs(log.db, limit=0)] == [
        "something else entirely",
        "add 2 and 3",
    ]
    assert not list_runs(log.db, query="nothing matches this", limit=5)
    whole = get_run(log.db, result.run_id[:8])
    assert [e["type"] for e in whole["events"]][0::6] == ["run_started", "run_finished"]
    rows = log.db.query("SELECT name, status FROM tool_calls WHERE run_id = ?", (result.run_id,))
    assert [tuple(r) for r in rows] == [("add", "ok")]
    with pytest.raises(Exception, match="no run has"):
        get_run(log.db, "zzzzzzzz")
    log.close()


def test_sessions_append_conflict_clear_and_latest(store_target: str) -> None:
    with pytest.raises(ConversationNotFoundError):
        latest_session(store_target)
    a, b = open_session(store_target, "a"), open_session(store_target, "b")
    a.add_messages([{"role": "user", "content": "1"}])
    b.set_metadata({"cli": {"target": "x.py"}})
    assert latest_session(store_target) == "b"
    a.add_messages([{"role": "assistant", "content": "2"}], after=1)
    assert [m["content"] for m in a.get_messages()] == ["1", "2"]
    with pytest.raises(SessionConflictError):
        a.add_messages([{"role": "user", "content": "late"}], after=1)
    assert len(a.get_messages()) == 2  # nothing of the conflicting append was stored
    assert b.metadata == {"cli": {"target": "x.py"}} and a.metadata == {}
    a.clear()
    assert a.get_messages() == [] and a.exists() and not open_session(store_target, "c").exists()


def test_a_session_is_continued_by_a_run(store_target: str) -> None:
    session = open_session(store_target, "conv")
    agent = Agent(ScriptedModel([text_response("one"), text_response("two")]), load_plugins=False)
    agent.run("first", session=session)
    agent.run("second", session=open_session(store_target, "conv"))
    contents = [m.get("content") for m in open_session(store_target, "conv").get_messages()]
    assert contents == ["first", "one", "second", "two"]


_WRITER = textwrap.dedent(
    """
    import sys
    from agentloop.sessions import open_session
    target, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sessions = [open_session(target, f"s{i}") for i in range(10)]
    for k in range(n):
        sessions[k % 10].add_messages([{"role": "user", "content": f"{who}-{k}"}])
    """
)


def test_threads_and_processes_appending_to_shared_sessions_lose_nothing(
    store_target: str,
) -> None:
    threads, processes, per_writer = 32, 4, 20
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, store_target, f"p{i}", str(per_writer)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for i in range(processes)
    ]
    errors: list[BaseException] = []

    def write(i: int) -> None:
        session = open_session(store_target, f"s{i % 10}")
        try:
            for k in range(per_writer):
                session.add_messages([{"role": "user", "content": f"t{i}-{k}"}])
        except BaseException as exc:  # counted below: a lost append is a failure
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert [p.wait(timeout=120) for p in procs] == [0] * processes
    assert not errors
    stored = [
        m["content"] for i in range(10) for m in open_session(store_target, f"s{i}").get_messages()
    ]
    assert len(stored) == len(set(stored)) == (threads + processes) * per_writer


def test_a_url_that_is_not_a_store_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="SQLite .* or PostgreSQL"):
        RunLog("mysql://user:pw@localhost/db")


def test_agent_store_logs_every_run(store_target: str) -> None:
    model = ScriptedModel([text_response("hello")])
    agent = Agent(model, store=store_target, load_plugins=False)
    result = agent.run("hi there")
    [run] = list_runs(agent.store.db, limit=0)
    assert run["run_id"] == result.run_id and run["answer"] == "hello"
    agent.store.close()
