"""One live session with one MCP server, owned by a task on the background loop (internal).

:class:`Connection` opens the SDK's ``Client`` on it
inside one long-lived task, so the SDK's task groups are entered and left by
the same task; requests from other tasks share the session concurrently. A
stdio server's stderr goes through a pipe into :class:`StderrTail`, which
keeps its last lines for error messages.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import contextlib
import os
import threading
import warnings
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from agentloop import AgentloopWarning

from ._wire import ListingRepair, quiet_sdk_logs

if TYPE_CHECKING:
    from ._endpoint import Endpoint

__all__ = ["Connection", "StderrTail", "describe_exception"]

_TAIL_LINES = 20


_LINE_CHARS = 500
CLOSE_GRACE = 10.0
"""Seconds ``close`` waits for a session that completed its handshake to end by itself."""
_CHUNK = 65536


class StderrTail:
    """Reads a stdio server's stderr on a daemon thread and keeps its last lines.

    The pipe is read in chunks, and of each line only its first ``_LINE_CHARS``
    characters are kept, so a server writing hundreds of megabytes without a
    newline costs a few kilobytes, not the whole line.
    """

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.writer = os.fdopen(write_fd, "w")
        self._lines: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._lock = threading.Lock()
        self.closed = threading.Event()
        self._thread = threading.Thread(
            target=self._pump, args=(read_fd,), name="agentloop-mcp-stderr", daemon=True
        )
        self._thread.start()

    def _pump(self, fd: int) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        partial = ""  # the start of the current line, at most _LINE_CHARS characters
        try:
            while chunk := os.read(fd, _CHUNK):
                *done, rest = decoder.decode(chunk).split("\n")
                for piece in done:
                    self._add((partial + piece)[:_LINE_CHARS])
                    partial = ""
                partial = (partial + rest)[:_LINE_CHARS]
            if partial:
                self._add(partial)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
            self.closed.set()

    def _add(self, line: str) -> None:
        with self._lock:
            self._lines.append(line.rstrip("\r"))

    def release_writer(self) -> None:
        """Close our copy of the pipe's write end (the child keeps its own)."""
        with contextlib.suppress(OSError):
            self.writer.close()

    def lines(self, wait: float = 0.0) -> tuple[str, ...]:
        """The last lines, oldest first; ``wait`` gives a dying server time to finish writing."""
        if wait:
            self.closed.wait(wait)
        with self._lock:
            return tuple(line for line in self._lines if line.strip())


