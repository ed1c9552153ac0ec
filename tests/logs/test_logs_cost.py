"""Cost in ``agentloop logs``: per call and per run, from the events' JSON usage (no column)."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import agentloop
from fakeserver import FakeServer, completion, json_reply

USAGE = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}


def _run(tmp_path: Path, server: FakeServer, usage: dict, toml: str = "") -> str:
    home = str(tmp_path / "home")
    (tmp_path / "agentloop.toml").write_text(toml)
    server.script(json_reply(completion("hello", usage=usage)))
    done = agentloop(
        "run", "hi", "--model", "local:fake-model", "--base-url", server.base_url,
        "--no-stream", AGENTLOOP_HOME=home, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return home


def test_logs_show_the_providers_cost_per_call_and_per_run(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    home = _run(tmp_path, fake_server, {**USAGE, "cost": 0.00042})
    [run] = json.loads(agentloop("logs", "--json", "-n", "1", AGENTLOOP_HOME=home).stdout)
    assert run["usage"]["cost"] == 0.00042
    listed = agentloop("logs", "-n", "1", AGENTLOOP_HOME=home).stdout
    assert "cost 0.00042" in listed.splitlines()[0]
    shown = agentloop("logs", "show", run["run_id"], AGENTLOOP_HOME=home).stdout
    assert "15 tokens, cost 0.00042," in shown
    assert "1 step(s), cost 0.00042," in shown
    one = json.loads(agentloop("logs", "show", run["run_id"], "--json", AGENTLOOP_HOME=home).stdout)
    assert one["usage"]["cost"] == 0.00042


def test_the_price_table_prices_a_cli_run(tmp_path: Path, fake_server: FakeServer) -> None:
    table = '[prices."local:fake-model"]\ninput = 1000\noutput = 2000\n'
    home = _run(tmp_path, fake_server, USAGE, table)
    [run] = json.loads(agentloop("logs", "--json", "-n", "1", AGENTLOOP_HOME=home).stdout)
    assert run["usage"]["cost"] == 0.018  # 12 * 1000 + 3 * 2000, per million


def test_an_unknown_cost_is_shown_as_none_not_zero(tmp_path: Path, fake_server: FakeServer) -> None:
    home = _run(tmp_path, fake_server, USAGE)
    [run] = json.loads(agentloop("logs", "--json", "-n", "1", AGENTLOOP_HOME=home).stdout)
    assert run["usage"]["cost"] is None
    shown = agentloop("logs", "show", run["run_id"], AGENTLOOP_HOME=home).stdout
    assert "cost" not in shown


def test_a_bad_price_table_is_one_line_naming_the_file(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    (tmp_path / "agentloop.toml").write_text(
        '[prices."local:fake-model"]\ninput = -1\noutput = 1\n'
    )
    done = agentloop(
        "run", "hi", "--model", "local:fake-model", "--base-url", fake_server.base_url,
        AGENTLOOP_HOME=str(tmp_path / "home"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode != 0
    [line] = done.stderr.strip().splitlines()
    assert "agentloop.toml" in line and "input must be a number >= 0" in line
    assert fake_server.requests == []
