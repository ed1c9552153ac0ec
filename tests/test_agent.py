"""The Agent's public API: run, messages/history, usage, steps, stream, deps, as_tool, threads."""

from __future__ import annotations

import json
import threading

import pytest
from loop_support import add, make_agent, sleepy, tool_messages, whoami

import agentloop
from agentloop import (
    Agent,
    ConfigurationError,
    RunContext,
    RunResult,
    StepFinished,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
    tool,
)
from agentloop.testing import (
    FunctionModel,
    ScriptedModel,
    UnexpectedModelCall,
    text_response,
    tool_call,
    tool_calls_response,
)

U = Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)


def test_public_names_importable_from_top_level():
    for name in (
        "Agent",
        "RunResult",
        "Step",
        "RunFinished",
        "StepFinished",
        "ToolCallStarted",
        "ToolCallFinished",
        "RunEvent",
        "hookimpl",
    ):
        assert getattr(agentloop, name) is not None
        assert name in agentloop.__all__


def test_run_result_fields_usage_steps_and_json_messages():
    script = [
        tool_calls_response(tool_call("add", {"a": 1, "b": 2}), usage=U),
        text_response("3", usage=U),
    ]
    agent, _ = make_agent(script, tools=[add], instructions="Be brief.")
    result = agent.run("1+2?")
    assert isinstance(result, RunResult)
    assert result.output == "3" and result.stop_reason == "stop"
    assert result.usage == Usage(
        prompt_tokens=20, completion_tokens=10, total_tokens=30, requests=2
    )
    assert [s.kind for s in result.steps] == ["model", "tool", "model"]
    assert all(s.duration >= 0 and s.started_at > 0 for s in result.steps)
    assert result.steps[1].tool_name == "add" and result.steps[1].status == "ok"
    assert [m["role"] for m in result.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert json.loads(json.dumps(list(result.messages))) == list(result.messages)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["usage"]["requests"] == 2 and len(data["steps"]) == 3


def test_messages_pass_back_as_history():
    agent, model = make_agent(["first", "second"], instructions="sys")
    first = agent.run("one")
    second = agent.run("two", history=first.messages)
    sent = model.requests[1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[:3] == list(first.messages)
    assert [m["content"] for m in second.messages][-2:] == ["two", "second"]


def test_messages_with_tool_calls_round_trip_through_json_as_history():
    script = [
        tool_calls_response(tool_call("add", {"a": 1, "b": 2}, id="c1"), text="Adding."),
        "3",
        "6",
    ]
    agent, model = make_agent(script, tools=[add], instructions="sys")
    first = agent.run("1+2?")
    saved = json.loads(json.dumps(list(first.messages)))
    assert saved == list(first.messages)
    second = agent.run("and doubled?", history=saved)
    sent = model.requests[2]["messages"]
    # the history is sent exactly as it was recorded, with no second system message
    assert sent[: len(saved)] == saved and sent[len(saved)] == {
        "role": "user",
        "content": "and doubled?",
    }
    assert [m["role"] for m in sent].count("system") == 1
    assert list(second.messages[: len(saved)]) == saved
    assert second.output == "6"


def test_prompt_may_be_messages():
    agent, model = make_agent(["ok"])
    agent.run(
        [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        ]
    )
    assert [m["content"] for m in model.requests[0]["messages"]] == ["a", "b", "c"]
    with pytest.raises(ConfigurationError):
        agent.run([{"content": "no role"}])


def test_model_settings_are_sent():
    agent, model = make_agent(["ok"], model_settings={"temperature": 0.2, "max_tokens": 50})
    agent.run("x")
    assert model.requests[0]["temperature"] == 0.2 and model.requests[0]["max_tokens"] == 50


def test_plain_functions_become_tools():
    def double(n: int) -> int:
        """Double.

        Args:
            n: A number.
        """
        return 2 * n

    agent, model = make_agent(
        [tool_calls_response(tool_call("double", {"n": 4})), "8"], tools=[double]
    )
    agent.run("x")
    assert tool_messages(model.requests[1]["messages"])[0]["content"] == "8"


def test_stream_yields_typed_events_in_order():
    script = [
        tool_calls_response(tool_call("add", {"a": 1, "b": 2}), text="Let me add."),
        text_response("The answer is three."),
    ]
    agent, model = make_agent(script, tools=[add])
    events = list(agent.stream("1+2?"))
    kinds = [type(e).__name__ for e in events]
    assert kinds[-1] == "RunFinished" and kinds.count("RunFinished") == 1
    text = "".join(e.delta for e in events if isinstance(e, TextDelta))
    assert text == "Let me add.The answer is three."
    assert len([e for e in events if isinstance(e, TextDelta)]) > 2  # streamed in fragments
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert started[0].tool_name == "add" and finished[0].result.content == "3"
    assert finished[0].duration >= 0
    assert kinds.index("ToolCallStarted") < kinds.index("ToolCallFinished")
    steps = [e.kind for e in events if isinstance(e, StepFinished)]
    assert steps == ["model", "tool", "model"]
    assert events[-1].result.output == "The answer is three."
    assert all(r.get("stream") for r in model.requests)


def test_stream_tool_error_event_carries_error():
    agent, _ = make_agent([tool_calls_response(tool_call("nope")), "ok"], tools=[add])
    finished = [e for e in agent.stream("x") if isinstance(e, ToolCallFinished)]
    assert finished[0].result.is_error and finished[0].result.status == "error"


def test_run_uses_create_unless_stream_true():
    agent, model = make_agent(["a", "b"])
    agent.run("x")
    agent2 = Agent(model, stream=True, load_plugins=False)
    agent2.run("y")
    assert [r.get("stream", False) for r in model.requests] == [False, True]


def test_stream_false_still_yields_one_text_event():
    agent, model = make_agent(["hello world"], stream=False)
    events = list(agent.stream("x"))
    assert [e.delta for e in events if isinstance(e, TextDelta)] == ["hello world"]
    assert "stream" not in model.requests[0]


def test_closing_stream_early_cancels_run():
    ended = []

    class Watch:
        @agentloop.hookimpl
        def agentloop_run_end(self, result, error):
            ended.append((result.stop_reason, type(error).__name__))

    agent, _ = make_agent(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 1})), "2"],
        tools=[add],
        plugins=[Watch()],
    )
    events = agent.stream("x")
    next(events)
    events.close()
    assert ended == [("cancelled", "GeneratorExit")]


