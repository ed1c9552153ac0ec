"""The CLI without a file: ``run -T``, ``tools``, ``plugins``, ``models``, ``keys``, bad input."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from cli_support import CALC, agentloop

from agentloop.cli.agents import looks_like_target

BROKEN = Path(__file__).resolve().parents[1] / "fixtures" / "broken-plugins"
ROOT = Path(__file__).resolve().parents[2]


def plugins_on(**extra: str) -> dict[str, str]:
    """Environment overrides: installed plugins autoloaded (the user's machine)."""
    return {"AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD": "0", **extra}


def with_broken(**extra: str) -> dict[str, str]:
    """Also the two broken fixture distributions installed (on the path)."""
    path = os.pathsep.join([str(BROKEN), *sys.path])
    return plugins_on(PYTHONPATH=path, **extra)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("agentloop: error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_run_with_a_named_tool_and_no_file(tmp_path: Path) -> None:
    proc = agentloop(
        "run", "-T", "calculate", "What is 12 * (3 + 4)?", cwd=tmp_path, **plugins_on()
    )
    assert proc.returncode == 0, proc.stderr
    assert "84" in proc.stdout
    assert "→ calculate(expression='12 * (3 + 4)') = 84" in proc.stderr


def test_run_json_sends_only_the_named_tool_and_the_system_text(tmp_path: Path) -> None:
    proc = agentloop(
        "run", "-T", "calculate", "-s", "Be brief.", "What is 2**10?", "--json",
        cwd=tmp_path, **plugins_on(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["messages"][0] == {"role": "system", "content": "Be brief."}
    assert [s["tool_name"] for s in result["steps"] if s["kind"] == "tool"] == ["calculate"]
    assert "1024" in result["output"]


AGENT_FILE = """
from agentloop import Agent, tool


@tool
def add(a: int, b: int) -> int:
    \"\"\"Add.

    Args:
        a: A number.
        b: Another.
    \"\"\"
    return a + b


agent = Agent(tools=[add])
"""


def test_installed_plugin_tools_are_not_sent_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(AGENT_FILE)
    proc = agentloop("tools", "mine.py", cwd=tmp_path, **plugins_on())
    assert proc.returncode == 0, proc.stderr
    assert [d["function"]["name"] for d in json.loads(proc.stdout)] == ["add"]
    proc = agentloop("tools", "mine.py", "-T", "testplugin_echo", cwd=tmp_path, **plugins_on())
    assert [d["function"]["name"] for d in json.loads(proc.stdout)] == ["add", "testplugin_echo"]
    # an agent made with load_plugins=False cannot get them, and the error says why
    proc = agentloop("tools", CALC, "-T", "testplugin_echo", cwd=tmp_path, **plugins_on())
    assert proc.returncode == 2
    assert "loads no installed plugins: Agent(load_plugins=False)" in one_error_line(proc.stderr)


def test_installed_plugin_tool_chosen_on_the_cli_is_called(tmp_path: Path) -> None:
    proc = agentloop(
        "run", "-T", "testplugin_greeter",
        "--tool-option", "testplugin_greeter.greeting=Hi",
        "--tool-option", "testplugin_greeter.times=2",
        'Greet "Ada"', cwd=tmp_path, **plugins_on(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "testplugin_greet(name='Ada') = Hi, Ada Hi, Ada" in proc.stderr


def test_config_file_tools_and_tool_options(tmp_path: Path) -> None:
    (tmp_path / "agentloop.toml").write_text(
        'tools = ["testplugin_greeter"]\n\n[tool_options.testplugin_greeter]\ngreeting = "Hey"\n'
    )
    proc = agentloop("run", 'Greet "Bo"', cwd=tmp_path, **plugins_on())
    assert proc.returncode == 0, proc.stderr
    assert "= Hey, Bo" in proc.stderr
    # the CLI wins over the file, option by option
    proc = agentloop(
        "run", "--tool-option", "testplugin_greeter.shout=true", 'Greet "Bo"',
        cwd=tmp_path, **plugins_on(),
    )  # fmt: skip
    assert "= HEY, BO" in proc.stderr, proc.stderr
    # a TARGET's agent keeps the tools it asks for: config tools are for the default agent
    proc = agentloop("tools", CALC, cwd=tmp_path, **plugins_on())
    assert "testplugin_greet" not in proc.stdout


@pytest.mark.parametrize(
    ("args", "culprit"),
    [
        (["-T", "calcuate"], "unknown tool 'calcuate' (did you mean 'calculate'?)"),
        (["-T", "testplugin_greeter", "--tool-option", "testplugin_greeter.greting=Hi"],
         "unknown tool option testplugin_greeter.greting (did you mean 'greeting'?)"),
        (["-T", "testplugin_greeter", "--tool-option", "testplugin_greeter.greeting=Hi",
          "--tool-option", "testplugin_greeter.times=many"],
         "testplugin_greeter.times must be an integer, got 'many'"),
        (["-T", "testplugin_greeter"], "toolset 'testplugin_greeter' needs the option 'greeting'"),
        (["--tool-option", "greeting=Hi"], "is not TOOLSET.OPTION=VALUE"),
        (["--tool-option", "nosuch.x=1"], "'nosuch', which is no installed toolset"),
    ],
)  # fmt: skip
def test_bad_tool_input_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], culprit: str
) -> None:
    proc = agentloop("run", *args, "hello", cwd=tmp_path, **plugins_on())
    assert proc.returncode == 2, proc.stderr
    assert culprit in one_error_line(proc.stderr)


def test_broken_installed_plugins_warn_once_and_runs_go_on(tmp_path: Path) -> None:
    proc = agentloop("run", "-T", "calculate", "What is 2 + 2?", cwd=tmp_path, **with_broken())
    assert proc.returncode == 0, proc.stderr
    assert "4" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("agentloop: warning:")]
    assert len(warnings) == 2, proc.stderr
    assert any("'broken_import' (agentloop-broken-import 0.1)" in w for w in warnings)
    assert any("unknown hook 'agentloop_run_strat'" in w for w in warnings)
    assert all("AGENTLOOP_BLOCK_PLUGINS=" in w for w in warnings)
    assert "Traceback" not in proc.stderr
    # blocked by name: not even imported, no warning
    proc = agentloop(
        "run", "--block", "broken_import", "--block", "broken_hook", "-T", "calculate",
        "What is 2 + 2?", cwd=tmp_path, **with_broken(),
    )  # fmt: skip
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr


def test_plugins_marks_broken_ones_and_exits_non_zero(tmp_path: Path) -> None:
    proc = agentloop("plugins", cwd=tmp_path, **with_broken())
    assert proc.returncode == 1
    assert (
        "broken_import (agentloop-broken-import 0.1): agentloop_broken_import [BROKEN]"
        in proc.stdout
    )
    assert "problem: it implements the unknown hook 'agentloop_run_strat'" in proc.stdout
    assert "broken plugin(s): broken_hook, broken_import" in proc.stderr
    proc = agentloop("plugins", "--json", cwd=tmp_path, **with_broken())
    assert proc.returncode == 1
    by_name = {e["name"]: e for e in json.loads(proc.stdout)}
    assert by_name["broken_hook"]["status"] == "broken"
    assert by_name["broken_hook"]["version"] == "0.2"
    assert "pip uninstall agentloop-broken-hook" in by_name["broken_hook"]["fix"]
    strict = by_name["strict_hooks"]  # listed without calling agentloop_tools(agent=None)
    assert strict["status"] == "ok", strict
    assert strict["hooks"] == ["agentloop_run_start", "agentloop_tools"]
    assert "agentloop_tools is not asked for installed plugins" in strict["notes"][0]
    test = by_name["testplugin"]
    assert test["status"] == "ok" and test["distribution"] == "agentloop-testplugin"
    assert test["hooks"] == ["agentloop_model_request", "agentloop_register_tools"]
    assert test["tools"] == ["testplugin_echo", "testplugin_greeter"]


def test_plugins_lists_every_entry_point_and_exits_0_when_healthy(tmp_path: Path) -> None:
    from importlib.metadata import entry_points

    proc = agentloop("plugins", "--json", cwd=tmp_path, **plugins_on())
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert sorted(e["name"] for e in report) == sorted(
        {ep.name for ep in entry_points(group="agentloop")}
    )
    by_name = {e["name"]: e for e in report}
    assert by_name["calculator"]["tools"] == ["calculate"]
    assert "agentloop_register_tools" in by_name["calculator"]["hooks"]


def test_tools_lists_every_offer_with_exact_definitions(tmp_path: Path) -> None:
    proc = agentloop("tools", cwd=tmp_path, **plugins_on())
    assert proc.returncode == 0, proc.stderr
    assert "calculate" in proc.stdout and "toolset" in proc.stdout
    assert "greeting (str, required)" in proc.stdout
    proc = agentloop("tools", "--json", cwd=tmp_path, **plugins_on())
    entries = {e["name"]: e for e in json.loads(proc.stdout)}
    from agentloop_calculator import calculate

    assert entries["calculate"]["definition"] == calculate.definition
    assert entries["calculate"]["plugin"] == "calculator"
    assert entries["testplugin_greeter"]["definitions"] is None
    assert entries["testplugin_greeter"]["needs"] == ["greeting"]
    files = [d["function"]["name"] for d in entries["files"]["definitions"]]
    assert files == ["list_files", "read_file", "search_files"]


def test_tools_for_one_agent_by_name(tmp_path: Path) -> None:
    proc = agentloop("tools", "-T", "read_file", "-T", "calculate", cwd=tmp_path, **plugins_on())
    assert proc.returncode == 0, proc.stderr
    assert [d["function"]["name"] for d in json.loads(proc.stdout)] == ["read_file", "calculate"]


@pytest.mark.parametrize(
    ("text", "is_target"),
    [
        ("What is 2**10?", False),
        ("hello", False),
        ("examples/calculator.py", True),
        ("missing.py", True),  # a .py that is missing is a TARGET (and a clear error)
        ("examples/calculator.py:agent", True),
        ("agentloop.testing:ScriptedModel", True),
        ("json.decoder", True),
        ("nosuchpackage_xyz.mod", False),
        ("e.g.", False),
        ("Note:this", False),
    ],
)
def test_target_or_prompt(text: str, is_target: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert looks_like_target(text) is is_target


def test_models_lists_every_provider_of_the_table(tmp_path: Path) -> None:
    from agentloop.providers.registry import PROVIDERS

    proc = agentloop("models", "--json", cwd=tmp_path, AGENTLOOP_HOME=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    rows = {r["provider"]: r for r in json.loads(proc.stdout)}
    assert set(rows) == set(PROVIDERS)
    assert rows["openai"]["key_env"][0] == "OPENAI_API_KEY" and rows["openai"]["requires_key"]
    assert "sends max_tokens as max_completion_tokens" in rows["openai"]["quirks"]
    text = agentloop("models", cwd=tmp_path, AGENTLOOP_HOME=str(tmp_path)).stdout
    for name in PROVIDERS:
        assert f"{name}:MODEL" in text


def test_keys_set_list_and_lookup_after_the_environment(tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret = "sk-test-not-a-real-key-123"
    proc = agentloop("keys", "set", "openai", stdin=secret + "\n", AGENTLOOP_HOME=str(home))
    assert proc.returncode == 0, proc.stderr
    store = home / "keys.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    listing = agentloop("keys", "list", AGENTLOOP_HOME=str(home))
    assert listing.stdout == "openai: set\n"
    models = agentloop("models", AGENTLOOP_HOME=str(home))
    for out in (proc, listing, models):
        assert secret not in out.stdout + out.stderr
    assert "[key from key store]" in models.stdout

    from agentloop.config import load_settings
    from agentloop.providers.registry import resolve_model

    env = {"AGENTLOOP_HOME": str(home)}
    settings = load_settings({"model": "openai:gpt-4o-mini"}, env, tmp_path)
    assert settings.api_key == secret
    assert settings.sources["api_key"] == f"key store {store}"
    # the client's key (private: it is never exposed) comes from the store ...
    assert resolve_model("openai:gpt-4o-mini", env=env).client._api_key == secret  # type: ignore[attr-defined]
    # ... after the environment
    env["OPENAI_API_KEY"] = "from-env"
    assert load_settings({"model": "openai:gpt-4o-mini"}, env, tmp_path).api_key == "from-env"
    assert resolve_model("openai:gpt-4o-mini", env=env).client._api_key == "from-env"  # type: ignore[attr-defined]
    assert agentloop("keys", "remove", "openai", AGENTLOOP_HOME=str(home)).returncode == 0
    assert agentloop("keys", "list", "--json", AGENTLOOP_HOME=str(home)).stdout.count("openai") == 0


def test_key_store_readable_by_others_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_text('{"openai": "sk-secret-value"}')
    (tmp_path / "keys.json").chmod(0o644)
    proc = agentloop("keys", "list", AGENTLOOP_HOME=str(tmp_path))
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert "may be read by other users (mode 644)" in line and "chmod 600" in line
    assert "sk-secret-value" not in proc.stderr
    proc = agentloop("run", "--model", "openai:gpt-4o-mini", "hi", AGENTLOOP_HOME=str(tmp_path))
    assert proc.returncode == 2 and "chmod 600" in one_error_line(proc.stderr)


def test_keys_set_unknown_provider(tmp_path: Path) -> None:
    proc = agentloop("keys", "set", "opnai", stdin="x\n", AGENTLOOP_HOME=str(tmp_path))
    assert proc.returncode == 2
    assert "unknown provider 'opnai' (did you mean 'openai'?)" in one_error_line(proc.stderr)
    assert not (tmp_path / "keys.json").exists()


def test_continuing_a_conversation_keeps_its_tools_and_system(tmp_path: Path) -> None:
    env = plugins_on(AGENTLOOP_HOME=str(tmp_path / "home"))
    first = agentloop(
        "run", "-T", "calculate", "-s", "Be exact.", "What is 2+3?", cwd=tmp_path, **env
    )
    assert first.returncode == 0, first.stderr
    proc = agentloop("run", "-c", "What is 10*2?", "--json", cwd=tmp_path, **env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["messages"][0] == {"role": "system", "content": "Be exact."}
    assert [s["tool_name"] for s in result["steps"] if s["kind"] == "tool"] == ["calculate"]
    assert "20" in result["output"]
