"""Helpers for the MCP plugin's tests: the real test servers, free ports, scripted runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agentloop_mcp import MCPServer

SERVERS = Path(__file__).resolve().parent / "servers"
PYTHON = sys.executable


def demo(**options: Any) -> MCPServer:
    """The SDK-written demo server over stdio."""
    return MCPServer.stdio(PYTHON, args=[str(SERVERS / "demo_server.py")], **options)


def server_script(script: str, *args: str, **options: Any) -> MCPServer:
    """Another test server script over stdio."""
    return MCPServer.stdio(PYTHON, args=[str(SERVERS / script), *args], **options)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def demo_over_http() -> Iterator[str]:
    """Run the demo server on streamable HTTP at 127.0.0.1; yield its /mcp URL."""
    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, str(SERVERS / "demo_server.py"), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the HTTP demo server exited") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


def alive(pid: int) -> bool:
    """Whether a process with this pid still runs (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.split(")")[-1].split()[0] != "Z"


def wait_dead(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def tool_messages(result: Any) -> dict[str, str]:
    """Tool results of a run by call id."""
    return {m["tool_call_id"]: m["content"] for m in result.messages if m["role"] == "tool"}
