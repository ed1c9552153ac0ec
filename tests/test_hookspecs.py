"""One test per hook in agentloop/hookspecs.py (test_hook_<name>), through the public API."""

from __future__ import annotations

import inspect
import sys
import warnings
from pathlib import Path

import pytest
from loop_support import add, make_agent, tool_messages

from agentloop import (
    AbortRun,
    AgentloopWarning,
    RunAborted,
    RunContext,
    RunFinished,
    StepFinished,
    TextDelta,
    Tool,
    ToolCallFinished,
    ToolCallStarted,
    ToolResult,
    hookimpl,
    hookspecs,
    tool,
)
from agentloop.testing import tool_call, tool_calls_response


@tool(requires_approval=True)
def delete_file(path: str) -> str:
    """Delete a file.

    Args:
        path: The file.
    """
    return f"deleted {path}"


def test_every_hookspec_has_a_test():
    """Here, or (for hooks of a subsystem, e.g. sessions) in that subsystem's tests."""
    specs = [n for n, f in vars(hookspecs).items() if n.startswith("agentloop_") and callable(f)]
    here = {n for n in vars(sys.modules[__name__]) if n.startswith("test_hook_")}
    tests = Path(__file__).parent
    elsewhere = "\n".join(p.read_text(encoding="utf-8") for p in tests.rglob("test_*.py"))
    assert len(specs) >= 10
    missing = [
        n for n in specs if f"test_hook_{n}" not in here and f"def test_hook_{n}(" not in elsewhere
    ]
    assert not missing


def test_hook_agentloop_tools():
    @tool
    def plugin_tool(x: int) -> int:
        """Square.

        Args:
            x: A number.
        """
        return x * x

    seen = []

    class Offers:
        @hookimpl
        def agentloop_tools(self, agent):
            seen.append(agent)
            return [plugin_tool]

    script = [tool_calls_response(tool_call("plugin_tool", {"x": 7})), "49"]
    agent, model = make_agent(script, tools=[add], plugins=[Offers()])
    result = agent.run("x")
    names = [t["function"]["name"] for t in model.requests[0]["tools"]]
    assert sorted(names) == ["add", "plugin_tool"]
    assert tool_messages(result.messages)[0]["content"] == "49"
    assert seen == [agent]
    # the agent's own tools=[...] come through the same hook, from its internal plugin
    offered = [t for tools in agent.hook.agentloop_tools(agent=agent) for t in tools or ()]
    assert add in offered and plugin_tool in offered


def test_hook_agentloop_register_tools():
    @tool
    def lookup(key: str) -> str:
        """Look a key up.

        Args:
            key: The key.
        """
        return f"value of {key}"

    calls = []

    class Offers:
        @hookimpl
        def agentloop_register_tools(self):
            calls.append("asked")
            return [lookup]

    # offered, not chosen: the model is not sent the tool
    agent, model = make_agent(["ok"], tools=[add], plugins=[Offers()])
    agent.run("x")
    assert [t["function"]["name"] for t in model.requests[0]["tools"]] == ["add"]
    # chosen by name: resolved once, when the first run starts, then called
    script = [tool_calls_response(tool_call("lookup", {"key": "k"})), "done", "again"]
    agent, model = make_agent(script, tools=[add, "lookup"], plugins=[Offers()])
    calls.clear()
    result = agent.run("x")
    agent.run("again")
    assert [t["function"]["name"] for t in model.requests[0]["tools"]] == ["add", "lookup"]
    assert tool_messages(result.messages)[0]["content"] == "value of k"
    assert calls == ["asked"]


def test_hook_agentloop_run_start():
    starts = []

    class Start:
        @hookimpl
        def agentloop_run_start(self, context):
            starts.append(context.run_id)
            context.state["from_start"] = True

    @tool
    def read_state(context: RunContext) -> str:
        """Read what run start put in the state."""
        return str(context.state.get("from_start"))

    script = [tool_calls_response(tool_call("read_state")), "ok"]
    agent, model = make_agent(
        script, tools=[read_state], plugins=[Start(), _RequestCounter(starts)]
    )
    result = agent.run("x")
    # once per run, before the first model request; its state is the run's
    assert starts == [result.run_id, "request", "request"]
    assert tool_messages(result.messages)[0]["content"] == "True"
    second = make_agent(["ok"], plugins=[Start()])[0].run("y")
    assert starts[-1] == second.run_id != result.run_id


