"""Tool execution in the loop: real concurrency, the pool bound, timeouts, odd results, copies."""

from __future__ import annotations

import datetime
import json
import threading
import time

import pytest
from loop_support import add, make_agent, tool_messages

from agentloop import ToolResult, hookimpl, tool
from agentloop.testing import tool_call, tool_calls_response


def test_parallel_calls_overlap_in_time():
    barrier = threading.Barrier(4, timeout=5)

    @tool
    def meet(tag: str) -> str:
        """Wait until all four calls run at once.

        Args:
            tag: Returned as is.
        """
        barrier.wait()  # raises BrokenBarrierError unless the four calls run concurrently
        return tag

    calls = [tool_call("meet", {"tag": f"t{i}"}) for i in range(4)]
    agent, _ = make_agent([tool_calls_response(*calls), "ok"], tools=[meet])
    result = agent.run("x")
    assert [m["content"] for m in tool_messages(result.messages)] == ["t0", "t1", "t2", "t3"]


def test_parallel_pool_bound_is_the_peak_concurrency():
    active, peak = [0], [0]
    lock = threading.Lock()

    @tool
    def busy(n: int) -> int:
        """Be busy for a while.

        Args:
            n: Returned as is.
        """
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.1)
        with lock:
            active[0] -= 1
        return n

    calls = [tool_call("busy", {"n": i}) for i in range(6)]
    agent, _ = make_agent([tool_calls_response(*calls), "ok"], tools=[busy], max_parallel_tools=2)
    result = agent.run("x")
    assert peak[0] == 2
    assert [m["content"] for m in tool_messages(result.messages)] == [str(i) for i in range(6)]


def test_timeout_counts_from_the_start_of_the_call_not_from_the_queue():
    # one thread: "quick" (timeout 0.5 s) waits in the queue while "hold" runs 1.5 s. Counted
    # from the queue it would time out before it started; counted from its start it is "ok".
    @tool
    def hold() -> str:
        """Keep the only thread busy."""
        time.sleep(1.5)
        return "held"

    @tool(timeout=0.5)
    def quick() -> str:
        """Answer at once."""
        return "quick"

    calls = [tool_call("hold"), tool_call("quick")]
    agent, _ = make_agent([tool_calls_response(*calls), "ok"], tools=[hold, quick])
    agent.max_parallel_tools = 1
    result = agent.run("x")
    assert [m["content"] for m in tool_messages(result.messages)] == ["held", "quick"]
    assert [s.status for s in result.steps if s.kind == "tool"] == ["ok", "ok"]


def test_a_hung_tool_does_not_block_the_calls_after_it():
    release, finished = threading.Event(), threading.Event()

    @tool(timeout=0.2)
    def hang() -> str:
        """Never answer in time."""
        release.wait(60)
        finished.set()
        return "late"

    script = [
        tool_calls_response(tool_call("hang"), tool_call("add", {"a": 1, "b": 1})),
        tool_calls_response(tool_call("add", {"a": 2, "b": 2}), tool_call("add", {"a": 3, "b": 3})),
        "ok",
    ]
    # one thread: the hung call holds it until the loop gives up on it
    agent, _ = make_agent(script, tools=[hang, add], max_parallel_tools=1)
    try:
        result = agent.run("x")
        # the run ended while the hung call was still blocked: nothing waited for it
        assert not finished.is_set()
    finally:
        release.set()
    contents = [m["content"] for m in tool_messages(result.messages)]
    assert contents == ["error: tool 'hang' timed out after 0.2 s", "2", "4", "6"]


class _BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no text form")

    __repr__ = __str__


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a\ud800b", "a\\ud800b"),  # a lone surrogate: escaped, so the text is valid UTF-8
        ("nul\x00byte", "nul\x00byte"),
        ({3, 1, 2}, "[1,2,3]"),
        (datetime.datetime(2020, 1, 2, 3, 4, 5), '"2020-01-02T03:04:05"'),
        (b"\xff\xfe", "error: "),
        (_BadStr(), "error: "),
    ],
    ids=["surrogate", "nul", "set", "datetime", "bytes", "failing-str"],
)
def test_odd_tool_results_never_break_the_run_or_the_transcript(value, expected):
    @tool
    def odd() -> object:
        """Return an odd value."""
        return value

    agent, model = make_agent([tool_calls_response(tool_call("odd")), "ok"], tools=[odd])
    result = agent.run("x")
    content = tool_messages(result.messages)[0]["content"]
    assert content.startswith(expected) if expected == "error: " else content == expected
    assert result.output == "ok"
    # the request and the transcript are valid JSON in valid UTF-8
    json.dumps(model.requests[1], ensure_ascii=False).encode("utf-8")
    text = json.dumps(list(result.messages), ensure_ascii=False).encode("utf-8")
    assert json.loads(text) == json.loads(json.dumps(list(result.messages)))


def test_plugin_result_with_lone_surrogate_is_made_valid_utf8():
    class Answers:
        @hookimpl(tryfirst=True)
        def agentloop_call_tool(self, call):
            return ToolResult(call_id=call.id, name=call.name, content="x\udfffy")

    agent, _ = make_agent(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 1})), "ok"],
        tools=[add],
        plugins=[Answers()],
    )
    result = agent.run("x")
    assert tool_messages(result.messages)[0]["content"] == "x\\udfffy"


def test_a_tool_mutating_its_arguments_changes_nothing_else():
    seen_after = []

    @tool
    def mutate(config: dict[str, list[int]]) -> str:
        """Mutate the arguments in place.

        Args:
            config: Lists of numbers.
        """
        count = len(config["items"])
        config["items"].append(99)
        config["new"] = [1]
        return str(count)

    class After:
        @hookimpl
        def agentloop_after_tool_call(self, call):
            seen_after.append(json.loads(call.arguments))

    original = {"config": {"items": [1, 2]}}
    call = tool_call("mutate", original)
    script = [tool_calls_response(call), tool_calls_response(call), "ok"]
    agent, model = make_agent(script, tools=[mutate], plugins=[After()])
    result = agent.run("x")
    sent = [c["function"]["arguments"] for c in model.requests[2]["messages"][-2]["tool_calls"]]
    assert [json.loads(a) for a in sent] == [original]
    assert seen_after == [original, original]
    assert [json.loads(s.arguments) for s in result.steps if s.kind == "tool"] == [original] * 2
    # each call got its own fresh arguments
    assert [m["content"] for m in tool_messages(result.messages)] == ["2", "2"]
