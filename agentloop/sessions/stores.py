"""Opening a session store by its target: a SQLite file or a ``postgresql://`` URL.

What reads or continues conversations (``run -c``, ``--cid``, the CLI's memory) calls these two
functions and never asks which backend it got.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentloop.errors import ConversationNotFoundError
from agentloop.postgres import is_postgres_url
from agentloop.sessions.postgres import PG_MIGRATIONS, PostgresSession
from agentloop.sessions.sqlite import COMPONENT, MIGRATIONS, SQLiteSession
from agentloop.storage import open_database

__all__ = ["latest_session", "open_session"]


def open_session(
    target: str | Path, session_id: str, *, secrets: Iterable[str | None] = ()
) -> SQLiteSession:
    """The session ``session_id`` in the store at ``target`` (a file path or a URL).

    Raises:
        StorageError: The store cannot be used (the message names it and the fix).
    """
    if is_postgres_url(target):
        return PostgresSession(str(target), session_id, secrets=secrets)
    return SQLiteSession(target, session_id, secrets=secrets)


def latest_session(target: str | Path) -> str:
    """The id of the session appended to most recently in the store at ``target``.

    Raises:
        ConversationNotFoundError: The store holds no session yet.
        StorageError: The store cannot be used.
    """
    rows: list[Any] = []
    postgres = is_postgres_url(target)
    if postgres or str(target) == ":memory:" or Path(target).exists():
        db = open_database(
            target, component=COMPONENT, migrations=MIGRATIONS, pg_migrations=PG_MIGRATIONS
        )
        try:
            rows = db.query("SELECT id FROM sessions ORDER BY updated_at DESC LIMIT 1")
        finally:
            db.close()
    if not rows:
        shown = db.path if postgres else target
        raise ConversationNotFoundError(
            f"there is no previous conversation in {shown} to continue; start one without -c "
            "(agentloop run TARGET PROMPT)"
        )
    return str(rows[0]["id"])
