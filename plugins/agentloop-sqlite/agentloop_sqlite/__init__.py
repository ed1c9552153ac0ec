"""agentloop-sqlite: read-only SQL tools on one SQLite database for agentloop agents.

``SQLitePlugin(database)`` offers ``list_tables``, ``describe_table`` and
``query``. The database is opened read-only three ways over: the
``file:...?mode=ro`` URI, ``PRAGMA query_only=ON`` and an authorizer that
allows only reads (``SELECT``, reading tables, ordinary functions and a short
list of read-only PRAGMAs), so ``INSERT``, ``UPDATE``, ``DELETE``, ``DROP``,
``CREATE``, ``ATTACH`` and PRAGMA writes all fail with a clear read-only
error. Each call runs one statement only, returns at most ``max_rows`` rows
(saying when rows were cut) and is aborted after ``timeout`` seconds.

Memory is bounded with SQLite's own limits, per connection: no string or blob
may grow past ``max_value_bytes`` (``SQLITE_LIMIT_LENGTH``: ``randomblob(1e9)``,
``zeroblob``, ``replace`` and ``group_concat`` fail at once instead of
allocating), no row may hold more than ``max_row_bytes`` (the statement's result
columns are counted with ``EXPLAIN`` before it runs, and each value's limit is
lowered to its share), statements are at most :data:`MAX_SQL_CHARS` long, the page cache
is small and sorts spill to temporary files. Rows are fetched and formatted one
at a time, so Python never holds more than one row. ``max_memory_bytes`` adds
SQLite's hard heap limit (process-wide, only ever lowered).

The distribution registers this module under the ``agentloop`` entry-point
group as ``sqlite``; the module itself offers no tools (it needs a database),
so pass an instance: ``Agent(plugins=[SQLitePlugin("shop.db")])``.
"""

from __future__ import annotations

import os
import pathlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from agentloop import ConfigurationError, Tool, ToolError, hookimpl, tool

from ._guard import Guard, describe_error
from ._offers import agentloop_register_tools as agentloop_register_tools
from ._printf import bounded_printf

__all__ = ["MAX_ROW_BYTES", "MAX_SQL_CHARS", "SQLitePlugin"]

MAX_OUTPUT_CHARS = 50_000
"""Most characters of one table of results; further rows are cut with a note."""

MAX_SQL_CHARS = 100_000
"""Longest statement accepted (``SQLITE_LIMIT_SQL_LENGTH``)."""

MAX_ROW_BYTES = 16_000_000
"""Default bound on the bytes of one result row (see ``max_row_bytes``)."""

CACHE_KIB = 8192
"""Page cache of each connection, in KiB; larger sorts and temporary tables spill to disk."""