class _RequestCounter:
    def __init__(self, log):
        self.log = log

    @hookimpl
    def agentloop_model_request(self):
        self.log.append("request")


def test_hook_agentloop_run_end():
    ends = []

    class End:
        @hookimpl
        def agentloop_run_end(self, context, result, error):
            ends.append((context.run_id, result.stop_reason, error))

    agent, _ = make_agent(["ok"], plugins=[End()])
    result = agent.run("x")
    assert ends == [(result.run_id, "stop", None)]

    class Aborts:
        @hookimpl
        def agentloop_before_tool_call(self):
            raise AbortRun("no tools today")

    ends.clear()
    agent, _ = make_agent(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 1}))],
        tools=[add],
        plugins=[End(), Aborts()],
    )
    with pytest.raises(RunAborted) as info:
        agent.run("x")
    assert ends[0][1] == "aborted" and ends[0][2] is info.value


def test_hook_agentloop_run_end_failure_is_a_warning_not_the_outcome():
    class Broken:
        @hookimpl
        def agentloop_run_end(self):
            raise RuntimeError("disk full")

    agent, _ = make_agent(["ok"], plugins=[Broken()])
    with pytest.warns(AgentloopWarning, match="disk full"):
        assert agent.run("x").output == "ok"


def test_hook_agentloop_model_request():
    class Edit:
        @hookimpl
        def agentloop_model_request(self, context, request):
            request["messages"].insert(0, {"role": "system", "content": "injected"})
            request["temperature"] = 0
            request["tools"] = [t for t in request["tools"] if t["function"]["name"] != "add"]

    @tool
    def keep() -> str:
        """Keep."""
        return "k"

    agent, model = make_agent(["ok"], tools=[add, keep], plugins=[Edit()])
    result = agent.run("x")
    sent = model.requests[0]
    assert sent["messages"][0]["content"] == "injected" and sent["temperature"] == 0
    assert [t["function"]["name"] for t in sent["tools"]] == ["keep"]
    assert result.messages[0]["role"] == "user"  # the transcript did not change


def test_hook_agentloop_model_response():
    responses = []

    class Watch:
        @hookimpl
        def agentloop_model_response(self, context, response):
            responses.append((context.step, response.finish_reason, len(context.messages)))

    agent, _ = make_agent(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 1})), "2"],
        tools=[add],
        plugins=[Watch()],
    )
    agent.run("x")
    # called before the assistant message is appended and before its tools run
    assert responses == [(1, "tool_calls", 1), (2, "stop", 3)]


@pytest.mark.parametrize("stream", [False, True])
def test_hook_agentloop_stream_event(stream):
    events = []

    class Watch:
        @hookimpl
        def agentloop_stream_event(self, context, event):
            events.append(event)

    agent, _ = make_agent(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 1})), "two"],
        tools=[add],
        plugins=[Watch()],
    )
    yielded = list(agent.stream("x")) if stream else [agent.run("x")]
    kinds = [type(e) for e in events]
    assert kinds == [
        StepFinished,
        ToolCallStarted,
        ToolCallFinished,
        StepFinished,
        TextDelta,
        StepFinished,
        RunFinished,
    ]
    if stream:
        assert yielded == events


