"""SQLite files of agentloop (the run log, session stores): open, migrate, explain failures.

Every file is opened the same way: WAL journal (readers never block the writer, a killed
process keeps every committed transaction), ``synchronous=NORMAL``, a busy timeout so that
concurrent writers (threads and processes) wait for each other instead of failing, and
autocommit mode, so each write is one explicit short ``BEGIN IMMEDIATE`` ... ``COMMIT``.

One file may hold several *components* (``logs``, ``sessions``), each with its own schema
version in the ``agentloop_schema`` table and its own list of forward migrations: version N is
reached by running migrations ``0 .. N-1`` in order, in one transaction. A file whose version is
newer than this agentloop knows is refused (never downgraded).

Failures become one-line :class:`~agentloop.StorageError` messages that name the file and the
fix (:func:`storage_error`).

A file another process keeps locked for longer than the busy timeout is given up on once: the
next writes to it in this process try once without waiting (and fail at once while the lock is
still held), so a run pays one busy timeout, not one per write. A write that succeeds again
clears that. ``AGENTLOOP_BUSY_TIMEOUT`` (seconds) sets the default busy timeout.

New files and folders are private: a database is created with mode 0600 (SQLite gives its
``-wal`` and ``-shm`` files the same mode) in a folder created with mode 0700.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agentloop.errors import StorageError

__all__ = [
    "BUSY_TIMEOUT",
    "SCHEMA_TABLE",
    "Database",
    "connect",
    "open_database",
    "store_target",
    "storage_error",
    "transaction",
]

SCHEMA_TABLE = "agentloop_schema"


def _busy_timeout() -> float:
    try:
        value = float(os.environ.get("AGENTLOOP_BUSY_TIMEOUT", "30"))
    except ValueError:
        return 30.0
    return value if 0 <= value < 1e6 else 30.0


BUSY_TIMEOUT = _busy_timeout()
# files a write waited the whole busy timeout for (this process tries them without waiting)
_GIVEN_UP: set[str] = set()
_GIVEN_UP_LOCK = threading.Lock()

_FIXES = {
    "corrupt": "move it away (agentloop creates a new one) or restore a backup",
    "locked": "another process holds it; wait for it to finish or close it",
    "newer": "upgrade agentloop, or use another file",
    "full": "free disk space (or raise the database size limit) and try again",
    "unavailable": "check the path and its permissions",
}


def storage_error(exc: BaseException, path: str | Path, *, fix: str = "") -> StorageError:
    """Turn a ``sqlite3``/OS error about ``path`` into a one-line :class:`StorageError`.

    Args:
        exc: The error raised by ``sqlite3`` or the file system.
        path: The database file.
        fix: Extra advice appended to the built-in one (e.g. ``"or pass --no-log"``).
    """
    if isinstance(exc, StorageError):
        return exc
    if str(path).lower().startswith(("postgresql://", "postgres://")):
        from agentloop.postgres import pg_error

        return pg_error(exc, str(path), fix=fix)
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        reason = "corrupt"
    elif "locked" in lowered or "busy" in lowered:
        reason = "locked"
    elif "full" in lowered or isinstance(exc, OSError) and getattr(exc, "errno", None) == 28:
        reason = "full"
    else:
        reason = "unavailable"
    advice = _FIXES[reason] + (f" {fix}" if fix else "")
    return StorageError(f"cannot use {path}: {text} ({advice})", path=str(path), reason=reason)


def store_target(path: str | Path) -> Path | str:
    """A store named by the user: a file path as a ``Path``; a URL stays the string it is."""
    return str(path) if "://" in str(path) else Path(path)


def open_database(
    target: str | Path,
    *,
    component: str,
    migrations: Sequence[Sequence[str]],
    pg_migrations: Sequence[Sequence[str]],
    timeout: float | None = None,
) -> Any:
    """Open the store at ``target``: a SQLite file, or PostgreSQL for a ``postgresql://`` URL.

    Both backends have the same surface (``transaction()``, ``query()``, ``close()``, ``path``,
    ``dialect``); what is above this seam never asks which one it got, except to choose the
    few statements that the two SQL dialects say differently.

    Args:
        target: A file path (``":memory:"`` too) or a ``postgresql://`` URL.
        component: The schema's name (``"logs"``, ``"sessions"``).
        migrations: The component's SQLite migrations.
        pg_migrations: The same schema's PostgreSQL migrations.
        timeout: Seconds to wait for a busy file or a connection.

    Raises:
        StorageError: The store cannot be used (the message names it and the fix).
    """
    from agentloop.postgres import connect_postgres, is_postgres_url

    text = str(target)
    if "://" in text and not is_postgres_url(text):
        scheme = text.split("://", 1)[0]
        raise StorageError(
            f"cannot use a {scheme}:// store: agentloop stores runs and sessions in SQLite (a "
            "file path) or PostgreSQL (a postgresql://user:password@host/db URL)",
            path=scheme + "://",
        )
    if is_postgres_url(target):
        return connect_postgres(
            str(target),
            component=component,
            migrations=pg_migrations,
            timeout=10.0 if timeout is None else timeout,
        )
    if timeout is None:
        return connect(target, component=component, migrations=migrations)
    return connect(target, component=component, migrations=migrations, timeout=timeout)


def connect(
    path: str | Path,
    *,
    component: str,
    migrations: Sequence[Sequence[str]],
    timeout: float = BUSY_TIMEOUT,
) -> Database:
    """Open (creating it and its folder if needed) and migrate one agentloop SQLite file.

    Args:
        path: The file; ``":memory:"`` for a private in-memory database.
        component: The schema's name in ``agentloop_schema`` (``"logs"``, ``"sessions"``).
        migrations: ``migrations[n]`` holds the SQL statements that take the component's
            schema from version ``n`` to ``n + 1``.
        timeout: Seconds to wait for another writer before giving up ("locked").

    Returns:
        The open file (its connection is in autocommit mode; write with ``transaction()``).

    Raises:
        StorageError: The file is corrupt, locked for longer than the busy timeout, from a
            newer agentloop, on a full disk, or cannot be created.
    """
    memory = str(path) == ":memory:"
    try:
        if not memory:
            _create_private(Path(path))
        conn = sqlite3.connect(
            str(path), timeout=timeout, isolation_level=None, check_same_thread=False
        )
    except (sqlite3.Error, OSError) as exc:
        raise storage_error(exc, path) from exc
    try:
        if not memory:
            _set_wal(conn, timeout)
        conn.execute("PRAGMA synchronous=NORMAL")
        _migrate(conn, path, component, migrations)
    except StorageError:
        conn.close()
        raise
    except (sqlite3.Error, OSError) as exc:
        conn.close()
        raise storage_error(exc, path) from exc
    return Database(path, conn, timeout)


def _create_private(path: Path) -> None:
    """Create a missing database file with mode 0600 (and missing folders with mode 0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it in between
        return
    os.close(fd)


def _set_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch to WAL; the switch needs a moment alone with the file, so retry while busy."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _migrate(
    conn: sqlite3.Connection, path: str | Path, component: str, migrations: Sequence[Sequence[str]]
) -> None:
    latest = len(migrations)
    row = _version(conn, component)
    if row == latest:
        return
    with transaction(conn):
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} "
            "(component TEXT PRIMARY KEY, version INTEGER NOT NULL, migrated_at REAL NOT NULL)"
        )
        found = _version(conn, component) or 0
        if found > latest:
            raise StorageError(
                f"cannot use {path}: its {component} schema is version {found}, this agentloop "
                f"knows up to {latest} ({_FIXES['newer']})",
                path=str(path),
                reason="newer",
            )
        for statements in migrations[found:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(
            f"INSERT OR REPLACE INTO {SCHEMA_TABLE} VALUES (?, ?, ?)",
            (component, latest, time.time()),
        )


def _version(conn: sqlite3.Connection, component: str) -> int | None:
    try:
        row = conn.execute(
            f"SELECT version FROM {SCHEMA_TABLE} WHERE component = ?", (component,)
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return int(row[0]) if row else None


class Database:
    """One open agentloop SQLite file: a connection and the lock that serializes its use.

    Attributes:
        path: The file (``":memory:"`` for an in-memory database).
        conn: The connection (autocommit mode; use :meth:`transaction` to write).
        dialect: ``"sqlite"`` (:class:`agentloop.postgres.PgDatabase` says ``"postgresql"``).
    """

    dialect = "sqlite"

    def __init__(
        self, path: str | Path, conn: sqlite3.Connection, timeout: float = BUSY_TIMEOUT
    ) -> None:
        self.path = str(path)
        self.conn = conn
        self.timeout = timeout
        self.lock = threading.RLock()
        self._key = self.path if self.path == ":memory:" else os.path.abspath(self.path)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error), one thread at a time.

        ``IMMEDIATE`` takes the write lock up front, so two writers wait for each other (busy
        timeout) instead of one failing halfway with "database is locked". A file given up on
        (see the module's docs) is tried once, without waiting.
        """
        with self.lock:
            hurry = self._key in _GIVEN_UP and self._key != ":memory:"
            if hurry:
                self.conn.execute("PRAGMA busy_timeout = 0")
            try:
                with transaction(self.conn):
                    yield self.conn
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    with _GIVEN_UP_LOCK:
                        _GIVEN_UP.add(self._key)
                raise
            else:
                if hurry:
                    with _GIVEN_UP_LOCK:
                        _GIVEN_UP.discard(self._key)
            finally:
                if hurry:
                    self.conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        """Run one read-only statement and return every row (as ``sqlite3.Row``).

        Raises:
            StorageError: The file is damaged (corrupt pages), locked or gone.
        """
        with self.lock:
            try:
                cursor = self.conn.execute(sql, tuple(params))
                cursor.row_factory = sqlite3.Row
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path) from exc

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` on ``conn``, ``ROLLBACK`` on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
