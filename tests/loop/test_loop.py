"""Loop semantics: stopping, tool_choice, limits, guards and tool-call faults."""

from __future__ import annotations

import json
import threading
import time

import pytest
from loop_support import add, boom, make_agent, sleepy, tool_messages

from agentloop import (
    AbortRun,
    LoopDetected,
    MaxStepsExceeded,
    RunAborted,
    TokenBudgetExceeded,
    ToolError,
    ToolRetriesExceeded,
    Usage,
    tool,
)
from agentloop.testing import make_response, text_response, tool_call, tool_calls_response


def test_stops_when_no_tool_calls_whatever_finish_reason_says():
    agent, model = make_agent([make_response("done", finish_reason="tool_calls")], tools=[add])
    result = agent.run("hi")
    assert result.output == "done"
    assert result.stop_reason == "tool_calls"
    assert model.remaining == 0 and len(model.requests) == 1


def test_tool_result_goes_back_with_id_and_name_then_loop_repeats():
    call = tool_call("add", {"a": 2, "b": 3}, id="call_x")
    agent, model = make_agent([tool_calls_response(call), text_response("5")], tools=[add])
    result = agent.run("2+3")
    sent = model.requests[1]["messages"]
    assert sent[-2]["tool_calls"][0]["id"] == "call_x"
    assert sent[-1] == {"role": "tool", "content": "5", "tool_call_id": "call_x", "name": "add"}
    assert result.output == "5"


def test_assistant_tool_calls_keep_id_and_extra_content():
    extra = {"google": {"thought_signature": "sig"}}
    call = tool_call("add", {"a": 1, "b": 1}, id="c1", extra_content=extra)
    agent, model = make_agent([tool_calls_response(call), "2"], tools=[add])
    agent.run("x")
    assert model.requests[1]["messages"][-2]["tool_calls"][0]["extra_content"] == extra


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_tool_choice_sent_as_given(choice):
    agent, model = make_agent(["ok"], tools=[add], tool_choice=choice)
    agent.run("x")
    assert model.requests[0]["tool_choice"] == choice


def test_named_tool_choice_is_forced_once_then_auto():
    script = [tool_calls_response(tool_call("add", {"a": 1, "b": 2})), "3"]
    agent, model = make_agent(script, tools=[add], tool_choice="add")
    agent.run("x")
    assert model.requests[0]["tool_choice"] == {"type": "function", "function": {"name": "add"}}
    assert model.requests[1]["tool_choice"] == "auto"


@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "add"}}], ids=str
)
def test_forced_tool_choice_goes_back_to_auto_after_the_forced_call(choice):
    script = [tool_calls_response(tool_call("add", {"a": i, "b": 1})) for i in range(2)] + ["3"]
    agent, model = make_agent(script, tools=[add], tool_choice=choice)
    assert agent.run("x").output == "3"
    assert [r["tool_choice"] for r in model.requests] == [choice, "auto", "auto"]


def test_max_steps_has_a_finite_default():
    from agentloop import Agent
    from agentloop.testing import FunctionModel

    counter = iter(range(1000))
    model = FunctionModel(
        lambda request: tool_calls_response(tool_call("add", {"a": next(counter), "b": 0}))
    )
    agent = Agent(model, tools=[add], load_plugins=False)
    with pytest.raises(MaxStepsExceeded) as info:
        agent.run("never stop")
    assert 1 < agent.max_steps <= 100
    assert len(model.requests) == agent.max_steps == info.value.result.usage.requests


def test_required_tool_choice_kept_when_user_asks():
    script = [tool_calls_response(tool_call("add", {"a": 1, "b": 2})), "3"]
    agent, model = make_agent(script, tools=[add], tool_choice="required", reset_tool_choice=False)
    agent.run("x")
    assert [r["tool_choice"] for r in model.requests] == ["required", "required"]


def test_no_tools_sends_neither_tools_nor_tool_choice():
    agent, model = make_agent(["hi"])
    agent.run("x")
    assert "tools" not in model.requests[0] and "tool_choice" not in model.requests[0]


def test_max_steps_raises_with_partial_result():
    script = [tool_calls_response(tool_call("add", {"a": i, "b": 0})) for i in range(3)]
    agent, model = make_agent(script, tools=[add], max_steps=3)
    with pytest.raises(MaxStepsExceeded) as info:
        agent.run("loop forever")
    result = info.value.result
    assert result.stop_reason == "max_steps"
    assert result.usage.requests == 3
    assert len(tool_messages(result.messages)) == 3
    assert info.value.agentloop_result is result


