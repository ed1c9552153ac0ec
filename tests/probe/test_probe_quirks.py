"""The probe against a real quirk server: it finds each quirk, saves a profile, and a tool run
that failed before succeeds after (one test per quirk)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from quirkserver import QuirkServer  # noqa: E402

from agentloop import Agent, APIStatusError, ContextWindowExceeded, StreamError, tool  # noqa: E402
from agentloop.probe import probe  # noqa: E402
from agentloop.probe.profile import profile_path, save_profile  # noqa: E402

ALL = {
    "null_content_rejected",
    "include_usage_rejected",
    "typed_content_rejected",
    "two_system_rejected",
    "tool_choice_ignored",
    "stream_tools_refused",
}


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
        city: The city.
    """
    return f"sunny in {city}"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


def _probe_and_save(server: QuirkServer) -> dict[str, Any]:
    report = probe(server.base_url, "quirky", runs=1, timeout=5)
    save_profile(profile_path(False), report.base_url, "quirky", report.profile())
    return {f.check: f for f in report.findings}


def _agent(server: QuirkServer, **kw: Any) -> Agent:
    return Agent("local:quirky", base_url=server.base_url, tools=[get_weather], max_steps=4, **kw)


def test_probe_finds_every_quirk_of_a_combination() -> None:
    with QuirkServer(ALL) as server:
        found = _probe_and_save(server)
    assert found["content_null"].outcome == "no" and found["content_empty"].outcome == "yes"
    assert found["stream_include_usage"].outcome == "no"
    assert found["typed_content"].outcome == "no"
    assert found["two_system"].outcome == "no"
    assert found["tool_choice_none"].outcome == "no"
    assert found["tool_choice_named"].outcome == "no"
    assert found["stream_tools"].outcome == "no"
    assert "422" in found["stream_include_usage"].evidence


def test_include_usage_rejected_then_streamed_run_succeeds() -> None:
    with QuirkServer({"include_usage_rejected"}) as server:
        with pytest.raises(APIStatusError):
            _agent(server, stream=True).run("Use get_weather for Paris.")
        _probe_and_save(server)
        result = _agent(server, stream=True).run("Use get_weather for Paris.")
    assert result.output == "done"


def test_typed_content_rejected_then_run_succeeds() -> None:
    prompt = [{"role": "user", "content": [{"type": "text", "text": "Use get_weather for Paris."}]}]
    with QuirkServer({"typed_content_rejected"}) as server:
        with pytest.raises(APIStatusError):
            _agent(server).run(prompt)
        _probe_and_save(server)
        assert _agent(server).run(prompt).output == "done"


def test_two_system_messages_rejected_then_merged() -> None:
    prompt = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Use get_weather."},
    ]
    with QuirkServer({"two_system_rejected"}) as server:
        with pytest.raises(APIStatusError):
            _agent(server, instructions="You help.").run(prompt)
        _probe_and_save(server)
        assert _agent(server, instructions="You help.").run(prompt).output == "done"
        sent = server.requests[-1]["messages"]
    assert [m["role"] for m in sent].count("system") == 1


def test_tool_choice_none_ignored_then_enforced_by_agentloop() -> None:
    with QuirkServer({"tool_choice_ignored"}) as server:
        before = _agent(server, tool_choice="none").run("Use get_weather for Paris.")
        assert any(m["role"] == "tool" for m in before.messages)  # the server called anyway
        _probe_and_save(server)
        after = _agent(server, tool_choice="none").run("Use get_weather for Paris.")
        assert "tools" not in server.requests[-1]
    assert not any(m["role"] == "tool" for m in after.messages)


def test_stream_tools_refused_then_sent_unstreamed() -> None:
    with QuirkServer({"stream_tools_refused"}) as server:
        with pytest.raises(StreamError):
            _agent(server, stream=True).run("Use get_weather for Paris.")
        _probe_and_save(server)
        assert _agent(server, stream=True).run("Use get_weather for Paris.").output == "done"


def test_null_content_rejected_then_empty_string_from_the_start() -> None:
    with QuirkServer({"null_content_rejected"}) as server:
        _probe_and_save(server)
        start = len(server.requests)
        assert _agent(server).run("Use get_weather for Paris.").output == "done"
        sent = server.requests[start:]
    assert len(sent) == 2  # no rejected first try
    turns = [m for m in sent[-1]["messages"] if m.get("tool_calls")]
    assert turns and all(m["content"] == "" for m in turns)


def test_context_length_400_is_context_window_exceeded() -> None:
    with QuirkServer(context_window=50) as server, pytest.raises(ContextWindowExceeded) as info:
        _agent(server).run("word " * 400)
    assert info.value.window == 50
    assert "max_context_tokens" in str(info.value)


def test_unreachable_and_not_openai_servers_end_in_findings() -> None:
    report = probe("http://127.0.0.1:9/v1", "m", runs=1, timeout=2)
    assert report.findings and all(f.outcome in ("unknown", "info", "no") for f in report.findings)
    with QuirkServer() as server:
        html = probe(server.base_url.replace("/v1", "/nothing"), "m", runs=1, timeout=2)
    assert {f.check: f for f in html.findings}["chat"].outcome == "no"
