"""``printf()``/``format()`` with every width and precision bounded (internal).

SQLite's own ``printf('%.*c', 900000000, 'x')`` loops 900 million times inside
one function call, where neither the progress handler nor the length limit can
stop it (it then returns NULL): four such calls in one row take seconds. The
replacement refuses a width or precision beyond the value limit before any work,
then lets SQLite's built-in ``printf`` (on a private in-memory connection) do
the formatting.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import Any

__all__ = ["TooBig", "bounded_printf"]

_SPEC = re.compile(r"%([-+ 0#!,]*)(\*|\d+)?(?:\.(\*|\d+))?(l{0,2})([a-zA-Z%])")


class TooBig(ValueError):
    """A printf() width or precision larger than the value limit."""


def _sizes(fmt: str, args: tuple[Any, ...]) -> list[int]:
    """Every width and precision ``fmt`` asks for (``*`` read from ``args``)."""
    sizes, index = [], 0
    for match in _SPEC.finditer(fmt):
        if match.group(5) == "%":
            continue
        for part in (match.group(2), match.group(3)):
            if part == "*":
                value = args[index] if index < len(args) else 0
                index += 1
                try:
                    sizes.append(abs(int(value)))
                except (TypeError, ValueError, OverflowError):
                    sizes.append(0)
            elif part:
                sizes.append(int(part))
        index += 1
    return sizes


def bounded_printf(limit: int, on_refusal: Callable[[], None]) -> Callable[..., Any]:
    """A ``printf`` SQL function refusing widths and precisions over ``limit``.

    Args:
        limit: The largest width or precision (the connection's value limit).
        on_refusal: Called before refusing (the session notes why the statement failed).
    """
    helper = sqlite3.connect(":memory:", check_same_thread=False)
    helper.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limit)

    def printf(fmt: Any = None, *args: Any) -> Any:
        if isinstance(fmt, str) and any(size > limit for size in _sizes(fmt, args)):
            on_refusal()
            raise TooBig(f"printf() width or precision over {limit}")
        marks = ", ".join("?" * (1 + len(args)))
        return helper.execute(f"SELECT printf({marks})", (fmt, *args)).fetchone()[0]

    return printf
