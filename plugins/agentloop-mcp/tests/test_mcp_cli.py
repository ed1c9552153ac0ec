"""``--mcp`` and ``[mcp.servers.NAME]``: the command line and config files (desktop-client shape)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from agentloop_mcp import servers_from_config, servers_from_specs
from mcp_support import SERVERS

from agentloop import ConfigurationError

DEMO = f"{sys.executable} {SERVERS / 'demo_server.py'}"


def _agentloop(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTLOOP_MODEL": "offline"}
    return subprocess.run(
        [sys.executable, "-m", "agentloop", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_specs_are_urls_or_command_lines() -> None:
    web, local, again = servers_from_specs(
        ["https://example.com/mcp", "python 'my server.py' --fast", "python 'my server.py'"]
    )
    assert (web.endpoint.kind, web.endpoint.url, web.name) == (
        "http",
        "https://example.com/mcp",
        "example_com",
    )
    assert local.endpoint.command == "python" and local.endpoint.args == ("my server.py", "--fast")
    assert (local.name, again.name) == ("my_server", "my_server2")  # distinct names
    with pytest.raises(ConfigurationError, match="--mcp needs a command line"):
        servers_from_specs(["  "])


def test_desktop_client_entries_paste_into_the_config() -> None:
    desktop = json.loads(
        """{"mcpServers": {
            "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
                      "env": {"DEBUG": "0"}},
            "search": {"type": "http", "url": "https://example.com/mcp",
                       "headers": {"Authorization": "Bearer abc"}},
            "old": {"command": "old-server", "disabled": true}
        }}"""
    )
    files, search = servers_from_config(desktop, source="claude_desktop_config.json")
    assert files.name == "files" and files.endpoint.args[-1] == "/tmp"
    assert files.endpoint.env == {"DEBUG": "0"}
    assert search.endpoint.headers == {"Authorization": "Bearer abc"}
    assert "abc" not in repr(search) and "abc" not in repr(search.endpoint)  # secrets stay out
    (prefixed,) = servers_from_config(
        {"servers": {"db": {"command": "db-mcp", "prefix": True, "timeout": 5}}}
    )
    assert prefixed.prefix == "db_" and prefixed.timeout == 5


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"args": ["x"]}, r"\[mcp.servers.bad\] in agentloop.toml: needs command"),
        ({"command": "x", "url": "http://h/mcp"}, "either command or url"),
        ({"type": "sse", "url": "http://h/sse"}, "SSE transport is not supported"),
        ({"command": "x", "colour": "red"}, "unknown key 'colour'"),
        ({"command": "x", "args": "a b"}, "args must be a list of strings"),
        ({"url": "ftp://h"}, "needs an http"),
    ],
)
def test_bad_config_entries_name_the_entry(entry: dict, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        servers_from_config({"servers": {"bad": entry}}, source="agentloop.toml")


def test_agentloop_tools_lists_an_mcp_servers_tools() -> None:
    done = _agentloop("tools", "--mcp", DEMO)
    assert done.returncode == 0, done.stderr
    names = [d["function"]["name"] for d in json.loads(done.stdout)]
    assert {"place_order", "forecast", "crash"} <= set(names)


def test_mcp_servers_from_agentloop_toml(tmp_path: Path) -> None:
    (tmp_path / "agentloop.toml").write_text(
        "max_steps = 4\n\n"
        "[mcp.servers.shop]\n"
        f"command = {json.dumps(sys.executable)}\n"
        f"args = [{json.dumps(str(SERVERS / 'demo_server.py'))}]\n"
        'prefix = true\ntool_filter = { allow = ["forecast", "pid"] }\n',
        encoding="utf-8",
    )
    listed = _agentloop("tools", cwd=tmp_path)  # the registry offers the server by its name
    assert listed.returncode == 0, listed.stderr
    assert any(
        line.startswith("shop ") and "toolset" in line for line in listed.stdout.splitlines()
    )
    done = _agentloop("tools", "-T", "shop", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [d["function"]["name"] for d in json.loads(done.stdout)] == ["shop_forecast", "shop_pid"]
    ran = _agentloop("run", "-T", "shop", 'What is the forecast for "Oslo"?', cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "shop_forecast(city=" in ran.stderr


def test_run_with_mcp_and_no_target() -> None:
    done = _agentloop("run", "--mcp", DEMO, "What is the forecast for Paris?")
    assert done.returncode == 0, done.stderr
    assert "forecast(city=" in done.stderr  # the call line: the offline model used the MCP tool


def test_a_bad_mcp_value_is_a_usage_error() -> None:
    done = _agentloop("tools", "--mcp", "python 'unclosed")
    assert done.returncode == 2
    assert done.stderr.strip().startswith('agentloop: error: --mcp "python \'unclosed"')


def test_without_the_plugin_the_cli_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['agentloop_mcp'] = None\n"
        "from agentloop.cli import main\n"
        "sys.exit(main(['tools', '--mcp', 'python server.py']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith(
        "agentloop: error: MCP support needs the agentloop-mcp plugin: "
        "pip install -e ./plugins/agentloop-mcp"
    )
    assert len(done.stderr.strip().splitlines()) == 1


def test_configured_servers_are_chosen_by_name_in_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentloop import Agent
    from agentloop.testing import ScriptedModel, tool_call, tool_calls_response

    (tmp_path / "agentloop.toml").write_text(
        "[mcp.servers.meteo]\n"
        f"command = {json.dumps(sys.executable)}\n"
        f"args = [{json.dumps(str(SERVERS / 'demo_server.py'))}]\n"
        'tool_filter = { allow = ["forecast", "fail"] }\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    model = ScriptedModel(
        [
            tool_calls_response(
                tool_call("forecast", {"city": "Oslo"}, id="f"),
                tool_call("fail", {"reason": "no"}, id="e"),
            ),
            "done",
        ]
    )
    agent = Agent(model, tools=["meteo"])
    result = agent.run("go")
    steps = {s.call_id: s for s in result.steps if s.kind == "tool"}
    assert steps["f"].status == "ok" and steps["e"].status == "error"
    assert sorted(t["function"]["name"] for t in model.requests[0]["tools"]) == ["fail", "forecast"]
    plain = ScriptedModel(["x"])
    Agent(plain).run("go")  # an agent that does not ask for the server gets none of its tools
    assert not plain.requests[0].get("tools")
