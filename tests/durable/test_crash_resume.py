"""SIGKILL a real worker process at each point of a tool call, then resume it in a new process.

The model is a real HTTP server on 127.0.0.1 (:class:`fakeserver.FakeServer`); the store is a
real SQLite file, or a real PostgreSQL database (``store_target``); the tools' side effects
are lines in a file. After the resume every completed call has had exactly one effect, and a
call the kill interrupted follows its declared policy: a non-idempotent one is not rerun (the
model is told the outcome is unknown), an idempotent one is rerun.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from durable_support import HERE
from fakeserver import FakeServer, Request, completion, json_reply

from agentloop.logs import RunLog

UNKNOWN = "the outcome of this call is unknown"


def _call(name: str, arguments: dict[str, Any], id_: str = "call_1") -> dict[str, Any]:
    return {
        "id": id_,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def _worker(mode: str, store: str, server: FakeServer, effects: Path, *rest: str,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(HERE), mode, store, server.base_url, str(effects), *rest],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def _last_run(store: str) -> str:
    log = RunLog(store)
    try:
        return str(log.db.query("SELECT id FROM runs ORDER BY n DESC LIMIT 1")[0][0])
    finally:
        log.close()


def _lines(effects: Path) -> list[str]:
    return effects.read_text().splitlines() if effects.exists() else []


def _tool_text(request: Request) -> list[str]:
    return [m["content"] for m in request.json["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("kill_at", ["before_started", "in_tool", "after_result"])
def test_sigkill_in_a_tool_call_then_resume(
    kill_at: str, store_target: str, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.txt"
    with FakeServer() as server:
        server.script(
            json_reply(
                completion(None, tool_calls=[_call("charge", {"amount": 5})], finish="tool_calls")
            ),  # fmt: skip
            json_reply(completion("done")),
        )
        crashed = _worker("run", store_target, server, effects, env={"KILL_AT": kill_at})
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        run_id = _last_run(store_target)
        before = _lines(effects)
        resumed = _worker("resume", store_target, server, effects, run_id)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        result = json.loads(resumed.stdout.splitlines()[-1])
        after_resume = server.requests[-1]
    assert result["output"] == "done"
    assert result["run_id"] != run_id
    if kill_at == "before_started":  # never started: the resume runs it, once
        assert before == [] and _lines(effects) == ["charge 5"]
        assert _tool_text(after_resume) == ["charged 5"]
    elif kill_at == "in_tool":  # started, outcome unknown, not idempotent: not run again
        assert before == ["charge 5"] and _lines(effects) == ["charge 5"]
        assert UNKNOWN in _tool_text(after_resume)[0]
    else:  # the result was committed: it answers the call, the tool does not run again
        assert before == ["charge 5"] and _lines(effects) == ["charge 5"]
        assert _tool_text(after_resume) == ["charged 5"]


def test_sigkill_during_the_next_model_call_then_resume(store_target: str, tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    victim: dict[str, subprocess.Popen[str]] = {}

    def kill_the_worker(request: Request) -> Any:
        victim["proc"].send_signal(signal.SIGKILL)  # the worker waits for this very reply
        victim["proc"].wait()
        return json_reply(completion("too late"))

    with FakeServer() as server:
        server.script(
            json_reply(
                completion(None, tool_calls=[_call("charge", {"amount": 7})], finish="tool_calls")
            ),  # fmt: skip
            kill_the_worker,
            json_reply(completion("done")),
        )
        victim["proc"] = subprocess.Popen(
            [sys.executable, str(HERE), "run", store_target, server.base_url, str(effects)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert victim["proc"].wait(timeout=60) == -signal.SIGKILL
        victim["proc"].communicate()
        run_id = _last_run(store_target)
        resumed = _worker("resume", store_target, server, effects, run_id)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        after_resume = server.requests[-1]
    assert json.loads(resumed.stdout.splitlines()[-1])["output"] == "done"
    assert _lines(effects) == ["charge 7"]
    assert _tool_text(after_resume) == ["charged 7"]


def test_an_idempotent_call_interrupted_is_rerun(store_target: str, tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    with FakeServer() as server:
        server.script(
            json_reply(
                completion(
                    None, tool_calls=[_call("put", {"key": "a", "value": "1"})], finish="tool_calls"
                )
            ),  # fmt: skip
            json_reply(completion("done")),
        )
        crashed = _worker("run", store_target, server, effects, env={"KILL_AT": "in_tool"})
        assert crashed.returncode == -signal.SIGKILL
        resumed = _worker("resume", store_target, server, effects, _last_run(store_target))
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        after_resume = server.requests[-1]
    assert _lines(effects) == ["put a=1", "put a=1"]  # the declared policy: run again
    assert _tool_text(after_resume) == ["stored a"]


def test_a_resumed_run_cannot_be_resumed_twice(tmp_path: Path) -> None:
    store, effects = str(tmp_path / "store.db"), tmp_path / "effects.txt"
    with FakeServer() as server:
        server.script(
            json_reply(
                completion(None, tool_calls=[_call("charge", {"amount": 1})], finish="tool_calls")
            ),  # fmt: skip
            json_reply(completion("done")),
        )
        _worker("run", store, server, effects, env={"KILL_AT": "after_result"})
        run_id = _last_run(store)
        first = _worker("resume", store, server, effects, run_id)
        second = _worker("resume", store, server, effects, run_id)
    assert first.returncode == 0
    assert second.returncode == 3
    assert second.stdout.startswith("ERROR ResumeConflict: ")
    assert "already moved on" in second.stdout and len(second.stdout.splitlines()) == 1
    assert _lines(effects) == ["charge 1"]
