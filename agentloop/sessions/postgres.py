"""Sessions in a PostgreSQL database: the team store's conversations.

The same logical tables as :mod:`agentloop.sessions.sqlite` (``sessions``,
``session_messages``), and the same statements: a :class:`PostgresSession` is a
:class:`~agentloop.sessions.SQLiteSession` whose database is a
:class:`~agentloop.postgres.PgDatabase`. Concurrency is decided by PostgreSQL: every append
first upserts the session's row, which locks it until ``COMMIT``, so two writers of one session
take turns (the second then sees the first's messages, and with ``after=`` gets
:class:`~agentloop.SessionConflictError`); writers of different sessions never wait for each
other. Appends are rows; no history is ever rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from agentloop.postgres import connect_postgres
from agentloop.sessions.sqlite import SQLiteSession
from agentloop.storage import Database

__all__ = ["PG_MIGRATIONS", "PostgresSession"]

COMPONENT = "sessions"
PG_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, "
        "created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, "
        "metadata TEXT)",
        "CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated_at)",
        "CREATE TABLE IF NOT EXISTS session_messages (session_id TEXT NOT NULL, "
        "position INTEGER NOT NULL, message TEXT NOT NULL, "
        "created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (session_id, position))",
    ),
)


class PostgresSession(SQLiteSession):
    """A conversation kept in PostgreSQL, shared by threads, processes and machines.

    Args:
        url: ``postgresql://user:password@host:port/database`` (the password is never shown).
        session_id: The conversation's id (any string; a new id starts an empty session).
        secrets: More strings never to store (replaced by ``[REDACTED]``).
        timeout: Seconds to wait for a connection before failing.

    Raises:
        StorageError: psycopg is missing, the server is unreachable, the password is wrong,
            or the database holds a newer schema.
    """

    def __init__(
        self,
        url: str,
        session_id: str,
        *,
        secrets: Iterable[str | None] = (),
        timeout: float = 10.0,
    ) -> None:
        super().__init__(url, session_id, secrets=secrets, timeout=timeout)

    def _open(self, path: str | Path, timeout: float) -> Database:
        return connect_postgres(  # type: ignore[return-value]
            str(path), component=COMPONENT, migrations=PG_MIGRATIONS, timeout=timeout
        )

    def __repr__(self) -> str:
        return f"PostgresSession({self.path!r}, {self.session_id!r})"
