"""The offline model reads numbers the way people write them, or says it cannot (issue 10).

The class, not three examples: every way of writing a number is either read whole
and exactly (the expression sent to the calculator evaluates to the true value) or
refused with a reason; no number is ever read in part (``1e3`` as ``3``).
"""

from __future__ import annotations

import ast
import json
import math
import operator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop import Agent, tool
from agentloop.offline.mathexpr import read_arithmetic
from agentloop.offline.numbers import find_numbers
from agentloop.offline.text import number_spans

DECLINED = "I cannot read a number"


@tool
def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression.

    Args:
        expression: The expression, e.g. "2 * (3 + 4)".
    """
    return repr(evaluate(expression))


@tool
def add(a: float, b: float) -> float:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


_OPS: dict[type, Any] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.Mod: operator.mod,
    ast.USub: operator.neg, ast.UAdd: operator.pos,
}  # fmt: skip


def evaluate(expression: str) -> float:
    """A tiny arithmetic evaluator for the expressions the offline model writes."""

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp):
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp):
            return _OPS[type(node.op)](walk(node.operand))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            function = {"round": round, "sqrt": math.sqrt}[node.func.id]
            return function(*(walk(a) for a in node.args))
        raise AssertionError(f"unexpected syntax in {expression!r}")

    return walk(ast.parse(expression, mode="eval").body)


def ask(prompt: str, *tools: Any) -> tuple[list[dict[str, Any]], str]:
    """Run the offline agent; return the tool calls' arguments and the answer."""
    result = Agent("offline", tools=list(tools) or [calculate], load_plugins=False).run(prompt)
    calls = [
        json.loads(call["function"]["arguments"])
        for message in result.messages
        for call in message.get("tool_calls") or ()
    ]
    return calls, result.output


@pytest.mark.parametrize(
    ("prompt", "value"),
    [
        ("What is 1e3 + 1?", 1001),
        ("What is 1,000 + 2,000?", 3000),
        ("round 3.14159 to 2 decimals", 3.14),
        ("What is 10/3 rounded to two decimal places?", 3.33),
        ("round 3.7 to the nearest integer", 4),
        ("What is -5 * 3?", -15),
        ("what is 10 - -3", 13),
        ("What is 3 − 1?", 2),  # a typographic minus sign
        ("What is .5 + .25?", 0.75),
        ("What is 2.5e-3 * 2?", 0.005),
        ("What is 1E+3 - 1?", 999),
        ("What is 12,345.67 * 2?", 24691.34),
        ("what is 1,000,000 / 4", 250000),
        ("What is 1_000 + 1?", 1001),
        ("What is 3.5k + 1?", 3501),
        ("What is 1.5 million + 2?", 1500002),
        ("What is 2 billion / 4?", 500000000),
        ("What is 15% of 80?", 12),
        ("What is 50% of 1,200?", 600),
        ("what is 15% * 80", 12),
        ("what is 7 % 3", 1),
        ("what is 007 + 1", 8),
        ("what is 2x3", 6),
        ("what is 2^10", 1024),
        ("what is the square root of 1,024", 32),
        ("On 2024-01-05, what is 3 + 4?", 7),
    ],
)
def test_numbers_people_write_are_read_exactly(prompt: str, value: float) -> None:
    calls, output = ask(prompt)
    assert len(calls) == 1, output
    assert evaluate(calls[0]["expression"]) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    ("prompt", "reason"),
    [
        ("What is 1,5 + 1?", "'1,5' could be a decimal comma"),
        ("compute 7,5 * 2", "'7,5' could be a decimal comma"),
        ("What is 1,00 + 1?", "'1,00'"),
        ("What is 1,2,3 + 4?", "'1,2,3'"),
        ("What is 1.000,5 + 1?", "mixes ',' and '.'"),
        ("What is 1.000.000 / 2?", "more than one '.'"),
        ("What is 1 000 + 1?", "next to each other"),
        ("what is 5kg + 3", "'5kg' has letters"),
        ("what is 2m * 3", "'2m' has letters"),
        ("what is 0x1F + 1", "'0x1F' has letters"),
        ("what is 1e999 + 1", "beyond the range"),
        ("what is 200 + 10%", "a percentage of what"),
    ],
)
def test_numbers_it_cannot_read_are_declined_with_the_reason(prompt: str, reason: str) -> None:
    calls, output = ask(prompt)
    assert calls == []
    assert output.startswith(DECLINED) and reason in output


