"""The same server over streamable HTTP on 127.0.0.1: tools, structured results, list_changed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from agentloop_mcp import MCPServer
from mcp_support import demo_over_http, tool_messages

from agentloop import Agent
from agentloop.testing import ScriptedModel, tool_call, tool_calls_response


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with demo_over_http() as address:
        yield address


def test_tools_and_calls_over_http(url: str) -> None:
    server = MCPServer.http(url, headers={"X-Test": "1"}, name="remote", prefix="web")
    model = ScriptedModel(
        [
            tool_calls_response(
                tool_call("web_forecast", {"city": "Oslo"}, id="f"),
                tool_call("web_fail", {"reason": "closed"}, id="e"),
            ),
            "done",
        ]
    )
    with Agent(model, plugins=[server]) as agent:
        out = tool_messages(agent.run("go"))
    assert json.loads(out["f"])["city"] == "Oslo"
    assert out["e"] == "error: Error executing tool fail: refused: closed"
    assert "web_place_order" in [t["function"]["name"] for t in model.requests[0]["tools"]]


def test_list_changed_over_http(url: str) -> None:
    server = MCPServer.http(url)
    try:
        assert "extra" not in [t.name for t in server.tools()]
        assert server.call("grow", {}).text == "grown"
        deadline = time.monotonic() + 10
        while "extra" not in [t.name for t in server.tools()] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.call("extra", {}).text == "extra!"
    finally:
        server.close()
