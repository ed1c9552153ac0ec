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
    "parallel_ignored",
    "auto_tool_choice_off",
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


@tool
def get_time(city: str) -> str:
    """Get the local time in a city.

    Args:
        city: The city.
    """
    return f"noon in {city}"


def _probe_and_save(server: QuirkServer) -> dict[str, Any]:
    report = probe(server.base_url, "quirky", runs=1, timeout=5)
    save_profile(profile_path(False), report.base_url, "quirky", report.profile())
    return {f.check: f for f in report.findings}


def _agent(server: QuirkServer, **kw: Any) -> Agent:
    kw.setdefault("tools", [get_weather])
    return Agent("local:quirky", base_url=server.base_url, max_steps=4, **kw)


def test_probe_finds_every_quirk_of_a_combination() -> None:
    with QuirkServer(ALL, reasoning="reasoning_content") as server:
        found = _probe_and_save(server)
        table = probe(server.base_url, "quirky", runs=1, timeout=5).profile()
    assert found["server_config"].outcome == "no"
    assert "--enable-auto-tool-choice" in found["server_config"].summary
    assert found["parallel_tool_calls"].value == "ignored"
    assert found["reasoning_field"].value == "reasoning_content"
    assert found["reasoning_echo"].value == "required"
    assert table["reasoning_field"] == "reasoning_content"
    assert set(table["unenforced_tool_choices"]) >= {"auto", "none", "named", "parallel_tool_calls"}
    assert "tool_choice" not in table.get("rejected_params", ())
    assert table["merge_system"] and table["string_content_only"]
    assert table["streams_tool_choice_auto"] is False and table["stream_usage"] is False


def test_probe_finds_every_quirk_of_a_combination_without_server_flags() -> None:
    with QuirkServer(ALL - {"auto_tool_choice_off"}) as server:
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


@pytest.mark.parametrize("stream", [False, True])
def test_parallel_tool_calls_ignored_then_enforced_by_agentloop(stream: bool) -> None:
    def run(server: QuirkServer) -> Any:
        agent = _agent(server, stream=stream, tools=[get_weather, get_time],
                       model_settings={"parallel_tool_calls": False})  # fmt: skip
        return agent.run("Use get_weather and get_time for Paris.")

    with QuirkServer({"parallel_ignored"}) as server:
        before = run(server)
        turns = [m for m in before.messages if m.get("tool_calls")]
        assert len(turns[0]["tool_calls"]) == 2  # false was sent, and ignored
        found = _probe_and_save(server)
        assert found["parallel_tool_calls"].outcome == "no"
        start = len(server.requests)
        after = run(server)
        assert all(r.get("parallel_tool_calls") is False for r in server.requests[start:])
    turns = [m for m in after.messages if m.get("tool_calls")]
    assert turns and all(len(m["tool_calls"]) == 1 for m in turns)
    assert [m["role"] for m in after.messages].count("tool") == 1
    assert after.output == "done"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_that_must_be_echoed_is_echoed_under_its_name(field: str, stream: bool) -> None:
    with QuirkServer(reasoning=field) as server:
        with pytest.raises(APIStatusError, match=f"Missing `{field}`"):
            _agent(server, stream=stream).run("Use get_weather for Paris.")
        found = _probe_and_save(server)
        assert found["reasoning_field"].value == field
        assert found["reasoning_echo"].value == "required"
        result = _agent(server, stream=stream).run("Use get_weather for Paris.")
        sent = server.requests[-1]["messages"]
    assert result.output == "done"
    turn = next(m for m in sent if m.get("tool_calls"))
    assert turn[field] == "The user wants get_weather: call it."  # streamed: both pieces
    assert "extra_content" not in turn
    other = "reasoning" if field == "reasoning_content" else "reasoning_content"
    assert other not in turn


def test_auto_tool_choice_refused_is_diagnosed_then_forced_runs_finish() -> None:
    with QuirkServer({"auto_tool_choice_off"}) as server:
        with pytest.raises(APIStatusError, match="--enable-auto-tool-choice --tool-call-parser"):
            _agent(server, tool_choice="get_weather").run("Use get_weather for Paris.")
        found = _probe_and_save(server)
        assert "restart it with --enable-auto-tool-choice" in found["server_config"].summary
        assert found["tools"].outcome == "yes" and found["tool_choice_named"].outcome == "yes"
        result = _agent(server, tool_choice="get_weather").run("Use get_weather for Paris.")
        last = server.requests[-1]
        plain = _agent(server).run("Use get_weather for Paris.")
    assert result.output == "done" and "tools" not in last  # the auto step: no tools
    assert [m["role"] for m in result.messages].count("tool") == 1
    assert plain.output == "hello"  # auto left to the model: sent without tools


def test_null_and_empty_content_rejected_then_content_left_out() -> None:
    with QuirkServer({"null_content_rejected", "empty_content_rejected"}) as server:
        with pytest.raises(APIStatusError, match="blank"):  # null refused, then "" refused
            _agent(server).run("Use get_weather for Paris.")
        found = _probe_and_save(server)
        assert [found[c].outcome for c in ("content_null", "content_empty", "content_absent")] == [
            "no", "no", "yes",
        ]  # fmt: skip
        start = len(server.requests)
        assert _agent(server).run("Use get_weather for Paris.").output == "done"
        sent = server.requests[start:]
    assert len(sent) == 2
    turn = next(m for m in sent[-1]["messages"] if m.get("tool_calls"))
    assert "content" not in turn


def test_named_tool_choice_ignored_then_no_other_tool_is_called() -> None:
    def run(server: QuirkServer) -> Any:
        agent = _agent(server, tools=[get_weather, get_time], tool_choice="get_time")
        return agent.run("Use get_weather for Paris.")

    def called(result: Any) -> list[str]:
        return [c["function"]["name"] for m in result.messages for c in m.get("tool_calls") or ()]

    with QuirkServer({"tool_choice_ignored"}) as server:
        assert called(run(server)) == ["get_weather"]  # forced get_time, got get_weather
        found = _probe_and_save(server)
        assert found["tool_choice_named"].outcome == "no"
        start = len(server.requests)
        after = run(server)
        first = server.requests[start]
    assert [t["function"]["name"] for t in first["tools"]] == ["get_time"]  # narrowed
    assert "get_weather" not in called(after)


def test_context_window_found_by_overflow_then_auto_trims_and_the_run_finishes() -> None:
    history: list[dict[str, Any]] = []
    for k in range(12):
        history += [{"role": "user", "content": f"old question {k} " + "filler " * 20},
                    {"role": "assistant", "content": f"old answer {k} " + "filler " * 20}]  # fmt: skip
    history.append({"role": "user", "content": "Use get_weather for Paris."})
    with QuirkServer(context_window=400) as server:
        with pytest.raises(ContextWindowExceeded):
            _agent(server).run(history)
        report = probe(server.base_url, "quirky", runs=1, timeout=5, context=True)
        assert report.profile()["context_tokens"] == 400
        save_profile(profile_path(False), report.base_url, "quirky", report.profile())
        result = _agent(server, max_context_tokens="auto").run(history)
    assert result.output == "done"
    assert len(result.messages) > len(history)  # the transcript keeps every turn