def test_number_arguments_are_read_whole_too() -> None:
    assert ask("Add 1,000 and 2,000", add)[0] == [{"a": 1000, "b": 2000}]
    assert ask("add 1e3 and -2.5", add)[0] == [{"a": 1000, "b": -2.5}]
    calls, output = ask("Add 1,5 and 2", add)
    assert calls == [] and "'1,5'" in output
    # ids and dates are not numbers: they neither give values nor make it decline
    assert ask("add 5 and 6 for 123e4567-e89b-12d3-a456-426614174000", add)[0] == [{"a": 5, "b": 6}]


def test_no_token_is_ever_read_in_part() -> None:
    for text in ["1e3", "1,000", "2.5e-3", "3.5k", "1,5", "5kg", "1.2.3", "0x1F", "12,345.67"]:
        (token,) = find_numbers(f"x {text} y")
        assert token.text == text
    assert [v for _, _, v in number_spans("1,000 and 1,5 and 7")] == [1000, 7]


# -- the class: any number in any of the usual styles -----------------------------------


def written(value: Decimal, style: str) -> str | None:
    """``value`` written in a style people use, or None when the style does not apply."""
    if style == "plain":
        return format(value, "f")
    if style == "grouped":
        return f"{value:,f}" if value == value.to_integral_value() or value >= 1000 else None
    if style == "scientific":
        return f"{value:e}"
    if style == "leading-dot":
        text = format(value, "f")
        return text[1:] if text.startswith("0.") else None
    if style == "k":
        thousands = value / 1000
        return f"{format(thousands.normalize(), 'f')}k" if value >= 1000 else None
    if style == "million":
        millions = value / 10**6
        return f"{format(millions.normalize(), 'f')} million" if value >= 10**6 else None
    raise AssertionError(style)


STYLES = ["plain", "grouped", "scientific", "leading-dot", "k", "million"]
NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(Decimal),
    st.decimals(min_value=0, max_value=10**7, places=3, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=150, deadline=None)
@given(a=NUMBERS, b=NUMBERS, style_a=st.sampled_from(STYLES), style_b=st.sampled_from(STYLES))
def test_any_written_number_is_read_exactly_or_declined(
    a: Decimal, b: Decimal, style_a: str, style_b: str
) -> None:
    first, second = written(a, style_a), written(b, style_b)
    if first is None or second is None:
        return
    reading = read_arithmetic(f"What is {first} + {second}?")
    if not reading.spans:
        assert reading.problems, (first, second)
        return
    (span,) = reading.spans
    assert evaluate(span) == pytest.approx(float(a + b), rel=1e-9, abs=1e-9), (first, second)


@settings(max_examples=100, deadline=None)
@given(
    whole=st.integers(min_value=0, max_value=999),
    tail=st.sampled_from(["5", "00", "50", "0000", "2,3", "5.1"]),
    separator=st.sampled_from([",", "."]),
    after=st.sampled_from([",5", ".000,5", "kg", "m", "x"]),
)
def test_ambiguous_writing_is_never_read_as_a_number(
    whole: int, tail: str, separator: str, after: str
) -> None:
    text = f"{whole}{separator}{tail}{after}"
    (token,) = find_numbers(text)
    assert token.value is None and token.problem
    reading = read_arithmetic(f"What is {text} + 1?")
    assert reading.spans == () and reading.problems


@pytest.mark.parametrize("prompt", ["add 3", "add 2nd and 3", "add the 1st and 2nd"])
def test_a_number_the_message_does_not_give_is_never_made_up(prompt: str) -> None:
    calls, output = ask(prompt, add)
    assert calls == []  # not add(3, 0)
    assert output.startswith("I cannot call add: your message gives no number for")


def test_a_forced_call_still_happens_without_a_misread_number() -> None:
    from agentloop.offline.model import OfflineModel

    definition = {"type": "function", "function": dict(add.definition["function"])}
    response = OfflineModel().create(
        messages=[{"role": "user", "content": "add 1,5 and 2"}],
        tools=[definition],
        tool_choice="required",
    )
    (call,) = response.tool_calls
    assert {1, 5, 15, 1.5}.isdisjoint(json.loads(call.arguments).values())  # no piece of 1,5
