"""The offline model follows up: ``and times 2?`` after 84 computes ``84 * 2``, or declines."""

from __future__ import annotations

import json

import pytest
from agentloop_calculator import calculate
from offline_support import fn_tool

from agentloop import Agent
from agentloop.offline.followup import resolve_followup
from agentloop.offline.model import OfflineModel

CALC = fn_tool(
    "calculate",
    "Evaluate an arithmetic expression.",
    {"expression": {"type": "string", "description": "The expression, e.g. 2 * (3 + 4)."}},
    ["expression"],
)


def _turn(question: str, tool_result: str | None, answer: str) -> list[dict]:
    messages: list[dict] = [{"role": "user", "content": question}]
    if tool_result is not None:
        call = {"id": "c1", "type": "function",
                "function": {"name": "calculate", "arguments": "{}"}}  # fmt: skip
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": tool_result},
        ]
    return [*messages, {"role": "assistant", "content": answer}]


@pytest.mark.parametrize(
    ("followup", "expression"),
    [
        ("and times 2?", "84 * 2"),
        ("And times 2", "84 * 2"),
        ("then minus 1.", "84 - 1"),
        ("what about divided by 4?", "84 / 4"),
        ("and plus 2.5?", "84 + 2.5"),
        ("and squared?", "84 ** 2"),
        ("now multiplied by 3", "84 * 3"),
    ],
)
def test_a_followup_applies_to_the_previous_tool_result(followup: str, expression: str) -> None:
    messages = [
        *_turn("What is 12 * 7?", "84", "The result of calculate is 84."),
        {"role": "user", "content": followup},
    ]
    reply = OfflineModel().create(messages=messages, tools=[CALC])
    [call] = reply.message.tool_calls
    assert (call.name, json.loads(call.arguments)) == ("calculate", {"expression": expression})


def test_without_a_tool_result_the_previous_answer_is_read() -> None:
    messages = [*_turn("hi", None, "It is 40."), {"role": "user", "content": "and times 2?"}]
    assert resolve_followup(messages, "and times 2?") == ("40 * 2", None)


@pytest.mark.parametrize(
    "history",
    [
        [],  # no previous turn
        _turn("What is 2+3 and 4+5?", None, "Here are the results: 5 and 9"),  # two numbers
        _turn("Hello", None, "Hello to you."),  # no number
    ],
)
def test_a_followup_it_cannot_read_is_declined_saying_so(history: list[dict]) -> None:
    messages = [*history, {"role": "user", "content": "and times 2?"}]
    reply = OfflineModel().create(messages=messages, tools=[CALC])
    assert not reply.message.tool_calls
    text = reply.message.content or ""
    assert "cannot read a single number in the previous answer" in text
    assert "will not guess" in text


@pytest.mark.parametrize("text", ["What is 12 * 7?", "times are hard", "and times two?", "hello"])
def test_other_messages_are_not_followups(text: str) -> None:
    messages = [*_turn("q", "84", "84"), {"role": "user", "content": text}]
    assert resolve_followup(messages, text) == (text, None)


def test_an_agent_continues_the_conversation_to_168() -> None:
    agent = Agent(model="offline", tools=[calculate], load_plugins=False)
    first = agent.run("What is 12 * 7?")
    assert first.output == "The result of calculate is 84."
    second = agent.run("and times 2?", history=first.messages)
    assert second.output == "The result of calculate is 168."
    again = agent.run("and times 2?", history=first.messages)
    assert again.messages == second.messages  # deterministic: the same conversation, same turn
