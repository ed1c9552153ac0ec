"""Sessions (where a run's history comes from) and fitting history into the context window.

* :class:`Session`: the protocol a session store implements (three methods);
* :class:`SQLiteSession`: conversations in a SQLite file, safe across threads and processes;
* :class:`PostgresSession`: the same in PostgreSQL, shared by machines (the team store);
* :func:`open_session` / :func:`latest_session`: a store by its target (path or URL);
* :class:`InMemorySession`: a list, for tests and short-lived programs;
* :mod:`agentloop.sessions.context`: trimming or compacting history to a token budget.

Sessions are separate from the run log (:mod:`agentloop.logs`): a session holds the messages
to send next time, the log holds what happened.
"""

from __future__ import annotations

from agentloop.sessions.base import InMemorySession, Session
from agentloop.sessions.postgres import PostgresSession
from agentloop.sessions.sqlite import SQLiteSession
from agentloop.sessions.stores import latest_session, open_session

__all__ = [
    "InMemorySession",
    "PostgresSession",
    "SQLiteSession",
    "Session",
    "latest_session",
    "open_session",
]
