"""The run engine: turn dispatch, tool calls and their threads, output handling (no HTTP, no schema code)."""

from __future__ import annotations

from .engine import (
    run_events,
)
from .state import RunState

__all__ = [
    "RunState",
    "run_events",
]