def test_loop_guard_stops_identical_repeated_calls():
    same = [tool_calls_response(tool_call("add", {"b": 2, "a": 1})) for _ in range(4)]
    agent, _ = make_agent(same, tools=[add], max_repeated_calls=3)
    with pytest.raises(LoopDetected) as info:
        agent.run("x")
    result = info.value.result
    assert result.stop_reason == "loop_detected"
    # the repeated call never ran, but still has exactly one (cancelled) result
    tools = tool_messages(result.messages)
    assert len(tools) == 4 and tools[-1]["content"].startswith("cancelled:")
    assert [s.status for s in result.steps if s.kind == "tool"] == ["ok"] * 3 + ["cancelled"]


def test_unknown_tool_gets_error_listing_valid_tools_and_run_continues():
    agent, model = make_agent(
        [tool_calls_response(tool_call("get_wether", {})), "sorry"], tools=[add, boom]
    )
    result = agent.run("x")
    content = tool_messages(result.messages)[0]["content"]
    assert "unknown tool 'get_wether'" in content and "add, boom" in content
    assert result.output == "sorry"


@pytest.mark.parametrize(
    "arguments",
    ['{"a": 1', "{a: 1}", "Paris", "[]", '"x"', "42", "null", '{"a": 1, "b": "x"}', '{"a": 1}'],
)
def test_bad_arguments_become_error_results_and_tool_is_not_called(arguments):
    calls = []

    @tool
    def spy(a: int, b: int) -> int:
        """Spy.

        Args:
            a: A.
            b: B.
        """
        calls.append((a, b))
        return 0

    agent, _ = make_agent([tool_calls_response(tool_call("spy", arguments)), "ok"], tools=[spy])
    result = agent.run("x")
    message = tool_messages(result.messages)[0]
    assert message["content"].startswith("error: ") and calls == []
    step = [s for s in result.steps if s.kind == "tool"][0]
    assert step.status == "error" and step.is_error


def test_tool_exception_becomes_error_message_without_traceback():
    agent, _ = make_agent(
        [tool_calls_response(tool_call("boom", {"message": "bad"})), "ok"], tools=[boom]
    )
    result = agent.run("x")
    assert tool_messages(result.messages)[0]["content"] == "error: ValueError: bad"
    assert result.output == "ok"


def test_tool_error_controls_its_text():
    @tool
    def picky() -> str:
        """Refuse."""
        raise ToolError("try a smaller city")

    agent, _ = make_agent([tool_calls_response(tool_call("picky")), "ok"], tools=[picky])
    assert tool_messages(agent.run("x").messages)[0]["content"] == "error: try a smaller city"


def test_retry_budget_ends_hopeless_run():
    script = [tool_calls_response(tool_call("boom", {"message": f"m{i}"})) for i in range(5)]
    agent, _ = make_agent(script, tools=[boom], max_tool_retries=2)
    with pytest.raises(ToolRetriesExceeded, match="'boom' failed 3 times") as info:
        agent.run("x")
    assert info.value.result.stop_reason == "tool_retries"
    assert len(tool_messages(info.value.result.messages)) == 3


def test_tool_max_retries_overrides_agent_default():
    flaky = tool(boom.fn, name="flaky", max_retries=0)
    agent, _ = make_agent(
        [tool_calls_response(tool_call("flaky", {"message": "x"}))], tools=[flaky]
    )
    with pytest.raises(ToolRetriesExceeded):
        agent.run("x")


def test_abort_run_stops_on_purpose_with_transcript():
    @tool
    def stop_now() -> str:
        """Abort."""
        raise AbortRun("operator said stop")

    script = [tool_calls_response(tool_call("stop_now"), tool_call("add", {"a": 1, "b": 1}))]
    agent, _ = make_agent(script, tools=[stop_now, add])
    with pytest.raises(RunAborted, match="operator said stop") as info:
        agent.run("x")
    result = info.value.result
    assert result.stop_reason == "aborted"
    assert [m["tool_call_id"] for m in tool_messages(result.messages)] == [
        c["id"] for c in result.messages[-3]["tool_calls"]
    ]


def test_every_call_gets_one_result_in_call_order_even_when_some_fail():
    calls = [
        tool_call("sleepy", {"seconds": 0.05, "tag": "one"}, id="a"),
        tool_call("boom", {"message": "two"}, id="b"),
        tool_call("nope", {}, id="c"),
        tool_call("sleepy", {"seconds": 0.0, "tag": "four"}, id="d"),
        tool_call("add", '{"a": 1', id="e"),
    ]
    agent, model = make_agent([tool_calls_response(*calls), "ok"], tools=[sleepy, boom, add])
    agent.run("x")
    sent = tool_messages(model.requests[1]["messages"])
    assert [m["tool_call_id"] for m in sent] == ["a", "b", "c", "d", "e"]
    assert sent[0]["content"] == "one" and sent[3]["content"] == "four"
    assert [m["content"].startswith("error") for m in sent] == [False, True, True, False, True]


