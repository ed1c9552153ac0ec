"""In-process tests of the CLI's parts: TARGET loading, model choice, status line, output."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentloop import Agent, ConfigurationError
from agentloop.cli.entry import main
from agentloop.cli.output import Renderer, StatusLine, Style, approval_prompt, format_call
from agentloop.cli.run import OFFLINE_NOTICE, TerminalApprover, choose_model
from agentloop.cli.target import TargetError, TargetImportError, load_target
from agentloop.config import Settings
from agentloop.testing import tool_call

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cli"


@pytest.fixture(autouse=True)
def _no_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD", "1")


# -- TARGET ------------------------------------------------------------------------------------


def test_file_target_does_not_run_main_block() -> None:
    agent = load_target(str(FIXTURES / "calc_agent.py"))
    assert isinstance(agent, Agent)
    assert [t.name for t in agent.tools] == ["calculate", "add", "multiply"]


def test_tools_only_module_builds_an_agent() -> None:
    agent = load_target(str(FIXTURES / "tools_only.py"))
    assert [t.name for t in agent.tools] == ["shout", "repeat"]
    assert agent.instructions == "Answer questions about words."


def test_module_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mypkg_cli_test.py").write_text(
        '"""Docstring instructions."""\n'
        "from agentloop import Agent, tool\n\n"
        '@tool\ndef ping() -> str:\n    """Ping."""\n    return \'pong\'\n\n'
        "def make():\n    return Agent(tools=[ping], load_plugins=False, name='made')\n\n"
        "TOOLS = [ping]\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_target("mypkg_cli_test").instructions == "Docstring instructions."
    assert load_target("mypkg_cli_test:make").name == "made"
    assert [t.name for t in load_target("mypkg_cli_test:TOOLS").tools] == ["ping"]
    assert [t.name for t in load_target("mypkg_cli_test:ping").tools] == ["ping"]
    with pytest.raises(TargetError, match="not an Agent"):
        load_target("mypkg_cli_test:__doc__")


@pytest.mark.parametrize(
    "target, error, message",
    [
        ("nope.py", TargetError, "no such file"),
        (str(FIXTURES / "broken.py"), TargetImportError, "ZeroDivisionError"),
        (str(FIXTURES / "two_agents.py"), TargetError, "several agents"),
        ("json", TargetError, "defines no Agent and no @tool functions"),
        ("no_such_module_abc", TargetError, "no module named"),
    ],
)
def test_bad_targets(target: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        load_target(target)


# -- model choice ------------------------------------------------------------------------------


def test_choose_model() -> None:
    from agentloop.offline.model import OfflineModel

    offline = OfflineModel()
    model, notice = choose_model(offline, Settings())
    assert model.name == "offline" and notice == OFFLINE_NOTICE
    env_settings = Settings(model="offline", sources={"model": "env AGENTLOOP_MODEL"})
    assert choose_model(offline, env_settings)[1] is None
    custom = object()
    assert choose_model(custom, env_settings) == (None, None)  # the agent's own model stays
    arg_settings = Settings(model="offline", sources={"model": "--model"})
    model, notice = choose_model(custom, arg_settings)
    assert model.name == "offline" and notice is None
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        choose_model(offline, Settings(model="openai:x", sources={"model": "--model"}))


# -- output ------------------------------------------------------------------------------------


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_line_draws_and_clears_on_a_terminal() -> None:
    stream = FakeTTY()
    status = StatusLine(stream)
    assert status.enabled
    status.show("waiting for model")
    time.sleep(0.35)
    status.clear()
    status.close()
    text = stream.getvalue()
    assert "waiting for model (0." in text
    assert text.endswith("\r\x1b[K")


def test_status_line_is_silent_when_piped() -> None:
    stream = io.StringIO()
    status = StatusLine(stream)
    status.show("waiting for model")
    time.sleep(0.15)
    status.close()
    assert stream.getvalue() == ""


def test_format_call() -> None:
    assert format_call("calc", '{"expression": "1 + 2", "n": 3}') == "calc(expression='1 + 2', n=3)"
    assert format_call("f", "not json") == "f(not json)"
    assert format_call("f", "") == "f()"


def test_renderer_breaks_partial_lines_only_on_a_shared_terminal() -> None:
    out, err = FakeTTY(), FakeTTY()
    renderer = Renderer(out, err, StatusLine(err, enabled=False))
    renderer.write_text("thinking")
    renderer.note("→ f() = 1")
    assert out.getvalue() == "thinking\n"


def test_terminal_approver(monkeypatch: pytest.MonkeyPatch) -> None:
    class Session:
        status = StatusLine(io.StringIO())
        style = Style(io.StringIO())

    approver = TerminalApprover(Session())
    call = tool_call("delete", {"path": "x"})
    stdin = FakeTTY("y\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert approver.agentloop_approve_tool_call(call=call, tool=None) is True
    assert "Allow delete(path='x')? [y/N]" in err.getvalue()
    monkeypatch.setattr(sys, "stdin", FakeTTY("\n"))
    assert approver.agentloop_approve_tool_call(call=call, tool=None) is False
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # not a terminal: no answer
    assert approver.agentloop_approve_tool_call(call=call, tool=None) is None


def test_approval_prompt_shows_the_exact_arguments() -> None:
    assert approval_prompt("rm", '{"path": "x"}') == "Allow rm(path='x')? [y/N] "
    long = {"content": "a  b\n" * 50, "path": "notes.txt"}
    text = approval_prompt("write_file", json.dumps(long))
    assert text.startswith("write_file wants to run with these exact arguments:\n")
    shown = text.split("\n", 1)[1].rsplit("\nAllow", 1)[0]
    assert json.loads(shown) == long  # nothing cut, nothing reflowed
    assert text.endswith("Allow write_file? [y/N] ")
    assert "not json" in approval_prompt("x", "not json")


def test_style_is_off_unless_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert Style(io.StringIO()).paint("x", "error") == "x"
    assert Style(FakeTTY("")).paint("x", "error") == "\x1b[1;31mx\x1b[0m"
    assert Style(FakeTTY("")).prompt("you> ") == "\001\x1b[1;32m\002you> \001\x1b[0m\002"
    monkeypatch.setenv("NO_COLOR", "1")
    assert Style(FakeTTY("")).paint("x", "error") == "x"


def test_main_returns_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(FIXTURES / "two_agents.py"), "hi"]) == 2
    assert "several agents" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["--bogus"])
    assert info.value.code == 2


def test_main_interrupt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentloop.cli import entry as cli

    def interrupted(args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_dispatch", interrupted)
    assert main(["plugins"]) == 130
    assert capsys.readouterr().err == "agentloop: interrupted\n"


def test_status_line_never_overwrites_a_partial_answer_line() -> None:
    from agentloop.deltas import TextDelta
    from agentloop.events import StepFinished
    from agentloop.result import Step

    out, err = FakeTTY(), FakeTTY()
    status = StatusLine(err)
    renderer = Renderer(out, err, status)
    renderer.write_text("The answer")
    renderer.handle(
        StepFinished(step=Step(kind="model", index=1, started_at=0, duration=0), kind="model")
    )
    time.sleep(0.25)
    assert err.getvalue() == ""
    renderer.finish_text()
    renderer.handle(TextDelta(delta=""))
    renderer.show_status("waiting for model")
    time.sleep(0.25)
    status.close()
    assert "waiting for model" in err.getvalue()
