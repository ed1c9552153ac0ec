"""The errors of the MCP plugin, in agentloop's error tree."""

from __future__ import annotations

from agentloop import PluginError, ToolError

__all__ = ["MCPServerError", "MCPToolError"]


class MCPServerError(PluginError):
    """An MCP server could not be started, reached or used (the operator's to fix).

    The message names the server, what went wrong, the server's last stderr
    lines when there are any, and the fix.

    Attributes:
        server: The server's name.
        stderr: The server's last stderr lines (stdio servers), oldest first.
    """

    def __init__(self, message: str, *, server: str, stderr: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.server = server
        self.stderr = stderr


class MCPToolError(ToolError):
    """A call to an MCP tool failed; the message is what the model reads.

    Attributes:
        server: The server's name.
        status: The result status the failure maps to (``error`` or ``timeout``).
    """

    def __init__(self, message: str, *, server: str, status: str = "error") -> None:
        super().__init__(message)
        self.server = server
        self.status = status
