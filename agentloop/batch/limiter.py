"""One rate limit shared by every run of a batch: requests and tokens per minute.

:class:`RateLimiter` is a thread-safe token bucket with reservations: each
model request takes one request token before it is sent, waiting (outside
the lock) until its reserved slot comes, so concurrent workers are served in
order without a thundering herd. Tokens are not known before a request, so a
request waits until the token bucket is not in debt, and its real usage is
charged when the response arrives (the bucket may go negative; later requests
wait for it to refill). On Ray the same object lives in one actor
(:mod:`agentloop.batch.ray_engine`), so the limit is global to the cluster.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from agentloop.errors import ConfigurationError

if TYPE_CHECKING:
    from agentloop.batch.scope import CancelScope

__all__ = ["RateLimiter"]


class RateLimiter:
    """Requests per minute and tokens per minute, for any number of threads.

    Args:
        rpm: Requests per minute, or None for no request limit.
        tpm: Tokens per minute (prompt + completion), or None for no token limit.
        burst: Seconds of rate that may be used at once after a pause (default 1 s,
            at least one request).
        clock: Monotonic time source (tests pass a fake).

    Raises:
        ConfigurationError: A limit is not a positive number.
    """

    def __init__(
        self,
        *,
        rpm: float | None = None,
        tpm: float | None = None,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm), ("burst", burst)):
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise ConfigurationError(f"{name} must be a positive number, got {value!r}")
        self.rpm = rpm
        self.tpm = tpm
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._req_rate = rpm / 60.0 if rpm else 0.0
        self._req_cap = max(1.0, self._req_rate * burst) if rpm else 0.0
        self._req_level, self._req_time = self._req_cap, now
        self._tok_rate = tpm / 60.0 if tpm else 0.0
        self._tok_cap = max(1.0, self._tok_rate * burst) if tpm else 0.0
        self._tok_level, self._tok_time = self._tok_cap, now
        self.requests = 0
        self.tokens = 0

    def reserve(self) -> float:
        """Take one request now; return how many seconds to wait before sending it."""
        with self._lock:
            self.requests += 1
            now = self._clock()
            wait = 0.0
            if self._req_rate:
                level = min(
                    self._req_cap, self._req_level + (now - self._req_time) * self._req_rate
                )
                level -= 1.0
                self._req_level, self._req_time = level, now
                if level < 0:
                    wait = -level / self._req_rate
            if self._tok_rate:
                level = min(
                    self._tok_cap, self._tok_level + (now - self._tok_time) * self._tok_rate
                )
                self._tok_level, self._tok_time = level, now
                if level < 0:
                    wait = max(wait, -level / self._tok_rate)
            return wait

    def charge(self, tokens: int) -> None:
        """Count the tokens a request used (its response's ``usage.total_tokens``)."""
        with self._lock:
            self.tokens += tokens
            if self._tok_rate:
                self._tok_level -= tokens

    def acquire(self, scope: CancelScope | None = None) -> None:
        """Block until one more request may be sent; returns early if ``scope`` is cancelled."""
        wait = self.reserve()
        if wait > 0:
            if scope is not None:
                scope.wait(wait)
            else:
                time.sleep(wait)

    def __repr__(self) -> str:
        return f"RateLimiter(rpm={self.rpm!r}, tpm={self.tpm!r})"


class RemoteLimiter:
    """A limiter whose bucket lives elsewhere (a Ray actor): asks ``reserve``, sleeps here.

    Args:
        reserve: Returns the seconds to wait before the next request.
        charge: Counts a request's tokens.
    """

    def __init__(self, reserve: Callable[[], float], charge: Callable[[int], None]) -> None:
        self._reserve = reserve
        self._charge = charge

    def acquire(self, scope: CancelScope | None = None) -> None:
        """Block until the shared bucket lets one more request go."""
        wait = self._reserve()
        if wait > 0:
            if scope is not None:
                scope.wait(wait)
            else:
                time.sleep(wait)

    def charge(self, tokens: int) -> None:
        """Count a request's tokens in the shared bucket."""
        self._charge(tokens)
