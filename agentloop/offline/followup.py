"""Follow-ups for the offline model: ``and times 2?`` after an answer of 84 means ``84 * 2``.

A follow-up is a message that is nothing but an operation and its number (``and times 2?``,
``then minus 1``, ``what about divided by 4?``, ``and squared?``): it names no value of its
own, so it applies to the previous turn's result. :func:`resolve_followup` reads that result
from the conversation it is given, and only from there:

* the previous turn's last tool result, when it is exactly one readable number;
* else the previous turn's last assistant answer, when it holds exactly one readable number.

The follow-up then becomes an arithmetic expression (``84 * 2``) that the rest of the offline
model plans with, so the calculator is called and the call shows what was read. When no single
number can be read from the previous turn, the model declines and says so; it never guesses.
Pure functions, no state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agentloop.offline.numbers import find_numbers, literal

__all__ = ["resolve_followup"]

_OPERATORS = {
    "times": "*",
    "multiplied by": "*",
    "x": "*",
    "*": "*",
    "plus": "+",
    "+": "+",
    "minus": "-",
    "less": "-",
    "-": "-",
    "divided by": "/",
    "over": "/",
    "/": "/",
    "to the power of": "**",
    "**": "**",
    "^": "**",
}
_POWERS = {"squared": "** 2", "cubed": "** 3", "doubled": "* 2", "halved": "/ 2"}
_LEAD = r"(?:(?:and|then|now|so|also|ok|okay)[\s,]+)*(?:(?:what|how)(?:'s|\s+is|\s+about)\s+)?"
_SUBJECT = r"(?:(?:it|that|this|the result)\s+)?"
_OP = "|".join(re.escape(op) for op in sorted(_OPERATORS, key=len, reverse=True))
_NUMBER = r"(?P<sign>-)?(?P<number>\d(?:[\w.,]*\w)?|\.\d+)"
_FOLLOW = re.compile(rf"^\s*{_LEAD}{_SUBJECT}(?P<op>{_OP})\s*{_NUMBER}\s*[?.!]*\s*$", re.I)
_POWER = re.compile(
    rf"^\s*{_LEAD}{_SUBJECT}(?:is\s+)?(?P<word>{'|'.join(_POWERS)})\s*[?.!]*\s*$", re.I
)


def resolve_followup(messages: list[Mapping[str, Any]], text: str) -> tuple[str, str | None]:
    """Rewrite a follow-up of the latest user message as arithmetic on the previous result.

    Args:
        messages: The conversation, in wire form (the latest user message is ``text``).
        text: The latest user message's text.

    Returns:
        ``(text, None)``: the text to plan with (the expression for a follow-up, else ``text``
        unchanged); or ``(text, reason)`` when ``text`` is a follow-up but the previous turn
        holds no single readable number (``reason`` is what to tell the user).
    """
    operation = _operation(text)
    if operation is None:
        return text, None
    previous = _previous_result(messages)
    if previous is None:
        return text, (
            f'"{text.strip()}" continues a calculation, but I cannot read a single number '
            "in the previous answer of this conversation to apply it to, so I will not guess. "
            "Say the whole calculation (e.g. 'what is 84 * 2?')."
        )
    return f"{previous} {operation}", None


def _operation(text: str) -> str | None:
    """``* 2`` for ``and times 2?``; None when ``text`` is not a follow-up."""
    match = _FOLLOW.match(text)
    if match is not None:
        tokens = find_numbers(match.group("number"))
        if len(tokens) != 1 or tokens[0].value is None or tokens[0].text != match.group("number"):
            return None  # an unreadable number: not a follow-up this module computes
        sign = match.group("sign") or ""
        return f"{_OPERATORS[match.group('op').lower()]} {sign}{literal(tokens[0].value)}"
    power = _POWER.match(text)
    return _POWERS[power.group("word").lower()] if power is not None else None


def _previous_result(messages: list[Mapping[str, Any]]) -> str | None:
    """The one number the previous turn ended with (its last tool result, else its answer)."""
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if len(users) < 2:
        return None
    turn = messages[users[-2] + 1 : users[-1]]
    tools = [m for m in turn if m.get("role") == "tool"]
    answers = [m for m in turn if m.get("role") == "assistant" and _text(m).strip()]
    for source in (tools[-1:], answers[-1:]):
        if source:
            number = _single_number(_text(source[0]))
            if number is not None:
                return number
    return None


def _single_number(text: str) -> str | None:
    tokens = [t for t in find_numbers(text) if not t.is_word]
    if len(tokens) != 1 or tokens[0].value is None:
        return None
    start = tokens[0].start
    sign = "-" if start > 0 and text[start - 1] == "-" else ""
    return f"({sign}{literal(tokens[0].value)})" if sign else literal(tokens[0].value)


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping))
    return ""
