"""Shared pytest fixtures."""

from __future__ import annotations

# -- client area: a real scripted HTTP server on 127.0.0.1 (see tests/fakeserver.py) ------
import pytest as _pytest_fake  # noqa: E402

try:  # tests/ is on sys.path under pytest's rootdir-based import mode
    from fakeserver import FakeServer as _FakeServer  # noqa: E402
except ImportError:  # pragma: no cover - when tests/ is a package
    from tests.fakeserver import FakeServer as _FakeServer  # noqa: E402


@_pytest_fake.fixture
def fake_server():
    """A started :class:`fakeserver.FakeServer`; script replies with ``fake_server.script(...)``."""
    with _FakeServer() as server:
        yield server
