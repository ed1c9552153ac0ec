"""Argument types the commands share, and the one way a command writes a line to stderr.

Agentloop's own warnings (a broken plugin, a failing run log) are such lines too.

Standard library only: command modules import this at load time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "MAX_RATE",
    "MIN_RATE",
    "count",
    "integer",
    "money",
    "one_line_warnings",
    "port",
    "positive_int",
    "print_line",
    "rate",
]


def integer(least: int, most: int | None, what: str) -> Callable[[str], int]:
    """An argparse type: an int in ``[least, most]``, else an error naming ``what`` it expects."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < least or (most is not None and value > most):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = integer(1, None, "a positive integer")
count = integer(0, None, "an integer >= 0")
port = integer(0, 65535, "a port number 0-65535")


MIN_RATE = 0.01
"""The smallest rate taken: one request (or token) every 100 minutes; less is surely a typo."""
MAX_RATE = 1e9


def rate(text: str) -> float:
    """An argparse type: a number per minute from :data:`MIN_RATE` to :data:`MAX_RATE`."""
    what = f"a number per minute from {MIN_RATE:g} to {MAX_RATE:g}"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not MIN_RATE <= value <= MAX_RATE:  # also NaN and infinities
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def print_line(line: str) -> None:
    """Write one line to stderr; a closed or broken stderr is not an error."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def one_line_warnings() -> None:
    """Show agentloop's warnings (a broken installed plugin, a failing run log) as one line."""
    import warnings

    from agentloop.errors import AgentloopWarning

    previous = warnings.showwarning
    if getattr(previous, "agentloop_one_line", False):
        return

    def show(message: Any, category: Any, filename: str, lineno: int, *rest: Any) -> None:
        if isinstance(category, type) and issubclass(category, AgentloopWarning):
            from agentloop.secrets import redact

            print_line(f"agentloop: warning: {redact(str(message))}")
        else:
            previous(message, category, filename, lineno, *rest)

    show.agentloop_one_line = True  # type: ignore[attr-defined]
    warnings.showwarning = show  # type: ignore[assignment]


def money(text: str) -> Decimal:
    """An argparse type: a budget (``--max-cost``), a finite Decimal > 0 as ``Agent(max_cost=)``."""
    what = "an amount > 0 in the currency the provider reports (e.g. --max-cost 0.50)"
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not value.is_finite() or value <= 0:  # NaN and infinities are no budget
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value
