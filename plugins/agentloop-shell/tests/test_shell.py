"""Tests for agentloop-shell: off by default, approval, time limit, output cap, clean env (RELIABILITY 61, 65)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agentloop_shell import ENV_ALLOWLIST, ShellPlugin, clean_environment

from agentloop import Agent, ConfigurationError, ToolError
from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response

SECRET = "sk-test-SECRET-0123456789abcdef"


def is_gone(pid: int, polls: int = 600) -> bool:
    """Return True once ``pid`` no longer exists (or is a zombie about to be reaped).

    Polls every 50 ms, so gives up after 30 s at the earliest: a hang bound for
    processes that would otherwise sleep for 600 s, not a speed check.
    """
    for _ in range(polls):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in {"Z", "X"}:
            return True
        time.sleep(0.05)
    return False


def gone_or_killed(pid: int) -> bool:
    """:func:`is_gone`; when not, kill the leftover (a 600 s sleep) before failing."""
    if is_gone(pid):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return False


def run_agent(
    command: str, plugin: ShellPlugin, **agent_options: object
) -> tuple[dict, ScriptedModel]:
    model = ScriptedModel(
        [tool_calls_response(tool_call("run_command", {"command": command})), text_response("done")]
    )
    agent = Agent(model=model, plugins=[plugin], load_plugins=False, **agent_options)
    result = agent.run("please run it")
    (tool_message,) = [m for m in result.messages if m["role"] == "tool"]
    return tool_message, model


# ---------------------------------------------------------------------------
# Off unless enabled
# ---------------------------------------------------------------------------


def test_entry_point_module_offers_nothing() -> None:
    import agentloop_shell

    # it pushes no tools into agents: it only offers the 'shell' toolset by name
    hooks = [name for name in vars(agentloop_shell) if name.startswith("agentloop_")]
    assert hooks == ["agentloop_register_tools"]
    (offered,) = agentloop_shell.agentloop_register_tools()
    assert offered.name == "shell"
    from importlib.metadata import entry_points

    (point,) = [ep for ep in entry_points(group="agentloop") if ep.name == "shell"]
    assert point.value == "agentloop_shell"


def test_disabled_plugin_offers_no_tool(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    assert ShellPlugin().agentloop_tools() == []
    import agentloop_shell

    model = ScriptedModel(
        [
            tool_calls_response(tool_call("run_command", {"command": f"touch {marker}"})),
            text_response("ok"),
        ]
    )
    agent = Agent(
        model=model,
        plugins=[agentloop_shell, ShellPlugin()],  # the entry-point module and a disabled plugin
        load_plugins=False,
        approver=lambda call, tool: True,
    )
    (message,) = [m for m in agent.run("go").messages if m["role"] == "tool"]
    assert message["content"].startswith("error: unknown tool 'run_command'")
    assert not marker.exists()
    assert "tools" not in model.requests[0] or not model.requests[0]["tools"]


def test_tool_requires_approval() -> None:
    (offered,) = ShellPlugin(enabled=True).agentloop_tools()
    assert offered.name == "run_command"
    assert offered.requires_approval is True
    assert offered.parameters["required"] == ["command"]
    assert "approved" in offered.description


# ---------------------------------------------------------------------------
# RELIABILITY 61: approval through the agent loop
# ---------------------------------------------------------------------------


def test_denied_without_approver(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    message, _ = run_agent(f"touch {marker}", ShellPlugin(enabled=True))
    assert message["content"] == "denied: approval required"
    assert not marker.exists()


def test_denied_by_approver(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    asked: list[str] = []

    def approver(call, tool) -> bool:
        asked.append(call.arguments)
        return False

    message, _ = run_agent(f"touch {marker}", ShellPlugin(enabled=True), approver=approver)
    assert message["content"].startswith("denied:")
    assert len(asked) == 1 and str(marker) in asked[0]
    assert not marker.exists()


def test_runs_when_approved(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    plugin = ShellPlugin(enabled=True, cwd=tmp_path)
    message, _ = run_agent(
        f"touch {marker.name}", plugin, approver=lambda call, tool: tool.name == "run_command"
    )
    assert message["content"].startswith("exit code 0")
    assert marker.exists()


def test_cli_without_a_terminal_denies(tmp_path: Path) -> None:
    """``agentloop run`` with stdin not a TTY: nobody can approve, so the command never runs."""
    marker = tmp_path / "ran"
    (tmp_path / "shell_agent.py").write_text(
        "from agentloop import Agent\n"
        "from agentloop_shell import ShellPlugin\n"
        "agent = Agent('offline', plugins=[ShellPlugin(enabled=True)], load_plugins=False)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTLOOP_", "OPENAI_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "agentloop", "run", "shell_agent.py",
         f'Run the command "touch {marker}"', "--json"],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    steps = [s for s in json.loads(proc.stdout)["steps"] if s["kind"] == "tool"]
    assert [(s["tool_name"], s["status"]) for s in steps] == [("run_command", "denied")]
    assert str(marker) in steps[0]["arguments"]
    assert not marker.exists()


# ---------------------------------------------------------------------------
# Running commands
# ---------------------------------------------------------------------------


@pytest.fixture
def shell() -> ShellPlugin:
    return ShellPlugin(enabled=True, timeout=5)


def test_output_and_exit_code(shell: ShellPlugin) -> None:
    assert shell.run("echo hello 'big world'") == "exit code 0\nhello big world\n"
    assert shell.run("sh -c 'echo oops >&2; exit 3'") == "exit code 3\noops\n"
    assert shell.run("true") == "exit code 0\n(no output)"


def test_no_shell_interpretation(shell: ShellPlugin, tmp_path: Path) -> None:
    target = tmp_path / "x"
    out = shell.run(f"echo $HOME; touch {target} | cat > {target} && *")
    assert f"$HOME; touch {target} | cat > {target} && *" in out
    assert not target.exists()


@pytest.mark.parametrize(
    ("command", "match"),
    [("", "empty"), ("   ", "empty"), ("echo 'unclosed", "parse"),
     ("definitely-not-a-command-xyz", "not found"), ("/etc", "could not start")],
)  # fmt: skip
def test_bad_commands(shell: ShellPlugin, command: str, match: str) -> None:
    with pytest.raises(ToolError, match=match):
        shell.run(command)


def test_timeout_kills_process_group(shell: ShellPlugin) -> None:
    # Both processes would run for 600 s (past pytest-timeout): the run returning at all,
    # with the timeout error, and the background child being gone show the group was killed.
    plugin = ShellPlugin(enabled=True, timeout=1)
    with pytest.raises(ToolError, match="timed out after 1 s") as info:
        plugin.run("sh -c 'sleep 600 & echo child=$!; sleep 600'")
    child = int(re.search(r"child=(\d+)", str(info.value)).group(1))  # type: ignore[union-attr]
    assert gone_or_killed(child)


def test_background_child_not_left_behind(shell: ShellPlugin) -> None:
    # The child holds the output pipe for 600 s: waiting for its EOF would hang the test
    # past pytest-timeout; "exit code 0" means run() returned when the shell exited.
    out = shell.run("sh -c 'sleep 600 & echo child=$!'")
    assert out.startswith("exit code 0")
    assert gone_or_killed(int(re.search(r"child=(\d+)", out).group(1)))  # type: ignore[union-attr]


def test_output_cap(shell: ShellPlugin) -> None:
    plugin = ShellPlugin(enabled=True, max_output=1000, timeout=10)
    out = plugin.run(f"{sys.executable} -c \"print('a' * 300000)\"")
    assert "\n" + "a" * 1000 + "\n[output truncated" in out
    assert "a" * 1001 not in out
    assert out.endswith("[output truncated: 299001 more bytes not shown]")


def test_endless_output_bounded_by_timeout() -> None:
    plugin = ShellPlugin(enabled=True, max_output=100, timeout=1)
    with pytest.raises(ToolError, match="timed out after 1 s") as info:  # `yes` never ends
        plugin.run("yes")
    assert len(str(info.value)) < 500


# ---------------------------------------------------------------------------
# RELIABILITY 65: the environment carries no secrets
# ---------------------------------------------------------------------------


def test_environment_has_no_secrets(shell: ShellPlugin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("AGENTLOOP_API_KEY", SECRET)
    monkeypatch.setenv("AGENTLOOP_BASE_URL", "http://internal")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("LANG", "C.UTF-8")
    out = shell.run("env")
    assert SECRET not in out
    assert "AGENTLOOP_" not in out
    names = {line.split("=", 1)[0] for line in out.splitlines()[1:] if "=" in line}
    assert names <= set(ENV_ALLOWLIST)
    assert "PATH" in names and "LANG" in names


def test_clean_environment_keeps_only_allowlist() -> None:
    env = clean_environment({"HOME": "/h", "GITHUB_TOKEN": "x", "AGENTLOOP_X": "y"})
    assert env == {"HOME": "/h", "PATH": "/usr/local/bin:/usr/bin:/bin"}


def test_cwd(tmp_path: Path) -> None:
    out = ShellPlugin(enabled=True, cwd=tmp_path).run("pwd")
    assert out == f"exit code 0\n{os.path.realpath(tmp_path)}\n"


@pytest.mark.parametrize(
    "kwargs", [{"timeout": 0}, {"max_output": 0}, {"cwd": "/definitely/not/here"}]
)
def test_bad_configuration(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        ShellPlugin(enabled=True, **kwargs)


def test_approval_plugin_hook(tmp_path: Path) -> None:
    from agentloop import hookimpl

    class Policy:
        """Approves only ``echo`` commands."""

        @hookimpl
        def agentloop_approve_tool_call(self, call, tool) -> bool | None:
            return '"echo ' in call.arguments

    model = ScriptedModel(
        [
            tool_calls_response(
                tool_call("run_command", {"command": "echo allowed"}),
                tool_call("run_command", {"command": f"touch {tmp_path / 'x'}"}),
            ),
            text_response("done"),
        ]
    )
    agent = Agent(model=model, plugins=[ShellPlugin(enabled=True), Policy()], load_plugins=False)
    result = agent.run("go")
    allowed, denied = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert allowed == "exit code 0\nallowed\n"
    assert denied.startswith("denied:")
    assert not (tmp_path / "x").exists()
    assert [s.status for s in result.steps if s.kind == "tool"] == ["ok", "denied"]
