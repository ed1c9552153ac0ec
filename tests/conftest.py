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


@pytest.fixture(autouse=True, scope="session")
def _private_user_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """CLI runs log to the user data dir: keep the tests' runs out of the real one."""
    import os

    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("user-data"))
    yield
    if saved is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = saved


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """A real PostgreSQL server for this test process (see :mod:`pg_support`)."""
    from pg_support import start_postgres

    server = start_postgres()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """A fresh, empty store of each backend: a SQLite file path, or a new PostgreSQL database."""
    import uuid

    if request.param == "sqlite":
        return str(tmp_path) + "/store.db"
    server = request.getfixturevalue("pg_server")
    return server.create_database("t" + uuid.uuid4().hex[:12])
