"""``mcp serve`` over stdio: every line gets an answer, an error one when it is not a request.

The SDK's stdio server drops a line it cannot parse or validate, so the client
would wait on that id forever. Here each line is checked first: one that is not
JSON gets ``-32700``, one that is not a valid JSON-RPC message ``-32600``, one
nested deeper than :data:`MAX_DEPTH` ``-32602``, each with the request's id
when it can be read. Only good lines reach the SDK's server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

__all__ = ["MAX_DEPTH", "check_line", "serve_stdio"]

MAX_DEPTH = 64
"""The deepest nesting of objects and arrays a request may have."""

_ID = re.compile(r'^\s*\{.*?"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)', re.DOTALL)


def _too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects and arrays deeper than ``limit`` (iterative)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def _error(rid: Any, code: int, message: str) -> Any:
    import mcp_types

    return mcp_types.JSONRPCError(
        jsonrpc="2.0", id=rid, error=mcp_types.ErrorData(code=code, message=message)
    )


def _scanned_id(line: str) -> Any:
    """The id of a line too deep to decode, when it comes before the deep part."""
    found = _ID.match(line[:10_000])
    if found is None:
        return None
    with contextlib.suppress(ValueError):
        return json.loads(found.group(1))
    return None


def check_line(line: str) -> Any:
    """The JSON-RPC error answering ``line``, or None when the line may go to the server."""
    import mcp_types
    import pydantic

    try:
        value = json.loads(line)
    except RecursionError:
        return _error(_scanned_id(line), -32602, f"Invalid params: nested deeper than {MAX_DEPTH}")
    except ValueError as exc:
        return _error(None, -32700, f"Parse error: {exc}")
    rid = value.get("id") if isinstance(value, dict) else None
    if isinstance(rid, bool) or not isinstance(rid, (int, str)):
        rid = None
    if isinstance(value, (dict, list)) and _too_deep(value, MAX_DEPTH):
        return _error(rid, -32602, f"Invalid params: nested deeper than {MAX_DEPTH} levels")
    try:
        mcp_types.jsonrpc_message_adapter.validate_python(value, by_name=False)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "the message"
        return _error(rid, -32600, f"Invalid Request: {where}: {first['msg']}")
    return None


class _CheckedStdin:
    """The wire's lines for the SDK's stdio server, answering the bad ones itself.

    Lines are read on a daemon thread, so a process ended by a signal never waits
    for a read of stdin that may block forever.
    """

    def __init__(self, fd: int) -> None:
        import anyio

        self._fd = fd
        self.ready = anyio.Event()
        self.write: Any = None

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        import anyio
        from mcp.shared.message import SessionMessage

        await self.ready.wait()
        send, receive = anyio.create_memory_object_stream[str](0)
        token = anyio.lowlevel.current_token()
        threading.Thread(
            target=_pump, args=(self._fd, send, token), name="agentloop-mcp-stdin", daemon=True
        ).start()
        async with receive:
            async for line in receive:
                answer = check_line(line) if line.strip() else None
                if answer is not None:
                    await self.write.send(SessionMessage(answer))
                elif line.strip():
                    yield line


def _pump(fd: int, send: Any, token: Any) -> None:
    """Hand each line of ``fd`` to the loop; close ``send`` at end of file."""
    import anyio.from_thread

    with (
        contextlib.suppress(Exception),
        open(fd, encoding="utf-8", errors="replace", closefd=False) as stream,
    ):
        for line in stream:
            anyio.from_thread.run(send.send, line, token=token)
    with contextlib.suppress(Exception):
        anyio.from_thread.run_sync(send.close, token=token)


@contextlib.contextmanager
def _diverted_stdin() -> Iterator[int]:
    """A private copy of fd 0, with fd 0 itself pointing at the null device meanwhile."""
    if not hasattr(sys.stdin, "fileno"):
        yield 0
        return
    wire = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # tools and their children read EOF, never the protocol
    os.close(null)
    try:
        yield wire
    finally:
        os.dup2(wire, 0)
        os.close(wire)


async def serve_stdio(server: Any) -> None:
    """Run the SDK's low-level ``server`` on stdin/stdout, answering every line."""
    from mcp.server.stdio import stdio_server

    with _diverted_stdin() as wire:
        stdin = _CheckedStdin(wire)
        async with stdio_server(stdin=stdin) as (read, write):  # type: ignore[arg-type]
            stdin.write = write
            stdin.ready.set()
            await server.run(read, write, server.create_initialization_options())
