"""The PostgreSQL backend of agentloop's store (run log, sessions, ledger): a team store.

A :class:`PgDatabase` has the surface of :class:`agentloop.storage.Database` (``transaction()``,
``query()``, ``close()``, ``path``, ``dialect``), so the run log and the sessions write the same
statements to either backend; the few that differ (full-text search, views, row locks) ask
``db.dialect``. Statements use ``?`` placeholders, as ``sqlite3`` does; they are rewritten to
psycopg's ``%s`` once per statement text.

* **psycopg 3**, imported when a ``postgresql://`` store is first opened (``pip install -e
  '.[postgres]'``); ``import agentloop`` never imports it.
* **A pool** of connections (``psycopg_pool``), sized for threads: each transaction borrows one
  connection, so threads never wait for each other's statements, only for the rows they lock.
* **Migrations** are numbered per component, as on SQLite, and run under a transaction-scoped
  advisory lock, so several processes opening a new database at once migrate it exactly once
  (concurrent ``CREATE TABLE IF NOT EXISTS`` collides on PostgreSQL's catalog otherwise).
* **Secrets**: the URL's password is never shown; :func:`display_url` is what errors, reprs and
  the CLI print.
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from agentloop.errors import StorageError
from agentloop.secrets import redact

__all__ = ["PgDatabase", "connect_postgres", "display_url", "is_postgres_url"]

SCHEMA_TABLE = "agentloop_schema"
_SCHEMES = ("postgresql://", "postgres://")
_FIXES = {
    "unavailable": "check that the server runs and the URL's host and port",
    "auth": "check the user name and password in the URL",
    "newer": "upgrade agentloop, or use another database",
    "corrupt": "the stored data is not what agentloop wrote; restore a backup",
}


def is_postgres_url(target: object) -> bool:
    """Whether ``target`` (a path or a URL) names a PostgreSQL store."""
    return isinstance(target, str) and target.lower().startswith(_SCHEMES)


def display_url(url: str) -> str:
    """``url`` without its password (``postgresql://user@host:port/db``), for every message."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        user = f"{parts.username}@" if parts.username else ""
        return urlunsplit((parts.scheme, user + host, parts.path, "", ""))
    except ValueError:
        return "postgresql://[unreadable URL]"


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def pg_error(exc: BaseException, url: str, *, fix: str = "") -> StorageError:
    """A one-line :class:`StorageError` for a psycopg error about the store at ``url``."""
    if isinstance(exc, StorageError):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = redact(text, _password(url))
    lowered = text.lower()
    if "password" in lowered or "authentication" in lowered or "role" in lowered:
        reason = "auth"
    elif isinstance(exc, ValueError | UnicodeError):
        reason = "corrupt"
    else:
        reason = "unavailable"
    advice = _FIXES[reason] + (f" {fix}" if fix else "")
    shown = display_url(url)
    return StorageError(f"cannot use {shown}: {text} ({advice})", path=shown, reason=reason)


class _Conn:
    """A psycopg connection seen through ``sqlite3``'s ``execute``/``executemany`` surface."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> Any:
        # without parameters psycopg sends the text as it is: no placeholders to rewrite
        return self._conn.execute(_placeholders(sql), params) if params else self._conn.execute(sql)

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(_placeholders(sql), rows)


class Row(tuple):  # type: ignore[type-arg]
    """A result row read by position or by column name, as ``sqlite3.Row`` is."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._index)


def _rows(cursor: Any) -> Any:
    """psycopg row factory: :class:`Row` objects sharing one name -> position map."""
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


_SQL_CACHE: dict[str, str] = {}


def _placeholders(sql: str) -> str:
    """``?`` -> ``%s`` (and a literal ``%`` -> ``%%``), once per statement text."""
    done = _SQL_CACHE.get(sql)
    if done is None:
        done = sql.replace("%", "%%").replace("?", "%s")
        if len(_SQL_CACHE) < 512:
            _SQL_CACHE[sql] = done
    return done


class _SharedPool:
    """One pool per URL in a process, shared by every handle (run logs, sessions)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.users = 0
        self.migrated: set[str] = set()


# keyed by process too: a forked child (multiprocessing, Ray) must not use its parent's sockets
_POOLS: dict[tuple[str, int], _SharedPool] = {}
_POOLS_LOCK = threading.Lock()


class PgDatabase:
    """A handle on one PostgreSQL store: the process's pool for its URL.

    Attributes:
        path: The URL without its password (what messages show).
        dialect: ``"postgresql"``.
    """

    dialect = "postgresql"

    def __init__(self, url: str, shared: _SharedPool) -> None:
        self._key = (url, os.getpid())
        self.path = display_url(url)
        self._shared = shared
        self._closed = False
        self.lock = threading.RLock()  # the SQLite Database's attribute; PostgreSQL locks rows

    @contextmanager
    def transaction(self) -> Iterator[_Conn]:
        """One transaction on a pooled connection: ``COMMIT`` at the end, ``ROLLBACK`` on error."""
        # pipeline mode: BEGIN, the inserts and COMMIT travel together (one round trip for a
        # step instead of four); a statement whose rows are fetched still waits for them
        with self._shared.pool.connection() as conn, conn.pipeline(), conn.transaction():
            yield _Conn(conn)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one read-only statement and return every row (like ``sqlite3.Row``)."""
        with self._shared.pool.connection() as conn, conn.cursor(row_factory=_rows) as cursor:
            if params:
                cursor.execute(_placeholders(sql), tuple(params))
            else:
                cursor.execute(sql)
            return list(cursor.fetchall())

    def close(self) -> None:
        """Release this handle; the last handle of a URL closes its pool."""
        with _POOLS_LOCK:
            if self._closed:
                return
            self._closed = True
            self._shared.users -= 1
            if self._shared.users > 0:
                return
            _POOLS.pop(self._key, None)
        self._shared.pool.close()

    def __repr__(self) -> str:
        return f"PgDatabase({self.path!r})"


def connect_postgres(
    url: str,
    *,
    component: str,
    migrations: Sequence[Sequence[str]],
    timeout: float = 10.0,
    max_size: int = 16,
) -> PgDatabase:
    """Open (and migrate) the PostgreSQL store at ``url`` for one component.

    Args:
        url: ``postgresql://user:password@host:port/database``.
        component: The schema's name in ``agentloop_schema`` (``"logs"``, ``"sessions"``).
        migrations: ``migrations[n]`` takes the component from version ``n`` to ``n + 1``.
        timeout: Seconds to wait for a connection (server down: a clear error after this).
        max_size: Most connections the URL's pool opens (threads beyond it wait for one).

    Raises:
        StorageError: psycopg is not installed, the server is unreachable, the password is
            wrong, or the database holds a newer schema than this agentloop knows.
    """
    with _POOLS_LOCK:
        key = (url, os.getpid())
        shared = _POOLS.get(key)
        if shared is None:
            shared = _POOLS[key] = _SharedPool(_open_pool(url, timeout, max_size))
        shared.users += 1
    db = PgDatabase(url, shared)
    if component in shared.migrated:
        return db
    try:
        _migrate(db, component, migrations)
    except Exception as exc:
        db.close()
        raise pg_error(exc, url) from exc
    shared.migrated.add(component)
    return db


def _open_pool(url: str, timeout: float, max_size: int) -> Any:
    try:
        import psycopg
        from psycopg_pool import ConnectionPool
    except ImportError as exc:
        raise StorageError(
            f"cannot use {display_url(url)}: PostgreSQL needs psycopg 3 "
            "(pip install -e '.[postgres]' from a checkout of agentloop)",
            path=display_url(url),
        ) from exc
    import logging

    # the pool logs each failed reconnection; with no logging set up Python would print
    # those to stderr: agentloop's own warning (one line) already says what happened
    pool_logger = logging.getLogger("psycopg.pool")
    if not pool_logger.handlers:
        pool_logger.addHandler(logging.NullHandler())
    kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": max(1, int(timeout))}
    try:
        # check once, directly, so that a wrong password or a dead server is one clear line
        # now, not a pool that retries in the background until its timeout
        psycopg.connect(url, **kwargs).close()
        return ConnectionPool(
            url, min_size=1, max_size=max_size, kwargs=kwargs, timeout=timeout, open=True
        )
    except Exception as exc:
        raise pg_error(exc, url) from exc


def _migrate(db: PgDatabase, component: str, migrations: Sequence[Sequence[str]]) -> None:
    latest = len(migrations)
    with db.transaction() as conn:
        # one lock for every agentloop migration of this database, released at COMMIT
        conn.execute("SELECT pg_advisory_xact_lock(?)", (zlib.crc32(b"agentloop-schema"),))
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (component TEXT PRIMARY KEY, "
            "version INTEGER NOT NULL, migrated_at DOUBLE PRECISION NOT NULL)"
        )
        row = conn.execute(
            f"SELECT version FROM {SCHEMA_TABLE} WHERE component = ?", (component,)
        ).fetchone()
        found = int(row[0]) if row else 0
        if found > latest:
            raise StorageError(
                f"cannot use {db.path}: its {component} schema is version {found}, this "
                f"agentloop knows up to {latest} ({_FIXES['newer']})",
                path=db.path,
                reason="newer",
            )
        if found == latest:
            return
        for statements in migrations[found:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(
            f"INSERT INTO {SCHEMA_TABLE} VALUES (?, ?, ?) ON CONFLICT (component) DO UPDATE "
            "SET version = excluded.version, migrated_at = excluded.migrated_at",
            (component, latest, time.time()),
        )
