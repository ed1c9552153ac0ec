"""Default server names: the package, not a generic file or folder name such as index or dist."""

from __future__ import annotations

import pytest
from agentloop_mcp import MCPServer


@pytest.mark.parametrize(
    ("command", "args", "name"),
    [
        ("node", ["/opt/mcp/weather-tools/dist/index.js"], "weather-tools"),
        ("node", ["/x/node_modules/@acme/server-files/build/main.js", "/tmp"], "server-files"),
        ("python3", ["/srv/stock-quotes/src/server.py"], "stock-quotes"),
        ("python", ["weather.py"], "weather"),
        ("npx", ["-y", "@modelcontextprotocol/server-everything@1.2.0"], "server-everything"),
        ("uvx", ["mcp-server-time"], "mcp-server-time"),
        ("python", ["-m", "mcp_server_fetch"], "mcp_server_fetch"),
        ("docker", ["run", "-i", "--rm", "mcp/fetch"], "fetch"),
        ("/usr/local/bin/github-mcp", [], "github-mcp"),
    ],
)
def test_a_server_is_named_after_its_package(command: str, args: list[str], name: str) -> None:
    assert MCPServer.stdio(command, args=args).name == name


def test_a_relative_generic_script_is_named_after_its_folder() -> None:
    server = MCPServer.stdio("node", args=["dist/index.js"], cwd="/home/me/issue-tracker")
    assert server.name == "issue-tracker"


def test_the_prefix_uses_the_derived_name() -> None:
    server = MCPServer.stdio("node", args=["/opt/weather-tools/dist/index.js"], prefix=True)
    assert server.prefix == "weather-tools_"