def test_context_injected_by_annotation_and_hidden_from_model():
    agent, model = make_agent([tool_calls_response(tool_call("whoami")), "done"], tools=[whoami])
    result = agent.run("x", deps="db")
    assert "ctx" not in json.dumps(model.requests[0]["tools"])
    content = tool_messages(result.messages)[0]["content"]
    assert content == f"{result.run_id}:db:1"


def test_as_tool_lets_one_agent_call_another():
    inner_model = ScriptedModel(["inner says hi"])
    inner = Agent(inner_model, name="helper", load_plugins=False)
    helper = inner.as_tool(name="ask_helper", description="Ask the helper agent.")
    assert helper.name == "ask_helper" and helper.description == "Ask the helper agent."
    assert list(helper.parameters["properties"]) == ["prompt"]
    outer, model = make_agent(
        [tool_calls_response(tool_call("ask_helper", {"prompt": "hello?"})), "relayed"],
        tools=[helper],
    )
    result = outer.run("x")
    assert tool_messages(result.messages)[0]["content"] == "inner says hi"
    assert inner_model.requests[0]["messages"][-1]["content"] == "hello?"


def test_script_exhaustion_raises():
    agent, _ = make_agent([])
    with pytest.raises(UnexpectedModelCall):
        agent.run("x")


def test_bad_configuration_fails_early():
    with pytest.raises(ConfigurationError):
        Agent(ScriptedModel([]), max_steps=0, load_plugins=False)
    with pytest.raises(ConfigurationError):
        Agent(object(), load_plugins=False)
    with pytest.raises(ConfigurationError):
        make_agent(["x"], tools=[add], tool_choice="missing")[0].run("x")


