"""Arithmetic in a message, for the offline model: ``what is sqrt(144)?`` -> ``sqrt(144)``.

:func:`arithmetic_spans` finds the expressions a message asks about and writes
them the way a calculator tool reads them (Python operators): spoken
operators become symbols (``2 to the power of 10`` -> ``2 ** 10``, ``the
square root of 144`` -> ``sqrt(144)``, ``15% of 80`` -> ``15 / 100 * 80``),
``^`` becomes ``**``, ``×``/``÷`` become ``*``/``/``. Function calls of the
usual math functions and the constants ``pi`` and ``tau`` are part of an
expression; other words end it. Pure functions, no clock, no randomness.
"""

from __future__ import annotations

import re

__all__ = ["FUNCTIONS", "arithmetic_spans"]

#: Function names an expression may call (those of common calculator tools).
FUNCTIONS = (
    "sqrt", "cbrt", "log10", "log2", "log", "ln", "exp", "sin", "cos", "tan", "asin", "acos",
    "atan", "abs", "round", "floor", "ceil", "factorial", "min", "max", "pow",
)  # fmt: skip

_NUM = r"-?\d+(?:\.\d+)?"
_OPERAND = rf"(?:{_NUM}|\([^()]*\))"
_ISO_DT_RE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
_ISO_DATE_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
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
    (re.compile(r"(?<=\d)\s*x\s*(?=\d)"), " * "),
]
_FUNC = "|".join(FUNCTIONS)
# One expression: numbers, operators, parentheses, calls of known functions,
# pi/tau, and commas between a call's arguments.
_SPAN_RE = re.compile(
    rf"(?:\b(?:{_FUNC})(?=\s*\()|\b(?:pi|tau)\b|[\d.\s+\-*/%^()×÷]|,(?=[^()]*\)))+", re.I
)
_OPERAND_END = r"(?:[\d)]|\b(?:pi|tau))"
_OPERAND_START = r"(?:[-(\d.]|(?:pi|tau)\b|(?:" + _FUNC + r")\s*\()"
_BINARY_RE = re.compile(rf"{_OPERAND_END}\s*(?:\*\*|//|[-+*/%^×÷])\s*{_OPERAND_START}", re.I)
_CALL_RE = re.compile(rf"\b(?:{_FUNC})\s*\([^()]*[\d(]", re.I)
_SYMBOLS = str.maketrans({"×": "*", "÷": "/"})


def arithmetic_spans(text: str) -> list[str]:
    """Return the arithmetic expressions in ``text``, in calculator syntax.

    ``12 * (3 + 4)`` stays as written; ``2 to the power of 10`` gives
    ``2 ** 10``, ``what is sqrt(144)?`` gives ``sqrt(144)``. Dates are never
    taken for subtractions.
    """
    for pattern, replacement in _WORD_OPS:
        text = pattern.sub(replacement, text)
    text = _ISO_DATE_RE.sub(" ", _ISO_DT_RE.sub(" ", text))
    spans = []
    for match in _SPAN_RE.finditer(text):
        cand = _balance(match.group().strip().rstrip("+-*/%^×÷.,").strip())
        if _BINARY_RE.search(cand) or _CALL_RE.search(cand):
            spans.append(re.sub(r"\^", "**", cand).translate(_SYMBOLS))
    return spans


def _balance(expr: str) -> str:
    """Trim unmatched parentheses from the ends of an expression."""
    while expr and expr.count("(") > expr.count(")") and expr.startswith("("):
        expr = expr[1:].strip()
    while expr and expr.count(")") > expr.count("(") and expr.endswith(")"):
        expr = expr[:-1].strip()
    return expr if expr.count("(") == expr.count(")") else ""