class Connection:
    """A live ``mcp.Client`` session with one server, owned by one task on the background loop.

    Args:
        endpoint: Where the server is.
        on_tools_changed: Called (on the loop thread) when the server says its tools changed.
        name: The server's name, for warnings.

    Attributes:
        left_out: One note per malformed tool taken out of a listing (see ``_wire``);
            the plugin warns about them and clears the list.
    """

    def __init__(
        self, endpoint: Endpoint, on_tools_changed: Callable[[], None], *, name: str = "mcp"
    ) -> None:
        self.endpoint = endpoint
        self.on_tools_changed = on_tools_changed
        self.name = name
        self.client: Any = None
        self.stderr: StderrTail | None = None
        self.alive = False
        self.left_out: list[str] = []
        self._garbage_warned = False
        self._ready: asyncio.Future[None] | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def exited(self) -> bool:
        """Whether a stdio server's process is gone (its stderr reached end of file)."""
        return self.stderr is not None and self.stderr.closed.is_set()

    async def open(self, timeout: float) -> None:
        """Start the server (stdio) or connect (http) and finish the MCP handshake.

        Raises:
            TimeoutError: No handshake within ``timeout`` seconds (the attempt is torn down).
            BaseException: Whatever the transport or the handshake raised.
        """
        quiet_sdk_logs()
        self._stop = asyncio.Event()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ready = ready
        self._task = asyncio.create_task(self._main(ready))
        ready.add_done_callback(_consume)
        try:
            await asyncio.wait_for(asyncio.shield(ready), timeout)
        except BaseException:
            await self.close()
            raise

    async def _main(self, ready: asyncio.Future[None]) -> None:
        from mcp import Client

        assert self._stop is not None
        try:
            async with contextlib.AsyncExitStack() as stack:
                transport = _repairing(await self._transport(stack), self)
                client = Client(transport, message_handler=self._on_message, mode="auto")
                await stack.enter_async_context(client)
                if self.stderr is not None:
                    self.stderr.release_writer()
                self.client, self.alive = client, True
                listener = self._start_listener(client)
                ready.set_result(None)
                try:
                    await self._stop.wait()
                finally:
                    self.alive = False
                    if listener is not None:
                        listener.cancel()
                        with contextlib.suppress(BaseException):
                            await listener
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            self.alive = False
            if self.stderr is not None:
                self.stderr.release_writer()

    async def _transport(self, stack: contextlib.AsyncExitStack) -> Any:
        endpoint = self.endpoint
        if endpoint.kind == "stdio":
            from mcp import StdioServerParameters
            from mcp.client.stdio import stdio_client

            self.stderr = StderrTail()
            params = StdioServerParameters(
                command=endpoint.command,
                args=list(endpoint.args),
                env=dict(endpoint.env) if endpoint.env else None,
                cwd=endpoint.cwd,
            )
            return stdio_client(params, errlog=self.stderr.writer)
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2.AsyncClient(
            headers=dict(endpoint.headers), timeout=httpx2.Timeout(30.0, read=300.0)
        )
        await stack.enter_async_context(http)
        return streamable_http_client(endpoint.url, http_client=http)

    def _start_listener(self, client: Any) -> asyncio.Task[None] | None:
        """On 2026-07-28 connections, open the ``subscriptions/listen`` stream for tool changes."""
        from mcp_types.version import MODERN_PROTOCOL_VERSIONS

        tools = getattr(client.server_capabilities, "tools", None)
        if client.protocol_version not in MODERN_PROTOCOL_VERSIONS or not getattr(
            tools, "list_changed", False
        ):
            return None  # older servers send notifications/tools/list_changed unasked

        async def listen() -> None:
            with contextlib.suppress(Exception):
                async with client.listen(tools_list_changed=True) as events:
                    async for _event in events:
                        self.on_tools_changed()

        return asyncio.create_task(listen())

    def garbage(self) -> None:
        """Warn (once per connection) that the server wrote something that is not JSON-RPC."""
        if self._garbage_warned:
            return
        self._garbage_warned = True
        warnings.warn(
            AgentloopWarning(
                f"MCP server {self.name!r} wrote a line to stdout that is not a JSON-RPC message "
                "(ignored, and any more like it); an MCP server must write only MCP messages to "
                "stdout: send banners and logs to stderr"
            ),
            stacklevel=2,
        )

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            return  # a line the transport could not parse: counted by the read stream
        message = getattr(message, "root", message)
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            self.on_tools_changed()

    def _handshake_done(self) -> bool:
        ready = self._ready
        return ready is not None and ready.done() and not ready.cancelled()

    async def close(self) -> None:
        """Leave the session and stop the server; safe to call twice."""
        if self._stop is not None:
            self._stop.set()
        task = self._task
        if task is not None and not task.done() and not self._handshake_done():
            task.cancel()  # stuck in the handshake: nothing watches _stop yet
            with contextlib.suppress(BaseException):
                await task
        elif task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), CLOSE_GRACE)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            except BaseException:
                pass
        self.alive = False


@contextlib.asynccontextmanager
async def _repairing(transport: Any, conn: Connection) -> AsyncIterator[Any]:
    """The transport, its read stream wrapped in a :class:`ListingRepair`."""
    async with transport as (read, write):
        yield ListingRepair(read, conn.left_out, conn.garbage), write


def _consume(future: asyncio.Future[None]) -> None:
    """Mark a future's exception as seen (the caller may have stopped waiting for it)."""
    if not future.cancelled():
        future.exception()


def describe_exception(exc: BaseException) -> str:
    """One line for an exception, looking through exception groups to the first real cause."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
