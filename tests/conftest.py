"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakeserver import FakeServer


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A started :class:`fakeserver.FakeServer`; script replies with ``fake_server.script(...)``."""
    with FakeServer() as server:
        yield server