def test_hook_agentloop_before_tool_call():
    calls = []

    class Cache:
        @hookimpl
        def agentloop_before_tool_call(self, call, tool):
            calls.append(json_args(call))
            if call.arguments == '{"a": 1, "b": 1}':
                return ToolResult(
                    call_id=call.id, name=call.name, content="cached 2", status="answered"
                )
            return None

    script = [
        tool_calls_response(tool_call("add", {"a": 1, "b": 1}), tool_call("add", {"a": 2, "b": 2})),
        tool_calls_response(tool_call("add", "{bad")),
        "ok",
    ]
    agent, _ = make_agent(script, tools=[add], plugins=[Cache()])
    result = agent.run("x")
    assert [m["content"] for m in tool_messages(result.messages)][:2] == ["cached 2", "4"]
    assert [s.status for s in result.steps if s.kind == "tool"][:2] == ["answered", "ok"]
    assert len(calls) == 2  # not called for arguments that failed validation


def test_hook_agentloop_before_tool_call_can_deny():
    ran = []

    @tool
    def launch(target: str) -> str:
        """Launch.

        Args:
            target: Where to.
        """
        ran.append(target)
        return "launched"

    class Policy:
        @hookimpl
        def agentloop_before_tool_call(self, call, tool):
            if "moon" in call.arguments:
                return ToolResult(
                    call_id=call.id,
                    name=call.name,
                    content="denied: not today",
                    is_error=True,
                    status="denied",
                )
            return None

    calls = [tool_call("launch", {"target": "moon"}), tool_call("launch", {"target": "mars"})]
    agent, _ = make_agent([tool_calls_response(*calls), "ok"], tools=[launch], plugins=[Policy()])
    result = agent.run("x")
    assert ran == ["mars"]
    assert [m["content"] for m in tool_messages(result.messages)] == [
        "denied: not today",
        "launched",
    ]
    steps = [s for s in result.steps if s.kind == "tool"]
    assert [(s.status, s.is_error) for s in steps] == [("denied", True), ("ok", False)]


def json_args(call):
    return call.arguments


def test_hook_agentloop_approve_tool_call():
    asked = []

    class Approver:
        @hookimpl
        def agentloop_approve_tool_call(self, call, tool):
            asked.append(tool.name)
            return "keep" in call.arguments

    script = [
        tool_calls_response(
            tool_call("delete_file", {"path": "keep.txt"}),
            tool_call("delete_file", {"path": "other.txt"}),
            tool_call("add", {"a": 1, "b": 1}),
        ),
        "ok",
    ]
    agent, _ = make_agent(script, tools=[delete_file, add], plugins=[Approver()])
    result = agent.run("x")
    contents = [m["content"] for m in tool_messages(result.messages)]
    assert contents == ["deleted keep.txt", "denied: the user did not approve this call", "2"]
    assert asked == ["delete_file", "delete_file"]  # only for tools that require approval
    assert [s.status for s in result.steps if s.kind == "tool"] == ["ok", "denied", "ok"]


def test_hook_agentloop_approve_tool_call_denies_when_nobody_answers():
    script = [tool_calls_response(tool_call("delete_file", {"path": "a"})), "ok"]
    agent, _ = make_agent(script, tools=[delete_file])
    assert tool_messages(agent.run("x").messages)[0]["content"] == "denied: approval required"


def test_approver_callback_argument():
    script = [tool_calls_response(tool_call("delete_file", {"path": "a"})), "ok"]
    agent, _ = make_agent(script, tools=[delete_file], approver=lambda call, tool: True)
    assert tool_messages(agent.run("x").messages)[0]["content"] == "deleted a"


def test_hook_agentloop_call_tool():
    remote = Tool(
        name="remote",
        description="Runs elsewhere.",
        parameters={
            "type": "object",
            "properties": {"q": {"type": "string"}},
            "required": ["q"],
            "additionalProperties": False,
        },
        fn=lambda q: pytest.fail("the default runner must not run an owned tool"),
    )

    class Owner:
        @hookimpl
        def agentloop_tools(self):
            return [remote]

        @hookimpl
        def agentloop_call_tool(self, context, call, tool):
            if tool is not remote:
                return None
            return ToolResult(call_id=call.id, name=call.name, content=f"remote:{call.arguments}")

    script = [
        tool_calls_response(tool_call("remote", {"q": "hi"}), tool_call("add", {"a": 1, "b": 1})),
        "ok",
    ]
    agent, _ = make_agent(script, tools=[add], plugins=[Owner()])
    contents = [m["content"] for m in tool_messages(agent.run("x").messages)]
    assert contents == ['remote:{"q": "hi"}', "2"]


