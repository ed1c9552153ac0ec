"""Time limits of a model call: connect, read, and an overall deadline (internal).

``requests`` only knows per-operation timeouts: its read timeout bounds the
silence between bytes, not the whole download, so a server that trickles a
byte now and then never times out. :class:`Deadline` is the missing overall
bound; the client shortens every timeout to what is left of it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from agentloop.errors import APITimeoutError, ConfigurationError

__all__ = ["DEFAULT_TIMEOUT", "Deadline", "Timeout", "as_timeout"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Timeout:
    """Time limits of one call, in seconds (None: no limit).

    Attributes:
        connect: To open the TCP/TLS connection.
        read: The longest silence between bytes from the server.
        total: The whole call: every attempt, retry wait and streamed byte.
    """

    connect: float | None = 5.0
    read: float | None = 300.0
    total: float | None = 600.0


DEFAULT_TIMEOUT = Timeout()


def as_timeout(value: Any) -> Timeout:
    """Accept seconds (the overall limit), a ``(connect, read)`` tuple or a :class:`Timeout`."""
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, Timeout):
        timeout = value
    elif _is_seconds(value):
        timeout = Timeout(connect=min(5.0, float(value)), read=float(value), total=float(value))
    elif isinstance(value, tuple) and len(value) == 2:
        timeout = Timeout(connect=value[0], read=value[1])
    else:
        raise ConfigurationError(
            f"timeout={value!r}: expected seconds (the overall limit), a (connect, read) tuple "
            "or agentloop.client.chat.Timeout(connect=, read=, total=)"
        )
    for name in ("connect", "read", "total"):
        seconds = getattr(timeout, name)
        if seconds is not None and not _is_seconds(seconds):
            raise ConfigurationError(
                f"timeout={value!r}: {name} must be a positive number of seconds or None"
            )
    return timeout


def _is_seconds(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf


@dataclass(frozen=True, slots=True)
class Deadline:
    """The monotonic time by which a call must be over (None: no deadline)."""

    at: float | None
    total: float | None

    @classmethod
    def start(cls, total: float | None) -> Deadline:
        """Return a deadline ``total`` seconds from now."""
        if total is None:
            return cls(None, None)
        return cls(time.monotonic() + total, total)

    def remaining(self) -> float | None:
        """Seconds left (may be negative), or None without a deadline."""
        return None if self.at is None else self.at - time.monotonic()

    def bound(self, seconds: float | None) -> float | None:
        """Return ``seconds`` shortened to what is left; raise when nothing is left."""
        left = self.remaining()
        if left is None:
            return seconds
        if left <= 0:
            raise self.expired()
        return left if seconds is None else min(seconds, left)

    def expired(self) -> APITimeoutError:
        """The error for a call that ran past its deadline."""
        return APITimeoutError(f"the request did not finish within its {self.total:g} s deadline")
