"""Approvals that wait: a run deferred in one process, decided in another (Python and CLI).

Real worker processes, a real model server on 127.0.0.1, real stores; two deciders racing
for one run: the store lets exactly one continue it, the other gets a one-line conflict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from durable_support import HERE
from fakeserver import FakeServer, completion, json_reply

REFUND = {
    "id": "call_r",
    "type": "function",
    "function": {"name": "refund", "arguments": json.dumps({"amount": 5})},
}


def _serve_refund() -> FakeServer:
    server = FakeServer().start()
    server.script(json_reply(completion(None, tool_calls=[REFUND], finish="tool_calls")))
    server.default = lambda request: json_reply(completion("done"))
    return server


def _worker(mode: str, store: str, server: FakeServer, effects: Path, *rest: str,
            defer: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
    env = {**os.environ, "DEFER": "1" if defer else "0"}
    return subprocess.run(
        [sys.executable, str(HERE), mode, store, server.base_url, str(effects), *rest],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def _defer(store: str, server: FakeServer, effects: Path) -> dict[str, Any]:
    deferred = _worker("run", store, server, effects)
    assert deferred.returncode == 0, deferred.stdout + deferred.stderr
    result: dict[str, Any] = json.loads(deferred.stdout.splitlines()[-1])
    return result


def _target(tmp_path: Path, store: str, server: FakeServer, effects: Path) -> str:
    path = tmp_path / "refund_agent.py"
    path.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(HERE.parent)!r})\n"
        "from durable_support import build_agent\n"
        f"agent = build_agent({store!r}, {server.base_url!r}, {str(effects)!r})\n"
    )
    return f"{path}:agent"


def _effects(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_deferred_call_ends_the_run_awaiting_approval(store_target: str, tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    with _serve_refund() as server:
        result = _defer(store_target, server, effects)
    assert result["stop_reason"] == "awaiting_approval"
    assert result["output"] is None
    assert [(c["id"], c["function"]["name"]) for c in result["pending"]] == [("call_r", "refund")]
    assert json.loads(result["pending"][0]["function"]["arguments"]) == {"amount": 5}
    assert _effects(effects) == []  # nothing ran while it waits


@pytest.mark.parametrize(
    ("decision", "effect", "model_reads"),
    [
        (True, ["refund 5"], "refunded 5"),
        ({"deny": "over the limit"}, [], "denied: over the limit"),
        (False, [], "denied: the user did not approve"),
        ({"edit": {"amount": 3}}, ["refund 3"], "refunded 3"),
    ],
)
def test_a_decision_from_another_process_continues_the_run(
    decision: Any, effect: list[str], model_reads: str, store_target: str, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.txt"
    with _serve_refund() as server:
        run_id = _defer(store_target, server, effects)["run_id"]
        decided = _worker(
            "resume", store_target, server, effects, run_id, json.dumps({"call_r": decision})
        )
        assert decided.returncode == 0, decided.stdout + decided.stderr
        tool_messages = [m for m in server.requests[-1].json["messages"] if m["role"] == "tool"]
    assert json.loads(decided.stdout.splitlines()[-1])["output"] == "done"
    assert _effects(effects) == effect
    assert [m["content"] for m in tool_messages] == [model_reads]


def test_two_concurrent_deciders_one_wins_one_conflicts(store_target: str, tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    with _serve_refund() as server:
        run_id = _defer(store_target, server, effects)["run_id"]
        target = _target(tmp_path, store_target, server, effects)
        command = [sys.executable, "-m", "agentloop", "approve", run_id, "call_r",
                   "--db", store_target, "--agent", target]  # fmt: skip
        deciders = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outcomes = [(p.wait(timeout=60), *p.communicate()) for p in deciders]
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 1], outcomes
    [(_, _, lost)] = [o for o in outcomes if o[0] == 1]
    assert lost.startswith("agentloop: error: run ") and "already moved on" in lost, lost
    assert len(lost.strip().splitlines()) == 1  # one line, no traceback
    assert _effects(effects) == ["refund 5"]  # exactly one execution


def test_a_decision_for_a_run_that_moved_on_conflicts(tmp_path: Path) -> None:
    store, effects = str(tmp_path / "store.db"), tmp_path / "effects.txt"
    with _serve_refund() as server:
        run_id = _defer(store, server, effects)["run_id"]
        first = _worker("resume", store, server, effects, run_id, json.dumps({"call_r": True}))
        again = _worker("resume", store, server, effects, run_id, json.dumps({"call_r": False}))
    assert first.returncode == 0
    assert again.returncode == 3 and again.stdout.startswith("ERROR ResumeConflict: ")
    assert _effects(effects) == ["refund 5"]


def test_a_decision_for_a_call_that_does_not_exist_names_the_pending_ones(tmp_path: Path) -> None:
    store, effects = str(tmp_path / "store.db"), tmp_path / "effects.txt"
    with _serve_refund() as server:
        run_id = _defer(store, server, effects)["run_id"]
        wrong = _worker("resume", store, server, effects, run_id, json.dumps({"nope": True}))
        right = _worker("resume", store, server, effects, run_id, json.dumps({"call_r": True}))
    assert wrong.returncode == 3
    assert wrong.stdout.startswith("ERROR UnknownCallError: ")
    assert "'nope'" in wrong.stdout and "call_r (refund)" in wrong.stdout
    assert right.returncode == 0  # the mistake claimed nothing
    assert _effects(effects) == ["refund 5"]
