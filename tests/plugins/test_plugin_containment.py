"""An installed plugin that cannot load or is invalid is skipped with one warning; others go on.

The fixture folder ``tests/fixtures/broken-plugins`` holds two installed distributions
(``.dist-info`` metadata and modules): one raises at import, one implements a misspelled
hook. Putting the folder on ``sys.path`` installs them for this test only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from loop_support import add, tool_messages

from agentloop import Agent, AgentloopWarning, PluginError, hookimpl
from agentloop.plugins.manager import check_plugin
from agentloop.testing import ScriptedModel, tool_call, tool_calls_response

BROKEN = Path(__file__).resolve().parents[1] / "fixtures" / "broken-plugins"


@pytest.fixture
def broken_installed(monkeypatch):
    monkeypatch.syspath_prepend(str(BROKEN))
    monkeypatch.delenv("AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("AGENTLOOP_BLOCK_PLUGINS", raising=False)


def test_other_agents_keep_working(broken_installed):
    script = [tool_calls_response(tool_call("add", {"a": 2, "b": 3})), "5"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AgentloopWarning)  # the warning is tested in a subprocess
        agent = Agent(ScriptedModel(script), tools=[add])
    assert agent.plugin_manager.get_plugin("broken_import") is None
    assert agent.plugin_manager.get_plugin("broken_hook") is None
    assert tool_messages(agent.run("x").messages)[0]["content"] == "5"
    installed = agent.plugin_manager.installed
    assert "importing it failed: RuntimeError" in (installed["broken_import"].problem or "")
    assert "'agentloop_run_strat' (did you mean 'agentloop_run_start'?)" in (
        installed["broken_hook"].problem or ""
    )


def test_blocked_broken_plugins_are_never_loaded(broken_installed, monkeypatch):
    monkeypatch.setenv("AGENTLOOP_BLOCK_PLUGINS", "broken_import, broken_hook")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AgentloopWarning)
        agent = Agent(ScriptedModel(["ok"]))
    assert "broken_import" not in agent.plugin_manager.installed
    with warnings.catch_warnings():
        warnings.simplefilter("error", AgentloopWarning)
        Agent(ScriptedModel(["ok"]), block=["broken_import", "broken_hook"])


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BROKEN), *sys.path])}
    env.pop("AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD", None)
    env.pop("AGENTLOOP_BLOCK_PLUGINS", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_warning_once_per_plugin_naming_distribution_version_problem_fix():
    proc = run_python(
        """
        from agentloop import Agent
        from agentloop.testing import ScriptedModel
        for _ in range(3):
            print(Agent(ScriptedModel(["ok"])).run("x").output)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", "ok", "ok"]
    lines = [line for line in proc.stderr.splitlines() if "AgentloopWarning" in line]
    assert len(lines) == 2, proc.stderr
    [imp] = [line for line in lines if "'broken_import'" in line]
    assert "(agentloop-broken-import 0.1) is skipped: importing it failed: RuntimeError" in imp
    assert "pip uninstall agentloop-broken-import" in imp
    assert "AGENTLOOP_BLOCK_PLUGINS=broken_import" in imp
    [hook] = [line for line in lines if "'broken_hook'" in line]
    assert "(agentloop-broken-hook 0.2)" in hook and "agentloop_run_strat" in hook


def test_explicit_plugins_with_a_typo_still_raise():
    class Typo:
        @hookimpl
        def agentloop_run_strat(self, context):
            pass

    with pytest.raises(PluginError, match="agentloop_run_strat"):
        Agent(ScriptedModel([]), plugins=[Typo()], load_plugins=False)


def test_check_plugin_reports_bad_arguments():
    class BadArg:
        @hookimpl
        def agentloop_run_start(self, contxt):
            pass

    problem = check_plugin(BadArg(), "badarg")
    assert problem is not None and "contxt" in problem and "\n" not in problem
    assert check_plugin(BadArg, "cls") is not None
    assert check_plugin(object(), "nothing") is None
