"""The SDK's own client calls ``agentloop mcp serve`` (stdio and streamable HTTP)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_support import SERVERS

TOOLS = str(SERVERS / "served_tools.py")


def _serve_args(*extra: str) -> list[str]:
    return ["-m", "agentloop", "mcp", "serve", TOOLS, *extra]


async def _session(client: Client) -> dict[str, Any]:
    listed = await client.list_tools()
    calls = {
        "add": await client.call_tool("add", {"a": 2, "b": 40}),
        "bad": await client.call_tool("add", {"a": "two", "b": 40}),
        "wipe": await client.call_tool("wipe", {"confirm": True}),
        "explode": await client.call_tool("explode", {}),
        "parallel": await asyncio.gather(
            *(client.call_tool("add", {"a": i, "b": 1}) for i in range(5))
        ),
    }
    return {"tools": {t.name: t for t in listed.tools}, **calls}


def _text(result: Any) -> str:
    return "".join(block.text for block in result.content)


def test_an_mcp_client_uses_agentloop_tools_over_stdio() -> None:
    params = StdioServerParameters(command=sys.executable, args=_serve_args())
    out = asyncio.run(_run(Client(params)))
    tools = out["tools"]
    assert sorted(tools) == ["add", "explode", "wipe"]
    assert tools["add"].input_schema["properties"]["a"]["type"] == "integer"
    assert tools["add"].description == "Add two integers."
    assert _text(out["add"]) == "42" and not out["add"].is_error
    # the same validation as in a run: agentloop's message, the tool never called
    assert out["bad"].is_error and "invalid arguments for tool 'add'" in _text(out["bad"])
    # requires_approval: nobody approved, so it is denied
    assert out["wipe"].is_error and "denied" in _text(out["wipe"])
    assert out["explode"].is_error and _text(out["explode"]) == "error: kaboom"
    assert [_text(r) for r in out["parallel"]] == ["1", "2", "3", "4", "5"]


def test_approve_lets_an_approval_requiring_tool_run() -> None:
    params = StdioServerParameters(command=sys.executable, args=_serve_args("--approve", "wipe"))

    async def session() -> Any:
        async with Client(params) as client:
            return await client.call_tool("wipe", {"confirm": True})

    wiped = asyncio.run(session())
    assert _text(wiped) == "wiped" and not wiped.is_error


def test_serve_tools_of_installed_plugins_by_name() -> None:
    """``-T calculate``: a tool from the registry (the agentloop-calculator distribution)."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "agentloop", "mcp", "serve", "-T", "calculate"]
    )

    async def session() -> tuple[list[str], Any]:
        async with Client(params) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            return names, await client.call_tool("calculate", {"expression": "12 * (3 + 4)"})

    names, result = asyncio.run(session())
    assert names == ["calculate"] and _text(result) == "84"


async def _run(client: Client) -> dict[str, Any]:
    async with client:
        return await _session(client)


def test_an_mcp_client_uses_agentloop_tools_over_http() -> None:
    proc = subprocess.Popen(
        [sys.executable, *_serve_args("--http", "--port", "0")],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("agentloop: serving MCP at http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1].strip()
        out = asyncio.run(_run(Client(url)))
        assert _text(out["add"]) == "42" and out["wipe"].is_error
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_needs_tools_or_a_target() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentloop", "mcp", "serve"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "agentloop: error: name the tools to serve (-T NAME) or a TARGET file whose tools to serve"
    )
    done = subprocess.run(
        [sys.executable, "-m", "agentloop", "mcp", "serve", "-T", "calculat"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "calculat" in done.stderr and "calculate" in done.stderr  # the close match


@pytest.mark.parametrize("flag", ["--http"])
def test_serve_help_mentions_the_transport(flag: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentloop", "mcp", "serve", "--help"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and flag in done.stdout
