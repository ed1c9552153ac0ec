"""The run context: what a tool or hook may know about the run it is part of.

A tool asks for it by annotating a parameter with :class:`RunContext`; the
runtime fills it in and the parameter never appears in the tool's schema.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentloop.messages import Usage

__all__ = ["RunContext"]


class RunContext:
    """Per-run state, created by the loop for each ``Agent.run``; never shared between runs.

    Attributes:
        run_id: A unique id for this run.
        agent: The :class:`~agentloop.Agent` being run.
        deps: Whatever the caller passed as ``run(..., deps=...)``.
        state: A dict tools and hooks may use to keep state for the length of the run.
        step: How many model calls the run has made so far.
    """

    __slots__ = ("_lock", "_messages", "_usage", "agent", "deps", "run_id", "state", "step")

    def __init__(self, *, run_id: str, agent: Any, deps: Any = None) -> None:
        self.run_id = run_id
        self.agent = agent
        self.deps = deps
        self.state: dict[str, Any] = {}
        self.step = 0
        self._messages: list[dict[str, Any]] = []
        self._usage: Usage | None = None
        self._lock = threading.Lock()

    @property
    def messages(self) -> Sequence[dict[str, Any]]:
        """A snapshot of the conversation so far, as wire-format dicts."""
        with self._lock:
            return tuple(self._messages)

    @property
    def usage(self) -> Usage | None:
        """Token usage summed over the model calls made so far."""
        return self._usage

    def __repr__(self) -> str:
        return f"RunContext(run_id={self.run_id!r}, step={self.step})"
