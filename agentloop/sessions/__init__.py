"""Sessions (where a run's history comes from) and fitting history into the context window.

* :class:`Session`: the protocol a session store implements (three methods);
* :class:`SQLiteSession`: conversations in a SQLite file, safe across threads and processes;
* :class:`InMemorySession`: a list, for tests and short-lived programs;
* :mod:`agentloop.sessions.context`: trimming or compacting history to a token budget.

Sessions are separate from the run log (:mod:`agentloop.logs`): a session holds the messages
to send next time, the log holds what happened.
"""

from __future__ import annotations

from agentloop.sessions.base import InMemorySession, Session
from agentloop.sessions.sqlite import SQLiteSession, latest_session

__all__ = ["InMemorySession", "SQLiteSession", "Session", "latest_session"]
