"""One path for each tool call: decoded and validated once, the same arguments for every hook."""

from __future__ import annotations

import threading
from typing import Any

import jsonschema
import pytest
from loop_support import add, make_agent

from agentloop import Agent, ToolResult, hookimpl, tool
from agentloop.testing import text_response, tool_call, tool_calls_response


@tool(sequential=True)
def grow(items: list[int]) -> int:
    """Append to the list the tool was given and return its length.

    Args:
        items: Numbers.
    """
    items.append(99)
    return len(items)


def _count_validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count every jsonschema check of tool arguments, at the validator classes themselves.

    Only outermost entries count: ``is_valid`` itself calls ``iter_errors``.
    """
    seen: list[str] = []
    depth = threading.local()
    # the class the tools' compiled validators really are, and every stock draft besides
    classes = {type(add.function_schema._validator)}  # type: ignore[union-attr]
    classes |= set(jsonschema.validators._META_SCHEMAS.values())  # type: ignore[attr-defined]
    for cls in classes:
        for method in ("is_valid", "iter_errors", "validate"):
            original = getattr(cls, method)

            def counting(
                self: Any, *args: Any, _original: Any = original, _m: str = method, **kw: Any
            ) -> Any:
                level = getattr(depth, "n", 0)
                if level == 0:
                    seen.append(_m)
                depth.n = level + 1
                try:
                    result = _original(self, *args, **kw)
                    return iter(list(result)) if _m == "iter_errors" else result
                finally:
                    depth.n = level

            monkeypatch.setattr(cls, method, counting)
    return seen


def test_each_tool_call_is_validated_exactly_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = [tool_call("add", {"a": i, "b": 1}) for i in range(3)]
    agent, _ = make_agent(
        [
            tool_calls_response(*calls),
            tool_calls_response(tool_call("add", {"a": 9, "b": 9})),
            "done",
        ],
        tools=[add],
    )
    seen = _count_validations(monkeypatch)
    result = agent.run("x")
    assert result.output == "done"
    assert len(seen) == 4, seen  # four calls, one check each (valid arguments: no error listing)


def test_invalid_arguments_are_checked_once_and_never_run(monkeypatch: pytest.MonkeyPatch) -> None:
    agent, model = make_agent(
        [tool_calls_response(tool_call("add", {"a": "x"})), "done"], tools=[add]
    )
    seen = _count_validations(monkeypatch)
    agent.run("x")
    assert (
        seen.count("is_valid") == 1
    )  # the error listing that follows is one report, not a re-check
    assert "$.a" in model.requests[1]["messages"][-1]["content"]


def test_decoded_arguments_are_not_shared_between_calls() -> None:
    # Two identical calls: if the decoded arguments were shared (cached by text, say),
    # the second call would see the first call's mutation and answer 4.
    same = {"items": [1, 2]}
    agent, model = make_agent(
        [
            tool_calls_response(tool_call("grow", same, id="a"), tool_call("grow", same, id="b")),
            "ok",
        ],
        tools=[grow],
        max_repeated_calls=None,
    )
    agent.run("x")
    results = [m["content"] for m in model.requests[1]["messages"] if m["role"] == "tool"]
    assert results == ["3", "3"]


def test_hooks_get_the_one_decoded_dict_of_their_call() -> None:
    seen: dict[str, list[Any]] = {"before": [], "call": []}

    class Watch:
        @hookimpl
        def agentloop_before_tool_call(self, call: Any, arguments: dict[str, Any]) -> None:
            seen["before"].append((call.id, arguments))

        @hookimpl(tryfirst=True)
        def agentloop_call_tool(
            self, call: Any, tool: Any, arguments: dict[str, Any]
        ) -> ToolResult:
            seen["call"].append((call.id, arguments))
            return ToolResult(
                call_id=call.id, name=call.name, content=str(arguments["a"] + arguments["b"])
            )

    calls = [
        tool_call("add", {"a": 1, "b": 2}, id="c1"),
        tool_call("add", {"a": 3, "b": 4}, id="c2"),
    ]
    agent, model = make_agent([tool_calls_response(*calls), "ok"], tools=[add], plugins=[Watch()])
    agent.run("x")
    assert [(i, a) for i, a in seen["before"]] == [
        ("c1", {"a": 1, "b": 2}),
        ("c2", {"a": 3, "b": 4}),
    ]
    for (id_before, before), (id_call, during) in zip(
        seen["before"], sorted(seen["call"], key=lambda x: x[0]), strict=True
    ):
        assert id_before == id_call and before is during  # one dict per call, never re-decoded
    assert seen["before"][0][1] is not seen["before"][1][1]
    assert [m["content"] for m in model.requests[1]["messages"] if m["role"] == "tool"] == [
        "3",
        "7",
    ]


def test_a_plugin_without_the_arguments_parameter_still_works() -> None:
    class Old:
        @hookimpl(tryfirst=True)
        def agentloop_call_tool(self, call: Any) -> ToolResult:
            return ToolResult(call_id=call.id, name=call.name, content="old-style")

    agent, model = make_agent(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 2})), "ok"],
        tools=[add],
        plugins=[Old()],
    )
    agent.run("x")
    assert model.requests[1]["messages"][-1]["content"] == "old-style"


def test_calls_beyond_the_per_turn_cap_get_an_error_result() -> None:
    calls = [tool_call("add", {"a": i, "b": 0}, id=f"c{i}") for i in range(5)]
    agent, model = make_agent(
        [tool_calls_response(*calls), "ok"], tools=[add], max_tool_calls_per_turn=2
    )
    result = agent.run("x")
    tool_msgs = [m for m in model.requests[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == [f"c{i}" for i in range(5)]
    assert [m["content"] for m in tool_msgs[:2]] == ["0", "1"]
    for m in tool_msgs[2:]:
        assert "only the first 2 are run (max_tool_calls_per_turn=2)" in m["content"]
    assert [s.status for s in result.steps if s.kind == "tool"] == [
        "ok",
        "ok",
        "error",
        "error",
        "error",
    ]


def test_deeply_nested_arguments_go_back_to_the_model() -> None:
    @tool
    def take(data: Any) -> str:
        """Take anything.

        Args:
            data: Any JSON.
        """
        return "taken"

    deep = '{"data": ' + "[" * 50_000 + "]" * 50_000 + "}"
    call = tool_call("take", {})
    call = type(call)(id="c1", name="take", arguments=deep)
    agent, model = make_agent([tool_calls_response(call), "ok"], tools=[take])
    assert agent.run("x").output == "ok"
    answer = model.requests[1]["messages"][-1]["content"]
    assert "nested deeper than 64 levels" in answer and "taken" not in answer


def test_tools_get_a_finite_timeout_by_default() -> None:
    release = threading.Event()

    @tool
    def hang() -> str:
        """Never return on its own."""
        release.wait(30)
        return "late"

    agent = Agent(make_agent([])[1], load_plugins=False)
    assert agent.tool_timeout == 300.0
    quick = Agent(
        make_agent([tool_calls_response(tool_call("hang")), text_response("gave up")])[1],
        tools=[hang],
        tool_timeout=0.2,
        load_plugins=False,
    )
    try:
        result = quick.run("x")
    finally:
        release.set()
    assert [s.status for s in result.steps if s.kind == "tool"] == ["timeout"]
    assert Agent(make_agent([])[1], tool_timeout=None, load_plugins=False).tool_timeout is None


@tool(isolated=True, timeout=1.0)
def gil_holder(n: int) -> str:
    """Run a regex with catastrophic backtracking (C code that never releases the GIL).

    Args:
        n: Length of the input.
    """
    import re

    re.match(r"(a+)+$", "a" * n + "b")
    return "matched"


@tool(isolated=True)
def isolated_add(a: int, b: int) -> int:
    """Add in a child process.

    Args:
        a: First.
        b: Second.
    """
    if a < 0:
        raise ValueError("negative")
    return a + b


def test_an_isolated_tool_holding_the_gil_is_killed_at_its_timeout() -> None:
    # in a thread this regex would hold the GIL for minutes and no timeout could fire
    agent, model = make_agent(
        [tool_calls_response(tool_call("gil_holder", {"n": 40})), "gave up"], tools=[gil_holder]
    )
    ticks: list[float] = []
    stop = threading.Event()

    def tick() -> None:  # proves the parent process kept running Python meanwhile
        while not stop.wait(0.05):
            ticks.append(1.0)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        result = agent.run("x")
    finally:
        stop.set()
    assert [s.status for s in result.steps if s.kind == "tool"] == ["timeout"]
    assert "timed out after 1.0 s" in model.requests[1]["messages"][-1]["content"]
    assert len(ticks) >= 5


def test_an_isolated_tool_returns_values_and_errors() -> None:
    calls = [
        tool_call("isolated_add", {"a": 2, "b": 3}, id="ok"),
        tool_call("isolated_add", {"a": -1, "b": 0}, id="bad"),
    ]
    agent, model = make_agent([tool_calls_response(*calls), "ok"], tools=[isolated_add])
    agent.run("x")
    results = [m["content"] for m in model.requests[1]["messages"] if m["role"] == "tool"]
    assert results == ["5", "error: ValueError: negative"]


def test_a_tool_raising_run_aborted_by_mistake_aborts_the_run_like_abort_run() -> None:
    from agentloop import RunAborted

    @tool
    def stop_here() -> str:
        """Stop."""
        raise RunAborted("enough")

    agent, _ = make_agent([tool_calls_response(tool_call("stop_here"))], tools=[stop_here])
    with pytest.raises(RunAborted, match="enough") as info:
        agent.run("x")
    assert info.value.result.stop_reason == "aborted"


@pytest.mark.parametrize(
    "tools, supports, sent",
    [([add], True, True), ([], True, False), ([add], False, False)],
)
def test_parallel_tool_calls_is_decided_in_one_place(
    tools: list, supports: bool, sent: bool
) -> None:
    from agentloop import ModelProfile
    from agentloop.testing import ScriptedModel

    model = ScriptedModel(["ok"])
    model.profile = ModelProfile(supports_parallel_tool_calls=supports)  # type: ignore[attr-defined]
    Agent(
        model, tools=tools, model_settings={"parallel_tool_calls": False}, load_plugins=False
    ).run("x")
    assert ("parallel_tool_calls" in model.requests[0]) is sent
