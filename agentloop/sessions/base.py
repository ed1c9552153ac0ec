"""The session protocol, the in-memory session, and how a run reads from and appends to one.

A session is where a conversation's history lives between runs. A run reads the history when
it starts and, when it finishes with an answer, appends its new messages in one call, saying
how many messages it read (``after=``). If another run appended in between, the session
refuses (:class:`~agentloop.SessionConflictError`) and stays as the other run left it: two runs
on one session never interleave their messages. A run that fails appends nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from agentloop.errors import ConfigurationError, SessionConflictError
from agentloop.events import RunFinished

__all__ = ["InMemorySession", "Session", "conflict", "run_with_session", "session_history"]


@runtime_checkable
class Session(Protocol):
    """What ``Agent.run(prompt, session=...)`` needs from a session store.

    Implement these three methods to keep conversations in your own store (Redis, Postgres,
    a web framework's session). Messages are wire-format dicts (``{"role": ..., ...}``,
    assistant tool calls and ``tool`` results included), returned in the order added.

    Attributes:
        session_id: The conversation's id.
    """

    session_id: str

    def get_messages(self) -> list[dict[str, Any]]:
        """Every message of the session, oldest first."""
        ...

    def add_messages(
        self, messages: Sequence[Mapping[str, Any]], *, after: int | None = None
    ) -> None:
        """Append ``messages`` atomically (all or none).

        Args:
            messages: The new messages, in order.
            after: How many messages the caller read; when the session now holds another
                number, raise :class:`~agentloop.SessionConflictError` and append nothing.
                None appends unconditionally.
        """
        ...

    def clear(self) -> None:
        """Remove every message."""
        ...


class InMemorySession:
    """A session in a Python list (tests, one process, nothing kept after exit).

    Args:
        session_id: The conversation's id.
        messages: Messages to start from.
    """

    def __init__(self, session_id: str = "default", messages: Sequence[Mapping[str, Any]] = ()):
        self.session_id = session_id
        self._messages: list[dict[str, Any]] = [dict(m) for m in messages]
        self._lock = threading.Lock()

    def get_messages(self) -> list[dict[str, Any]]:
        """Every message, oldest first (copies)."""
        with self._lock:
            return [dict(m) for m in self._messages]

    def add_messages(
        self, messages: Sequence[Mapping[str, Any]], *, after: int | None = None
    ) -> None:
        """Append atomically; ``after`` guards against a concurrent run (see :class:`Session`)."""
        with self._lock:
            if after is not None and after != len(self._messages):
                raise conflict(self.session_id, after, len(self._messages))
            self._messages.extend(dict(m) for m in messages)

    def clear(self) -> None:
        """Remove every message."""
        with self._lock:
            self._messages.clear()

    def __repr__(self) -> str:
        return f"InMemorySession({self.session_id!r}, messages={len(self._messages)})"


def conflict(session_id: str, read: int, found: int, path: str = "") -> SessionConflictError:
    """The error for a session that changed under a run (read ``read``, now holds ``found``)."""
    where = f" in {path}" if path else ""
    return SessionConflictError(
        f"session {session_id!r}{where} changed while this run was going (it read {read} "
        f"messages, the session now has {found}): another run on the same session finished "
        "first, so this run's messages were not added; run again, or give concurrent runs "
        "separate sessions",
        session_id=session_id,
        path=path,
    )


def run_with_session(
    events: Iterator[Any], session: Session, read: Sequence[Mapping[str, Any]], skip: int
) -> Iterator[Any]:
    """Pass a run's events through; before ``RunFinished``, append the run's new messages.

    Args:
        events: The run's events.
        session: The session the history came from.
        read: The messages read from it when the run started.
        skip: How many leading messages of the run's transcript are not the session's (the
            agent's instructions, when they were put in front of the history).

    Raises:
        SessionConflictError: Another run appended first (``.result`` is this run's result).
    """
    for event in events:
        if isinstance(event, RunFinished):
            new = list(event.result.messages[skip + len(read) :])
            try:
                session.add_messages(new, after=len(read))
            except SessionConflictError as exc:
                exc.result = event.result
                raise
        yield event


def session_history(session: Session, history: Any) -> list[dict[str, Any]]:
    """The history a run on ``session`` starts from (``history=`` must not be given too)."""
    if history is not None:
        raise ConfigurationError(
            "pass either history= or session= to a run, not both (the session holds the history)"
        )
    if not isinstance(session, Session):
        raise ConfigurationError(
            f"session must have get_messages(), add_messages() and clear(), got {session!r}"
        )
    return session.get_messages()
