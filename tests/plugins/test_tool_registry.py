"""The tool registry: plugins offer tools and toolsets by name, agents choose them."""

from __future__ import annotations

import threading

import pytest
from loop_support import add, tool_messages

from agentloop import (
    Agent,
    ConfigurationError,
    PluginError,
    Tool,
    ToolOption,
    Toolset,
    hookimpl,
    tool,
)
from agentloop.plugins.manager import collect_tools, make_plugin_manager
from agentloop.plugins.registry import ToolRegistry, parse_tool_option
from agentloop.testing import ScriptedModel, tool_call, tool_calls_response


@tool
def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: The key.
    """
    return f"value of {key}"


BUILDS: list[dict[str, object]] = []
_lock = threading.Lock()


def build_notes(folder: str, limit: int = 10, loud: bool = False) -> list[Tool]:
    with _lock:
        BUILDS.append({"folder": folder, "limit": limit, "loud": loud})

    def read_note(title: str) -> str:
        """Read a note.

        Args:
            title: The note's title.
        """
        text = f"{folder}/{title} (limit {limit})"
        return text.upper() if loud else text

    def list_notes() -> str:
        """List the notes."""
        return folder

    return [tool(read_note), tool(list_notes)]


NOTES = Toolset(
    name="notes",
    description="Notes in one folder.",
    build=build_notes,
    options={
        "folder": ToolOption(type=str, help="the notes folder", required=True),
        "limit": ToolOption(type=int, help="most notes", default=10),
        "loud": ToolOption(type=bool, help="shout"),
    },
    tools=("read_note", "list_notes"),
)


class Offers:
    """A plugin object offering one tool and one toolset."""

    @hookimpl
    def agentloop_register_tools(self):
        return [lookup, NOTES]


def agent_with(*tools: object, script=("ok",), **kwargs) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(list(script))
    agent = Agent(model, tools=list(tools), plugins=[Offers()], load_plugins=False, **kwargs)
    return agent, model


def names(agent: Agent) -> list[str]:
    return list(collect_tools(agent))


def test_offered_tools_are_not_sent_unless_chosen():
    agent, model = agent_with(add)
    agent.run("x")
    assert [t["function"]["name"] for t in model.requests[0]["tools"]] == ["add"]


def test_mixed_functions_and_names_in_order():
    def shout(text: str) -> str:
        """Shout.

        Args:
            text: Text.
        """
        return text.upper()

    agent, _ = agent_with(shout, "lookup", add)
    assert names(agent) == ["shout", "add", "lookup"]  # own tools first, then the chosen names
    assert "lookup" in repr(agent)


def test_toolset_by_name_builds_all_its_tools_with_options():
    BUILDS.clear()
    script = [tool_calls_response(tool_call("read_note", {"title": "todo"})), "done"]
    agent, _ = agent_with(
        "notes", script=script, tool_options={"notes": {"folder": "n", "limit": "3"}}
    )
    result = agent.run("x")
    assert tool_messages(result.messages)[0]["content"] == "n/todo (limit 3)"
    assert names(agent) == ["read_note", "list_notes"]
    assert BUILDS == [{"folder": "n", "limit": 3, "loud": False}]  # built once, then cached


def test_one_tool_of_a_toolset_by_its_name():
    agent, _ = agent_with("read_note", tool_options={"notes": {"folder": "n", "loud": "yes"}})
    assert names(agent) == ["read_note"]
    assert collect_tools(agent)["read_note"].fn("a") == "N/A (LIMIT 10)"


def test_toolset_and_one_of_its_tools_give_each_tool_once():
    agent, _ = agent_with("notes", "read_note", tool_options={"notes": {"folder": "n"}})
    assert names(agent) == ["read_note", "list_notes"]


def test_unknown_name_lists_close_matches():
    agent, model = agent_with("lookpu")
    with pytest.raises(ConfigurationError) as info:
        agent.run("x")
    message = str(info.value)
    assert "unknown tool 'lookpu' (did you mean 'lookup'?)" in message
    assert "offered: list_notes, lookup, notes, read_note" in message
    assert model.requests == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"notes": {"folder": "n", "limt": 3}},
            "unknown tool option notes.limt (did you mean 'limit'?)",
        ),
        ({"notes": {"folder": "n", "limit": "many"}}, "notes.limit must be an integer, got 'many'"),
        ({"notes": {"folder": "n", "limit": 2.5}}, "notes.limit must be an integer, got float 2.5"),
        ({"notes": {"folder": "n", "loud": "maybe"}}, "notes.loud must be true or false"),
        ({"notes": {"folder": 3}}, "notes.folder must be a string, got int 3"),
        ({"notes": {}}, "toolset 'notes' needs the option 'folder'"),
        (
            {"note": {"folder": "n"}},
            "'note', which is no installed toolset (did you mean 'notes'?)",
        ),
    ],
)
def test_bad_tool_options_name_the_culprit(options, expected):
    agent, _ = agent_with("notes", tool_options=options)
    with pytest.raises(ConfigurationError) as info:
        agent.run("x")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_tool_options_must_be_a_dict_of_dicts():
    with pytest.raises(ConfigurationError, match="dict of dicts"):
        Agent(ScriptedModel([]), tool_options=["notes"], load_plugins=False)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"tool_options\['notes'\] must be a dict"):
        Agent(ScriptedModel([]), tool_options={"notes": "x"}, load_plugins=False)  # type: ignore[dict-item]


def test_option_types_from_text_and_values():
    spec = ToolOption(type=list)
    assert spec.convert("a, b,,c", where="t.o") == ["a", "b", "c"]
    assert spec.convert(["a"], where="t.o") == ["a"]
    with pytest.raises(ConfigurationError, match="a list of strings"):
        spec.convert([1], where="t.o")
    assert ToolOption(type=float).convert(2, where="t.o") == 2.0
    assert ToolOption(type=float).convert("2.5", where="t.o") == 2.5
    with pytest.raises(ConfigurationError, match="an integer"):
        ToolOption(type=int).convert(True, where="t.o")
    with pytest.raises(PluginError, match="ToolOption type"):
        ToolOption(type=dict)


def test_parse_tool_option():
    assert parse_tool_option("files.root=./src") == ("files", "root", "./src")
    assert parse_tool_option("http.allow_hosts=a,b=c") == ("http", "allow_hosts", "a,b=c")
    for bad in ("files=x", "root=x", "files.root", ".root=x"):
        with pytest.raises(ConfigurationError, match="TOOLSET.OPTION=VALUE"):
            parse_tool_option(bad)


def test_toolset_that_cannot_build_is_a_clear_error():
    def failing(**_: object) -> list[Tool]:
        raise ConfigurationError("folder 'nope' does not exist")

    class Bad:
        @hookimpl
        def agentloop_register_tools(self):
            return [Toolset(name="bad", build=failing)]

    agent = Agent(ScriptedModel([]), tools=["bad"], plugins=[Bad()], load_plugins=False)
    with pytest.raises(ConfigurationError, match="toolset 'bad': folder 'nope' does not exist"):
        agent.run("x")


def test_two_plugins_offering_one_name_fail_only_agents_asking_for_it():
    class Again:
        @hookimpl
        def agentloop_register_tools(self):
            return [lookup]

    plugins = [Offers(), Again()]
    ok = Agent(ScriptedModel(["ok"]), tools=["notes"], tool_options={"notes": {"folder": "n"}},
               plugins=plugins, load_plugins=False)  # fmt: skip
    assert ok.run("x").output == "ok"
    clash = Agent(ScriptedModel([]), tools=["lookup"], plugins=plugins, load_plugins=False)
    with pytest.raises(PluginError, match="'lookup' is offered by several plugins"):
        clash.run("x")


def test_a_failing_register_hook_is_contained():
    class Broken:
        @hookimpl
        def agentloop_register_tools(self):
            raise RuntimeError("no server")

    plugins = [Offers(), Broken()]
    ok = Agent(ScriptedModel(["ok"]), tools=["lookup"], plugins=plugins, load_plugins=False)
    assert ok.run("x").output == "ok"
    missing = Agent(ScriptedModel([]), tools=["remote"], plugins=plugins, load_plugins=False)
    with pytest.raises(ConfigurationError, match="failed to offer their tools: .*no server"):
        missing.run("x")


def test_registry_lists_offers_without_an_agent():
    pm = make_plugin_manager(plugins=[Offers()], load_entrypoints=False)
    registry = ToolRegistry.from_plugin_manager(pm)
    kinds = {name: (o.kind, o.description) for name, o in registry.offers.items()}
    assert kinds["lookup"] == ("tool", "Look a key up.")
    assert kinds["notes"] == ("toolset", "Notes in one folder.")
    assert kinds["read_note"][0] == "toolset tool"
    assert registry.offers["lookup"].plugin.endswith("Offers object")


def test_junk_from_register_hook_is_recorded():
    class Junk:
        @hookimpl
        def agentloop_register_tools(self):
            return ["not a tool"]

    pm = make_plugin_manager(plugins=[Junk()], load_entrypoints=False)
    registry = ToolRegistry.from_plugin_manager(pm)
    [problem] = registry.problems.values()
    assert "expected Tool or Toolset objects" in problem


def test_invalid_toolset_names_fail_at_definition():
    with pytest.raises(PluginError, match="invalid"):
        Toolset(name="has space", build=build_notes)
    with pytest.raises(PluginError, match="callable"):
        Toolset(name="x", build="nope")  # type: ignore[arg-type]


def test_concurrent_first_runs_build_a_toolset_once():
    BUILDS.clear()
    agent, _ = agent_with("notes", tool_options={"notes": {"folder": "n"}})
    threads = [threading.Thread(target=collect_tools, args=(agent,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(BUILDS) == 1
