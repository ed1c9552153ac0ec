"""Sessions: history read and appended by runs, safe across threads and processes, clear errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from loop_support import add

from agentloop import Agent, ConfigurationError, tool
from agentloop.errors import ConversationNotFoundError, SessionConflictError, StorageError
from agentloop.sessions import InMemorySession, Session, SQLiteSession, latest_session
from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response


@pytest.fixture(params=["memory", "sqlite"])
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Session:
    if request.param == "memory":
        return InMemorySession("s1")
    return SQLiteSession(tmp_path / "s.db", "s1")


def test_a_second_run_on_a_session_sends_the_first_exchange_with_its_tool_calls(
    session: Session,
) -> None:
    model = ScriptedModel(
        [
            tool_calls_response(tool_call("add", {"a": 2, "b": 3}, id="c1")),
            text_response("5"),
            text_response("10"),
        ]
    )
    agent = Agent(model, instructions="Be brief.", tools=[add], load_plugins=False)
    agent.run("add 2 and 3", session=session)
    agent.run("and times 2?", session=session)
    sent = model.requests[2]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[2]["tool_calls"][0]["id"] == "c1" and sent[3]["tool_call_id"] == "c1"
    assert sent[3]["content"] == "5"
    stored = session.get_messages()
    assert [m["role"] for m in stored] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert isinstance(session, Session)


def test_a_failed_run_appends_nothing(session: Session) -> None:
    model = ScriptedModel([tool_calls_response(tool_call("add", {"a": 1, "b": 1}, id="c1"))] * 3)
    agent = Agent(model, tools=[add], max_steps=2, max_repeated_calls=None, load_plugins=False)
    with pytest.raises(Exception, match="max_steps"):
        agent.run("loop", session=session)
    assert session.get_messages() == []


def test_history_and_session_together_is_a_usage_error() -> None:
    agent = Agent(ScriptedModel([]), load_plugins=False)
    with pytest.raises(ConfigurationError, match="not both"):
        agent.run("x", history=[], session=InMemorySession())


def test_two_runs_on_one_session_at_once_never_interleave(session: Session) -> None:
    barrier = threading.Barrier(2, timeout=10)

    @tool
    def wait() -> str:
        """Wait until both runs are inside their tool call."""
        barrier.wait()
        return "done"

    def script(request: dict) -> object:
        if request["messages"][-1]["role"] == "tool":
            return text_response("finished")
        return tool_calls_response(tool_call("wait", {}, id="w1"))

    from agentloop.testing import FunctionModel

    agent = Agent(FunctionModel(script), tools=[wait], load_plugins=False)
    outcomes: list[object] = []

    def run(prompt: str) -> None:
        try:
            outcomes.append(agent.run(prompt, session=session).output)
        except SessionConflictError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [o for o in outcomes if isinstance(o, SessionConflictError)]
    assert len(errors) == 1 and outcomes.count("finished") == 1
    assert "another run on the same session" in str(errors[0])
    assert errors[0].result is not None and errors[0].result.output == "finished"
    stored = session.get_messages()
    assert len(stored) == 4 and stored[0]["role"] == "user"  # one whole turn, not two mixed


def test_fifty_threads_lose_no_row(tmp_path: Path) -> None:
    path = tmp_path / "s.db"

    def writer(n: int) -> None:
        store = SQLiteSession(path, f"t{n}")
        for i in range(5):
            store.add_messages([{"role": "user", "content": f"{n}-{i}"}], after=i)
        shared = SQLiteSession(path, "shared")
        shared.add_messages([{"role": "user", "content": str(n)}])
        store.close()
        shared.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(50):
        assert [m["content"] for m in SQLiteSession(path, f"t{n}").get_messages()] == [
            f"{n}-{i}" for i in range(5)
        ]
    shared = SQLiteSession(path, "shared").get_messages()
    assert sorted(int(m["content"]) for m in shared) == list(range(50))


PROCESS = """
import sys
from agentloop.sessions import SQLiteSession
path, k = sys.argv[1], sys.argv[2]
shared = SQLiteSession(path, "shared")
for i in range(40):
    shared.add_messages([{"role": "user", "content": f"{k}-{i}"}])
    SQLiteSession(path, f"p{k}").add_messages([{"role": "user", "content": str(i)}], after=i)
"""


def test_four_processes_lose_no_row(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    procs = [subprocess.Popen([sys.executable, "-c", PROCESS, str(path), str(k)]) for k in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    shared = [m["content"] for m in SQLiteSession(path, "shared").get_messages()]
    assert sorted(shared) == sorted(f"{k}-{i}" for k in range(4) for i in range(40))
    for k in range(4):  # each process's own appends stayed in order
        assert [m["content"] for m in SQLiteSession(path, f"p{k}").get_messages()] == [
            str(i) for i in range(40)
        ]


def test_latest_session_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with pytest.raises(ConversationNotFoundError, match=str(path)):
        latest_session(path)
    a, b = SQLiteSession(path, "a"), SQLiteSession(path, "b")
    a.add_messages([{"role": "user", "content": "1"}])
    b.set_metadata({"cli": {"target": "x.py"}})
    assert latest_session(path) == "b"
    assert b.metadata == {"cli": {"target": "x.py"}} and a.metadata == {}
    a.add_messages([{"role": "user", "content": "2"}])
    assert latest_session(path) == "a"
    a.clear()
    assert a.get_messages() == [] and a.exists()


def test_secrets_never_reach_the_session_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    canary = "sk-canary-4b1d9c"
    store = SQLiteSession(path, "s", secrets=[canary])
    store.add_messages([{"role": "user", "content": f"my key is {canary}"}])
    assert store.get_messages()[0]["content"] == "my key is [REDACTED]"
    store.close()
    for file in tmp_path.iterdir():
        assert canary.encode() not in file.read_bytes()


def test_a_corrupt_or_newer_file_is_one_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError) as info:
        SQLiteSession(bad, "s")
    assert info.value.reason == "corrupt" and str(bad) in str(info.value)
    assert "\n" not in str(info.value) and "move it away" in str(info.value)
    newer = tmp_path / "newer.db"
    SQLiteSession(newer, "s").close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE agentloop_schema SET version = 99 WHERE component = 'sessions'")
    with pytest.raises(StorageError, match="upgrade agentloop") as info:
        SQLiteSession(newer, "s")
    assert info.value.reason == "newer" and str(newer) in str(info.value)


def test_a_locked_file_waits_then_says_so(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    SQLiteSession(path, "s").close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = SQLiteSession(path, "s", timeout=0.2)
        with pytest.raises(StorageError) as info:
            store.add_messages([{"role": "user", "content": "x"}])
        assert info.value.reason == "locked" and str(path) in str(info.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.add_messages([{"role": "user", "content": "x"}])  # once free, it works
    assert len(store.get_messages()) == 1
