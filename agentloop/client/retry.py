"""When to retry a model call and how long to wait, like openai-python (internal).

Retried: connection errors, timeouts, HTTP 408, 409, 429 and 5xx, unless the
server says otherwise with ``x-should-retry`` (or a 5xx body says the request
failed validation, which no retry can fix). The wait is ``retry-after-ms``,
else ``Retry-After`` (seconds or an HTTP date), else Gemini's
``RetryInfo.retryDelay`` in the body, honoured up to a cap (above it the call
fails fast); otherwise exponential backoff ``min(0.5 * 2**n, 8) * U(0.75, 1]``.
All waiting goes through a :class:`Clock`, which tests replace.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentloop.wire.errors import is_request_validation_error

__all__ = ["Clock", "RetryPolicy", "parse_retry_after"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class Clock:
    """Real time. Tests pass a subclass that records sleeps instead of sleeping."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        time.sleep(seconds)

    def time(self) -> float:
        """Wall-clock Unix time (``Retry-After`` dates)."""
        return time.time()

    def random(self) -> float:
        """A float in [0, 1) (backoff jitter)."""
        return random.random()


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Return the server's requested wait in seconds, or None when absent or unusable.

    Args:
        headers: Response headers (case-insensitive mapping).
        now: The current Unix time, for HTTP-date values.

    Returns:
        A finite, positive number of seconds, or None.
    """
    value = headers.get("retry-after-ms")
    if value is not None:
        seconds = _finite(value)
        if seconds is not None:
            return _positive(seconds / 1000.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _finite(value)
    if seconds is None:
        try:
            parsed = email.utils.parsedate_tz(value)
            if parsed is None:
                return None
            seconds = float(email.utils.mktime_tz(parsed)) - now
        except (TypeError, ValueError, OverflowError):
            return None
    return _positive(seconds)


def body_retry_delay(detail: Any) -> float | None:
    """Return Gemini's ``RetryInfo.retryDelay`` (``"27s"``) from an error object, if any."""
    if not isinstance(detail, Mapping):
        return None
    for item in detail.get("details") or ():
        if isinstance(item, Mapping) and isinstance(item.get("retryDelay"), str):
            match = _DURATION.match(item["retryDelay"])
            if match:
                return _positive(float(match.group(1)))
    return None


def is_quota_exhausted(detail: Any) -> bool:
    """Whether a 429 means "out of quota" (retrying will not help) rather than "slow down"."""
    if not isinstance(detail, Mapping):
        return False
    if detail.get("code") == "insufficient_quota" or detail.get("type") == "insufficient_quota":
        return True
    for item in detail.get("details") or ():
        for violation in (item.get("violations") or ()) if isinstance(item, Mapping) else ():
            quota = str(violation.get("quotaId", "")) if isinstance(violation, Mapping) else ""
            if "PerDay" in quota:
                return True
    return False


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Retry rules for one client.

    Attributes:
        max_retries: Retries after the first attempt (openai-python's default: 2).
        initial_delay: Backoff base in seconds.
        max_delay: Backoff cap in seconds.
        max_retry_after: The longest server-requested wait honoured; a longer
            one makes the call fail at once instead.
        clock: Sleep, time and randomness.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    clock: Clock = field(default_factory=Clock)

    def should_retry_status(
        self, status: int, headers: Mapping[str, str], detail: Any = None
    ) -> bool:
        """Whether an error status may be retried (before counting attempts)."""
        override = (headers.get("x-should-retry") or "").strip().lower()
        if override in ("true", "false"):
            return override == "true"
        if status == 429:
            return not is_quota_exhausted(detail)
        if status >= 500 and is_request_validation_error(detail):
            return False  # the same request fails the same way (llama-cpp-python: 500)
        return status in (408, 409) or status >= 500

    def delay(
        self, retries_taken: int, headers: Mapping[str, str] | None = None, detail: Any = None
    ) -> float | None:
        """Return how long to sleep before the next attempt, or None to give up.

        Args:
            retries_taken: Retries already made.
            headers: The failed response's headers (None for connection errors).
            detail: The decoded error object, for Gemini's ``retryDelay``.

        Returns:
            Seconds to sleep, or None when retries are exhausted or the server
            asked for a wait above ``max_retry_after``.
        """
        if retries_taken >= self.max_retries:
            return None
        requested = None
        if headers is not None:
            requested = parse_retry_after(headers, self.clock.time())
        if requested is None:
            requested = body_retry_delay(detail)
        if requested is not None:
            return requested if requested <= self.max_retry_after else None
        base = min(self.initial_delay * 2.0**retries_taken, self.max_delay)
        return base * (1.0 - 0.25 * self.clock.random())


def _finite(value: str) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _positive(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) and seconds > 0 else None
