"""``--max-cost AMOUNT``: the real CLI in a subprocess against a local server that reports cost
(OpenRouter-style ``usage.cost``), priced by ``[prices."provider:model"]`` in agentloop.toml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import agentloop
from fakeserver import FakeServer, Reply, chunk, completion, json_reply, sse_reply, tool_call_chunk

from agentloop import Agent, ConfigurationError

PRICE = '[prices."local:fake-model"]\ninput = 1000\noutput = 1000\n'  # 0.001 per token
COST = 0.04  # what the server says each call cost
TARGET = '''"""A bank clerk."""
from agentloop import Agent, tool


@tool
def lookup(account: str) -> str:
    """Look an account up.

    Args:
        account: The account number.
    """
    return f"account {account}: 12 EUR"


agent = Agent(tools=[lookup], name="bank")
'''
STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])


def _reply(request: Any) -> Reply:
    """A tool call first, the answer once the tool's result is there; each call costs COST."""
    usage = {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35, "cost": COST}
    answered = request.json["messages"][-1]["role"] == "tool"
    if request.json.get("stream"):
        if answered:
            return sse_reply([chunk(content="12 EUR."), chunk(finish="stop", usage=usage)])
        call = tool_call_chunk("c1", "lookup", '{"account": "1"}')
        return sse_reply([call, chunk(finish="tool_calls", usage=usage)])
    if answered:
        return json_reply(completion("12 EUR.", usage=usage))
    wire = {"id": "c1", "type": "function",
            "function": {"name": "lookup", "arguments": '{"account": "1"}'}}  # fmt: skip
    return json_reply(completion(None, tool_calls=[wire], finish="tool_calls", usage=usage))


@pytest.fixture
def bank(tmp_path: Path, fake_server: FakeServer) -> Path:
    """A folder with the bank TARGET and a price for the server's model."""
    (tmp_path / "bank.py").write_text(TARGET)
    (tmp_path / "agentloop.toml").write_text(PRICE)
    fake_server.default = _reply
    return tmp_path


def _run(folder: Path, server: FakeServer, *extra: str, stream: bool = False, **env: str) -> Any:
    return agentloop(
        "run", "bank.py", "balance of account 1?", "--model", "local:fake-model",
        "--base-url", server.base_url, *(() if stream else ("--no-stream",)), *extra,
        AGENTLOOP_HOME=str(folder / "home"), cwd=folder, **env,
    )  # fmt: skip


def _one_error_line(done: Any) -> str:
    [line] = done.stderr.strip().splitlines()[-1:]
    assert "Traceback" not in done.stderr
    return line


@STREAMS
def test_the_budget_stops_the_run_before_the_call_that_would_exceed_it(
    bank: Path, fake_server: FakeServer, stream: bool
) -> None:
    # the first call's prompt (~80 tokens: ~0.08) fits 0.1, its reply bounded to what is left;
    # it costs 0.04, so the second call's prompt (~0.09) does not fit the 0.06 left: refused
    done = _run(bank, fake_server, "--max-cost", "0.1", stream=stream)
    assert done.returncode == 1, done.stderr
    line = _one_error_line(done)
    assert line.startswith("agentloop: error: the next model call would cost about")
    assert "budget of 0.1" in line and "(max_cost)" in line
    assert line.endswith("(raise --max-cost, or use a cheaper model)")
    assert len(fake_server.requests) == 1  # the call that would exceed it was never made
    # only part of a reply was affordable: the budget bounded it
    assert 0 < fake_server.requests[0].json["max_tokens"] < 50


@STREAMS
def test_a_budget_that_fits_lets_the_run_finish(
    bank: Path, fake_server: FakeServer, stream: bool
) -> None:
    done = _run(bank, fake_server, "--max-cost", "5", "--json", stream=stream)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["output"] == "12 EUR." and result["stop_reason"] == "stop"
    assert result["usage"]["cost"] == pytest.approx(2 * COST)
    assert len(fake_server.requests) == 2
    assert "max_tokens" not in fake_server.requests[0].json  # 5 affords a whole reply


@pytest.mark.parametrize(
    "setting",
    ["max_cost = 0.1\n", 'max_cost = "0.1"\n', "env"],
    ids=["toml-number", "toml-string", "env"],
)
def test_the_budget_from_agentloop_toml_or_the_environment(
    bank: Path, fake_server: FakeServer, setting: str
) -> None:
    env = {}
    if setting == "env":
        env["AGENTLOOP_MAX_COST"] = "0.1"
    else:
        (bank / "agentloop.toml").write_text(setting + PRICE)
    done = _run(bank, fake_server, **env)
    assert done.returncode == 1, done.stderr
    assert "budget of 0.1" in _one_error_line(done)
    assert len(fake_server.requests) == 1
    # the flag wins over the file and the environment
    fake_server.requests.clear()
    assert _run(bank, fake_server, "--max-cost", "5", **env).returncode == 0
    assert len(fake_server.requests) == 2


