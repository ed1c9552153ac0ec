"""The read-only guard of one SQLite session: authorizer, time limit and error messages."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

__all__ = ["READ_PRAGMAS", "Guard", "describe_error"]

READ_PRAGMAS: frozenset[str] = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "foreign_key_check",
        "integrity_check",
        "quick_check",
        "collation_list",
        "function_list",
        "pragma_list",
        "module_list",
        "compile_options",
        "encoding",
        "user_version",
        "application_id",
        "schema_version",
        "page_count",
        "page_size",
        "freelist_count",
    }
)
"""PRAGMAs a query may use. Those that set a value when given one are allowed without a value only."""

_SETTABLE = frozenset({"user_version", "application_id", "schema_version", "page_size", "encoding"})

_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})

_SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_temp_master"})

_READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})

_WRITE_NAMES: dict[int, str] = {
    sqlite3.SQLITE_INSERT: "INSERT",
    sqlite3.SQLITE_UPDATE: "UPDATE",
    sqlite3.SQLITE_DELETE: "DELETE",
    sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE",
    sqlite3.SQLITE_ANALYZE: "ANALYZE",
    sqlite3.SQLITE_REINDEX: "REINDEX",
    sqlite3.SQLITE_TRANSACTION: "a transaction statement",
    sqlite3.SQLITE_SAVEPOINT: "SAVEPOINT",
    sqlite3.SQLITE_ATTACH: "ATTACH",
    sqlite3.SQLITE_DETACH: "DETACH",
}
for _name in dir(sqlite3):
    if _name.startswith(("SQLITE_CREATE_", "SQLITE_DROP_")):
        _WRITE_NAMES[getattr(sqlite3, _name)] = _name.removeprefix("SQLITE_").replace("_", " ")


_READ_ONLY = "the database is read-only: only SELECT queries and read-only PRAGMAs can run"


@dataclass
class Guard:
    """Per-session state: the deadline, and why the authorizer last refused something.

    Attributes:
        deadline: ``time.monotonic()`` value after which statements are aborted.
        denied: Message for the last refused action, or None.
        timed_out: The progress handler aborted a statement.
        too_big: A function refused to make a value over the size limit.
        row_columns: The result's columns, when their number lowered the value limit.
        value_limit: The largest value the running statement may make, in bytes.
    """

    deadline: float
    denied: str | None = None
    timed_out: bool = False
    too_big: bool = False
    row_columns: int = 0
    value_limit: int = 0

    def refuse_size(self) -> None:
        """Note that a value over the size limit was refused (see ``_printf``)."""
        self.too_big = True

    def authorize(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None
    ) -> int:
        """SQLite authorizer callback: allow reads, deny everything else with a reason."""
        if action in _READ_ACTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_UPDATE and arg1 in _SCHEMA_TABLES and trigger is None:
            # SQLite itself asks this while preparing table-valued PRAGMA functions; a real
            # UPDATE of the schema table is still refused (query_only, mode=ro, no writable_schema)
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() in _DENIED_FUNCTIONS:
                return self._deny(f"the function {arg2}() is not allowed")
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA:
            return self._pragma((arg1 or "").lower(), arg2)
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            return self._deny(
                f"{_WRITE_NAMES[action]} is not allowed: only the configured database can be queried"
            )
        if arg1 in _SCHEMA_TABLES:  # SQLite checks the schema table before CREATE/DROP/ALTER
            what = "changing the schema (CREATE, DROP, ALTER)"
        else:
            what = _WRITE_NAMES.get(action, "this statement")
        return self._deny(
            f"the database is read-only: {what} is not allowed; only SELECT queries and read-only PRAGMAs can run"
        )

    def _pragma(self, name: str, value: str | None) -> int:
        if name in READ_PRAGMAS and not (name in _SETTABLE and value is not None):
            return sqlite3.SQLITE_OK
        if name in READ_PRAGMAS or name == "query_only":
            return self._deny(f"the database is read-only: PRAGMA {name} cannot be set")
        return self._deny(
            f"PRAGMA {name} is not allowed (read-only access); allowed: "
            + ", ".join(sorted(READ_PRAGMAS))
        )

    def _deny(self, message: str) -> int:
        if self.denied is None:  # the first refusal names the statement; later ones are internal
            self.denied = message
        return sqlite3.SQLITE_DENY

    def progress(self) -> int:
        """SQLite progress handler: a non-zero answer aborts the running statement."""
        if time.monotonic() > self.deadline:
            self.timed_out = True
            return 1
        return 0


def describe_error(exc: Exception, guard: Guard, timeout: float) -> str:
    """Turn a ``sqlite3`` error into a clear message for the model.

    Args:
        exc: The error raised by ``sqlite3``.
        guard: The session's guard (knows about refusals and time-outs).
        timeout: The time limit, for the message.
    """
    text = str(exc)
    if guard.timed_out or "interrupted" in text:
        return (
            f"the query took longer than {timeout:g} s and was stopped; simplify it or add a LIMIT"
        )
    if "not authorized" in text or "authorization denied" in text:
        return guard.denied or _READ_ONLY
    if "readonly" in text or "read-only" in text:
        return f"{_READ_ONLY} ({text})"
    if "one statement at a time" in text:
        return "only one SQL statement per call: remove the ';' and anything after it"
    return f"SQL error: {text}"