def test_hook_agentloop_call_tool_exception_becomes_error_result():
    class Broken:
        @hookimpl(tryfirst=True)
        def agentloop_call_tool(self):
            raise ConnectionError("server gone")

    agent, _ = make_agent(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 1})), "ok"],
        tools=[add],
        plugins=[Broken()],
    )
    assert (
        tool_messages(agent.run("x").messages)[0]["content"]
        == "error: ConnectionError: server gone"
    )


def test_hook_agentloop_after_tool_call():
    class Redact:
        @hookimpl
        def agentloop_after_tool_call(self, call, tool, result):
            if result.is_error:
                return None
            return ToolResult(
                call_id=result.call_id,
                name=result.name,
                content=result.content.replace("3", "[REDACTED]"),
                value=result.value,
            )

    script = [tool_calls_response(tool_call("add", {"a": 1, "b": 2}), tool_call("add", "{")), "ok"]
    agent, _ = make_agent(script, tools=[add], plugins=[Redact()])
    contents = [m["content"] for m in tool_messages(agent.run("x").messages)]
    assert contents[0] == "[REDACTED]" and contents[1].startswith("error:")


def test_hook_agentloop_after_tool_call_sees_failed_and_denied_calls():
    seen = []

    class Watch:
        @hookimpl
        def agentloop_after_tool_call(self, call, tool, result):
            seen.append((call.id, tool.name, result.status, result.is_error))
            if result.status == "error":
                return ToolResult(
                    call_id=result.call_id,
                    name=result.name,
                    content="error: (hidden by policy)",
                    is_error=True,
                )
            return None

    calls = [
        tool_call("add", {"a": 1, "b": 2}, id="ok"),
        tool_call("add", "{", id="bad-json"),
        tool_call("delete_file", {"path": "a"}, id="denied"),
    ]
    agent, _ = make_agent(
        [tool_calls_response(*calls), "ok"], tools=[add, delete_file], plugins=[Watch()]
    )
    result = agent.run("x")
    assert seen == [
        ("ok", "add", "ok", False),
        ("bad-json", "add", "error", True),
        ("denied", "delete_file", "denied", True),
    ]
    contents = [m["content"] for m in tool_messages(result.messages)]
    assert contents == ["3", "error: (hidden by policy)", "denied: approval required"]


def test_hookspecs_are_documented_with_args():
    for name, fn in vars(hookspecs).items():
        if name.startswith("agentloop_"):
            doc = inspect.getdoc(fn) or ""
            assert "Args:" in doc or not inspect.signature(fn).parameters, name
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert callable(hookimpl)


def test_hook_agentloop_run_start_failure_still_reaches_run_end():
    ends = []

    class Tracer:
        @hookimpl
        def agentloop_run_start(self, context):
            raise RuntimeError("tracer down")

        @hookimpl
        def agentloop_run_end(self, result, error):
            ends.append((result.stop_reason, error))

    agent, model = make_agent(["never"], plugins=[Tracer()])
    with pytest.raises(RuntimeError, match="tracer down") as info:
        agent.run("x")
    assert ends == [("error", info.value)] and model.requests == []


def test_hook_agentloop_agent_close():
    closed = []

    class Holder:
        @hookimpl
        def agentloop_agent_close(self, agent):
            closed.append(agent)

    class Broken:
        @hookimpl
        def agentloop_agent_close(self):
            raise RuntimeError("cannot stop")

    agent, _ = make_agent(["ok", "again"], plugins=[Holder(), Broken()])
    with pytest.warns(AgentloopWarning, match="agentloop_agent_close: RuntimeError"), agent:
        agent.run("x")
    assert closed == [agent]  # the broken plugin did not stop the others
    assert agent.run("y").output == "again"  # a closed agent can run again
    with pytest.warns(AgentloopWarning):
        agent.close()
    assert closed == [agent, agent]
