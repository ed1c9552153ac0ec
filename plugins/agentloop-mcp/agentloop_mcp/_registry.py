"""The configured MCP servers in the tool registry (the installed plugin's hooks).

Each ``[mcp.servers.NAME]`` of the config file in the current directory
(``agentloop.toml``, or ``[tool.agentloop.mcp.servers.NAME]`` in
``pyproject.toml``) is offered as a toolset named ``NAME``: an agent that
asks for it (``Agent(tools=["NAME"])``, ``agentloop run -T NAME``, or
``tools = ["NAME"]`` in the config) gets all of that server's tools, and
nothing starts until one does. These servers are shared by the agents of
the process and stop when it exits.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from agentloop import Tool, ToolCall, ToolResult, Toolset, hookimpl, read_config_table

from ._config import servers_from_config
from ._server import MCPServer
from ._tools import Remote

__all__ = ["agentloop_call_tool", "agentloop_register_tools", "configured_servers"]

_lock = threading.Lock()
_servers: dict[tuple[str, str, str], MCPServer] = {}
_BAD = re.compile(r"[^A-Za-z0-9_-]+")


def configured_servers(cwd: Path | None = None) -> list[MCPServer]:
    """The servers of the config file's ``[mcp.servers]``, one object per entry per process.

    Raises:
        ConfigurationError: The config file or an entry is malformed.
    """
    path, table = read_config_table("mcp", cwd)
    if not table:
        return []
    servers = []
    with _lock:
        for server in servers_from_config(table, source=str(path)):
            key = (str(path), server.name, repr(server.endpoint) + repr(sorted(vars(server))))
            servers.append(_servers.setdefault(key, server))
    return servers


@hookimpl
def agentloop_register_tools() -> list[Toolset]:
    """Offer each configured server as a toolset named after it (built when chosen)."""
    return [
        Toolset(
            name=_BAD.sub("_", server.name)[:64] or "mcp",
            build=server.tools,
            description=f"MCP server ({server.endpoint.describe()}): all of its tools",
        )
        for server in configured_servers()
    ]


@hookimpl
def agentloop_call_tool(call: ToolCall, tool: Tool, arguments: dict[str, Any]) -> ToolResult | None:
    """Run calls of MCP tools that reached an agent through the registry."""
    remote = tool.fn
    if not isinstance(remote, Remote):
        return None
    result: ToolResult | None = remote.server.agentloop_call_tool(
        call=call, tool=tool, arguments=arguments
    )
    return result
