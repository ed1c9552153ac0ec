"""What a server sends, checked before the SDK's session reads it (internal).

The SDK validates a ``tools/list`` result as a whole, so one tool whose
``inputSchema`` is a string (or any other malformed entry) would lose every tool
of the server. :class:`ListingRepair` wraps a transport's read stream and takes
such entries out of each listing before the session sees it, keeping a note of
each one so the server's plugin can warn, naming the tool. It also notes the
lines on a stdio server's stdout that are not JSON-RPC at all (a banner, a
stray ``print``): the SDK reports each with a logged traceback, which
:func:`quiet_sdk_logs` replaces with one short line.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable
from typing import Any

from agentloop import AgentloopWarning

__all__ = ["ListingRepair", "quiet_sdk_logs", "repaired_listing"]

_MAX_NOTES = 100


def _entry_problem(entry: Any) -> str | None:
    """Why one listed tool cannot be used, or None when it is well-formed."""
    import mcp_types
    import pydantic

    if not isinstance(entry, dict):
        return f"it is {type(entry).__name__}, not an object"
    if not isinstance(entry.get("inputSchema"), dict):
        got = type(entry.get("inputSchema")).__name__
        return f"its inputSchema is {'missing' if got == 'NoneType' else 'a ' + got}, not an object"
    try:
        mcp_types.Tool.model_validate(entry)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "the entry"
        return f"{where}: {error['msg']}"
    return None


def repaired_listing(result: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """``result`` without the malformed entries of its ``tools`` list; one note per entry."""
    kept = []
    for index, entry in enumerate(result["tools"]):
        problem = _entry_problem(entry)
        if problem is None:
            kept.append(entry)
            continue
        name = entry.get("name") if isinstance(entry, dict) else None
        label = repr(name) if isinstance(name, str) else f"#{index + 1} (no name)"
        if len(notes) < _MAX_NOTES:
            notes.append(f"tool {label[:200]} left out: {problem}")
    return {**result, "tools": kept}


class ListingRepair:
    """A transport read stream that repairs ``tools/list`` results and counts non-JSON-RPC lines.

    Args:
        inner: The transport's read stream.
        notes: Where a note for each tool left out is appended (read by the plugin).
        on_garbage: Called for each item the transport could not parse.
    """

    def __init__(self, inner: Any, notes: list[str], on_garbage: Callable[[], None]) -> None:
        self._inner = inner
        self._notes = notes
        self._on_garbage = on_garbage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # last_context and the like

    async def receive(self) -> Any:
        """The next item, a tool listing repaired."""
        item = await self._inner.receive()
        if isinstance(item, Exception):
            self._on_garbage()
            return item
        message: Any = getattr(item, "message", None)
        message = getattr(message, "root", message)
        result = getattr(message, "result", None)
        if isinstance(result, dict) and isinstance(result.get("tools"), list):
            fixed = repaired_listing(result, self._notes)
            if len(fixed["tools"]) != len(result["tools"]):
                message.result = fixed
        return item

    def __aiter__(self) -> ListingRepair:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Close the transport's stream."""
        await self._inner.aclose()

    async def __aenter__(self) -> ListingRepair:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        result: bool | None = await self._inner.__aexit__(*exc)
        return result


class _OneLine(logging.Handler):
    """Shows the SDK's warnings and errors as one short line each, never with a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "mcp.client.stdio" and str(record.msg).startswith("Failed to parse"):
            return  # the connection warns once, naming the server (see Connection)
        try:
            text = record.getMessage().strip().splitlines()
        except Exception:  # a record whose arguments do not format
            text = [str(record.msg)]
        first = (text[0] if text else record.levelname)[:300]
        warnings.warn(AgentloopWarning(f"MCP SDK ({record.name}): {first}"), stacklevel=2)


_installed = threading.Lock()
_handler: _OneLine | None = None


def quiet_sdk_logs() -> None:
    """Give the ``mcp`` logger a handler that prints one short line per warning (once).

    Without a handler of its own, the SDK's records reach Python's last-resort
    handler, which prints whole pydantic tracebacks for a server's stray stdout
    line. Records still propagate, so logging the user configured sees them all.
    """
    global _handler
    with _installed:
        if _handler is None:
            _handler = _OneLine()
            logging.getLogger("mcp").addHandler(_handler)
