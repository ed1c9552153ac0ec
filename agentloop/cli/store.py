"""Which store the CLI reads and writes: the SQLite run log, or the team store (PostgreSQL).

In order: ``--db`` (``logs``), ``AGENTLOOP_DATABASE_URL``, ``database_url`` in
``agentloop.toml``, else the SQLite file ``logs.db`` in the user data folder. Every command that
reads the log or continues a conversation (``logs``, ``run -c``/``--cid``, ``view``, ``batch``)
asks this module, so they all see the same store. Only the standard library is imported at load
time.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["shown", "store_exists", "store_target"]


def store_target(explicit: str | None = None) -> Path | str:
    """The store to use: a ``Path`` (SQLite) or a ``postgresql://`` URL (never printed as is).

    Args:
        explicit: A store named on the command line (``--db PATH|URL``).
    """
    if explicit:
        from agentloop.storage import store_target as as_target

        return as_target(explicit)
    url = os.environ.get("AGENTLOOP_DATABASE_URL", "").strip()
    if not url:
        from agentloop.config import load_settings

        url = load_settings(env={}).database_url or ""
    if url:
        return url
    from agentloop.logs.paths import log_path

    return log_path()


def store_exists(target: Path | str) -> bool:
    """Whether there is anything to read: a URL is asked (opening it says), a file must exist."""
    return isinstance(target, str) or target.is_file()


def shown(target: Path | str) -> str:
    """The store as messages show it (a URL without its password)."""
    if isinstance(target, str):
        from agentloop.postgres import display_url

        return display_url(target)
    return str(target)
