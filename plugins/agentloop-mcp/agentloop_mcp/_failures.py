"""Error messages for a server that will not start, dies, or fails a call (internal).

Every message names the server, says what happened, quotes the server's last
stderr lines when there are any, and ends with the fix.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ._connection import Connection, describe_exception
from ._errors import MCPServerError, MCPToolError

if TYPE_CHECKING:
    from ._server import MCPServer

__all__ = ["call_failure", "dead_again", "scrub", "start_failure", "stderr_note"]

CONNECTION_CLOSED = -32000  # mcp_types.CONNECTION_CLOSED


def stderr_note(conn: Connection, wait: float = 0.0) -> str:
    """``; its last stderr lines: ...`` or ``""``."""
    lines = conn.stderr.lines(wait) if conn.stderr is not None else ()
    if not lines:
        return ""
    return "; its last stderr lines: " + " | ".join(lines[-5:])


def _root(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def start_failure(server: MCPServer, conn: Connection, exc: BaseException) -> MCPServerError:
    """The error for a server that could not be started or reached, with the fix."""
    root = _root(exc)
    where = f"MCP server {server.name!r} ({server.endpoint.describe()})"
    lines = conn.stderr.lines(0.5) if conn.stderr is not None else ()
    note = stderr_note(conn)
    if isinstance(root, TimeoutError):
        fix = (
            "check that the command is an MCP server speaking stdio (JSON-RPC on stdin/stdout)"
            if server.endpoint.kind == "stdio"
            else "check that the URL is an MCP endpoint (they usually end in /mcp)"
        )
        message = (
            f"{where} did not complete the MCP handshake within {server.startup_timeout:g} s"
            f"{note}; {fix}, or raise startup_timeout=... if it is slow to start"
        )
    elif isinstance(root, FileNotFoundError) or getattr(root, "errno", None) == errno.ENOENT:
        message = (
            f"{where} could not be started: command {server.endpoint.command!r} was not found; "
            "check the spelling, install it, or give its full path"
        )
    elif isinstance(root, PermissionError):
        message = (
            f"{where} could not be started: {describe_exception(root)}; "
            "make the command executable or run it through its interpreter"
        )
    elif server.endpoint.kind == "stdio":
        message = (
            f"{where} stopped before completing the MCP handshake "
            f"({describe_exception(root)}){note}; run the command by hand to see why"
        )
    else:
        message = (
            f"{where} did not answer as an MCP streamable-HTTP endpoint "
            f"({describe_exception(root)}); check the URL (MCP endpoints usually end in /mcp), "
            "that the server is running, and its headers (e.g. Authorization)"
        )
    return MCPServerError(scrub(server, message), server=server.name, stderr=lines)


def scrub(server: MCPServer, text: str) -> str:
    """Remove the server's secrets from a message: the full URL, header and env values."""
    endpoint = server.endpoint
    if endpoint.url:
        text = text.replace(endpoint.url, endpoint.describe())
    for value in [*endpoint.headers.values(), *(endpoint.env or {}).values()]:
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


def _is_disconnect(exc: BaseException) -> bool:
    import anyio

    root = _root(exc)
    if getattr(root, "code", None) == CONNECTION_CLOSED:
        return True
    return isinstance(
        root, (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, EOFError)
    )


def call_failure(
    server: MCPServer, conn: Connection, tool: str, exc: BaseException
) -> MCPToolError:
    """The error result for a call that got no result from the server."""
    root = _root(exc)
    if isinstance(root, TimeoutError):
        return MCPToolError(
            f"MCP server {server.name!r} did not answer the call to {tool!r} within "
            f"{server.timeout:g} s (the call was cancelled); raise MCPServer(timeout=...) "
            "if the tool is that slow",
            server=server.name,
            status="timeout",
        )
    if _is_disconnect(root) or not conn.alive:
        conn.alive = False
        next_step = (
            "it was already restarted once, so its calls fail from now on; fix the server"
            if server._restarted
            else "it will be restarted for the next call"
        )
        return MCPToolError(
            f"MCP server {server.name!r} ({server.endpoint.describe()}) closed the connection "
            f"during the call to {tool!r}{stderr_note(conn, 1.0)}; {next_step}",
            server=server.name,
        )
    message = getattr(root, "message", None) or describe_exception(root)
    return MCPToolError(
        scrub(server, f"MCP server {server.name!r} rejected the call to {tool!r}: {message}"),
        server=server.name,
    )


def dead_again(server: MCPServer, conn: Connection) -> MCPServerError:
    """The error for every use of the server after its one allowed restart was used up."""
    return MCPServerError(
        f"MCP server {server.name!r} ({server.endpoint.describe()}) is not running: it died "
        f"again after being restarted once{stderr_note(conn)}; fix the server (run "
        "the command by hand to see why), then close the agent to start it again",
        server=server.name,
        stderr=conn.stderr.lines() if conn.stderr is not None else (),
    )
