"""Plugin discovery through the ``agentloop`` entry-point group, blocking, and loud failures.

``scripts/test.sh`` installs the real distribution in ``tests/fixtures/agentloop-testplugin``
(``pip install -e``) before pytest starts; when it is missing, the session fixture installs it
(a regular install, ``pip install --no-deps --no-build-isolation``).
"""

from __future__ import annotations

import fcntl
import importlib
import importlib.metadata
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from loop_support import add, make_agent, tool_messages

from agentloop import Agent, PluginError, hookimpl, tool
from agentloop.testing import ScriptedModel, tool_call, tool_calls_response

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "agentloop-testplugin"


def _installed() -> bool:
    importlib.invalidate_caches()
    try:
        importlib.metadata.distribution("agentloop-testplugin")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture(scope="session")
def testplugin():
    """The installed test plugin module (installing the distribution once if needed).

    ``scripts/test.sh`` installs it before pytest starts; this is the fallback.
    The check and the install both happen under one file lock shared by all
    pytest-xdist workers, so no two workers install it and none checks a
    half-written installation. The fallback is a regular install, not an
    editable one: its module lands in site-packages, which every running
    worker already has on ``sys.path``, so a worker that autoloads plugins
    after another one installed it can import it too (an editable install's
    ``.pth`` file is only read at interpreter start-up).
    """
    lock = Path(tempfile.gettempdir()) / "agentloop-testplugin-install.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if not _installed():
                _pip_install(FIXTURE)
            importlib.invalidate_caches()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    eps = importlib.metadata.entry_points(group="agentloop")
    assert "testplugin" in {ep.name for ep in eps}
    try:
        return importlib.import_module("agentloop_testplugin")
    except ImportError:
        # an editable install made after this interpreter started: its .pth was not read
        sys.path.insert(0, str(FIXTURE))
        return importlib.import_module("agentloop_testplugin")


def _pip_install(path: Path) -> None:
    """``pip install path``: without build isolation first (offline), else with it."""
    base = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", str(path)]
    for command in ([*base[:-1], "--no-build-isolation", base[-1]], base):
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            return
    pytest.fail(f"could not install {path.name}:\n{done.stdout}\n{done.stderr}")


