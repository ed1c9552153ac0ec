"""Arithmetic in a message, for the offline model: ``what is sqrt(144)?`` -> ``sqrt(144)``.

:func:`arithmetic_spans` finds the expressions a message asks about and writes
them the way a calculator tool reads them (Python operators): spoken
operators become symbols (``2 to the power of 10`` -> ``2 ** 10``, ``the
square root of 144`` -> ``sqrt(144)``, ``15% of 80`` -> ``15 / 100 * 80``),
``^`` becomes ``**``, ``×``/``÷`` become ``*``/``/``. Function calls of the
usual math functions and the constants ``pi`` and ``tau`` are part of an
expression; other words end it. Pure functions, no clock, no randomness.

Numbers are read whole by :mod:`agentloop.offline.numbers` before anything else
(``1e3``, ``1,000``, ``3.5k``, ``1.5 million``), and ``round 3.14159 to 2
decimals`` becomes ``round(3.14159, 2)``. An expression that holds a number that
cannot be read (``1,5 + 1``) or a percentage with no base (``200 + 10%``) is not
returned: :func:`read_arithmetic` lists it as a problem, and the caller says so
instead of computing something else.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from agentloop.offline.numbers import find_numbers, literal

__all__ = ["FUNCTIONS", "Arithmetic", "arithmetic_spans", "read_arithmetic"]

#: Function names an expression may call (those of common calculator tools).
FUNCTIONS = (
    "sqrt", "cbrt", "log10", "log2", "log", "ln", "exp", "sin", "cos", "tan", "asin", "acos",
    "atan", "abs", "round", "floor", "ceil", "factorial", "min", "max", "pow",
)  # fmt: skip

_NUM = r"-?(?:\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+)"
_OPERAND = rf"(?:{_NUM}|\([^()]*\))"
_ISO_DT_RE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
_ISO_DATE_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_SMALL = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]
_PLACES = rf"(\d+|{'|'.join(_SMALL)})"
_DECIMALS = r"(?:decimal\s+places?|decimal\s+digits?|decimals?|digits?|places?|dp)\b"
_NEAREST = r"(?:the\s+)?nearest\s+(?:integer|whole\s+number|whole|unit|one)\b"
_CHAIN = rf"{_OPERAND}(?:\s*(?:\*\*|//|[-+*/%])\s*{_OPERAND})*"
# "round X to N decimals" and "X rounded to N decimals", with N in digits or words.
_ROUNDING: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\bround\s+({_OPERAND})\s+(?:off\s+)?to\s+{_PLACES}\s+{_DECIMALS}", re.I),
     r"round(\1, \2)"),
    (re.compile(rf"({_CHAIN})\s+rounded\s+(?:off\s+)?to\s+{_PLACES}\s+{_DECIMALS}", re.I),
     r"round(\1, \2)"),
    (re.compile(rf"\bround\s+({_OPERAND})\s+(?:off\s+)?to\s+{_NEAREST}", re.I), r"round(\1)"),
    (re.compile(rf"({_CHAIN})\s+rounded\s+(?:off\s+)?to\s+{_NEAREST}", re.I), r"round(\1)"),
    (re.compile(rf"\bround\s+({_OPERAND})(?!\s*(?:to|up|down|off)\b)(?=\s*(?:[?.!,;]|$))",
                re.I), r"round(\1)"),
]  # fmt: skip
_ROUNDING_WORDS = re.compile(r"\bround(?:ed|ing)?\b", re.I)
# Spoken arithmetic, rewritten in this order (longer phrases first).
_WORD_OPS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\b(?:the\s+)?square\s+root\s+of\s+({_OPERAND})", re.I), r"sqrt(\1)"),
    (re.compile(rf"\b(?:the\s+)?factorial\s+of\s+({_OPERAND})", re.I), r"factorial(\1)"),
    (re.compile(rf"({_OPERAND})\s+squared\b", re.I), r"\1 ** 2"),
    (re.compile(rf"({_OPERAND})\s+cubed\b", re.I), r"\1 ** 3"),
    (re.compile(r"\b(?:raised\s+)?to\s+the\s+(\d+)(?:st|nd|rd|th)\s+power\b", re.I), r"** \1"),
    (re.compile(r"\b(?:raised\s+)?to\s+the\s+power\s+(?:of\s+)?|\braised\s+to\s+", re.I), "** "),
    (re.compile(rf"({_NUM})\s*(?:%|\s+percent)\s+of\s+(?=[-(\d])", re.I), r"\1 / 100 * "),
    (re.compile(r"\bmultiplied\s+by\b|\btimes\b", re.I), "*"),
    (re.compile(r"\bdivided\s+by\b|\bover\b", re.I), "/"),
    (re.compile(r"\bplus\b", re.I), "+"),
    (re.compile(r"\bminus\b", re.I), "-"),
    (re.compile(r"\bmod(?:ulo)?\b", re.I), "%"),
]
_TIMES_X = re.compile(r"(?<![\w.])(?!0x)(\d+(?:\.\d+)?)\s*x\s*(?=\d)")
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-"})
# Private-use characters stand for unreadable numbers: they are operands, never values.
_MARK = "\ue000-\uf8ff"
_MARK_RE = re.compile(f"[{_MARK}]")
_ADJACENT = re.compile(rf"[\d).{_MARK}]\s+[\d(.{_MARK}]")
_LONE_PERCENT = re.compile(
    rf"((?:[-+]\s*)?)(?<![\w.])(\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+)\s*%(?!\s*(?:of\b|[\d(.{_MARK}]|pi\b|tau\b|[a-z]+\s*\())",
    re.I,
)
_FUNC = "|".join(FUNCTIONS)
# One expression: numbers, operators, parentheses, calls of known functions,
# pi/tau, and commas between a call's arguments.
_SPAN_RE = re.compile(
    rf"(?:\b(?:{_FUNC})(?=\s*\()|\b(?:pi|tau)\b|(?<=\d)e[-+]?(?=\d)|[\d.\s+\-*/%^()×÷{_MARK}]"
    r"|,(?=[^()]*\)))+",
    re.I,
)
_OPERAND_END = rf"(?:[\d){_MARK}]|\b(?:pi|tau))"
_OPERAND_START = r"(?:[-(\d." + _MARK + r"]|(?:pi|tau)\b|(?:" + _FUNC + r")\s*\()"
_BINARY_RE = re.compile(rf"{_OPERAND_END}\s*(?:\*\*|//|[-+*/%^×÷])\s*{_OPERAND_START}", re.I)
_CALL_RE = re.compile(rf"\b(?:{_FUNC})\s*\([^()]*[\d(]", re.I)
_SYMBOLS = str.maketrans({"×": "*", "÷": "/"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Arithmetic:
    """The arithmetic a message asks about.

    Attributes:
        spans: The expressions that can be computed, in calculator syntax.
        problems: Why the other expressions cannot be (an unreadable number, a
            percentage of nothing, a rounding that was not understood), for the user.
    """

    spans: tuple[str, ...]
    problems: tuple[str, ...] = ()


def arithmetic_spans(text: str) -> list[str]:
    """Return the arithmetic expressions in ``text`` that can be computed, in calculator syntax.

    ``12 * (3 + 4)`` stays as written; ``2 to the power of 10`` gives
    ``2 ** 10``, ``what is sqrt(144)?`` gives ``sqrt(144)``, ``1,000 + 1e3``
    gives ``1000 + 1000.0``. Dates are never taken for subtractions, and an
    expression with a number that cannot be read is left out (see
    :func:`read_arithmetic`).
    """
    return list(read_arithmetic(text).spans)


def read_arithmetic(text: str) -> Arithmetic:
    """The computable expressions of ``text``, and what keeps the others from being computed."""
    text = _ISO_DATE_RE.sub(" ", _ISO_DT_RE.sub(" ", text.translate(_MINUS_SIGNS)))
    text, unreadable = _normalize_numbers(_TIMES_X.sub(r"\1 * ", text))
    text = _LONE_PERCENT.sub(lambda m: _percent(m, unreadable), text)
    for pattern, replacement in _ROUNDING:
        text = pattern.sub(functools.partial(_places, replacement), text)
    for pattern, replacement in _WORD_OPS:
        text = pattern.sub(replacement, text)
    spans: list[str] = []
    problems: list[str] = []
    for match in _SPAN_RE.finditer(text):
        cand = _balance(match.group().strip().rstrip("+-*/%^×÷.,").strip())
        if not (_BINARY_RE.search(cand) or _CALL_RE.search(cand)):
            continue
        marks = _MARK_RE.findall(cand)
        if marks:
            problems += [unreadable[ord(m) - 0xE000] for m in marks]
        elif _ADJACENT.search(cand):
            problems.append(
                "two numbers stand next to each other with no operator between them (digits "
                "grouped with spaces, like '1 000'?); write 1000, or put an operator between them"
            )
        elif _ROUNDING_WORDS.search(text) and not cand.lower().startswith("round("):
            problems.append(
                "the rounding was not understood; say e.g. 'round 3.14159 to 2 decimals'"
            )
        else:
            spans.append(re.sub(r"\^", "**", cand).translate(_SYMBOLS))
    return Arithmetic(spans=tuple(spans), problems=tuple(dict.fromkeys(problems)))


def _normalize_numbers(text: str) -> tuple[str, list[str]]:
    """Write every number token as a calculator literal, or as a mark when it cannot be read."""
    out: list[str] = []
    unreadable: list[str] = []
    position = 0
    for token in find_numbers(text):
        out.append(text[position : token.start])
        if token.value is not None:
            out.append(literal(token.value))
        elif token.problem is not None and len(unreadable) < 0x1800:
            out.append(chr(0xE000 + len(unreadable)))
            unreadable.append(token.problem)
        else:  # an ordinal such as "3rd" stays a word
            out.append(token.text)
        position = token.end
    out.append(text[position:])
    return "".join(out), unreadable


def _percent(match: re.Match[str], unreadable: list[str]) -> str:
    """``15%`` on its own is ``(15 / 100)``; ``200 + 10%`` (10% of what?) cannot be read."""
    sign, number = match.group(1), match.group(2)
    if sign.strip() and len(unreadable) < 0x1800:
        unreadable.append(
            f"'{sign.strip()} {number}%' is ambiguous (a percentage of what?); say e.g. "
            f"'{number}% of 200'"
        )
        return f"{sign}{chr(0xE000 + len(unreadable) - 1)}"
    return f"{sign}({number} / 100)"


def _places(replacement: str, match: re.Match[str]) -> str:
    """Expand a rounding rewrite, with the places in digits: ``round(x, two)`` -> ``round(x, 2)``."""
    call = match.expand(replacement)
    head, sep, places = call.rpartition(", ")
    word = places.rstrip(")").lower()
    if sep and word in _SMALL:
        return f"{head}, {_SMALL.index(word)})"
    return call


def _balance(expr: str) -> str:
    """Trim unmatched parentheses from the ends of an expression."""
    while expr and expr.count("(") > expr.count(")") and expr.startswith("("):
        expr = expr[1:].strip()
    while expr and expr.count(")") > expr.count("(") and expr.endswith(")"):
        expr = expr[:-1].strip()
    return expr if expr.count("(") == expr.count(")") else ""
