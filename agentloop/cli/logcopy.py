"""``agentloop logs copy --to URL``: move a store's runs and conversations into another store.

Typically a laptop's SQLite run log into the team's PostgreSQL. The copy is idempotent and
resumable: each run (its row and every event) and each conversation is copied in its own
transaction, a run whose id is already in the target is skipped, and a conversation's messages
are matched by position, so an interrupted copy is finished by running it again and a repeated
one changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["copy_command", "copy_store"]

_RUN_COLUMNS = (
    "id, conversation_id, started_at, finished_at, agent, model, provider, instructions, "
    "prompt, answer, stop_reason, error, prompt_tokens, completion_tokens, reasoning_tokens, "
    "total_tokens, steps, duration, gap"
)


def copy_command(source: Path | str, args: argparse.Namespace) -> int:
    """Run ``agentloop logs copy``; return the exit code."""
    from agentloop.cli.store import shown, store_exists, store_target
    from agentloop.errors import ConfigurationError

    if not getattr(args, "to", None):
        raise ConfigurationError(
            "logs copy needs --to PATH|URL, e.g. agentloop logs copy --to postgresql://host/db"
        )
    target = store_target(args.to)
    if shown(target) == shown(source):
        raise ConfigurationError(
            f"logs copy: --to names the store it copies from ({shown(source)})"
        )
    if not store_exists(source):
        raise ConfigurationError(f"logs copy: there is no store at {shown(source)} to copy from")
    runs, skipped, sessions = copy_store(source, target)
    sys.stderr.write(
        f"agentloop: copied {runs} runs ({skipped} already there) and {sessions} conversations "
        f"from {shown(source)} to {shown(target)}\n"
    )
    return 0


def copy_store(source: Path | str, target: Path | str) -> tuple[int, int, int]:
    """Copy every run and session of ``source`` into ``target``.

    Returns:
        Runs copied, runs skipped (already in the target), conversations brought up to date.

    Raises:
        StorageError: Either store cannot be used.
    """
    from agentloop.logs.pgschema import MIGRATIONS as LOG_PG
    from agentloop.logs.schema import COMPONENT as LOGS
    from agentloop.logs.schema import MIGRATIONS as LOG_SQLITE
    from agentloop.sessions.postgres import PG_MIGRATIONS as SESSION_PG
    from agentloop.sessions.sqlite import COMPONENT as SESSIONS
    from agentloop.sessions.sqlite import MIGRATIONS as SESSION_SQLITE
    from agentloop.storage import open_database

    def both(component: str, sqlite: Any, pg: Any) -> tuple[Any, Any]:
        a = open_database(source, component=component, migrations=sqlite, pg_migrations=pg)
        b = open_database(target, component=component, migrations=sqlite, pg_migrations=pg)
        return a, b

    src, dst = both(LOGS, LOG_SQLITE, LOG_PG)
    try:
        copied, skipped = _copy_runs(src, dst)
    finally:
        src.close()
        dst.close()
    src, dst = both(SESSIONS, SESSION_SQLITE, SESSION_PG)
    try:
        sessions = _copy_sessions(src, dst)
    finally:
        src.close()
        dst.close()
    return copied, skipped, sessions


def _copy_runs(src: Any, dst: Any) -> tuple[int, int]:
    copied = skipped = 0
    marks = ", ".join("?" for _ in _RUN_COLUMNS.split(","))
    for run in src.query(f"SELECT n, {_RUN_COLUMNS} FROM runs ORDER BY n"):
        values = tuple(run)[1:]
        with dst.transaction() as conn:
            row = conn.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({marks}) "
                "ON CONFLICT (id) DO NOTHING RETURNING n",
                values,
            ).fetchone()
            if row is None:
                skipped += 1
                continue
            events = src.query(
                "SELECT seq, type, time, data FROM events WHERE run = ? ORDER BY seq", (run["n"],)
            )
            conn.executemany(
                "INSERT INTO events (run, seq, type, time, data) VALUES (?, ?, ?, ?, ?)",
                [(row[0], *tuple(e)) for e in events],
            )
            copied += 1
    return copied, skipped


def _copy_sessions(src: Any, dst: Any) -> int:
    count = 0
    for session in src.query("SELECT id, created_at, updated_at, metadata FROM sessions"):
        messages = src.query(
            "SELECT position, message, created_at FROM session_messages WHERE session_id = ? "
            "ORDER BY position",
            (session["id"],),
        )
        with dst.transaction() as conn:
            conn.execute(
                "INSERT INTO sessions (id, created_at, updated_at, metadata) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                tuple(session),
            )
            conn.executemany(
                "INSERT INTO session_messages (session_id, position, message, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (session_id, position) DO NOTHING",
                [(session["id"], *tuple(m)) for m in messages],
            )
        count += 1
    return count
