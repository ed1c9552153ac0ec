"""Helpers shared by the client tests: a fake clock and a client factory."""

from __future__ import annotations

from typing import Any

from agentloop.client.chat import ChatClient
from agentloop.client.retry import Clock

KEY = "sk-test-SECRET-0123456789abcdef"
USER = [{"role": "user", "content": "hi"}]


class FakeClock(Clock):
    """Records sleeps instead of sleeping; fixed wall time and jitter."""

    def __init__(self, now: float = 1_700_000_000.0, rand: float = 0.5) -> None:
        self.sleeps: list[float] = []
        self.now = now
        self.rand = rand

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))

    def time(self) -> float:
        return self.now

    def random(self) -> float:
        return self.rand


def make_client(server: Any, clock: Clock | None = None, **kw: Any) -> ChatClient:
    """A client for the fake server with the test key and (by default) a fake clock."""
    kw.setdefault("api_key", KEY)
    kw.setdefault("timeout", (2.0, 2.0))
    return ChatClient(base_url=server.base_url, clock=clock or FakeClock(), **kw)