def test_sequential_tool_never_runs_alongside_others():
    active = []
    peak = []
    lock = threading.Lock()

    def body(tag: str) -> str:
        with lock:
            active.append(tag)
            peak.append(len(active))
        time.sleep(0.05)
        with lock:
            active.remove(tag)
        return tag

    @tool(sequential=True)
    def write(tag: str) -> str:
        """Write.

        Args:
            tag: Tag.
        """
        return body(tag)

    @tool
    def read(tag: str) -> str:
        """Read.

        Args:
            tag: Tag.
        """
        return body(tag)

    calls = [
        tool_call("read", {"tag": "r1"}),
        tool_call("write", {"tag": "w1"}),
        tool_call("write", {"tag": "w2"}),
        tool_call("read", {"tag": "r2"}),
    ]
    agent, _ = make_agent([tool_calls_response(*calls), "ok"], tools=[read, write])
    result = agent.run("x")
    assert max(peak) == 1
    assert [m["content"] for m in tool_messages(result.messages)] == ["r1", "w1", "w2", "r2"]


def test_tool_timeout_reports_timeout_and_drops_late_result():
    release, finished = threading.Event(), threading.Event()

    @tool(name="slow", timeout=0.2)
    def slow_tool(tag: str) -> str:
        """Answer far too late.

        Args:
            tag: Tag.
        """
        release.wait(60)
        finished.set()
        return tag

    calls = [tool_call("slow", {"tag": "late"}), tool_call("add", {"a": 1, "b": 1})]
    agent, _ = make_agent([tool_calls_response(*calls), "ok"], tools=[slow_tool, add])
    try:
        result = agent.run("x")
        # the run finished while the tool was still blocked: the loop did not wait for it
        assert not finished.is_set()
    finally:
        release.set()
    first = tool_messages(result.messages)[0]
    assert first["content"] == "error: tool 'slow' timed out after 0.2 s"
    assert [s.status for s in result.steps if s.kind == "tool"] == ["timeout", "ok"]
    assert result.output == "ok"


def test_agent_default_tool_timeout():
    agent, _ = make_agent(
        [tool_calls_response(tool_call("sleepy", {"seconds": 1.0, "tag": "t"})), "ok"],
        tools=[sleepy],
        tool_timeout=0.1,
    )
    result = agent.run("x")
    assert "timed out after 0.1 s" in tool_messages(result.messages)[0]["content"]


def test_huge_result_is_capped_with_marker():
    @tool
    def big() -> str:
        """Return a lot."""
        return "x" * 5_000_000

    agent, model = make_agent([tool_calls_response(tool_call("big")), "ok"], tools=[big])
    agent.run("x")
    content = tool_messages(model.requests[1]["messages"])[0]["content"]
    assert len(content) <= 20_100 and "[truncated 4980000 chars]" in content


def test_result_cap_configurable_and_off():
    @tool
    def mid() -> str:
        """Return some."""
        return "y" * 500

    agent, model = make_agent(
        [tool_calls_response(tool_call("mid")), "ok"], tools=[mid], max_result_chars=100
    )
    agent.run("x")
    assert "[truncated 400 chars]" in tool_messages(model.requests[1]["messages"])[0]["content"]
    agent, model = make_agent(
        [tool_calls_response(tool_call("mid")), "ok"], tools=[mid], max_result_chars=None
    )
    agent.run("x")
    assert tool_messages(model.requests[1]["messages"])[0]["content"] == "y" * 500


def test_length_cut_tool_calls_never_run():
    calls = []

    @tool
    def write_file(path: str, content: str) -> str:
        """Write.

        Args:
            path: Path.
            content: Content.
        """
        calls.append(path)
        return "written"

    cut = make_response(
        None, [tool_call("write_file", '{"path": "a.txt", "content": "hel')], finish_reason="length"
    )
    agent, model = make_agent([cut, "gave up"], tools=[write_file])
    result = agent.run("x")
    assert calls == []
    message = tool_messages(result.messages)[0]
    assert "finish_reason 'length'" in message["content"]
    assert result.output == "gave up"


