"""The user's key store: API keys saved by ``agentloop keys set PROVIDER``.

Keys are looked up *after* the environment: a provider's key variables
(``OPENAI_API_KEY``, ...) win, the store comes next. The store is one JSON
file, ``keys.json``, readable and writable by its owner only (mode 0600), in

================  ==================================================
platform          folder
================  ==================================================
any               ``$AGENTLOOP_HOME`` when set
Linux, BSD        ``$XDG_CONFIG_HOME/agentloop`` (``~/.config/agentloop``)
macOS             ``~/Library/Application Support/agentloop``
Windows           ``%APPDATA%\\agentloop``
================  ==================================================

A store that others may read (group or world permission bits) is refused
with a one-line error saying to ``chmod 600`` it. Key values are never
printed, logged or put in an error message.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets as _random
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from agentloop.errors import ConfigurationError
from agentloop.secrets import remember
from agentloop.userdirs import HOME_ENV, user_dir

__all__ = ["HOME_ENV", "KEYS_FILE", "config_dir", "delete_key", "key_store_path", "load_keys",
           "save_key", "stored_key"]  # fmt: skip

KEYS_FILE = "keys.json"


def config_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The folder of agentloop's user configuration (not created here; see :mod:`agentloop.userdirs`)."""
    return user_dir("config", env, platform)


def key_store_path(env: Mapping[str, str] | None = None) -> Path:
    """The key store file."""
    return config_dir(env) / KEYS_FILE


def load_keys(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every stored key by provider name (``{}`` when there is no store).

    Raises:
        ConfigurationError: The store is readable by others, or is not a JSON object of strings.
    """
    path = key_store_path(env)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigurationError(f"cannot read the key store {path}: {exc.strerror}") from None
    if os.name == "posix" and mode & 0o077:
        raise ConfigurationError(
            f"the key store {path} may be read by other users (mode {mode & 0o777:o}); "
            f"fix it with: chmod 600 {path}"
        )
    data = _read(path)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ConfigurationError(
            f"the key store {path} is damaged (not a JSON object of provider: key); "
            f"delete it and set the keys again with agentloop keys set PROVIDER"
        )
    remember(*data.values())  # every writer (trace, log, cassette, sessions) redacts them
    return data


def _read(path: Path) -> object:
    """The store's JSON; never blocks (a FIFO or device at its name is not a store)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigurationError(f"cannot read the key store {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigurationError(
                f"the key store {path} is not a regular file; remove it and set the keys again "
                "with agentloop keys set PROVIDER"
            )
        try:
            return json.loads(handle.read(1 << 20).decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            return None


@contextlib.contextmanager
def _locked(env: Mapping[str, str] | None) -> Iterator[None]:
    """Hold the store's lock file (``.keys.lock``) around a load-modify-write."""
    path = key_store_path(env)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path.with_name(".keys.lock"), os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
    except OSError as exc:
        raise ConfigurationError(f"cannot lock the key store {path}: {exc.strerror}") from None
    try:
        try:
            import fcntl
        except ImportError:  # Windows: os.replace is atomic; concurrent sets may race
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def stored_key(provider: str, env: Mapping[str, str] | None = None) -> str | None:
    """The stored key of ``provider``, or None.

    Raises:
        ConfigurationError: As :func:`load_keys`.
    """
    value = load_keys(env).get(provider, "").strip()
    return value or None


def save_key(provider: str, key: str, env: Mapping[str, str] | None = None) -> Path:
    """Store ``key`` for ``provider`` (replacing an earlier one); return the store's path.

    The folder is created with mode 0700 and the file written with mode 0600,
    atomically (a new file, then renamed over the old one).

    Raises:
        ConfigurationError: The key is empty, or the store cannot be read or written.
    """
    if not key.strip():
        raise ConfigurationError(f"the key for {provider!r} is empty; nothing was stored")
    with _locked(env):
        keys = load_keys(env)
        keys[provider] = key.strip()
        return _write(keys, env)


def delete_key(provider: str, env: Mapping[str, str] | None = None) -> bool:
    """Remove the stored key of ``provider``; return whether there was one."""
    with _locked(env):
        keys = load_keys(env)
        if keys.pop(provider, None) is None:
            return False
        _write(keys, env)
    return True


def _write(keys: dict[str, str], env: Mapping[str, str] | None) -> Path:
    path = key_store_path(env)
    # a new name in the same folder, never an existing file or a planted symlink
    tmp = path.with_name(f".{KEYS_FILE}.{os.getpid()}.{_random.token_hex(8)}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600) if hasattr(os, "fchmod") else None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(keys, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    except FileExistsError:
        raise ConfigurationError(f"cannot write the key store {path}: {tmp.name} exists") from None
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigurationError(f"cannot write the key store {path}: {exc.strerror}") from None
    return path
