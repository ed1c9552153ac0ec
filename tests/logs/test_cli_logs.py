"""``agentloop logs`` and ``run/chat --no-log / -c / --cid``, as a user runs them (subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import CALC, agentloop
from fakeserver import FakeServer, completion, json_reply


def _calc_call(expression: str) -> dict:
    return {
        "id": "call_1",
        "type": "function",
        "function": {"name": "calculate", "arguments": json.dumps({"expression": expression})},
    }


def test_run_then_continue_sends_the_first_exchange_with_its_tool_calls(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    home = str(tmp_path)
    fake_server.script(
        json_reply(completion(None, tool_calls=[_calc_call("2+3")], finish="tool_calls")),
        json_reply(completion("2+3 is 5.")),
        json_reply(completion("5 times 2 is 10.")),
        json_reply(completion("10 minus 1 is 9.")),
    )
    first = agentloop(
        "run", CALC, "what is 2+3", "--model", "local:fake-model",
        "--base-url", fake_server.base_url, "--no-stream", AGENTLOOP_HOME=home,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    listed = agentloop("logs", "--json", "-n", "1", AGENTLOOP_HOME=home)
    [run] = json.loads(listed.stdout)
    assert run["prompt"] == "what is 2+3" and run["answer"] == "2+3 is 5."
    assert [(c["name"], c["arguments"], c["content"]) for c in run["tool_calls"]] == [
        ("calculate", '{"expression": "2+3"}', "5")
    ]
    found = json.loads(agentloop("logs", "-q", "what", "--json", AGENTLOOP_HOME=home).stdout)
    assert [r["run_id"] for r in found] == [run["run_id"]]
    assert (
        json.loads(agentloop("logs", "-q", "nowhere", "--json", AGENTLOOP_HOME=home).stdout) == []
    )

    second = agentloop("run", "-c", "and times 2?", AGENTLOOP_HOME=home)  # same TARGET, model, URL
    assert second.returncode == 0, second.stderr
    assert "10" in second.stdout
    sent = fake_server.requests[2].json
    assert sent["model"] == "fake-model" and not sent.get("stream")
    roles = [m["role"] for m in sent["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent["messages"][2]["tool_calls"][0]["id"] == "call_1"
    assert sent["messages"][3] == {
        "role": "tool",
        "content": "5",
        "tool_call_id": "call_1",
        "name": "calculate",
    }
    assert sent["messages"][5]["content"] == "and times 2?"
    both = json.loads(
        agentloop(
            "logs", "--conversation", run["conversation_id"], "--json", AGENTLOOP_HOME=home
        ).stdout
    )
    assert [r["prompt"] for r in both] == ["and times 2?", "what is 2+3"]  # -n 3: before the third
    third = agentloop("run", "--cid", run["conversation_id"], "and minus 1?", AGENTLOOP_HOME=home)
    assert third.returncode == 0 and "9" in third.stdout, third.stderr
    assert [m["role"] for m in fake_server.requests[3].json["messages"]][-3:] == [
        "user",
        "assistant",
        "user",
    ]
    assert len(fake_server.requests[3].json["messages"]) == 8
    shown = agentloop("logs", "show", run["run_id"][:10], AGENTLOOP_HOME=home)
    assert (
        shown.returncode == 0 and 'tool calculate({"expression": "2+3"}) -> 5 (ok' in shown.stdout
    )
    whole = json.loads(
        agentloop("logs", "show", run["run_id"], "--json", AGENTLOOP_HOME=home).stdout
    )
    assert [e["type"] for e in whole["events"]][:3] == [
        "run_started",
        "model_request",
        "model_response",
    ]


def test_chat_c_resumes_the_conversation(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert agentloop("run", CALC, "what is 2+3", AGENTLOOP_HOME=home).returncode == 0
    chat = agentloop("chat", "-c", stdin="what is 4*5\n", AGENTLOOP_HOME=home)
    assert chat.returncode == 0, chat.stderr
    runs = json.loads(agentloop("logs", "--json", AGENTLOOP_HOME=home).stdout)
    assert [r["prompt"] for r in runs] == ["what is 4*5", "what is 2+3"]
    assert runs[0]["conversation_id"] == runs[1]["conversation_id"]


def test_continue_without_a_conversation_is_one_line_naming_the_file(tmp_path: Path) -> None:
    proc = agentloop("run", "-c", "and then?", AGENTLOOP_HOME=str(tmp_path))
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert str(tmp_path / "logs.db") in line and "without -c" in line
    agentloop("run", CALC, "what is 2+3", AGENTLOOP_HOME=str(tmp_path))
    unknown = agentloop("run", "--cid", "nope", "more", AGENTLOOP_HOME=str(tmp_path))
    assert unknown.returncode == 2
    [line] = unknown.stderr.splitlines()
    assert "'nope'" in line and "agentloop logs" in line


def test_a_broken_log_warns_once_and_the_run_still_answers(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    db.write_bytes(b"not sqlite at all " * 500)
    proc = agentloop("run", CALC, "what is 2+3", AGENTLOOP_HOME=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "5" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and str(db) in warnings[0] and "not logged" in warnings[0]


def test_no_log_and_logs_off_record_nothing(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert agentloop("run", CALC, "what is 2+3", "--no-log", AGENTLOOP_HOME=home).returncode == 0
    assert not (tmp_path / "logs.db").exists()
    assert agentloop("logs", "path", AGENTLOOP_HOME=home).stdout.strip() == str(
        tmp_path / "logs.db"
    )
    assert "off" in agentloop("logs", "off", AGENTLOOP_HOME=home).stdout
    agentloop("run", CALC, "what is 2+3", AGENTLOOP_HOME=home)
    assert json.loads(agentloop("logs", "--json", AGENTLOOP_HOME=home).stdout) == []
    agentloop("run", CALC, "what is 2+3", AGENTLOOP_HOME=home, AGENTLOOP_LOG="0")
    assert "on" in agentloop("logs", "on", AGENTLOOP_HOME=home).stdout
    agentloop("run", CALC, "what is 2+3", AGENTLOOP_HOME=home)
    assert len(json.loads(agentloop("logs", "--json", AGENTLOOP_HOME=home).stdout)) == 1


def test_logs_usage_errors_are_one_line(tmp_path: Path) -> None:
    for args in (
        ["logs", "frobnicate"],
        ["logs", "--since", "yesterday-ish"],
        ["logs", "show", "abcd"],
    ):
        proc = agentloop(*args, AGENTLOOP_HOME=str(tmp_path))
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
