"""Where the run log lives: ``$AGENTLOOP_HOME``, else the platform's user data directory.

================  ==================================================
platform          folder
================  ==================================================
any               ``$AGENTLOOP_HOME`` when set
Linux, BSD        ``$XDG_DATA_HOME/agentloop`` (``~/.local/share/agentloop``)
macOS             ``~/Library/Application Support/agentloop``
Windows           ``%LOCALAPPDATA%\\agentloop``
================  ==================================================

The database is ``logs.db`` in that folder; ``agentloop logs off`` creates the file
``logs-off`` next to it (and ``logs on`` removes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from agentloop.userdirs import HOME_ENV, user_dir

__all__ = ["DB_NAME", "HOME_ENV", "OFF_MARKER", "data_dir", "log_path", "logging_enabled"]

DB_NAME = "logs.db"
OFF_MARKER = "logs-off"


def data_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The folder of agentloop's user data (not created here; see :mod:`agentloop.userdirs`).

    Args:
        env: The environment (default ``os.environ``).
        platform: ``sys.platform`` (for tests).
    """
    return user_dir("data", env, platform)


def log_path(env: Mapping[str, str] | None = None) -> Path:
    """The run log's database file."""
    return data_dir(env) / DB_NAME


def logging_enabled(env: Mapping[str, str] | None = None) -> bool:
    """False after ``agentloop logs off`` (the ``logs-off`` marker exists)."""
    return not (data_dir(env) / OFF_MARKER).exists()