def test_token_budget_ends_run_before_a_call_that_cannot_fit():
    usage = Usage(prompt_tokens=60, completion_tokens=10, total_tokens=70)
    script = [
        tool_calls_response(tool_call("add", {"a": i, "b": 1}), usage=usage) for i in range(3)
    ]
    agent, model = make_agent(script, tools=[add], max_tokens_total=100)
    with pytest.raises(TokenBudgetExceeded, match="prompt tokens, but only 30 of") as info:
        agent.run("x")
    assert info.value.result.usage.total_tokens == 70
    assert info.value.result.stop_reason == "token_budget"
    assert model.remaining == 2  # the second call was never made


def test_token_budget_ends_run_once_spent():
    # a server that ignores max_tokens can still overspend; the next call is refused
    usage = Usage(prompt_tokens=60, completion_tokens=200, total_tokens=260)
    agent, _ = make_agent(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 1}), usage=usage)] * 2,
        tools=[add],
        max_tokens_total=250,
    )
    with pytest.raises(TokenBudgetExceeded, match="260 tokens, over its budget of 250"):
        agent.run("x")


def _hand_counted_prompt(request: dict) -> int:
    messages = sum(
        len(json.dumps(m, ensure_ascii=False, separators=(",", ":"))) // 4 + 4
        for m in request["messages"]
    )
    return messages + len(json.dumps(request.get("tools"))) // 4


def test_token_budget_bounds_each_request_by_what_is_left():
    usage = Usage(prompt_tokens=100, completion_tokens=50, total_tokens=150)
    agent, model = make_agent(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 1}), usage=usage), text_response("2")],
        tools=[add],
        max_tokens_total=1000,
        model_settings={"max_tokens": 900},
    )
    agent.run("add one and one")
    seen = model.requests
    first, second = (r["max_tokens"] for r in seen)
    # the documented rule written out (not the estimator under test): a quarter of each
    # message's compact JSON plus 4 a message, and a quarter of the tools' JSON
    prompt_first, prompt_second = (_hand_counted_prompt(r) for r in seen)
    assert first == min(900, 1000 - prompt_first)
    assert second == 1000 - 150 - prompt_second
    assert second < first


def test_keyboard_interrupt_propagates_with_partial_result():
    @tool
    def ctrl_c() -> str:
        """Interrupt."""
        raise KeyboardInterrupt

    script = [
        tool_calls_response(tool_call("add", {"a": 1, "b": 1})),
        tool_calls_response(tool_call("ctrl_c"), tool_call("add", {"a": 2, "b": 2})),
    ]
    agent, _ = make_agent(script, tools=[add, ctrl_c])
    with pytest.raises(KeyboardInterrupt) as info:
        agent.run("x")
    result = info.value.agentloop_result
    assert result.stop_reason == "interrupted"
    tools = tool_messages(result.messages)
    # every call has a result: the finished one, then the two interrupted ones cancelled
    assert [m["content"].split(":")[0] for m in tools] == ["2", "cancelled", "cancelled"]


def test_keyboard_interrupt_from_model_keeps_finished_steps():
    script = [tool_calls_response(tool_call("add", {"a": 1, "b": 1})), KeyboardInterrupt()]
    agent, _ = make_agent(script, tools=[add])
    with pytest.raises(KeyboardInterrupt) as info:
        agent.run("x")
    result = info.value.agentloop_result
    assert [s.kind for s in result.steps] == ["model", "tool"]


def test_arguments_are_not_shared_with_tools():
    @tool
    def mutate(items: list[int]) -> int:
        """Mutate.

        Args:
            items: Numbers.
        """
        items.append(99)
        return len(items)

    call = tool_call("mutate", {"items": [1, 2]})
    agent, model = make_agent([tool_calls_response(call), "ok"], tools=[mutate])
    result = agent.run("x")
    sent = model.requests[1]["messages"][-2]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(sent) == {"items": [1, 2]}
    assert result.messages[-3]["tool_calls"][0]["function"]["arguments"] == call.arguments


def test_missing_and_duplicate_call_ids_are_made_unique():
    calls = [
        tool_call("add", {"a": 1, "b": 1}, id="dup"),
        tool_call("add", {"a": 2, "b": 2}, id="dup"),
    ]
    calls.append(tool_call("add", {"a": 3, "b": 3}))
    calls[2] = type(calls[2])(id="", name="add", arguments='{"a": 3, "b": 3}')
    agent, model = make_agent([tool_calls_response(*calls), "ok"], tools=[add])
    agent.run("x")
    sent = model.requests[1]["messages"]
    ids = [c["id"] for c in sent[-4]["tool_calls"]]
    assert ids[0] == "dup" and len(set(ids)) == 3 and all(ids)
    assert [m["tool_call_id"] for m in tool_messages(sent)] == ids
    assert [m["content"] for m in tool_messages(sent)] == ["2", "4", "6"]


