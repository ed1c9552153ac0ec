"""MCP tools as agentloop :class:`~agentloop.Tool` objects (internal)."""

from __future__ import annotations

import copy
import warnings
from typing import TYPE_CHECKING, Any

from agentloop import AgentloopWarning, Tool, ToolDefinitionError

from ._errors import MCPToolError
from ._naming import local_name

if TYPE_CHECKING:
    from ._server import MCPServer

__all__ = ["Remote", "make_tool"]


class Remote:
    """The ``fn`` of an MCP tool: calling it calls the tool on its server."""

    def __init__(self, server: MCPServer, mcp_name: str) -> None:
        self.server = server
        self.mcp_name = mcp_name
        self.__qualname__ = f"MCPServer({server.name!r}).{mcp_name}"
        self.__doc__ = None

    def __call__(self, **arguments: Any) -> Any:
        mapped = self.server.call(self.mcp_name, arguments)
        if mapped.is_error:
            raise MCPToolError(mapped.text or "the tool failed", server=self.server.name)
        return mapped.value


def make_tool(server: MCPServer, listed: Any) -> Tool | None:
    """One agentloop Tool for one listed MCP tool; None when filtered out or unusable."""
    if not server.allowed(listed.name):
        return None
    if getattr(getattr(listed, "execution", None), "task_support", None) == "required":
        warnings.warn(
            AgentloopWarning(
                f"MCP server {server.name!r}: tool {listed.name!r} left out: it requires "
                'task-augmented execution (execution.taskSupport "required"), which agentloop '
                "does not support, so every call would fail; offer it without taskSupport "
                '"required" in the server'
            ),
            stacklevel=3,
        )
        return None
    name = local_name(server.prefix, listed.name)
    schema = copy.deepcopy(listed.input_schema) if listed.input_schema else {}
    schema.setdefault("type", "object")
    approval = server.requires_approval
    needs = approval if isinstance(approval, bool) else bool({listed.name, name} & approval)
    try:
        return Tool(
            name=name,
            description=listed.description or listed.title or "",
            parameters=schema,
            fn=Remote(server, listed.name),
            requires_approval=needs,
        )
    except ToolDefinitionError as exc:
        warnings.warn(
            AgentloopWarning(
                f"MCP server {server.name!r}: tool {listed.name!r} left out: {exc}; "
                "fix the tool's inputSchema in the server (it must be a JSON Schema object)"
            ),
            stacklevel=2,
        )
        return None
