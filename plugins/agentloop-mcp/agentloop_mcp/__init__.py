"""agentloop plugin: tools from any MCP server, and agentloop's tools as an MCP server.

Use an MCP server's tools in an agent::

    from agentloop import Agent
    from agentloop_mcp import MCPServer

    with Agent(plugins=[MCPServer.stdio("python", args=["server.py"])]) as agent:
        agent.run("...")

Built on the official ``mcp`` SDK (2.x), which only this distribution depends
on. Each :class:`MCPServer` instance is a plugin. Installed, the module offers
the servers of the config file's ``[mcp.servers.NAME]`` tables by name in the
tool registry (``agentloop run -T NAME``); nothing starts until an agent asks.
"""

from __future__ import annotations

from ._config import servers_from_config, servers_from_specs
from ._errors import MCPServerError, MCPToolError
from ._registry import agentloop_call_tool, agentloop_register_tools, configured_servers
from ._serve import ServeModel, build_server, serve
from ._server import MCPServer

__all__ = [
    "MCPServer",
    "MCPServerError",
    "MCPToolError",
    "ServeModel",
    "agentloop_call_tool",
    "agentloop_register_tools",
    "build_server",
    "configured_servers",
    "serve",
    "servers_from_config",
    "servers_from_specs",
]
