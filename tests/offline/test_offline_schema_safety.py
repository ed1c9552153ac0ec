"""Schemas that reach the offline model from outside (any client of ``agentloop serve``)
are never fetched and never run a backtracking pattern (issue 19).

The remote ``$ref`` points at a real HTTP server on 127.0.0.1 that records every
request: it must record none. The requests go to a real ``serve`` on 127.0.0.1.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fakeserver import FakeServer, json_reply

from agentloop.offline.model import OfflineModel
from agentloop.offline.schemas import is_valid
from agentloop.server.app import ModelServer, make_server


@pytest.fixture
def remote(fake_server: FakeServer) -> str:
    """A URL serving a valid schema; any request to it is recorded."""
    fake_server.default = json_reply({"type": "string"})
    return f"{fake_server.url}/schema.json"


@pytest.fixture
def serve() -> Iterator[ModelServer]:
    srv = make_server(OfflineModel(), port=0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join()


def _ask(srv: ModelServer, parameters: dict[str, Any]) -> requests.Response:
    host, port = srv.server_address[:2]
    body = {
        "model": "offline",
        "messages": [{"role": "user", "content": "look up abc"}],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": parameters}}],
    }
    return requests.post(f"http://{host}:{port}/v1/chat/completions", json=body, timeout=30)


def _with(sub: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"code": sub}, "required": ["code"]}


def test_is_valid_never_fetches_a_remote_ref(remote: str, fake_server: FakeServer) -> None:
    assert is_valid({"$ref": remote}, "text") is False  # unresolvable, not fetched
    assert fake_server.requests == [] and fake_server.connections == 0


def test_serve_refuses_a_tool_schema_with_a_remote_ref(
    serve: ModelServer, remote: str, fake_server: FakeServer
) -> None:
    reply = _ask(serve, _with({"$ref": remote}))
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["param"] == "tools[0].function.parameters"
    assert "does not point inside" in error["message"]
    assert fake_server.requests == [] and fake_server.connections == 0


@pytest.mark.parametrize(
    ("sub", "words"),
    [
        ({"type": "string", "pattern": "^(a+)+$"}, "exponential"),
        ({"$ref": "#/properties/code"}, "$ref loop"),
    ],
    ids=["catastrophic-pattern", "ref-loop"],
)
@pytest.mark.timeout(60)
def test_serve_refuses_unbounded_schemas_with_a_400(
    serve: ModelServer, sub: dict[str, Any], words: str
) -> None:
    reply = _ask(serve, _with(sub))
    assert reply.status_code == 400, reply.text
    assert words in reply.json()["error"]["message"]


def test_a_safe_schema_still_gets_a_tool_call(serve: ModelServer) -> None:
    reply = _ask(serve, _with({"type": "string", "pattern": "^[a-z]+$"}))
    assert reply.status_code == 200, reply.text
    calls = reply.json()["choices"][0]["message"]["tool_calls"]
    assert calls[0]["function"]["name"] == "lookup"
