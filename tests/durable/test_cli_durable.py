"""The CLI shows durable runs: logs marks interrupted, awaiting and resumed runs; --pending;
``agentloop resume`` continues a killed run; bad input is one line naming the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from durable_support import HERE
from fakeserver import FakeServer, completion, json_reply

from agentloop.logs import RunLog


def _call(name: str, arguments: dict[str, object], id_: str = "call_1") -> dict[str, object]:
    return {"id": id_, "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}  # fmt: skip


def _agentloop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentloop", *args],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _worker(store: str, server: FakeServer, effects: Path, **env: str) -> str:
    subprocess.run(
        [sys.executable, str(HERE), "run", store, server.base_url, str(effects)],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ, **env},
    )  # fmt: skip
    log = RunLog(store)
    try:
        return str(log.db.query("SELECT id FROM runs ORDER BY n DESC LIMIT 1")[0][0])
    finally:
        log.close()


def _target(tmp_path: Path, store: str, server: FakeServer, effects: Path) -> str:
    path = tmp_path / "the_agent.py"
    path.write_text(
        f"import sys\nsys.path.insert(0, {str(HERE.parent)!r})\n"
        "from durable_support import build_agent\n"
        f"agent = build_agent({store!r}, {server.base_url!r}, {str(effects)!r})\n"
    )
    return f"{path}:agent"


def test_logs_marks_a_killed_run_and_resume_continues_it_as_one_story(tmp_path: Path) -> None:
    store, effects = str(tmp_path / "store.db"), tmp_path / "effects.txt"
    with FakeServer() as server:
        server.script(
            json_reply(
                completion(None, tool_calls=[_call("charge", {"amount": 2})], finish="tool_calls")
            ),  # fmt: skip
            json_reply(completion("all done")),
        )
        run_id = _worker(store, server, effects, KILL_AT="after_result")
        listed = _agentloop("logs", "--db", store)
        assert f"continue it with: agentloop resume {run_id}" in listed.stdout
        resumed = _agentloop("resume", run_id, "--db", store, "--agent",
                             _target(tmp_path, store, server, effects))  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
        assert "all done" in resumed.stdout
        story = _agentloop("logs", "--db", store, "--json")
    runs = {r["run_id"]: r for r in json.loads(story.stdout)}
    [new] = [r for r in runs.values() if r["run_id"] != run_id]
    assert new["resumed_from"] == run_id and runs[run_id]["resumed_as"] == new["run_id"]
    assert effects.read_text().splitlines() == ["charge 2"]


def test_logs_pending_lists_what_waits_and_approve_decides_it(tmp_path: Path) -> None:
    store, effects = str(tmp_path / "store.db"), tmp_path / "effects.txt"
    with FakeServer() as server:
        server.script(
            json_reply(
                completion(
                    None, tool_calls=[_call("refund", {"amount": 4}, "call_r")], finish="tool_calls"
                )
            ),  # fmt: skip
            json_reply(completion("refunded")),
        )
        run_id = _worker(store, server, effects, DEFER="1")
        pending = _agentloop("logs", "--pending", "--db", store)
        assert f"run {run_id}  call call_r  refund" in pending.stdout
        assert "[awaiting approval" in _agentloop("logs", "--db", store).stdout
        denied = _agentloop("approve", run_id, "--deny", "not today", "--db", store,
                            "--agent", _target(tmp_path, store, server, effects))  # fmt: skip
        assert denied.returncode == 0, denied.stderr
        sent = [m["content"] for m in server.requests[-1].json["messages"] if m["role"] == "tool"]
        after = _agentloop("logs", "--pending", "--db", store)
    assert sent == ["denied: not today"]
    assert "nothing waits for approval" in after.stdout
    assert not effects.exists()


def test_bad_input_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    store, effects = str(tmp_path / "store.db"), tmp_path / "effects.txt"
    with FakeServer() as server:
        server.script(
            json_reply(
                completion(None, tool_calls=[_call("charge", {"amount": 1})], finish="tool_calls")
            ),  # fmt: skip
            json_reply(completion("ok")),
        )
        killed = _worker(store, server, effects, KILL_AT="in_tool")
        target = _target(tmp_path, store, server, effects)
        changed = tmp_path / "other.py"
        changed.write_text("from agentloop import Agent\nagent = Agent('offline', store="
                           f"{store!r}, tools=['calculate'])\n")  # fmt: skip
        cases = {
            "unknown": _agentloop("resume", "f" * 32, "--db", store, "--agent", target),
            "changed": _agentloop("resume", killed, "--db", store, "--agent", f"{changed}:agent"),
            "no agent": _agentloop("resume", killed, "--db", store),
            "no call": _agentloop("approve", killed, "nope", "--db", store, "--agent", target),
        }
        done = _agentloop("resume", killed, "--db", store, "--agent", target)
        finished = _agentloop("resume", done.stdout and _last(store), "--db", store,
                              "--agent", target)  # fmt: skip
    for name, proc in {**cases, "finished": finished}.items():
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode in (1, 2) and len(lines) == 1, (name, proc.stderr)
        assert lines[0].startswith("agentloop: error: "), (name, lines)
    assert "no run 'ffff" in cases["unknown"].stderr and "--no-log" in cases["unknown"].stderr
    assert "missing charge, put, refund; new calculate" in cases["changed"].stderr
    assert "--force" in cases["changed"].stderr
    assert "--agent FILE.py:agent" in cases["no agent"].stderr
    assert "no pending call 'nope'" in cases["no call"].stderr
    assert "finished (stop)" in finished.stderr
    assert done.returncode == 0 and effects.read_text().splitlines() == ["charge 1"]


def _last(store: str) -> str:
    log = RunLog(store)
    try:
        return str(log.db.query("SELECT id FROM runs ORDER BY n DESC LIMIT 1")[0][0])
    finally:
        log.close()


def test_agentloop_run_prints_the_resume_command_on_ctrl_c(tmp_path: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text(
        "import os, signal\nfrom agentloop import Agent, tool\n"
        "@tool\ndef wait() -> str:\n    '''Wait.'''\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n    return 'never'\n"
        "agent = Agent('offline', tools=[wait], tool_choice='wait')\n"
    )
    env = {**os.environ, "AGENTLOOP_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "-m", "agentloop", "run", f"{script}:agent", "go"],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert proc.returncode == 130, proc.stderr
    assert "continue it with: agentloop resume " in proc.stderr
