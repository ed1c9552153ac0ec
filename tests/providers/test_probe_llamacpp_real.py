"""``agentloop probe`` against the real llama.cpp server, ``--save``, then tool runs finish.

The probe runs as the user runs it (the ``agentloop`` command in a subprocess, ``--save``
into a temporary config folder). The agent afterwards uses a *generic* model string,
``local:smollm2`` with ``base_url``, not the built-in ``llamacpp:`` preset: the saved profile
alone adapts its requests. What the profile changes on this server, measured here:

* streamed tool runs: without the profile the second step (``tool_choice`` back to ``auto``)
  gets llama-cpp-python's empty 200 and the run fails with ``StreamError``; with it, that
  request is sent unstreamed and replayed as a stream, and the run finishes;
* non-streamed tool runs finish either way: without the profile the first tool-call turn
  goes out as ``content: null``, is refused (a 500) and is resent with ``""``; with it, ``""``
  is sent from the start and every request is answered 200 the first time.

A 135M model calls the tool until ``max_steps`` and writes poor arguments: a run that ends
at ``max_steps`` with its partial result finishes (tests/providers/test_llamacpp_real.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from llama_support import LlamaServer

from agentloop import Agent, LoopDetected, MaxStepsExceeded, RunResult, StreamError, tool

SETTINGS = {"max_tokens": 16, "temperature": 0.0, "seed": 1}


@tool
def add(a: int, b: int) -> int:
    """Add two whole numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


def _probe(llama: LlamaServer, home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentloop", "probe", "smollm2", "--base-url",
               llama.base_url, "--runs", "1", "--timeout", "60", *extra]  # fmt: skip
    env = {**os.environ, "AGENTLOOP_HOME": str(home)}
    return subprocess.run(
        command, cwd=home, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def saved(llama: LlamaServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Probe once (with ``--context``), save; the saved profile and the findings."""
    home = tmp_path_factory.mktemp("probehome")
    done = _probe(llama, home, "--context", "--save", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "profile saved to" in done.stderr
    files = list(home.rglob("profiles.toml"))
    assert len(files) == 1
    entries = tomllib.loads(files[0].read_text())["profiles"]
    return {"home": home, "report": json.loads(done.stdout), "entry": entries[0]}


@pytest.fixture
def with_profile(saved: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLOOP_HOME", str(saved["home"]))
    monkeypatch.chdir(saved["home"])


@pytest.fixture
def without_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLOOP_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)


def _agent(llama: LlamaServer, **kw: Any) -> Agent:
    return Agent("local:smollm2", base_url=llama.base_url, tools=[add], tool_choice="add",
                 max_steps=3, model_settings=SETTINGS, **kw)  # fmt: skip


def _finish(run: Agent) -> RunResult:
    try:
        return run.run("What is 2 + 3?")
    except (MaxStepsExceeded, LoopDetected) as exc:
        assert exc.result is not None
        return exc.result


def _check_tool_turns(result: RunResult) -> None:
    calls = [c for m in result.messages if m["role"] == "assistant"
             for c in m.get("tool_calls") or ()]  # fmt: skip
    results = [m for m in result.messages if m["role"] == "tool"]
    assert calls and [r["tool_call_id"] for r in results] == [c["id"] for c in calls]
    assert all(c["function"]["name"] == "add" for c in calls)
    assert all(r["content"] for r in results)  # a sum, or the validation error sent back


def test_probe_finds_what_llama_cpp_python_does(saved: dict[str, Any]) -> None:
    found = {f["check"]: f for f in saved["report"]["findings"]}
    assert found["content_null"]["outcome"] == "no" and "500" in found["content_null"]["evidence"]
    assert found["content_empty"]["outcome"] == "yes"
    assert found["stream_tools"]["outcome"] == "no"
    assert found["context_window"]["value"] == 2048
    entry = saved["entry"]
    assert entry["base_url"] == saved["report"]["base_url"] and entry["model"] == "smollm2"
    assert entry["tool_call_content"] == ""
    assert entry["streams_tool_choice_auto"] is False
    assert entry["context_tokens"] == 2048
    assert entry == {"base_url": entry["base_url"], "model": "smollm2",
                     **saved["report"]["profile"]}  # fmt: skip


def test_a_generic_model_string_picks_the_saved_profile_up(
    llama: LlamaServer, with_profile: None
) -> None:
    model: Any = _agent(llama, max_context_tokens="auto").model
    assert model.provider.name == "local"
    assert model.provider.tool_call_content == ""
    assert model.provider.streams_tool_choice_auto is False
    assert model.profile.context_tokens == 2048


def test_streamed_tool_run_fails_without_the_profile(
    llama: LlamaServer, without_profile: None
) -> None:
    with pytest.raises(StreamError, match="empty stream"):
        _finish(_agent(llama, stream=True))


def test_streamed_tool_run_finishes_with_the_saved_profile(
    llama: LlamaServer, with_profile: None
) -> None:
    before = len(llama.statuses())
    result = _finish(_agent(llama, stream=True))
    _check_tool_turns(result)
    assert llama.statuses()[before:] == [200] * result.usage.requests


def test_tool_run_without_the_profile_needs_a_refused_request_first(
    llama: LlamaServer, without_profile: None
) -> None:
    before = len(llama.statuses())
    result = _finish(_agent(llama))
    _check_tool_turns(result)
    assert llama.statuses()[before:].count(500) == 1  # content: null refused, then ""


def test_tool_run_finishes_with_the_saved_profile(llama: LlamaServer, with_profile: None) -> None:
    before = len(llama.statuses())
    result = _finish(_agent(llama))
    _check_tool_turns(result)
    assert result.usage.requests >= 2
    assert llama.statuses()[before:] == [200] * result.usage.requests
