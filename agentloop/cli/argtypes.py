"""Argument types the commands share, and the one way a command writes a line to stderr.

Standard library only: command modules import this at load time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

__all__ = ["count", "integer", "port", "positive_int", "print_line", "rate"]


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


def rate(text: str) -> float:
    """An argparse type: a positive number (requests or tokens per minute)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def print_line(line: str) -> None:
    """Write one line to stderr; a closed or broken stderr is not an error."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
