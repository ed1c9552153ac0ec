"""The run context: what a tool or hook may know about the run it is part of.

A tool asks for it by annotating a parameter with :class:`RunContext`; the
runtime fills it in and the parameter never appears in the tool's schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentloop.messages import Usage

__all__ = ["RunContext"]


class RunContext:
    """Per-run state, created by the loop for each ``Agent.run``; never shared between runs.

    The transcript and the usage are written by the loop only (:meth:`add_message`,
    :meth:`record_usage`); tools and hooks read them. No lock is needed: appending to a
    list and copying it are each one atomic operation (CPython, free-threaded builds too),
    and only the loop's thread appends.

    Attributes:
        run_id: A unique id for this run.
        agent: The :class:`~agentloop.Agent` being run.
        deps: Whatever the caller passed as ``run(..., deps=...)``.
        state: A dict tools and hooks may use to keep state for the length of the run.
        step: How many model calls the run has made so far.
        spec: The run's :class:`~agentloop.runspec.RunSpec` (model, limits, hooks), or None.
    """

    __slots__ = ("_messages", "_usage", "agent", "deps", "run_id", "spec", "state", "step")

    def __init__(
        self,
        *,
        run_id: str,
        agent: Any,
        deps: Any = None,
        messages: Iterable[dict[str, Any]] = (),
        spec: Any = None,
    ) -> None:
        self.run_id = run_id
        self.agent = agent
        self.deps = deps
        self.spec = spec
        self.state: dict[str, Any] = {}
        self.step = 0
        self._messages: list[dict[str, Any]] = list(messages)
        self._usage: Usage | None = None

    @property
    def messages(self) -> Sequence[dict[str, Any]]:
        """A snapshot of the conversation so far, as wire-format dicts."""
        return tuple(self._messages)

    @property
    def usage(self) -> Usage | None:
        """Token usage summed over the model calls made so far."""
        return self._usage

    def message_list(self) -> list[dict[str, Any]]:
        """A new list of the conversation's messages (the dicts themselves are shared)."""
        return self._messages.copy()

    def add_message(self, message: dict[str, Any]) -> None:
        """Append one wire-format message to the transcript (the loop's job, not a tool's)."""
        self._messages.append(message)

    def record_usage(self, total: Usage) -> None:
        """Set the run's usage so far (the loop's job, after each model call)."""
        self._usage = total

    def __repr__(self) -> str:
        return f"RunContext(run_id={self.run_id!r}, step={self.step})"