@pytest.mark.parametrize(
    "option",
    [
        {"max_steps": 0},
        {"max_steps": None},
        {"max_parallel_tools": 0},
        {"max_tool_retries": -1},
        {"output_retries": -1},
        {"max_repeated_calls": 0},
        {"max_result_chars": 0},
        {"max_tokens_total": 0},
        {"max_steps": 2.5},
        {"max_steps": True},
        {"tool_timeout": 0},
        {"tool_timeout": -1.0},
        {"tool_timeout": "5"},
    ],
    ids=lambda option: "-".join(f"{k}={v!r}" for k, v in option.items()),
)
def test_invalid_limits_fail_at_construction(option):
    name = next(iter(option))
    with pytest.raises(ConfigurationError, match=name):
        Agent(ScriptedModel([]), load_plugins=False, **option)


def test_limits_accept_none_where_it_means_no_limit():
    agent = Agent(
        ScriptedModel(["ok"]),
        load_plugins=False,
        max_repeated_calls=None,
        max_result_chars=None,
        max_tokens_total=None,
        tool_timeout=None,
        max_tool_retries=0,
        output_retries=0,
    )
    assert agent.run("x").output == "ok"


def test_model_string_offline():
    agent = Agent("offline", load_plugins=False)
    result = agent.run("hello")
    assert result.output.startswith("This is the offline model")
    assert 'It read your message as: "hello".' in result.output
    assert result.stop_reason == "stop" and [s.kind for s in result.steps] == ["model"]


def test_one_agent_many_threads_no_shared_run_state():
    def answer(request):
        messages = request["messages"]
        token = messages[1]["content"]
        if messages[-1]["role"] == "user":
            return tool_calls_response(
                tool_call("sleepy", {"seconds": 0.01, "tag": token}), tool_call("whoami")
            )
        return text_response(f"done {token}", usage=U)

    model = FunctionModel(answer)
    agent = Agent(model, tools=[sleepy, whoami], instructions="sys", load_plugins=False)
    results: dict[str, RunResult] = {}

    def one(i):
        results[f"T{i}"] = agent.run(f"T{i}", deps=i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    for token, result in results.items():
        text = json.dumps(list(result.messages))
        assert token in text and all(f'"T{j}"' not in text for j in range(20) if f"T{j}" != token)
        contents = [m["content"] for m in tool_messages(result.messages)]
        assert contents[0] == token and contents[1] == f"{result.run_id}:{token[1:]}:1"
        assert result.output == f"done {token}" and result.usage.total_tokens == 15


def test_run_context_has_the_agent_and_a_fresh_state_per_run():
    seen = []

    @tool
    def probe(context: RunContext) -> str:
        """Look at the context."""
        seen.append((context, context.step, context.usage))
        context.state["n"] = context.state.get("n", 0) + 1
        return str(context.state["n"])

    call = tool_calls_response(tool_call("probe"))
    agent, _ = make_agent([call, "a", call, "b"], tools=[probe])
    first, second = agent.run("x"), agent.run("y")
    assert [tool_messages(r.messages)[0]["content"] for r in (first, second)] == ["1", "1"]
    assert all(c.agent is agent for c, _, _ in seen)
    assert [c.run_id for c, _, _ in seen] == [first.run_id, second.run_id]
    assert [(step, usage.requests) for _, step, usage in seen] == [(1, 1), (1, 1)]


@tool
def ctx_probe(context: RunContext) -> int:
    """Return the step.

    Args:
        context: The run context.
    """
    return len(context.messages)


def test_context_messages_are_a_snapshot():
    agent, _ = make_agent([tool_calls_response(tool_call("ctx_probe")), "ok"], tools=[ctx_probe])
    result = agent.run("x")
    assert tool_messages(result.messages)[0]["content"] == "2"  # user + assistant so far
