"""agentloop tools as an MCP server (``agentloop mcp serve``), on the SDK's low-level server.

Each ``tools/call`` is one agentloop run of the serving agent, driven by a
model that asks for exactly that call and then stops. So a call gets what
it would get in any run: the same argument validation against the tool's
schema, ``agentloop_before_tool_call`` / approval / ``agentloop_after_tool_call``
hooks, timeouts, retry and result-size limits, and run logs or traces when
such plugins are installed. Runs are synchronous, so each call runs on a
worker thread; parallel calls run in parallel.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from agentloop import (
    Agent,
    AgentloopError,
    ChatResponse,
    Choice,
    ConfigurationError,
    Message,
    RunError,
    Tool,
    ToolCall,
)

__all__ = ["ServeModel", "build_server", "serve"]

_CALL_ID = "mcp_call"


class ServeModel:
    """A model that answers a run's prompt ``{"name": ..., "arguments": {...}}`` with that call.

    After the tool's result is in the transcript it ends the run with an empty
    answer. Stateless, so one instance serves every concurrent run.
    """

    name = "agentloop-mcp-serve"

    def create(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatResponse:
        """Return the one tool call, or the final (empty) answer once it has a result."""
        if messages and messages[-1].get("role") == "tool":
            message = Message(role="assistant", content="")
            return ChatResponse(choices=(Choice(message=message, finish_reason="stop"),))
        request = json.loads(messages[-1]["content"])
        call = ToolCall(id=_CALL_ID, name=request["name"], arguments=request["arguments"])
        message = Message(role="assistant", content=None, tool_calls=(call,))
        return ChatResponse(choices=(Choice(message=message, finish_reason="tool_calls"),))

    def stream(self, *, messages: list[dict[str, Any]], **params: Any) -> Any:
        """Not used: the serving agent runs with ``stream=False``."""
        raise AgentloopError("ServeModel does not stream; run the agent with stream=False")


def _call_in_run(agent: Agent, name: str, arguments: Mapping[str, Any] | None) -> tuple[str, bool]:
    """Run one call through the agent's loop; return (text, is_error)."""
    prompt = json.dumps({"name": name, "arguments": json.dumps(dict(arguments or {}))})
    try:
        result = agent.run(prompt)
    except RunError as exc:  # e.g. the tool's retry budget or an abort
        return f"error: {exc}", True
    for step in result.steps:
        if step.kind == "tool" and step.call_id == _CALL_ID:
            content = next(
                m.get("content") or ""
                for m in result.messages
                if m.get("role") == "tool" and m.get("tool_call_id") == _CALL_ID
            )
            return str(content), bool(step.is_error)
    return "error: the tool did not run", True


def build_server(agent: Agent, tools: Mapping[str, Tool], *, name: str = "agentloop") -> Any:
    """An ``mcp.server.lowlevel.Server`` exposing ``tools``, each call run by ``agent``.

    ``agent`` must have a :class:`ServeModel` as its model and ``stream_mode`` False.
    """
    import anyio
    import mcp_types as types
    from mcp.server import Server

    from agentloop import __version__

    listing = [
        types.Tool(name=t.name, description=t.description, input_schema=dict(t.parameters))
        for t in tools.values()
    ]

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=listing)

    async def call_tool(ctx: Any, params: Any) -> Any:
        if params.name not in tools:
            text, is_error = (
                f"error: unknown tool {params.name!r}; available: {', '.join(tools)}",
                True,
            )
        else:
            text, is_error = await anyio.to_thread.run_sync(
                _call_in_run, agent, params.name, params.arguments
            )
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], is_error=is_error
        )

    return Server(
        name,
        version=__version__,
        get_tool_input_schema=lambda tool: tools[tool].parameters if tool in tools else None,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def serve(
    agent: Agent,
    tools: Mapping[str, Tool],
    *,
    http: bool = False,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    ready: Any = None,
) -> None:
    """Serve ``tools`` over stdio (default) or streamable HTTP until the client leaves or Ctrl-C.

    Args:
        agent: The agent whose loop runs each call; its model is replaced by a
            :class:`ServeModel` and streaming turned off.
        tools: The tools to expose, by name.
        http: Serve streamable HTTP on ``host:port`` at ``path`` instead of stdio.
        host: The address to bind (127.0.0.1 unless you mean otherwise).
        port: The port (0: any free port).
        path: The endpoint path.
        ready: Called with the URL once an HTTP server listens.

    Raises:
        ConfigurationError: The HTTP port is not a port number, in use or not permitted.
        SystemExit: 143 when the process gets SIGTERM (on the main thread).
    """
    import anyio

    agent.model = ServeModel()
    agent.stream_mode = False
    server = build_server(agent, tools)
    with _exit_143_on_sigterm():
        if not http:
            from ._serve_stdio import serve_stdio

            anyio.run(serve_stdio, server)
            return
        anyio.run(_serve_http, server, host, port, path, ready)


async def _serve_http(server: Any, host: str, port: int, path: str, ready: Any) -> None:
    import sys

    import uvicorn

    app = server.streamable_http_app(streamable_http_path=path, host=host)
    sock = _listening_socket(host, port)
    try:
        url = f"http://{host}:{sock.getsockname()[1]}{path}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        if ready is not None:
            ready(url)
        else:
            sys.stderr.write(f"agentloop: serving MCP at {url}\n")
            sys.stderr.flush()
        await uvicorn.Server(config).serve(sockets=[sock])
    finally:
        sock.close()


def _listening_socket(host: str, port: int) -> Any:
    """A socket bound to ``host:port`` and already listening, so the URL works once printed.

    Raises:
        ConfigurationError: The port is not 0-65535, in use, or not permitted.
    """
    import errno
    import socket

    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(
            f"--port {port!r} is not a port number (0-65535; 0 picks a free one)"
        )
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # connections made from now on wait in the backlog, never refused
    except OSError as exc:
        sock.close()
        how = "pick another port with --port N (--port 0 picks a free one)"
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(f"port {port} on {host} is already in use; {how}") from None
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; {how}, or use --host 127.0.0.1"
        ) from None
    return sock


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM ends ``mcp serve`` with the conventional status 143 (128 + 15), not as Ctrl-C."""
    raise SystemExit(128 + signal.SIGTERM)


@contextlib.contextmanager
def _exit_143_on_sigterm() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
