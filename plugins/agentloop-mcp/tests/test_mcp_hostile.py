"""The MCP client against hostile servers: each misbehaviour costs at most its own tool."""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc

import pytest
from agentloop_mcp import MCPServer, MCPServerError, _connection
from mcp_support import SERVERS, server_script

from agentloop import AgentloopWarning


def _hostile(mode: str, **options: object) -> MCPServer:
    return server_script("hostile_server.py", mode, name=mode, **options)


def _names_and_warnings(server: MCPServer) -> tuple[list[str], list[str]]:
    try:
        with pytest.warns(AgentloopWarning) as caught:
            names = sorted(t.name for t in server.tools())
        assert server.call("echo", {"text": "hi"}).text == "echo: hi"  # the server still works
    finally:
        server.close()
    return names, [str(w.message) for w in caught]


def test_a_tool_that_requires_task_augmentation_is_left_out_with_one_warning() -> None:
    names, warned = _names_and_warnings(_hostile("tasks"))
    assert names == ["echo"]
    (warning,) = warned
    assert "MCP server 'tasks': tool 'slow_job' left out" in warning
    assert 'taskSupport "required"' in warning


def test_a_tool_whose_input_schema_is_a_string_loses_only_that_tool() -> None:
    names, warned = _names_and_warnings(_hostile("string-schema"))
    assert names == ["echo"]
    (warning,) = warned
    assert "MCP server 'string-schema': tool 'broken' left out" in warning
    assert "inputSchema is a str" in warning


def test_two_tool_names_sharing_their_first_64_characters_are_both_kept() -> None:
    server = _hostile("long-names")
    try:
        tools = {t.name: t for t in server.tools()}
        assert len(tools) == 3 and all(len(name) <= 64 for name in tools)
        long = sorted(name for name in tools if name != "echo")
        assert long[0] != long[1] and long[0][:55] == long[1][:55] == "a" * 55
        called = {server.call(tools[n].fn.mcp_name, {}).text.split(":")[0] for n in long}
        assert called == {"a" * 70 + "_first", "a" * 70 + "_second"}
    finally:
        server.close()


def test_a_banner_on_stdout_prints_one_short_warning_and_no_traceback() -> None:
    command = f"{sys.executable} {SERVERS / 'hostile_server.py'} banner"
    done = subprocess.run(
        [sys.executable, "-m", "agentloop", "tools", "--mcp", command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "echo" in done.stdout
    assert "Traceback" not in done.stderr and "pydantic" not in done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1, done.stderr
    assert "wrote a line to stdout that is not a JSON-RPC message" in warnings[0]


@pytest.mark.timeout(120)
def test_a_server_that_never_answers_initialize_fails_after_startup_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The old teardown waited CLOSE_GRACE for a task that never looked at its stop signal;
    # made an hour here, that wait would hang the test (the timeout above fails it). Now the
    # stuck attempt is cancelled at once, whatever the grace (the server exits on EOF).
    monkeypatch.setattr(_connection, "CLOSE_GRACE", 3600.0)
    server = server_script("silent_server.py", name="mute", startup_timeout=1)
    with pytest.raises(MCPServerError, match="did not complete the MCP handshake within 1 s"):
        server.tools()


def test_200_mb_on_stderr_without_a_newline_is_read_in_bounded_memory() -> None:
    tracemalloc.start()
    try:
        server = _hostile("stderr-flood")
        try:
            assert "echo" in [t.name for t in server.tools()]
            conn = server._conn
            assert conn is not None and conn.stderr is not None
            deadline = time.monotonic() + 60
            while "flood done" not in conn.stderr.lines() and time.monotonic() < deadline:
                time.sleep(0.05)
            lines = conn.stderr.lines()
        finally:
            server.close()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines[-2:] == ("x" * 500, "flood done")  # the long line kept short
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.0f} MiB while reading the flood"
