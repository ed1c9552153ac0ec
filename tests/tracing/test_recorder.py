"""The trace recorder: one event per fact of a run, in order, with no secrets and no lost steps."""

from __future__ import annotations

import json

import pytest
from loop_support import add, boom

from agentloop import Agent, AgentloopWarning, ToolArgumentError
from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response
from agentloop.tracing import TRACE_VERSION, TraceEvent, TraceRecorder
from agentloop.tracing.events import EVENT_FIELDS, TraceError


def _run(model: ScriptedModel, **recorder: object) -> tuple[list[TraceEvent], object]:
    events: list[TraceEvent] = []
    agent = Agent(
        model,
        instructions="Be brief.",
        tools=[add, boom],
        plugins=[TraceRecorder(events.append, **recorder)],
        load_plugins=False,
    )
    return events, agent.run("add 2 and 3")


def test_a_run_becomes_its_events_in_order() -> None:
    model = ScriptedModel(
        [
            tool_calls_response(
                tool_call("add", {"a": 2, "b": 3}, id="c1"),
                tool_call("boom", {"message": "x"}, id="c2"),
            ),
            text_response("5"),
        ]
    )
    events, result = _run(model)
    assert [e.type for e in events] == [
        "run_started",
        "model_request",
        "model_response",
        "tool_call",
        "tool_call",
        "model_request",
        "model_response",
        "run_finished",
    ]
    assert [e.seq for e in events] == list(range(len(events)))
    assert {e.run_id for e in events} == {result.run_id}
    started, request, response, ok, failed = events[:5]
    assert started.data["instructions"] == "Be brief."
    assert started.data["prompt"] == "add 2 and 3"
    assert [m["role"] for m in request.data["messages"]] == ["system", "user"]
    assert [t["function"]["name"] for t in request.data["params"]["tools"]] == ["add", "boom"]
    assert response.data["tool_calls"][0] == {
        "id": "c1",
        "name": "add",
        "arguments": '{"a": 2, "b": 3}',
    }
    assert response.data["duration"] is not None and response.data["duration"] >= 0
    assert (ok.data["name"], ok.data["content"], ok.data["status"]) == ("add", "5", "ok")
    assert failed.data["is_error"] is True and "x" in failed.data["content"]
    final = events[-1].data
    assert (final["output"], final["stop_reason"], final["error"]) == ("5", "stop", None)
    assert final["steps"] == len(result.steps)
    for event in events:  # every declared key is present, and the whole event is JSON
        assert set(EVENT_FIELDS[event.type]) <= set(event.data)
        assert TraceEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_a_failed_run_still_ends_with_run_finished_and_its_error() -> None:
    model = ScriptedModel([tool_calls_response(tool_call("add", {"a": "x"}, id="c1"))] * 5)
    events: list[TraceEvent] = []
    agent = Agent(
        model,
        tools=[add],
        plugins=[TraceRecorder(events.append)],
        load_plugins=False,
        max_tool_retries=1,
    )
    with pytest.raises(Exception) as info:
        agent.run("go")
    assert events[-1].type == "run_finished"
    assert events[-1].data["error"]["type"] == type(info.value).__name__
    assert any(e.type == "tool_call" and e.data["is_error"] for e in events)
    assert not isinstance(info.value, ToolArgumentError)  # argument errors go to the model


def test_secrets_never_reach_an_event(monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "sk-canary-5f3a9b"
    monkeypatch.setenv("SOMEPROVIDER_API_KEY", canary)
    model = ScriptedModel([text_response(f"your key is {canary}")])
    events, _ = _run(model, secrets=["other-secret-123"])
    text = json.dumps([e.to_dict() for e in events])
    assert canary not in text and "[REDACTED]" in text


def test_include_content_false_keeps_shapes_only() -> None:
    model = ScriptedModel(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 1})), text_response("2")]
    )
    events, _ = _run(model, include_content=False)
    tool = next(e for e in events if e.type == "tool_call")
    assert (
        tool.data["name"] == "add"
        and tool.data["content"] is None
        and tool.data["arguments"] is None
    )
    assert all(e.data.get("messages") is None for e in events if e.type == "model_request")


def test_a_failing_sink_warns_once_and_the_run_goes_on() -> None:
    calls = []

    def sink(event: TraceEvent) -> None:
        calls.append(event.type)
        if event.type == "model_request":
            raise OSError("disk full")

    agent = Agent(
        ScriptedModel([text_response("hi")]), plugins=[TraceRecorder(sink)], load_plugins=False
    )
    with pytest.warns(AgentloopWarning, match="disk full") as caught:
        assert agent.run("x").output == "hi"
    assert len(caught) == 1
    assert calls == ["run_started", "model_request"]


@pytest.mark.parametrize(
    "raw, problem",
    [
        ([], "JSON object"),
        ({"v": 1, "type": "x"}, "lacks run_id, seq, time"),
        (
            {"v": TRACE_VERSION + 1, "type": "x", "run_id": "r", "seq": 0, "time": 0},
            "upgrade agentloop",
        ),
    ],
)
def test_bad_trace_events_are_refused_clearly(raw: object, problem: str) -> None:
    with pytest.raises(TraceError, match=problem):
        TraceEvent.from_dict(raw)  # type: ignore[arg-type]


def test_each_request_records_only_the_messages_it_adds() -> None:
    call = tool_calls_response(tool_call("add", {"a": 1, "b": 2}, id="c1"))
    model = ScriptedModel([call, call, call, text_response("done")])
    events, result = _run(model)
    requests = [e.data for e in events if e.type == "model_request"]
    assert [(r["messages_from"], r["message_count"]) for r in requests] == [
        (0, 2), (2, 4), (4, 6), (6, 8)
    ]  # fmt: skip
    assert [m["role"] for m in requests[1]["messages"]] == ["assistant", "tool"]
    rebuilt: list = []  # a reader rebuilds every request from the deltas
    for r in requests:
        rebuilt = rebuilt[: r["messages_from"]] + r["messages"]
        assert len(rebuilt) == r["message_count"]
    assert rebuilt == [dict(m) for m in model.requests[-1]["messages"]]
