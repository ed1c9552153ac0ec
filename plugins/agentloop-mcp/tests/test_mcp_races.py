"""Races between calls and real MCP servers: only a result or a ToolError leaves an MCP tool.

Every server is a real process (the SDK-written demo server, or ``race_server.py``);
calls go through the agentloop ``Tool`` objects the plugin makes. Races that cannot be
forced (a kill landing mid-call, an answer arriving as the timeout fires) run many
times in bounded loops.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from agentloop_mcp import MCPServer
from mcp_support import PYTHON, SERVERS, demo, free_port, server_script, wait_dead

from agentloop import Tool, ToolError

pytestmark = pytest.mark.timeout(60)


def _outcome(call: Callable[[], Any]) -> str:
    """``"result"`` or ``"ToolError"``; any other exception fails the test with its text."""
    try:
        call()
    except ToolError:
        return "ToolError"
    except Exception as exc:  # what a race must never let out
        pytest.fail(f"{type(exc).__name__} escaped an MCP tool: {exc!r}")
    return "result"


def _tools(server: MCPServer) -> dict[str, Tool]:
    return {t.name: t for t in server.tools()}


def _invoke(tool: Tool, **arguments: Any) -> Any:
    return tool.invoke(json.dumps(arguments))


@pytest.fixture
def closing() -> Iterator[Callable[[MCPServer], MCPServer]]:
    servers: list[MCPServer] = []

    def keep(server: MCPServer) -> MCPServer:
        servers.append(server)
        return server

    yield keep
    for server in servers:
        server.close()


def test_concurrent_calls_on_one_connection_get_their_own_answers(closing) -> None:
    tools = _tools(closing(demo()))

    def call(n: int) -> Any:
        if n % 3 == 0:
            return _invoke(tools["slow"], seconds=n / 1000)
        return _invoke(tools["forecast"], city=f"city-{n}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(120)))
    for n, result in enumerate(results):
        if n % 3 == 0:
            assert result == {"result": f"slept {n / 1000}"}
        else:
            assert result == {"city": f"city-{n}", "celsius": 21.5, "conditions": ["sunny", "dry"]}


def test_the_server_killed_while_threads_call_it(closing) -> None:
    server = closing(demo(name="killed", timeout=20))
    tools = _tools(server)
    first = _invoke(tools["pid"])["result"]
    started = threading.Barrier(9)

    def call(n: int) -> str:
        if n < 8:
            started.wait()
        return _outcome(lambda: _invoke(tools["slow"], seconds=0.3))

    with ThreadPoolExecutor(max_workers=9) as pool:
        futures = [pool.submit(call, n) for n in range(8)]
        started.wait()
        time.sleep(0.1)  # the calls are in flight (no assertion depends on this timing)
        os.kill(first, signal.SIGKILL)
        kinds = [f.result() for f in futures]
    assert wait_dead(first)
    assert set(kinds) <= {"result", "ToolError"}
    # the one restart: calls work again, on a new process
    assert _invoke(tools["pid"])["result"] != first


def test_calls_racing_with_kills_and_the_one_restart(closing) -> None:
    # A killer thread kills whichever server process runs, again and again, while 4 threads
    # call; the plugin restarts once, then reports the server dead. Every call must end in a
    # result or a ToolError, never hang or raise anything else.
    server = closing(demo(name="hunted", timeout=20))
    tools = _tools(server)
    stop = threading.Event()

    def hunt() -> None:
        while not stop.is_set():
            pid = _pid_of(server)
            if pid is not None:
                _kill(pid)
            time.sleep(0.02)

    hunter = threading.Thread(target=hunt)
    hunter.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            kinds = list(
                pool.map(
                    lambda n: _outcome(lambda: _invoke(tools["slow"], seconds=0.01)), range(200)
                )
            )
    finally:
        stop.set()
        hunter.join()
    assert set(kinds) <= {"result", "ToolError"} and "ToolError" in kinds


_pids: dict[int, int] = {}


def _pid_of(server: MCPServer) -> int | None:
    """The pid of the server's current process (asked once per connection, over MCP)."""
    conn = server._conn
    if conn is None or not conn.alive:
        return None
    if id(conn) not in _pids:
        try:
            _pids[id(conn)] = int(server.call("pid", {}).text)
        except ToolError:
            return None
    return _pids[id(conn)]


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("mode", ["cut-exit", "cut-close", "close"])
def test_a_server_that_breaks_its_stdout_mid_answer(closing, mode: str) -> None:
    server = closing(server_script("race_server.py", mode, name=mode, timeout=5))
    tools = _tools(server)
    assert _invoke(tools["echo"], text="hi") == "echo: hi"
    with ThreadPoolExecutor(max_workers=4) as pool:
        waiting = [
            pool.submit(_outcome, lambda: _invoke(tools["wait"], seconds=1)) for _ in range(3)
        ]
        time.sleep(0.1)  # the waits are in flight when stdout breaks (nothing depends on it)
        with pytest.raises(ToolError, match=f"MCP server '{mode}'") as caught:
            _invoke(tools["break"])
        kinds = [f.result() for f in waiting]
    assert set(kinds) <= {"result", "ToolError"}
    message = str(caught.value)
    assert "closed the connection" in message or "did not answer" in message
    # the next call ends too (a restart, or a clear error), never an escape or a hang
    assert _outcome(lambda: _invoke(tools["echo"], text="again")) in {"result", "ToolError"}