def test_keyboard_interrupt_reaches_run_end_hook():
    from agentloop import hookimpl

    seen = []

    class End:
        @hookimpl
        def agentloop_run_end(self, result, error):
            seen.append((result.stop_reason, type(error).__name__))

    agent, _ = make_agent([KeyboardInterrupt()], plugins=[End()])
    with pytest.raises(KeyboardInterrupt) as info:
        agent.run("x")
    assert seen == [("interrupted", "KeyboardInterrupt")]
    assert info.value.agentloop_result.messages[-1]["content"] == "x"


def test_plugin_offering_a_non_tool_is_a_plugin_error():
    from agentloop import PluginError, hookimpl

    class Bad:
        @hookimpl
        def agentloop_tools(self):
            return ["not a tool"]

    agent, _ = make_agent(["x"], plugins=[Bad()])
    with pytest.raises(PluginError, match="expected Tool objects"):
        agent.run("x")


def test_unknown_tool_names_share_a_retry_budget():
    script = [tool_calls_response(tool_call(f"made_up_{i}")) for i in range(3)]
    agent, _ = make_agent(script, tools=[add], max_tool_retries=2)
    with pytest.raises(ToolRetriesExceeded, match="calls to unknown tools failed 3 times"):
        agent.run("x")


def test_refusal_ends_the_run():
    from agentloop import OutputValidationError

    agent, _ = make_agent([make_response(None, refusal="I can't help with that")])
    result = agent.run("x")
    assert result.output == "I can't help with that" and result.stop_reason == "refusal"
    agent, _ = make_agent([make_response(None, refusal="no")], output_type=list[int])
    with pytest.raises(OutputValidationError, match="refused"):
        agent.run("x")


def test_failing_after_hook_becomes_error_result():
    from agentloop import hookimpl

    class Broken:
        @hookimpl
        def agentloop_after_tool_call(self):
            raise RuntimeError("post-processing failed")

    agent, _ = make_agent(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 1})), "ok"],
        tools=[add],
        plugins=[Broken()],
    )
    content = tool_messages(agent.run("x").messages)[0]["content"]
    assert content == "error: RuntimeError: post-processing failed"


def test_loop_never_imports_requests():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from agentloop import Agent\n"
        "from agentloop.testing import ScriptedModel\n"
        "assert Agent(ScriptedModel(['ok']), load_plugins=False).run('x').output == 'ok'\n"
        "print('requests' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_timed_out_tool_does_not_hold_the_process_at_exit():
    import subprocess
    import sys

    code = (
        "import time\n"
        "from agentloop import Agent, tool\n"
        "from agentloop.testing import ScriptedModel, tool_call, tool_calls_response\n"
        "@tool(timeout=0.1)\n"
        "def hang() -> str:\n"
        "    '''Hang.'''\n"
        "    time.sleep(3600)\n"
        "    return 'late'\n"
        "model = ScriptedModel([tool_calls_response(tool_call('hang')), 'ok'])\n"
        "print(Agent(model, tools=[hang], load_plugins=False).run('x').output)\n"
    )
    # a hang check, not a speed check: a process held by its tool would outlive the timeout
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok"


def test_ctrl_c_while_parallel_tools_run_stops_at_once_with_cancelled_results():
    import signal
    import subprocess
    import sys

    code = (
        "import time, json\n"
        "from agentloop import Agent, tool\n"
        "from agentloop.testing import ScriptedModel, tool_call, tool_calls_response\n"
        "@tool\n"
        "def slow(n: int) -> str:\n"
        "    '''Slow.\n\n    Args:\n        n: N.\n    '''\n"
        "    time.sleep(3600)\n"
        "    return 'late'\n"
        "calls = [tool_call('slow', {'n': 1}), tool_call('slow', {'n': 2})]\n"
        "model = ScriptedModel([tool_calls_response(*calls)])\n"
        "try:\n"
        "    print('running', flush=True)\n"
        "    Agent(model, tools=[slow], load_plugins=False).run('x')\n"
        "except KeyboardInterrupt as exc:\n"
        "    r = exc.agentloop_result\n"
        "    print(json.dumps([r.stop_reason] + [s.status for s in r.steps if s.kind == 'tool']))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "running"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    # a hang check, not a speed check: without the fix the tools would hold the run for an
    # hour, past this timeout
    out, _ = proc.communicate(timeout=60)
    assert json.loads(out) == ["interrupted", "cancelled", "cancelled"]
