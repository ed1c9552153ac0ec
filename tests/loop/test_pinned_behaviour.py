"""Behaviours pinned one by one: each test fails when its rule changes by one line.

Each rule here was once free to change with the whole suite green; the comment above
each test names the line it pins.
"""

from __future__ import annotations

import time

import pytest
from loop_support import make_agent, tool_messages

from agentloop import (
    Agent,
    LoopDetected,
    RunLimits,
    TokenBudgetExceeded,
    ToolRetriesExceeded,
    hookimpl,
    tool,
)
from agentloop.loop.toolcalls import truncate
from agentloop.plugins.approval import ApproverCallback
from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response
from agentloop.tokens import estimate_tokens


# loop/toolcalls.py: _COUNTED_FAILURES = ("error", "timeout")
def test_timeouts_count_toward_max_tool_retries() -> None:
    @tool(timeout=0.05)
    def stuck() -> str:
        """Never answer in time."""
        time.sleep(0.5)
        return "late"

    turn = tool_calls_response(tool_call("stuck"))
    agent, _ = make_agent([turn, turn, "never"], tools=[stuck], max_tool_retries=1)
    agent.max_repeated_calls = None
    with pytest.raises(ToolRetriesExceeded, match="failed 2 times") as info:
        agent.run("x")
    statuses = [s.status for s in info.value.result.steps if s.kind == "tool"]
    assert statuses == ["timeout", "timeout"]


# loop/toolcalls.py truncate: head = cap * 3 // 4, the tail the rest
def test_a_truncated_result_keeps_three_quarters_head_and_one_quarter_tail() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(100))
    cut = truncate(text, 20)
    assert cut == f"{text[:15]}\n[truncated 80 chars]\n{text[-5:]}"
    assert truncate(text, 100) == text
    assert truncate(text, None) == text


# loop/toolcalls.py _canonical: json.dumps(..., sort_keys=True)
def test_the_repeated_call_guard_ignores_argument_key_order() -> None:
    @tool
    def pair(a: int, b: int) -> int:
        """Add.

        Args:
            a: One.
            b: Two.
        """
        return a + b

    first = tool_call("pair", {"a": 1, "b": 2})
    swapped = tool_call("pair", {"b": 2, "a": 1})
    assert first.arguments != swapped.arguments  # the raw texts differ, the calls do not
    agent, _ = make_agent(
        [tool_calls_response(first), tool_calls_response(swapped), "done"],
        tools=[pair],
        max_repeated_calls=1,
    )
    with pytest.raises(LoopDetected, match="2 times"):
        agent.run("x")


# tokens.py: MESSAGE_OVERHEAD = 4, CHARS_PER_TOKEN = 4 (the rule written out, not the estimator)
def test_each_message_costs_four_tokens_beyond_a_quarter_of_its_json() -> None:
    one = {"role": "user", "content": "abcd"}  # {"role":"user","content":"abcd"}: 32 chars
    assert estimate_tokens([one]) == 32 // 4 + 4
    assert estimate_tokens([one, one, one]) == 3 * (8 + 4)
    assert estimate_tokens([]) == 0


# loop/state.py _fit_budget: max_tokens = budget - spent - prompt estimate
def test_the_budget_bounds_max_tokens_by_a_hand_counted_prompt() -> None:
    model = ScriptedModel([text_response("ok")])
    agent = Agent(model, load_plugins=False, limits=RunLimits(max_tokens_total=100))
    agent.run("abcd")
    # messages: [{"role":"user","content":"abcd"}] -> 32 chars -> 8 + 4 = 12 tokens
    assert model.requests[0]["max_tokens"] == 100 - 12


def test_the_budget_refuses_a_prompt_it_cannot_fit() -> None:
    agent = Agent(ScriptedModel(["never"]), load_plugins=False, max_tokens_total=12)
    with pytest.raises(TokenBudgetExceeded, match="about 12 prompt tokens, but only 12"):
        agent.run("abcd")


# plugins/approval.py: `answer is True` (the hook) and `... is True` (the callback)
@pytest.mark.parametrize("answer", ["yes", 1, [True], "True"])
def test_an_approvers_answer_other_than_true_denies(answer: object) -> None:
    ran = []

    @tool(requires_approval=True)
    def risky() -> str:
        """Do something that needs approval."""
        ran.append(1)
        return "did it"

    class Loose:
        @hookimpl
        def agentloop_approve_tool_call(self) -> object:
            return answer

    script = [tool_calls_response(tool_call("risky")), "done"]
    agent, _ = make_agent(list(script), tools=[risky], plugins=[Loose()])
    result = agent.run("x")
    assert ran == [] and tool_messages(result.messages)[0]["content"].startswith("denied:")
    callback = ApproverCallback(lambda call, t: answer)  # type: ignore[arg-type,return-value]
    assert callback.agentloop_approve_tool_call(tool_call("risky"), risky) is False


def test_an_approvers_true_allows() -> None:
    @tool(requires_approval=True)
    def risky() -> str:
        """Do something that needs approval."""
        return "did it"

    agent, _ = make_agent(
        [tool_calls_response(tool_call("risky")), "done"],
        tools=[risky],
        approver=lambda call, t: True,
    )
    assert tool_messages(agent.run("x").messages)[0]["content"] == "did it"