@pytest.mark.parametrize("command", ["run", "chat", "batch", "eval"])
@pytest.mark.parametrize("value", ["-1", "0", "abc", "nan", "inf", ""])
def test_a_bad_amount_is_a_usage_error_naming_the_flag_and_the_fix(
    tmp_path: Path, command: str, value: str
) -> None:
    operands = {"run": ["hi"], "chat": [], "batch": ["t.py", "in.jsonl", "-o", "o.jsonl"],
                "eval": ["t.py", "data.jsonl"]}[command]  # fmt: skip
    done = agentloop(command, *operands, f"--max-cost={value}", cwd=tmp_path)
    assert done.returncode == 2
    line = _one_error_line(done)
    assert f"agentloop {command}: error: argument --max-cost:" in line
    assert "e.g. --max-cost 0.50" in line and repr(value) in line


@pytest.mark.parametrize(
    "toml, env, culprit",
    [
        ("max_cost = -1\n", {}, "max_cost from agentloop.toml must be > 0, got -1"),
        ("max_cost = 0\n", {}, "max_cost from agentloop.toml must be > 0, got 0"),
        ("max_cost = true\n", {}, "max_cost from agentloop.toml must be a number"),
        ('max_cost = "lots"\n', {}, "max_cost from agentloop.toml must be a number"),
        ("", {"AGENTLOOP_MAX_COST": "lots"}, "max_cost from env AGENTLOOP_MAX_COST must be"),
        ("", {"AGENTLOOP_MAX_COST": "-0.5"}, "from env AGENTLOOP_MAX_COST must be > 0"),
    ],
)
def test_a_bad_setting_is_one_line_naming_its_source(
    bank: Path, fake_server: FakeServer, toml: str, env: dict[str, str], culprit: str
) -> None:
    (bank / "agentloop.toml").write_text(toml + PRICE)
    done = _run(bank, fake_server, **env)
    assert done.returncode == 2
    assert culprit in _one_error_line(done)
    assert fake_server.requests == []


def test_a_model_without_a_price_is_the_agents_own_error(
    bank: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    (bank / "agentloop.toml").write_text("")
    monkeypatch.chdir(bank)  # no price table here, as for the subprocess
    with pytest.raises(ConfigurationError) as raised:
        Agent("local:fake-model", base_url=fake_server.base_url, api_key="sk-x", max_cost=1)
    for command, operands in [
        ("run", ["bank.py", "hi"]),
        ("chat", ["bank.py"]),
        ("batch", ["bank.py", "in.jsonl", "-o", "out.jsonl"]),
    ]:
        (bank / "in.jsonl").write_text('{"id": "a", "prompt": "hi"}\n')
        done = agentloop(
            command, *operands, "--model", "local:fake-model", "--base-url",
            fake_server.base_url, "--max-cost", "1", stdin="hi\n",
            AGENTLOOP_HOME=str(bank / "home"), cwd=bank,
        )  # fmt: skip
        assert done.returncode == 2, (command, done.stderr)
        line = _one_error_line(done)
        assert line == f"agentloop: error: {raised.value} [max_cost from --max-cost]", command
        assert '[prices."local:fake-model"]' in line and "agentloop.toml" in line
    assert fake_server.requests == []


def test_chat_turns_share_the_flag(bank: Path, fake_server: FakeServer) -> None:
    done = agentloop(
        "chat", "bank.py", "--model", "local:fake-model", "--base-url", fake_server.base_url,
        "--no-stream", "--max-cost", "0.1", stdin="balance of account 1?\n",
        AGENTLOOP_HOME=str(bank / "home"), cwd=bank,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # a failed turn does not end the chat
    assert "budget of 0.1" in done.stderr and "Traceback" not in done.stderr
    assert len(fake_server.requests) == 1


def test_batch_items_stop_on_the_budget(bank: Path, fake_server: FakeServer) -> None:
    (bank / "in.jsonl").write_text('{"id": "a", "prompt": "balance of 1?"}\n')
    done = agentloop(
        "batch", "bank.py", "in.jsonl", "-o", "out.jsonl", "--model", "local:fake-model",
        "--base-url", fake_server.base_url, "--max-cost", "0.1", "--workers", "1",
        "--no-progress", AGENTLOOP_HOME=str(bank / "home"), cwd=bank,
    )  # fmt: skip
    assert "Traceback" not in done.stderr
    [item] = [json.loads(line) for line in (bank / "out.jsonl").read_text().splitlines()]
    assert item["stop_reason"] == "cost_budget", item
    assert item["error"]["type"] == "CostBudgetExceeded"
    assert len(fake_server.requests) == 1


def test_eval_cases_stop_on_the_budget(bank: Path, fake_server: FakeServer) -> None:
    (bank / "data.jsonl").write_text('{"id": "one", "input": "balance of 1?"}\n')
    done = agentloop(
        "eval", "bank.py", "data.jsonl", "-o", "report.json", "--model", "local:fake-model",
        "--base-url", fake_server.base_url, "--max-cost", "0.1", "--workers", "1",
        "--no-log", AGENTLOOP_HOME=str(bank / "home"), cwd=bank,
    )  # fmt: skip
    assert "Traceback" not in done.stderr
    [case] = json.loads((bank / "report.json").read_text())["cases"]
    assert case["stop_reason"] == "cost_budget", case
    assert len(fake_server.requests) == 1
