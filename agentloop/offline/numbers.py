"""Numbers the way people write them, for the offline model: read exactly, or refuse.

:func:`find_numbers` finds every number-like token of a text (a run of digits,
letters, dots and commas that starts with a digit) and reads the *whole* token
or none of it, so ``1e3`` is never taken for ``3``, nor ``1,000`` for ``000``:

* plain and decimal numbers: ``42``, ``3.14``, ``.5``, ``007`` (= 7);
* scientific notation: ``1e3``, ``2.5E-3``;
* thousands separators, with groups of exactly three digits: ``1,000``,
  ``12,345.67``, ``1_000``;
* ``k`` for thousands (``3.5k``) and the words ``thousand``, ``million``,
  ``billion``, ``trillion`` after a number (``1.5 million``), computed exactly;
* ordinals (``2nd``, ``21st``) are words, not numbers.

Anything else is *unreadable* and says why: a comma that may be a decimal comma
or a list (``1,5``, ``1,00``, ``1.000,5``), dots that group digits
(``1.000.000``), a unit or a suffix glued to the digits (``5kg``, ``2m``,
``0x1F``), an exponent beyond floating point. Callers refuse to compute with an
unreadable number instead of guessing. Pure functions, no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["NumberToken", "find_numbers", "literal"]

_TOKEN_RE = re.compile(r"(?<![\w.,])(?:\d|\.\d)(?:[\w.,]|(?<=\d[eE])[-+](?=\d))*")
_PLAIN = r"\d+(?:\.\d+)?|\.\d+"
_GROUPED = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:_\d+)+(?:\.\d+)?"
_PLAIN_RE = re.compile(rf"(?:{_PLAIN})")
_GROUPED_RE = re.compile(rf"(?:{_GROUPED})")
_SCI_RE = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)[eE][-+]?\d{1,4}")
_K_RE = re.compile(rf"((?:{_PLAIN}|{_GROUPED}))[kK]")
_ORDINAL_RE = re.compile(r"\d+(?:st|nd|rd|th)", re.I)
_UNIT_RE = re.compile(rf"(?:{_PLAIN}|{_GROUPED})[a-zA-Z]+")
_SCALE_RE = re.compile(r"\s+(thousand|million|billion|trillion)\b", re.I)
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_MAX_EXPONENT = 300


@dataclass(frozen=True, kw_only=True, slots=True)
class NumberToken:
    """One number-like token of a text.

    Attributes:
        start: Offset of the token in the text.
        end: Offset just past it (past a scale word such as ``million`` when one follows).
        text: The token as written.
        value: Its exact value (``int`` when whole and written without a decimal point,
            ``1e3`` included, else ``float``), or None when it is not a number or cannot be read.
        problem: Why it cannot be read (for the user), or None.
    """

    start: int
    end: int
    text: str
    value: int | float | None
    problem: str | None = None

    @property
    def is_word(self) -> bool:
        """An ordinal such as ``2nd``: part of a phrase, not a number to compute with."""
        return self.value is None and self.problem is None


def find_numbers(text: str) -> list[NumberToken]:
    """Every number-like token of ``text``, in order, each read whole or marked unreadable.

    Args:
        text: Any text.

    Returns:
        The tokens; trailing sentence punctuation (``.`` ``,``) is not part of a token.
    """
    found = []
    for match in _TOKEN_RE.finditer(text):
        raw = match.group().rstrip(".,")
        start, end = match.start(), match.start() + len(raw)
        value, problem = _read(raw)
        scale = _SCALE_RE.match(text, end) if value is not None else None
        if scale is not None and value is not None:
            value = _exact(Decimal(str(value)) * _SCALES[scale.group(1).lower()], integral=True)
            end = scale.end()
        found.append(
            NumberToken(start=start, end=end, text=text[start:end], value=value, problem=problem)
        )
    return found


def literal(value: int | float) -> str:
    """``value`` written as a calculator reads it (``1000``, ``0.5``, ``1e-05``)."""
    return str(value) if isinstance(value, int) else repr(value)


def _read(raw: str) -> tuple[int | float | None, str | None]:
    """The value of one token, or why it has none (None, None for an ordinal word)."""
    if _PLAIN_RE.fullmatch(raw) or _GROUPED_RE.fullmatch(raw):
        digits = raw.replace(",", "").replace("_", "")
        return _exact(Decimal(digits), integral="." not in digits), None
    if _SCI_RE.fullmatch(raw):
        exponent = int(re.split("[eE]", raw)[1])
        if abs(exponent) > _MAX_EXPONENT:
            return None, f"{raw!r} is beyond the range of ordinary numbers"
        return _exact(Decimal(raw), integral=True), None  # 1e3 is the whole number 1000
    k = _K_RE.fullmatch(raw)
    if k is not None:
        digits = k.group(1).replace(",", "").replace("_", "")
        return _exact(Decimal(digits) * 1000, integral=True), None
    if _ORDINAL_RE.fullmatch(raw):
        return None, None
    return None, _why(raw)


def _why(raw: str) -> str:
    if _UNIT_RE.fullmatch(raw) or re.search(r"[a-zA-Z]", raw):
        return f"{raw!r} has letters in it (a unit or a suffix); write the plain number"
    if "," in raw and "." in raw:
        return f"{raw!r} mixes ',' and '.'; write it with '.' for decimals and no other separator"
    if "," in raw:
        return (
            f"{raw!r} could be a decimal comma or a list of numbers; write decimals with '.' "
            "and thousands as 1,000 (groups of three digits)"
        )
    return f"{raw!r} has more than one '.'; write one number with at most one decimal point"


def _exact(value: Decimal, *, integral: bool) -> int | float | None:
    """``value`` as an int when it is whole and was written so, else as a float."""
    try:
        if integral and value == value.to_integral_value():
            return int(value)
        return float(value)
    except (InvalidOperation, OverflowError, ValueError):
        return None
