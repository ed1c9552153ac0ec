"""Sessions in a SQLite file (by default the run log's file, in separate tables).

Schema (component ``sessions`` in ``agentloop_schema``)::

    sessions          (id TEXT PRIMARY KEY, created_at REAL, updated_at REAL, metadata TEXT)
    session_messages  (session_id TEXT, position INTEGER, message TEXT, created_at REAL,
                       PRIMARY KEY (session_id, position))

``add_messages`` is one ``BEGIN IMMEDIATE`` transaction: it checks how many messages the
session holds, then inserts after the highest position (not at the count: a row deleted by
hand must not make the next insert collide), so concurrent writers (threads, processes) never
lose a row and never interleave. Every stored text passes through the one redaction rule
(:mod:`agentloop.secrets`); a row that is not JSON (edited by hand) is a one-line
:class:`~agentloop.StorageError` naming the file and the fix.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentloop.errors import ConfigurationError, StorageError
from agentloop.secrets import Redactor
from agentloop.sessions.base import conflict
from agentloop.storage import BUSY_TIMEOUT, Database, connect, storage_error

__all__ = ["MIGRATIONS", "SQLiteSession"]

COMPONENT = "sessions"
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, created_at REAL NOT NULL, "
        "updated_at REAL NOT NULL, metadata TEXT)",
        "CREATE INDEX sessions_updated ON sessions (updated_at)",
        "CREATE TABLE session_messages (session_id TEXT NOT NULL, position INTEGER NOT NULL, "
        "message TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (session_id, position)) "
        "WITHOUT ROWID",
    ),
)


class SQLiteSession:
    """A conversation kept in a SQLite file, shared safely by threads and processes.

    Args:
        path: The database file (created with its folder when missing).
        session_id: The conversation's id (any string; a new id starts an empty session).
        secrets: More strings never to store (replaced by ``[REDACTED]``); every key the
            process knows is never stored either (see :mod:`agentloop.secrets`).
        timeout: Seconds a write waits for other writers before failing as "locked".

    Raises:
        StorageError: The file is corrupt, locked, from a newer agentloop or unwritable.
    """

    def __init__(
        self,
        path: str | Path,
        session_id: str,
        *,
        secrets: Iterable[str | None] = (),
        timeout: float = BUSY_TIMEOUT,
    ) -> None:
        if not isinstance(session_id, str) or not session_id:
            raise ConfigurationError(f"session_id must be a non-empty string, got {session_id!r}")
        self.session_id = session_id
        self.redactor = Redactor(secrets)
        self.db: Database = self._open(path, timeout)
        self.path = self.db.path  # a PostgreSQL URL is shown without its password

    def _open(self, path: str | Path, timeout: float) -> Database:
        """The database (overridden by :class:`~agentloop.sessions.PostgresSession`)."""
        return connect(path, component=COMPONENT, migrations=MIGRATIONS, timeout=timeout)

    def get_messages(self) -> list[dict[str, Any]]:
        """Every message, oldest first."""
        rows = self._read(
            "SELECT message FROM session_messages WHERE session_id = ? ORDER BY position",
            (self.session_id,),
        )
        return [self._loads(row["message"], "session_messages") for row in rows]

    def add_messages(
        self, messages: Sequence[Mapping[str, Any]], *, after: int | None = None
    ) -> None:
        """Append in one transaction; ``after`` guards against a concurrent run.

        Raises:
            SessionConflictError: The session no longer holds ``after`` messages.
            StorageError: The write failed (disk full, locked, corrupt).
        """
        now = time.time()
        rows = [self._dumps(m) for m in messages]
        try:
            with self.db.transaction() as conn:
                # the session row first: on PostgreSQL its upsert locks the row until COMMIT,
                # so writers of one session take turns (SQLite's BEGIN IMMEDIATE already does)
                self._touch(conn, now)
                count, top = conn.execute(
                    "SELECT count(*), coalesce(max(position) + 1, 0) FROM session_messages "
                    "WHERE session_id = ?",
                    (self.session_id,),
                ).fetchone()
                if after is not None and count != after:
                    raise conflict(self.session_id, after, count, self.path)
                conn.executemany(
                    "INSERT INTO session_messages VALUES (?, ?, ?, ?)",
                    [(self.session_id, top + i, row, now) for i, row in enumerate(rows)],
                )
        except Exception as exc:
            raise storage_error(exc, self.path) from exc

    def clear(self) -> None:
        """Remove every message (the session's metadata stays)."""
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "DELETE FROM session_messages WHERE session_id = ?", (self.session_id,)
                )
        except Exception as exc:
            raise storage_error(exc, self.path) from exc

    @property
    def metadata(self) -> dict[str, Any]:
        """What was stored with :meth:`set_metadata` (``{}`` when nothing was)."""
        rows = self._read("SELECT metadata FROM sessions WHERE id = ?", (self.session_id,))
        data = self._loads(rows[0]["metadata"] or "{}", "sessions") if rows else {}
        return data if isinstance(data, dict) else {}

    def set_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Store JSON metadata with the session (the CLI keeps a conversation's settings)."""
        now = time.time()
        try:
            with self.db.transaction() as conn:
                self._touch(conn, now)
                conn.execute(
                    "UPDATE sessions SET metadata = ? WHERE id = ?",
                    (self._dumps(metadata), self.session_id),
                )
        except Exception as exc:
            raise storage_error(exc, self.path) from exc

    def exists(self) -> bool:
        """Whether anything was ever stored under this id."""
        return bool(self._read("SELECT 1 FROM sessions WHERE id = ?", (self.session_id,)))

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def _touch(self, conn: Any, now: float) -> None:
        conn.execute(
            "INSERT INTO sessions (id, created_at, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at",
            (self.session_id, now, now),
        )

    def _read(self, sql: str, params: Sequence[object]) -> list[Any]:
        try:
            return self.db.query(sql, params)
        except Exception as exc:
            raise storage_error(exc, self.path) from exc

    def _dumps(self, value: Any) -> str:
        return json.dumps(
            self.redactor.value(value), ensure_ascii=False, separators=(",", ":"), default=str
        )

    def _loads(self, text: Any, table: str) -> Any:
        """A stored JSON value; a damaged row is the file's fault, named with its fix."""
        try:
            return json.loads(text)
        except (TypeError, ValueError, RecursionError):
            raise StorageError(
                f"cannot use {self.path}: a row of {table} of session {self.session_id[:80]!r} "
                "is not JSON (the file was edited or damaged); delete that row, start a new "
                "conversation, or move the file away (agentloop creates a new one)",
                path=self.path,
                reason="corrupt",
            ) from None

    def __repr__(self) -> str:
        return f"SQLiteSession({self.path!r}, {self.session_id!r})"