@pytest.fixture
def enabled(monkeypatch):
    """Installed plugins autoloaded, whatever the developer's shell says."""
    monkeypatch.delenv("AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("AGENTLOOP_BLOCK_PLUGINS", raising=False)


def sent_tools(model: ScriptedModel) -> list[str]:
    return [t["function"]["name"] for t in model.requests[0].get("tools") or ()]


def test_installed_plugin_tools_reach_no_agent_unless_asked(testplugin, enabled):
    model = ScriptedModel([tool_calls_response(tool_call("testplugin_echo", {"text": "hi"})), "ok"])
    agent = Agent(model, tools=[add])
    assert agent.plugin_manager.get_plugin("testplugin") is testplugin
    result = agent.run("x")
    assert sent_tools(model) == ["add"]
    assert "unknown tool 'testplugin_echo'" in tool_messages(result.messages)[0]["content"]


def test_installed_plugin_tool_chosen_by_name_is_called(testplugin, enabled):
    script = [tool_calls_response(tool_call("testplugin_echo", {"text": "hi"})), "done"]
    model = ScriptedModel(script)
    result = Agent(model, tools=[add, "testplugin_echo"]).run("x")
    assert sent_tools(model) == ["add", "testplugin_echo"]
    assert tool_messages(result.messages)[0]["content"] == "testplugin:hi"


@pytest.mark.parametrize("how", ["env", "argument", "block"])
def test_installed_plugin_not_loaded_when_autoload_off(testplugin, enabled, monkeypatch, how):
    kwargs = {}
    if how == "env":
        monkeypatch.setenv("AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD", "1")
    elif how == "argument":
        kwargs["load_plugins"] = False
    else:
        kwargs["block"] = ["testplugin"]
    model = ScriptedModel([tool_calls_response(tool_call("testplugin_echo", {"text": "hi"})), "ok"])
    agent = Agent(model, tools=[add], **kwargs)
    assert agent.plugin_manager.get_plugin("testplugin") is None
    result = agent.run("x")
    assert "testplugin_echo" not in [t["function"]["name"] for t in model.requests[0]["tools"]]
    assert "unknown tool 'testplugin_echo'" in tool_messages(result.messages)[0]["content"]


def test_plugin_passed_explicitly_is_registered_once(testplugin, enabled):
    agent = Agent(ScriptedModel(["ok"]), plugins=[testplugin])
    assert [p for p in agent.plugin_manager.get_plugins() if p is testplugin] == [testplugin]


def test_fresh_interpreter_discovers_the_distribution(testplugin):
    code = textwrap.dedent(
        """
        from agentloop import Agent
        from agentloop.testing import ScriptedModel, tool_call, tool_calls_response
        model = ScriptedModel([tool_calls_response(tool_call("testplugin_echo", {"text": "x"})), "ok"])
        try:
            result = Agent(model, tools=["testplugin_echo"]).run("x")
        except Exception as exc:
            print(exc)
        else:
            print(result.messages[-2]["content"])
        """
    )
    env = dict(os.environ)
    env.pop("AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD", None)

    def last_tool_message() -> str:
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return out.stdout.strip()

    assert last_tool_message() == "testplugin:x"
    env["AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    assert last_tool_message().startswith("unknown tool 'testplugin_echo'")


def test_duplicate_tool_names_fail_at_run_start_naming_both_owners(testplugin, enabled):
    @tool(name="testplugin_echo")
    def mine(text: str) -> str:
        """Mine.

        Args:
            text: Text.
        """
        return text

    agent = Agent(ScriptedModel(["never"]), tools=[mine, "testplugin_echo"])
    with pytest.raises(PluginError, match="testplugin_echo") as info:
        agent.run("x")
    assert "'testplugin'" in str(info.value) and "'agentloop.agent-tools'" in str(info.value)
    # not chosen by name: the agent's own tool of that name is simply its tool
    assert Agent(ScriptedModel(["ok"]), tools=[mine]).run("x").output == "ok"


def test_duplicate_tool_names_between_plugins():
    class A:
        @hookimpl
        def agentloop_tools(self):
            return [add]

    agent, model = make_agent(["never"], tools=[add], plugins=[A()])
    with pytest.raises(PluginError, match="two tools are named 'add'") as info:
        agent.run("x")
    assert model.requests == []
    # both owners by a name a person can act on (not pluggy's id() for unnamed objects)
    message = str(info.value)
    assert "'agentloop.agent-tools'" in message
    assert "test_duplicate_tool_names_between_plugins.<locals>.A object" in message


def test_hook_name_typo_fails_loudly():
    class Typo:
        @hookimpl
        def agentloop_tool(self):
            return []

    with pytest.raises(PluginError, match="agentloop_tool"):
        Agent(ScriptedModel([]), plugins=[Typo()], load_plugins=False)


def test_hook_argument_typo_fails_loudly():
    class BadArg:
        @hookimpl
        def agentloop_call_tool(self, call, tool, contxt):
            return None

    with pytest.raises(PluginError, match="contxt"):
        Agent(ScriptedModel([]), plugins=[BadArg()], load_plugins=False)


def test_broken_tools_hook_names_the_plugin():
    class Broken:
        @hookimpl
        def agentloop_tools(self):
            raise RuntimeError("no config")

    agent, _ = make_agent(["x"], plugins=[Broken()])
    with pytest.raises(PluginError, match="no config"):
        agent.run("x")


def test_builtin_plugin_can_be_blocked():
    @tool(requires_approval=True)
    def risky() -> str:
        """Risky."""
        return "ran"

    agent, _ = make_agent(
        [tool_calls_response(tool_call("risky")), "ok"],
        tools=[risky],
        block=["agentloop.plugins.approval"],
    )
    assert tool_messages(agent.run("x").messages)[0]["content"] == "ran"


def test_tools_hook_wrappers_are_skipped_not_called_as_tools():
    class Wrap:
        @hookimpl(wrapper=True)
        def agentloop_tools(self):
            return (yield)

    agent, model = make_agent(["ok"], tools=[add], plugins=[Wrap()])
    agent.run("x")
    assert [t["function"]["name"] for t in model.requests[0]["tools"]] == ["add"]


@pytest.mark.parametrize(
    ("value", "loaded"),
    [("1", False), ("true", False), ("yes", False), ("0", True), ("", True), ("false", True)],
)
def test_autoload_env_values(testplugin, enabled, monkeypatch, value, loaded):
    monkeypatch.setenv("AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD", value)
    agent = Agent(ScriptedModel([]))
    assert (agent.plugin_manager.get_plugin("testplugin") is testplugin) is loaded