def test_a_call_timing_out_while_its_answer_arrives(closing) -> None:
    # The answer comes at about the moment the timeout fires: 200 times, each call gets the
    # answer or a timeout error, and the late answers never break the connection.
    server = closing(server_script("race_server.py", "", name="late", timeout=0.05))
    tools = _tools(server)
    kinds: dict[str, int] = {}
    for n in range(200):
        seconds = 0.045 + (n % 5) * 0.003
        kind = _outcome(lambda: _invoke(tools["wait"], seconds=seconds))  # noqa: B023
        kinds[kind] = kinds.get(kind, 0) + 1
    assert set(kinds) <= {"result", "ToolError"}
    server.timeout = 30.0
    assert _invoke(tools["echo"], text="still") == "echo: still"
    conn = server._conn
    assert conn is not None and not server._restarted  # the same process all along


def test_close_racing_with_calls_from_threads(closing) -> None:
    # The agent closes the server (agent close, or Ctrl-C teardown) while threads call it; a
    # call in flight ends as a result or a ToolError, and later calls start it again.
    server = closing(demo(name="closing", timeout=20))
    tools = _tools(server)
    stop = threading.Event()

    def close_often() -> None:
        while not stop.is_set():
            time.sleep(0.2)
            server.close()

    closer = threading.Thread(target=close_often)
    closer.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            kinds = list(
                pool.map(
                    lambda n: _outcome(lambda: _invoke(tools["slow"], seconds=0.02)), range(100)
                )
            )
    finally:
        stop.set()
        closer.join()
    assert set(kinds) <= {"result", "ToolError"}


def test_an_http_server_killed_while_threads_call_it(closing) -> None:
    # Streamable HTTP: the server process dies with calls in flight; those calls and every
    # later one end in a result or a ToolError (nothing restarts a remote server).
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, str(SERVERS / "demo_server.py"), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, process)
        server = closing(MCPServer.http(f"http://127.0.0.1:{port}/mcp", name="remote", timeout=20))
        tools = _tools(server)
        assert _invoke(tools["slow"], seconds=0) == {"result": "slept 0.0"}
        with ThreadPoolExecutor(max_workers=6) as pool:
            waiting = [
                pool.submit(_outcome, lambda: _invoke(tools["slow"], seconds=0.5)) for _ in range(6)
            ]
            time.sleep(0.2)  # the calls are in flight (nothing depends on it)
            process.kill()
            process.wait()
            kinds = [f.result() for f in waiting]
            later = list(
                pool.map(lambda n: _outcome(lambda: _invoke(tools["slow"], seconds=0)), range(20))
            )
    finally:
        process.kill()
        process.wait()
    assert set(kinds) <= {"result", "ToolError"}
    assert set(later) == {"ToolError"}


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the HTTP demo server exited") from None
            time.sleep(0.05)
    raise RuntimeError("the HTTP demo server never listened")
