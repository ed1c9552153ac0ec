"""``agentloop tools`` and ``agentloop plugins``: what installed plugins offer, and their health.

* ``agentloop tools``: every tool and toolset the plugins offer by name (name,
  kind, plugin, description, a toolset's options); ``--json`` gives each
  tool's exact definition. ``agentloop tools -T NAME`` or ``agentloop tools
  TARGET`` prints the definitions one agent sends (JSON).
* ``agentloop plugins``: each installed plugin's distribution, version, hooks
  and offered tools, read without calling any hook with made-up arguments;
  broken plugins are marked, with the problem and the fix, and the exit code
  is 1 when any is broken (``--json`` too).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["plugin_report", "plugins_command", "tools_command"]

EXIT_BROKEN = 1


def tools_command(args: argparse.Namespace) -> int:
    """List the offered tools, or print the definitions one agent sends."""
    from agentloop.cli.agents import build_agent, split_positionals
    from agentloop.cli.mcp import add_plugins, mcp_servers

    split_positionals(args)
    if getattr(args, "prompt", None) is not None:  # ``tools NAME``: no prompt here
        from agentloop.cli.target import TargetError

        raise TargetError(f"TARGET {args.prompt!r} is no .py file or importable module:name")
    servers = mcp_servers(getattr(args, "mcp", None))
    if args.target is None and not args.tools and not servers:
        return _list_offers(args)
    agent = build_agent(args)
    add_plugins(agent, servers)
    try:
        return _print_definitions(args, agent)
    finally:
        agent.close()


def _print_definitions(args: argparse.Namespace, agent: Any) -> int:
    from agentloop.cli.mcp import collect_tools  # a --mcp server's failure as its own line
    from agentloop.providers.registry import ChatModel, provider_tool_definitions

    tools = list(collect_tools(agent).values())
    definitions = [dict(t.definition) for t in tools]
    model = args.model or (agent.model.name if isinstance(agent.model, ChatModel) else None)
    if model:
        definitions = provider_tool_definitions(model, definitions)
    for tool in tools:
        for name in getattr(tool, "undocumented_parameters", ()) or ():
            sys.stderr.write(
                f"agentloop: warning: tool {tool.name!r}: parameter {name!r} has no description "
                "(the model sees only its name and type); document it in the docstring's Args:\n"
            )
    sys.stdout.write(json.dumps(definitions, indent=2, ensure_ascii=False) + "\n")
    return 0


def _list_offers(args: argparse.Namespace) -> int:
    """``agentloop tools``: the registry of the installed plugins, without an agent."""
    from agentloop.cli.agents import cli_options
    from agentloop.plugins.manager import make_plugin_manager
    from agentloop.plugins.registry import ToolRegistry

    registry = ToolRegistry.from_plugin_manager(make_plugin_manager(blocked=args.block))
    options = cli_options(args.tool_options)
    registry.check_options(options)
    entries = [_describe(offer, registry, options) for offer in _listed(registry)]
    for plugin, problem in sorted(registry.problems.items()):
        sys.stderr.write(f"agentloop: warning: plugin {plugin!r} offers no tools: {problem}\n")
    if args.json:
        sys.stdout.write(json.dumps(entries, indent=2, ensure_ascii=False) + "\n")
        return 0
    if not entries:
        sys.stdout.write("no tools offered (install a plugin, e.g. agentloop-calculator)\n")
    width = max((len(e["name"]) for e in entries), default=0)
    for entry in entries:
        sys.stdout.write(
            f"{entry['name']:<{width}}  {entry['kind']:<7}  {entry['plugin']}: "
            f"{_first_line(entry['description'])}\n"
        )
        if entry["kind"] == "toolset":
            sys.stdout.write(f"{'':<{width}}  tools: {', '.join(entry['tools'])}\n")
            shown = [_option_text(k, v) for k, v in entry["options"].items()]
            sys.stdout.write(f"{'':<{width}}  options: {', '.join(shown) or '-'}\n")
    sys.stdout.write("use: agentloop run -T NAME [--tool-option TOOLSET.OPTION=VALUE] PROMPT\n")
    return 0


def _listed(registry: Any) -> list[Any]:
    """Tools and toolsets (a toolset's own tools are listed under it)."""
    return sorted(
        (o for o in registry.offers.values() if o.kind != "toolset tool"), key=lambda o: o.name
    )


def _describe(offer: Any, registry: Any, options: dict[str, dict[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": offer.name,
        "kind": offer.kind,
        "plugin": offer.plugin,
        "description": offer.description,
    }
    if offer.tool is not None:
        entry["definition"] = offer.tool.definition
        return entry
    toolset = offer.toolset
    entry["tools"] = list(toolset.tools)
    entry["options"] = {
        name: {"type": spec.type.__name__, "help": spec.help, "default": spec.default,
               "required": spec.required}
        for name, spec in toolset.options.items()
    }  # fmt: skip
    missing = [
        n for n, s in toolset.options.items() if s.required and n not in options.get(offer.name, {})
    ]
    if missing:
        entry["definitions"] = None
        entry["needs"] = missing
    else:
        from agentloop.errors import AgentloopError

        try:
            tools = registry.resolve([offer.name], {offer.name: options.get(offer.name, {})})
        except AgentloopError as exc:  # e.g. a POSIX-only toolset elsewhere: listed, not fatal
            entry["definitions"], entry["error"] = None, str(exc)
        else:
            entry["definitions"] = [tool.definition for tool, _ in tools]
    return entry


def _option_text(name: str, spec: dict[str, Any]) -> str:
    if spec["required"]:
        return f"{name} ({spec['type']}, required)"
    if spec["default"] is None:
        return f"{name} ({spec['type']})"
    default = (
        json.dumps(spec["default"]) if not isinstance(spec["default"], str) else spec["default"]
    )
    return f"{name} ({spec['type']}, default {default})"


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "-"


def plugins_command(args: argparse.Namespace) -> int:
    """List installed plugins; exit 1 when any is broken."""
    from agentloop.plugins.manager import autoload_disabled

    report = plugin_report()
    broken = [entry for entry in report if entry["status"] == "broken"]
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return EXIT_BROKEN if broken else 0
    if not report:
        sys.stdout.write("no plugins installed (entry-point group 'agentloop')\n")
    for entry in report:
        dist = f" ({entry['distribution']} {entry['version']})" if entry["distribution"] else ""
        mark = "" if entry["status"] == "ok" else f" [{entry['status'].upper()}]"
        sys.stdout.write(f"{entry['name']}{dist}: {entry['value']}{mark}\n")
        if entry["status"] == "broken":
            sys.stdout.write(f"  problem: {entry['problem']}\n  fix: {entry['fix']}\n")
            continue
        if entry["status"] == "blocked":
            continue
        sys.stdout.write(f"  hooks: {', '.join(entry['hooks']) or '-'}\n")
        sys.stdout.write(f"  tools: {', '.join(entry['tools']) or '-'}\n")
        for note in entry["notes"]:
            sys.stdout.write(f"  note: {note}\n")
    if autoload_disabled():
        sys.stderr.write(
            "agentloop: note: AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD is set; agents do not load these\n"
        )
    if broken:
        names = ", ".join(entry["name"] for entry in broken)
        sys.stderr.write(f"agentloop: error: broken plugin(s): {names} (see above for the fix)\n")
    return EXIT_BROKEN if broken else 0


def plugin_report() -> list[dict[str, Any]]:
    """Describe every installed plugin: distribution, version, hooks, tools, status.

    Hooks are read from the plugin's ``@hookimpl`` markers and tools from its
    ``agentloop_register_tools()`` (which takes no arguments); no other hook is called.
    """
    from importlib import metadata

    from agentloop import hookspecs
    from agentloop.plugins.manager import (
        ENTRY_POINT_GROUP,
        AgentloopPluginManager,
        blocked_by_env,
        load_installed,
    )
    from agentloop.plugins.registry import ToolRegistry

    pm = AgentloopPluginManager()
    pm.add_hookspecs(hookspecs)
    blocked = set(blocked_by_env())
    for name in blocked:
        pm.set_blocked(name)
    installed = {entry.name: entry for entry in load_installed(pm, warn=False)}
    registry = ToolRegistry.from_plugin_manager(pm)
    report = []
    seen = set()
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in seen:
            continue
        seen.add(ep.name)
        dist = getattr(ep, "dist", None)
        entry: dict[str, Any] = {
            "name": ep.name,
            "value": ep.value,
            "distribution": dist.metadata["Name"] if dist else None,
            "version": dist.version if dist else None,
            "status": "blocked" if ep.name in blocked else "ok",
            "hooks": [],
            "tools": [],
            "notes": [],
        }
        found = installed.get(ep.name)
        if found is not None and found.problem is not None:
            entry.update(status="broken", problem=found.problem, fix=found.fix)
        elif found is not None:
            _describe_plugin(entry, found.plugin, registry)
        report.append(entry)
    return report


def _describe_plugin(entry: dict[str, Any], plugin: Any, registry: Any) -> None:
    entry["hooks"] = _hook_names(plugin)
    entry["tools"] = sorted(
        o.name
        for o in registry.offers.values()
        if o.plugin == entry["name"] and o.kind != "toolset tool"
    )
    problem = registry.problems.get(entry["name"])
    if problem:
        entry.update(status="broken", problem=f"agentloop_register_tools failed: {problem}")
        entry["fix"] = f"fix or uninstall {entry['distribution'] or entry['value']}"
    if "agentloop_tools" in entry["hooks"] and "agentloop_register_tools" not in entry["hooks"]:
        entry["notes"].append(
            "agentloop_tools is not asked for installed plugins: offer tools by name with "
            "agentloop_register_tools"
        )


def _hook_names(plugin: Any) -> list[str]:
    names = []
    for name in dir(plugin):
        if name.startswith("agentloop_") and hasattr(getattr(plugin, name, None), "agentloop_impl"):
            names.append(name)
    return sorted(names)
