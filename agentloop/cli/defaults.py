"""The user's own defaults: ``agentloop models default [MODEL]``, and the offline notice's memory.

The default model is kept in ``config.json`` in the user config folder
(:func:`agentloop.userdirs.user_dir`, next to the key store): ``{"default_model": "..."}``.
It is used when neither ``--model``, ``AGENTLOOP_MODEL`` nor a config file names a model.

The "no model configured" notice is shown once per terminal session: a marker file per
session id (``os.getsid``) in the user data folder says it was shown. This module imports
only the standard library at load time.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["CONFIG_FILE", "load_default_model", "notice_due", "save_default_model"]

CONFIG_FILE = "config.json"
_KEY = "default_model"
_NOTICES = "notices"
_STALE = 7 * 86400  # markers of sessions older than a week are removed


def _config_path() -> Path:
    from agentloop.userdirs import user_dir

    return user_dir("config") / CONFIG_FILE


def _read() -> dict[str, Any]:
    from agentloop.errors import ConfigurationError

    path = _config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot read the user config {path}: {exc}; fix or delete it "
            "(agentloop models default MODEL writes a new one)"
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"the user config {path} must hold a JSON object; delete it")
    return data


def load_default_model() -> str | None:
    """The user's default model string, or None when none is set.

    Raises:
        ConfigurationError: The file cannot be read or is not a JSON object.
    """
    from agentloop.errors import ConfigurationError

    value = _read().get(_KEY)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"{_KEY} in {_config_path()} must be a model string; "
            "set it with: agentloop models default MODEL"
        )
    return value.strip()


def save_default_model(model: str | None) -> Path:
    """Store (or with None remove) the default model; return the file's path.

    Raises:
        ConfigurationError: The folder cannot be written.
    """
    from agentloop.errors import ConfigurationError

    data = _read()
    if model is None:
        data.pop(_KEY, None)
    else:
        data[_KEY] = model
    path = _config_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigurationError(f"cannot write the user config {path}: {exc.strerror}") from None
    return path


def notice_due(verbose: bool) -> bool:
    """Whether to print the offline notice now: with ``-v`` always; else once per terminal.

    Without ``-v`` it is shown only when stderr is a terminal, and only the first time in
    that terminal session; pipes, CI and scripts never get it (their output is read by
    programs, and the answer says what it is).
    """
    if verbose:
        return True
    try:
        if not sys.stderr.isatty():
            return False
    except (AttributeError, ValueError):
        return False
    getsid = getattr(os, "getsid", None)
    if getsid is None:  # no session ids (Windows): every run on a terminal says it
        return True
    from agentloop.userdirs import user_dir

    folder = user_dir("data") / _NOTICES
    marker = folder / f"offline-{getsid(0)}"
    if marker.exists():
        return False
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale(folder)
        marker.write_text("the offline-model notice was shown in this terminal session\n")
    return True


def _remove_stale(folder: Path) -> None:
    now = time.time()
    for old in folder.glob("offline-*"):
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > _STALE:
                old.unlink()
