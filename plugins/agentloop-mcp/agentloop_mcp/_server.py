"""``MCPServer``: the tools of one MCP server, offered to agents as a plugin.

The server starts on the first run that needs its tools (``agentloop_tools``)
and stops when the agent is closed (``agentloop_agent_close``) or the process
exits. Its tool list is cached and refreshed after the server announces a
change. Each call is validated by the run loop against the server's own input
schema, then sent over the one background event loop of the process.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentloop import (
    AgentloopWarning,
    ConfigurationError,
    Tool,
    ToolCall,
    ToolResult,
    hookimpl,
)

from . import _loop
from ._endpoint import Endpoint
from ._errors import MCPServerError, MCPToolError
from ._naming import default_name, hashed_name, make_filter, make_prefix
from ._results import MappedResult, map_result
from ._tools import Remote, make_tool

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["MCPServer"]

ToolFilter = Mapping[str, Iterable[str]] | Callable[[str], bool] | None


class MCPServer:
    """A plugin offering the tools of one MCP server: ``Agent(plugins=[MCPServer.stdio(...)])``.

    Build one with :meth:`stdio` or :meth:`http`.

    Args:
        endpoint: How to reach the server.
        name: The server's name in messages and prefixes (default: from the command or URL).
        prefix: ``True`` names tools ``NAME_tool``; a string is used as the prefix.
        tool_filter: ``{"allow": [...], "deny": [...]}`` of the server's tool names,
            or a function ``name -> bool``.
        requires_approval: ``True`` for every tool, or the names that need approval.
        timeout: Seconds one call may take; the request is then cancelled.
        startup_timeout: Seconds for starting the server and the MCP handshake.
        cache_tools: Keep the tool list until the server announces a change
            (False: list the tools again at every run start).
        max_result_chars: A longer result is an error result (ask for less, or raise this).
        required: Raise at run start when the server cannot start (default: warn,
            and run without its tools).
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        name: str | None = None,
        prefix: bool | str = False,
        tool_filter: ToolFilter = None,
        requires_approval: bool | Iterable[str] = False,
        timeout: float = 60.0,
        startup_timeout: float = 30.0,
        cache_tools: bool = True,
        max_result_chars: int = 1_000_000,
        required: bool = False,
    ) -> None:
        for label, seconds in (("timeout", timeout), ("startup_timeout", startup_timeout)):
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
                raise ConfigurationError(f"MCPServer {label} must be seconds > 0, got {seconds!r}")
        if isinstance(max_result_chars, bool) or not isinstance(max_result_chars, int):
            raise ConfigurationError(f"max_result_chars must be an int, got {max_result_chars!r}")
        self.endpoint = endpoint
        self.name = default_name(endpoint) if name is None else name
        self.prefix = make_prefix(self.name, prefix)
        self.allowed = make_filter(tool_filter)
        self.requires_approval = (
            requires_approval
            if isinstance(requires_approval, bool)
            else frozenset(requires_approval)
        )
        self.timeout = float(timeout)
        self.startup_timeout = float(startup_timeout)
        self.cache_tools = cache_tools
        self.max_result_chars = max_result_chars
        self.required = required
        self._lock = threading.RLock()
        self._conn: Connection | None = None
        self._tools: dict[str, Tool] | None = None
        self._stale = True
        self._restarted = False
        self._start_error: MCPServerError | None = None
        self._unregister: Callable[[], None] | None = None

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        **options: Any,
    ) -> MCPServer:
        """A server started as a subprocess, speaking MCP on its stdin/stdout.

        Args:
            command: The executable, e.g. ``"python"`` or ``"npx"``.
            args: Its arguments, e.g. ``["server.py"]``.
            env: Extra environment variables (added to a minimal safe environment).
            cwd: The working directory of the server.
            **options: As for :class:`MCPServer`.
        """
        if not isinstance(command, str) or not command.strip():
            raise ConfigurationError("MCPServer.stdio needs a command, e.g. 'python'")
        if isinstance(args, str):
            raise ConfigurationError(f"args must be a list of strings, got the string {args!r}")
        endpoint = Endpoint(
            kind="stdio",
            command=command,
            args=tuple(str(a) for a in args),
            env={str(k): str(v) for k, v in (env or {}).items()} or None,
            cwd=None if cwd is None else str(cwd),
        )
        return cls(endpoint, **options)

    @classmethod
    def http(
        cls, url: str, *, headers: Mapping[str, str] | None = None, **options: Any
    ) -> MCPServer:
        """A server reached over streamable HTTP, e.g. ``https://host/mcp``.

        Args:
            url: The MCP endpoint URL.
            headers: Extra HTTP headers sent with every request (e.g. ``Authorization``).
            **options: As for :class:`MCPServer`.
        """
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"MCPServer.http needs an http(s):// URL, got {url!r}")
        endpoint = Endpoint(kind="http", url=url, headers=dict(headers or {}))
        return cls(endpoint, **options)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the server (and the MCP handshake) now, if it is not running.

        Raises:
            MCPServerError: It cannot be started or reached (the message says why and how to fix).
        """
        self._live()

    def _live(self) -> Connection:
        """The running connection: started on first use; a dead one is replaced once per start.

        Raises:
            MCPServerError: It cannot be started, or it died again after its one restart.
        """
        from ._failures import dead_again

        with self._lock:
            conn = self._conn
            if conn is not None and conn.alive and not conn.exited():
                return conn
            if conn is not None:
                if self._restarted:
                    raise dead_again(self, conn)
                self._restarted = True
                _loop.submit(conn.close())
                self._conn = None
            self._conn = self._open()
            return self._conn

    def close(self) -> None:
        """Stop the server; the next run starts it again (with a fresh restart allowance)."""
        with self._lock:
            conn, self._conn = self._conn, None
            self._tools, self._stale, self._restarted, self._start_error = None, True, False, None
            if self._unregister is not None:
                self._unregister()
                self._unregister = None
        if conn is not None:
            _loop.run(conn.close())

    def _open(self) -> Connection:
        from ._connection import Connection
        from ._failures import start_failure

        conn = Connection(self.endpoint, self._mark_stale, name=self.name)
        try:
            _loop.run(conn.open(self.startup_timeout))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise start_failure(self, conn, exc) from None
        if self._unregister is None:
            self._unregister = _loop.on_exit(self._close_async)
        return conn

    async def _close_async(self) -> None:
        conn = self._conn
        if conn is not None:
            await conn.close()

    def _mark_stale(self) -> None:
        self._stale = True

    # -- tools --------------------------------------------------------------------------

    def tools(self) -> list[Tool]:
        """The server's tools as agentloop tools (starting the server if needed).

        Raises:
            MCPServerError: The server cannot be started or does not list its tools.
        """
        with self._lock:
            if self._start_error is not None:
                raise self._start_error
            try:
                self.start()
                if self._tools is None or self._stale or not self.cache_tools:
                    self._stale = False
                    self._tools = self._list_tools()
            except MCPServerError as exc:
                self._start_error = exc
                raise
            return list(self._tools.values())

    def _list_tools(self) -> dict[str, Tool]:
        from ._connection import describe_exception

        conn = self._conn
        assert conn is not None

        async def fetch() -> list[Any]:
            listed, cursor = [], None
            for _ in range(100):
                page = await conn.client.list_tools(cursor=cursor, cache_mode="refresh")
                listed.extend(page.tools)
                cursor = page.next_cursor
                if not cursor:
                    break
            return listed

        try:
            listed = _loop.run(fetch(), timeout=self.startup_timeout)
        except Exception as exc:
            raise MCPServerError(
                f"MCP server {self.name!r} ({self.endpoint.describe()}) did not list its tools: "
                f"{describe_exception(exc)}; check the server's tools/list handler",
                server=self.name,
            ) from None
        notes, conn.left_out[:] = list(conn.left_out), []
        for note in notes:
            warnings.warn(
                AgentloopWarning(
                    f"MCP server {self.name!r}: {note}; fix the tool in the server (its other "
                    "tools are offered)"
                ),
                stacklevel=3,
            )
        return self._named(listed)

    def _named(self, listed: list[Any]) -> dict[str, Tool]:
        """The usable listed tools by agentloop name; a name taken twice gets a hash suffix."""
        tools: dict[str, Tool] = {}
        for listed_tool in listed:
            made = make_tool(self, listed_tool)
            if made is None:
                continue
            if made.name in tools:
                unique = hashed_name(made.name, listed_tool.name)
                warnings.warn(
                    AgentloopWarning(
                        f"MCP server {self.name!r}: tools {_mcp_name(tools[made.name])!r} and "
                        f"{listed_tool.name!r} both become {made.name!r}; the second is offered "
                        f"as {unique!r}"
                    ),
                    stacklevel=4,
                )
                made = dataclasses.replace(made, name=unique)
            tools[made.name] = made
        return tools

    # -- calls ----------------------------------------------------------------------------

    def call(self, name: str, arguments: Mapping[str, Any]) -> MappedResult:
        """Call the server's tool ``name`` (its MCP name) and map the result.

        Raises:
            MCPToolError: The server could not answer: it died, timed out, rejected
                the call, or the result is too large.
        """
        from ._failures import call_failure

        conn = self._connection_for_call()

        async def request() -> Any:
            import asyncio

            return await asyncio.wait_for(
                conn.client.call_tool(name, dict(arguments)), self.timeout
            )

        try:
            result = _loop.run(request())
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise call_failure(self, conn, name, exc) from None
        mapped = map_result(result)
        if len(mapped.text) > self.max_result_chars:
            raise MCPToolError(
                f"tool {name!r} of MCP server {self.name!r} returned {len(mapped.text)} characters, "
                f"more than max_result_chars={self.max_result_chars}; ask for less (narrower "
                "arguments), or raise MCPServer(max_result_chars=...)",
                server=self.name,
            )
        return mapped

    def _connection_for_call(self) -> Connection:
        """The live connection, or the error result a call gets when there is none."""
        try:
            return self._live()
        except MCPServerError as exc:
            raise MCPToolError(str(exc), server=self.name) from None

    # -- hooks ----------------------------------------------------------------------------

    @hookimpl
    def agentloop_tools(self, agent: Any) -> list[Tool]:
        """Offer the server's tools (start it on the first run; warn and offer none if it fails)."""
        try:
            tools = self.tools()
        except MCPServerError as exc:
            if self.required:
                raise
            warnings.warn(AgentloopWarning(f"{exc} (running without its tools)"), stacklevel=2)
            return []
        self._check_clashes(agent, tools)
        return tools

    def _check_clashes(self, agent: Any, tools: list[Tool]) -> None:
        pm = getattr(agent, "plugin_manager", None)
        mine = {t.name for t in tools}
        for other in pm.get_plugins() if pm is not None else ():
            if not isinstance(other, MCPServer) or other is self or not other._tools:
                continue
            same = sorted(mine & set(other._tools))
            if same:
                raise MCPServerError(
                    f"MCP servers {other.name!r} and {self.name!r} both offer a tool named "
                    f"{same[0]!r}; give one of them a prefix (prefix=True names it "
                    f"'{self.name}_{same[0]}') or leave the tool out with tool_filter",
                    server=self.name,
                )

    @hookimpl
    def agentloop_call_tool(
        self, call: ToolCall, tool: Tool, arguments: dict[str, Any]
    ) -> ToolResult | None:
        """Run calls of this server's tools: text, structured value, ``isError`` as an error."""
        remote = tool.fn
        if not isinstance(remote, Remote) or remote.server is not self:
            return None
        try:
            mapped = self.call(remote.mcp_name, arguments)
        except MCPToolError as exc:
            return ToolResult(
                call_id=call.id,
                name=call.name,
                content=f"error: {exc}",
                is_error=True,
                status=exc.status,  # type: ignore[arg-type]
            )
        if mapped.is_error:
            text = mapped.text or f"tool {remote.mcp_name!r} failed (no message)"
            return ToolResult(
                call_id=call.id,
                name=call.name,
                content=f"error: {text}",
                is_error=True,
                status="error",
            )
        return ToolResult(call_id=call.id, name=call.name, content=mapped.text, value=mapped.value)

    @hookimpl
    def agentloop_agent_close(self) -> None:
        """Stop the server when the agent is closed."""
        self.close()

    def __repr__(self) -> str:
        return f"MCPServer(name={self.name!r}, {self.endpoint.kind}={self.endpoint.describe()!r})"


def _mcp_name(tool: Tool) -> str:
    """The server's own name of one of its tools."""
    return str(getattr(tool.fn, "mcp_name", tool.name))
