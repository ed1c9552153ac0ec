"""``agentloop mcp serve`` against bad clients: every line answered, clean errors, exit codes."""

from __future__ import annotations

import json
import select
import signal
import socket
import subprocess
import sys
from typing import Any

import pytest
from agentloop_mcp import serve
from mcp_support import SERVERS, free_port

from agentloop import Agent, ConfigurationError, tool

TOOLS = str(SERVERS / "served_tools.py")
SERVE = [sys.executable, "-m", "agentloop", "mcp", "serve", TOOLS]


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


def test_malformed_lines_get_json_rpc_errors_never_silence() -> None:
    deep = "[" * 3000 + "1" + "]" * 3000
    lines = [
        "nope",
        '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":5}',
        '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"add","arguments":{"a":'
        + deep
        + "}}}",
        '{"jsonrpc":"2.0","id":"x9","method":"tools/call","params":{"name":"add","arguments":{"a":'
        + "[" * 100
        + "]" * 100
        + "}}}",
        '{"jsonrpc":"2.0","id":10,"method":"ping"}',
    ]
    proc = subprocess.Popen(SERVE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("\n".join(lines) + "\n")
        proc.stdin.flush()
        answers = [json.loads(_line(proc.stdout)) for _ in lines]  # one answer per line
    finally:
        proc.kill()
        proc.wait()
    errors = {a["id"]: a["error"]["code"] for a in answers if "error" in a}
    assert errors == {None: -32700, 7: -32600, 8: -32602, "x9": -32602}, answers
    assert {"jsonrpc": "2.0", "id": 10, "result": {}} in answers  # the good line still served


def _line(stream: Any) -> str:
    """The next line of a child's stdout; a missing answer fails instead of hanging."""
    ready, _, _ = select.select([stream], [], [], 60)
    assert ready, "no answer within 60 s"
    return str(stream.readline())


def test_the_http_url_accepts_connections_as_soon_as_it_is_announced() -> None:
    class Stop(Exception):
        pass

    refused = 0

    def connect_then_stop(url: str) -> None:
        nonlocal refused
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except ConnectionRefusedError:
            refused += 1
        raise Stop

    agent = Agent(tools=[add])
    for _ in range(100):
        with pytest.raises(Stop):
            serve(agent, {"add": add}, http=True, port=0, ready=connect_then_stop)
    assert refused == 0


def test_a_bad_or_busy_port_is_a_one_line_error() -> None:
    agent = Agent(tools=[add])
    with pytest.raises(ConfigurationError, match="not a port number"):
        serve(agent, {"add": add}, http=True, port=70000)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*SERVE, "--http", "--port", str(port)], capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"agentloop: error: port {port} on 127.0.0.1 is already in use; pick another port "
        "with --port N (--port 0 picks a free one)"
    )
    done = subprocess.run(
        [*SERVE, "--http", "--port", "70000"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "internal error" not in done.stderr and "70000" in done.stderr


@pytest.mark.parametrize("http", [False, True])
def test_sigterm_ends_mcp_serve_with_143(http: bool) -> None:
    extra = ["--http", "--port", str(free_port())] if http else []
    proc = subprocess.Popen(
        [*SERVE, *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        if http:
            assert "serving MCP at" in proc.stderr.readline()
        else:
            proc.stdin.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n')
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["id"] == 1  # serving
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 143
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
