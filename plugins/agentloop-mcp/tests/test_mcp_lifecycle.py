"""When MCP servers start and stop: first run, agent close, process exit, crash and restart."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from mcp_support import SERVERS, alive, demo, tool_messages, wait_dead

from agentloop import Agent, AgentloopWarning
from agentloop.testing import ScriptedModel, tool_call, tool_calls_response


def _pid_run(agent: Agent) -> int:
    return int(tool_messages(agent.run("pid?"))["p"])


def _pid_model(runs: int) -> ScriptedModel:
    script: list = []
    for _ in range(runs):
        script += [tool_calls_response(tool_call("pid", {}, id="p")), "ok"]
    return ScriptedModel(script)


def test_started_by_the_first_run_once_per_agent_and_stopped_by_close() -> None:
    server = demo()
    agent = Agent(_pid_model(2), plugins=[server])
    assert server._conn is None  # building the agent starts nothing
    with agent:
        first = _pid_run(agent)
        assert _pid_run(agent) == first  # the second run reuses the running server
        assert alive(first)
    assert wait_dead(first)  # leaving `with agent:` stopped it


def test_a_closed_agent_starts_its_server_again_when_it_runs_again() -> None:
    server = demo()
    agent = Agent(_pid_model(2), plugins=[server])
    first = _pid_run(agent)
    agent.close()
    second = _pid_run(agent)
    try:
        assert second != first and wait_dead(first) and alive(second)
    finally:
        agent.close()
    assert wait_dead(second)


def test_servers_stop_when_the_process_exits_without_close() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(SERVERS.parent)!r})
        from mcp_support import demo
        server = demo()
        print(server.call("pid", {{}}).text, flush=True)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert wait_dead(int(out.stdout.strip()))


def test_a_server_that_dies_mid_call_is_restarted_once_then_its_calls_fail() -> None:
    server = demo(name="fragile")
    model = ScriptedModel(
        [
            tool_calls_response(tool_call("pid", {}, id="before")),
            tool_calls_response(tool_call("crash", {}, id="crash1")),
            tool_calls_response(tool_call("pid", {}, id="after")),
            tool_calls_response(tool_call("crash", {}, id="crash2")),
            tool_calls_response(tool_call("pid", {}, id="dead")),
            "the server is gone",
            "a run without its tools",
        ]
    )
    with Agent(model, plugins=[server], max_tool_retries=5) as agent:
        result = agent.run("go")  # a broken server never ends the run: the model reads errors
        with pytest.warns(AgentloopWarning, match="died again after being restarted once"):
            later = agent.run("again")  # the next run starts without the dead server's tools
        assert later.output == "a run without its tools" and not model.requests[-1].get("tools")
    out = tool_messages(result)
    assert result.output == "the server is gone"
    assert out["crash1"].startswith("error: MCP server 'fragile'")
    assert "closed the connection during the call to 'crash'" in out["crash1"]
    assert "fatal: the demo server crashes on purpose" in out["crash1"]  # its last stderr line
    assert "it will be restarted for the next call" in out["crash1"]
    assert out["after"].isdigit() and out["after"] != out["before"]  # restarted: a new process
    assert "already restarted once" in out["crash2"]
    assert "is not running: it died again after being restarted once" in out["dead"]
    assert "fatal: the demo server crashes on purpose" in out["dead"]


def test_a_server_killed_between_calls_is_restarted_before_the_next_call() -> None:
    import os
    import signal

    server = demo(name="killed")
    try:
        first = int(server.call("pid", {}).text)
        os.kill(first, signal.SIGKILL)
        assert wait_dead(first)
        assert server._conn is not None and server._conn.stderr is not None
        assert server._conn.stderr.closed.wait(10)  # the process is gone: stderr closed
        second = int(server.call("pid", {}).text)  # no error: restarted before the call
        assert second != first
    finally:
        server.close()