class SQLitePlugin:
    """Plugin offering read-only SQL tools on one SQLite database file.

    Args:
        database: Path of an existing SQLite database file.
        max_rows: Most rows ``query`` returns; the result says when rows were cut.
        timeout: Seconds a statement may run before it is aborted (also the
            time to wait for a lock held by another connection).
        max_cell_chars: Longer values are shortened in results.
        max_value_bytes: Largest string or blob a statement may make or read
            (``SQLITE_LIMIT_LENGTH``); larger ones fail the statement with a clear error.
        max_row_bytes: Most bytes one row of a result may hold: a statement with
            ``n`` result columns may make values of at most ``max_row_bytes // n``
            bytes (and never more than ``max_value_bytes``). By default
            :data:`MAX_ROW_BYTES`, or ``max_value_bytes`` when that is larger.
        max_memory_bytes: When set, SQLite's hard heap limit (``PRAGMA
            hard_heap_limit``). It is process-wide, so it applies to every SQLite
            connection in the process, and it is only ever lowered, never raised.

    Raises:
        ConfigurationError: The file does not exist or a limit is not positive.
    """

    def __init__(
        self,
        database: str | os.PathLike[str],
        *,
        max_rows: int = 200,
        timeout: float = 5.0,
        max_cell_chars: int = 200,
        max_value_bytes: int = 1_000_000,
        max_row_bytes: int | None = None,
        max_memory_bytes: int | None = None,
    ) -> None:
        path = os.path.realpath(os.fspath(database))
        if not os.path.isfile(path):
            raise ConfigurationError(f"SQLitePlugin database {os.fspath(database)!r} is not a file")
        max_row_bytes = (
            max(MAX_ROW_BYTES, max_value_bytes) if max_row_bytes is None else max_row_bytes
        )
        if min(max_rows, max_cell_chars, max_value_bytes, max_row_bytes) < 1 or timeout <= 0:
            raise ConfigurationError(
                "SQLitePlugin max_rows, timeout, max_cell_chars, max_value_bytes and "
                "max_row_bytes must be positive"
            )
        if max_memory_bytes is not None and max_memory_bytes < 1:
            raise ConfigurationError("SQLitePlugin max_memory_bytes must be positive or None")
        self.database = path
        self.max_rows = max_rows
        self.timeout = timeout
        self.max_cell_chars = max_cell_chars
        self.max_value_bytes = max_value_bytes
        self.max_row_bytes = max_row_bytes
        self.max_memory_bytes = max_memory_bytes
        self.tools: tuple[Tool, ...] = (
            tool(self.list_tables),
            tool(self.describe_table),
            tool(self.query),
        )

    def __repr__(self) -> str:
        return f"SQLitePlugin({self.database!r})"

    @hookimpl
    def agentloop_tools(self, agent: Any) -> list[Tool]:
        """Offer the SQL tools to the agent."""
        return list(self.tools)

    # ------------------------------------------------------------------ tools

    def list_tables(self) -> str:
        """List the tables and views of the SQLite database, one per line with its kind."""
        with self._session() as (conn, _guard):
            rows = conn.execute(
                "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            ).fetchall()
        if not rows:
            return "(the database has no tables)"
        return "\n".join(f"{name} ({kind})" for name, kind in rows)

    def describe_table(self, table: str) -> str:
        """Show the columns and the schema (CREATE statement and indexes) of a table or view.

        Args:
            table: The table or view name, exactly as list_tables shows it.
        """
        with self._session() as (conn, _guard):
            found = conn.execute(
                "SELECT type, sql FROM sqlite_schema WHERE name = ? AND type IN ('table', 'view')",
                (table,),
            ).fetchone()
            if found is None:
                raise ToolError(f"no table or view named {table!r}; {self._known_tables(conn)}")
            columns = conn.execute(
                'SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)', (table,)
            ).fetchall()
            indexes = conn.execute(
                "SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL ORDER BY name",
                (table,),
            ).fetchall()
        lines = [f"{found[0]} {table}", "columns (name | type | not null | default | primary key):"]
        lines += [
            f"  {name} | {kind or '-'} | {'yes' if notnull else 'no'} | "
            f"{'-' if default is None else default} | {pk or '-'}"
            for name, kind, notnull, default, pk in columns
        ]
        lines += ["schema:", found[1] or "(none)"]
        lines += [sql + ";" for (sql,) in indexes]
        return "\n".join(lines)

    def query(self, sql: str) -> str:
        """Run one read-only SQL statement (SELECT, WITH ... SELECT or a read-only PRAGMA).

        The database is read-only: INSERT, UPDATE, DELETE, CREATE, DROP,
        ATTACH and PRAGMA writes are refused. Results come back as a text
        table; long results are cut (add LIMIT or a WHERE clause), and slow
        statements are stopped.

        Args:
            sql: Exactly one SQLite statement, e.g. "SELECT name, price FROM products
                WHERE price > 10 ORDER BY price DESC LIMIT 20".
        """
        if not sql.strip():
            raise ToolError("sql is empty: give one SELECT statement")
        if len(sql) > MAX_SQL_CHARS:
            raise ToolError(
                f"the statement is {len(sql)} characters long; the limit is {MAX_SQL_CHARS}"
            )
        with self._session() as (conn, guard):
            try:
                self._bound_row(conn, guard, sql)
                cursor = conn.execute(sql)
                if cursor.description is None:
                    return "(the statement returned no result set)"
                columns = [d[0] for d in cursor.description]
                return self._table(columns, iter(cursor.fetchone, None))
            except (sqlite3.Error, sqlite3.Warning, MemoryError) as exc:
                raise ToolError(self._describe(exc, guard)) from None

    # ---------------------------------------------------------------- helpers

    @contextmanager
    def _session(self) -> Iterator[tuple[sqlite3.Connection, Guard]]:
        """Open a read-only connection with the authorizer and the time limit, then close it."""
        uri = pathlib.Path(self.database).as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(
                uri, uri=True, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise ToolError(f"cannot open the database read-only: {exc}") from None
        guard = Guard(deadline=time.monotonic() + self.timeout)
        try:
            self._bound(conn, guard)
            conn.execute("PRAGMA query_only = ON")
            conn.set_authorizer(guard.authorize)
            conn.set_progress_handler(guard.progress, 1000)
            yield conn, guard
        except (sqlite3.Error, sqlite3.Warning, MemoryError) as exc:
            raise ToolError(self._describe(exc, guard)) from None
        finally:
            conn.close()

    def _bound(self, conn: sqlite3.Connection, guard: Guard) -> None:
        """Apply the size and memory limits to a new connection (before the authorizer)."""
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.max_value_bytes)
        printf = bounded_printf(self.max_value_bytes, guard.refuse_size)
        for name in ("printf", "format"):  # SQLite's own loop once per character: see _printf
            conn.create_function(name, -1, printf, deterministic=True)
        conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_CHARS)
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA temp_store = FILE")
        if self.max_memory_bytes is not None:  # only ever lowers SQLite's process-wide limit
            conn.execute(f"PRAGMA hard_heap_limit = {int(self.max_memory_bytes)}")

    def _bound_row(self, conn: sqlite3.Connection, guard: Guard, sql: str) -> None:
        """Lower the value limit so that no row of ``sql``'s result exceeds ``max_row_bytes``.

        The result columns are counted from the statement's bytecode (``EXPLAIN`` compiles
        it without running it): a row is built whole inside SQLite before Python sees it.
        """
        columns = _result_columns(conn, sql)
        limit = min(self.max_value_bytes, max(1, self.max_row_bytes // max(columns, 1)))
        if limit < self.max_value_bytes:
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limit)
            guard.row_columns = columns
        guard.value_limit = limit

    def _describe(self, exc: Exception, guard: Guard) -> str:
        text = str(exc)
        if ("too big" in text or guard.too_big) and guard.row_columns:
            return (
                f"a row of {guard.row_columns} column{'s' * (guard.row_columns != 1)} may hold at most {self.max_row_bytes} "
                f"bytes (the plugin's max_row_bytes), so each value at most "
                f"{guard.value_limit} bytes, and the statement was stopped; select fewer "
                "columns, or smaller values (substr(), length())"
            )
        if "too big" in text or guard.too_big:
            return (
                f"a value would be larger than {self.max_value_bytes} bytes (the plugin's "
                "max_value_bytes) and the statement was stopped; select less (substr(), "
                "length(), LIMIT) or fewer rows into one value"
            )
        if isinstance(exc, MemoryError) or "out of memory" in text:
            return (
                "the statement needed more memory than allowed and was stopped; "
                "select fewer or smaller values, or add LIMIT"
            )
        return describe_error(exc, guard, self.timeout)

    def _known_tables(self, conn: sqlite3.Connection) -> str:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name LIMIT 50"
            )
        ]
        return "tables: " + ", ".join(names) if names else "the database has no tables"

    def _table(self, columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> str:
        """Format rows as a compact text table with a footer saying how many rows were shown.

        Rows are taken one at a time and shortened at once, so at most one full row is
        held in memory, and no row is fetched past ``max_rows`` or the output budget.
        """
        cut = False
        lines = [" | ".join(self._cell(c) for c in columns)]
        used = len(lines[0])
        shown = 0
        for row in rows:
            if shown >= self.max_rows:
                cut = True
                break
            line = " | ".join(self._cell(v) for v in row)
            if used + len(line) > MAX_OUTPUT_CHARS:
                cut = True
                break
            lines.append(line)
            used += len(line) + 1
            shown += 1
        if cut:
            lines.append(
                f"({shown} rows shown; the result has more rows: "
                "add LIMIT, a WHERE clause or fewer columns to see the rest)"
            )
        else:
            lines.append(f"({shown} row{'' if shown == 1 else 's'})")
        return "\n".join(lines)

    def _cell(self, value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bytes):
            return f"<blob {len(value)} bytes>"
        text = repr(value) if isinstance(value, float) else str(value)
        text = text.replace("\r", "\\r").replace("\n", "\\n").replace("|", "\\|")
        if len(text) > self.max_cell_chars:
            text = text[: self.max_cell_chars] + "..."
        return text


def _result_columns(conn: sqlite3.Connection, sql: str) -> int:
    """How many columns ``sql``'s rows have, from its bytecode; 0 when it cannot be told.

    ``EXPLAIN`` fails only for a statement that will fail itself (with its own error) or
    that is an ``EXPLAIN`` already, whose rows are small.
    """
    try:
        program = conn.execute("EXPLAIN " + sql).fetchall()
    except (sqlite3.Error, sqlite3.Warning):
        return 0
    return max((int(row[3]) for row in program if row[1] == "ResultRow"), default=0)
