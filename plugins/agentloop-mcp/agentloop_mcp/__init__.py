"""agentloop plugin: tools from any MCP server, and agentloop's tools as an MCP server.

Use an MCP server's tools in an agent::

    from agentloop import Agent
    from agentloop_mcp import MCPServer

    with Agent(plugins=[MCPServer.stdio("python", args=["server.py"])]) as agent:
        agent.run("...")

Built on the official ``mcp`` SDK (2.x), which only this distribution depends
on. The module itself implements no hooks: each :class:`MCPServer` instance is
the plugin, so installing the distribution changes nothing until you use it.
"""

from __future__ import annotations

from ._config import servers_from_config, servers_from_specs
from ._errors import MCPServerError, MCPToolError
from ._serve import ServeModel, build_server, serve
from ._server import MCPServer

__all__ = [
    "MCPServer",
    "MCPServerError",
    "MCPToolError",
    "ServeModel",
    "build_server",
    "serve",
    "servers_from_config",
    "servers_from_specs",
]
