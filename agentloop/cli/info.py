"""``agentloop tools``, ``agentloop plugins`` and ``agentloop serve``."""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["plugin_report", "plugins_command", "serve_command", "tools_command"]


def tools_command(args: argparse.Namespace) -> int:
    """Print the agent's tool definitions as JSON; warn (stderr) about undocumented parameters.

    The definitions are the ones sent to the model: with ``--model`` (or an
    agent whose model is a provider model) the provider's quirks are applied,
    e.g. Gemini's sanitized schemas.
    """
    from agentloop.cli.mcp import add_plugins, agent_for, mcp_servers

    servers = mcp_servers(getattr(args, "mcp", None))
    agent = agent_for(args, servers)
    add_plugins(agent, servers)
    try:
        tools = _agent_tools(agent)
    finally:
        agent.close()
    definitions = [dict(t.definition) for t in tools]
    from agentloop.providers.registry import ChatModel, provider_tool_definitions

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


def _agent_tools(agent: Any) -> list[Any]:
    """Every tool the model would be offered: the agent's own and its plugins'."""
    from agentloop.plugins.manager import collect_tools

    return list(collect_tools(agent).values())


def plugins_command(args: argparse.Namespace) -> int:
    """List installed plugins (entry-point group ``agentloop``) with their hooks and tools."""
    from agentloop.plugins.manager import autoload_disabled

    report = plugin_report()
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return 0
    if not report:
        sys.stdout.write("no plugins installed (entry-point group 'agentloop')\n")
    for entry in report:
        dist = f" ({entry['distribution']} {entry['version']})" if entry["distribution"] else ""
        sys.stdout.write(f"{entry['name']}{dist}: {entry['value']}\n")
        if entry.get("error"):
            sys.stdout.write(f"  error: {entry['error']}\n")
            continue
        sys.stdout.write(f"  hooks: {', '.join(entry['hooks']) or '-'}\n")
        sys.stdout.write(f"  tools: {', '.join(entry['tools']) or '-'}\n")
        if entry["classes"]:
            classes = ", ".join(entry["classes"])
            sys.stdout.write(f"  configurable: {classes} (pass an instance in plugins=[...])\n")
    if autoload_disabled():
        sys.stderr.write(
            "agentloop: note: AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD is set; agents do not load these\n"
        )
    return 0


def plugin_report() -> list[dict[str, Any]]:
    """Describe every installed plugin: name, distribution, hooks, tools (or the load error)."""
    report = []
    for ep in sorted(metadata.entry_points(group="agentloop"), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        entry: dict[str, Any] = {
            "name": ep.name,
            "value": ep.value,
            "distribution": dist.metadata["Name"] if dist else None,
            "version": dist.version if dist else None,
            "hooks": [],
            "tools": [],
            "classes": [],
        }
        try:
            plugin = ep.load()
            entry["hooks"] = _hook_names(plugin)
            entry["tools"] = _plugin_tool_names(plugin)
            entry["classes"] = _plugin_classes(plugin)
        except Exception as exc:  # a broken plugin is reported, not fatal to the listing
            entry["error"] = f"{type(exc).__name__}: {exc}"
        report.append(entry)
    return report


def _hook_names(plugin: Any) -> list[str]:
    names = []
    for name in dir(plugin):
        if name.startswith("agentloop_") and hasattr(getattr(plugin, name, None), "agentloop_impl"):
            names.append(name)
    return sorted(names)


def _plugin_classes(plugin: Any) -> list[str]:
    """Configurable plugin classes a module defines (instantiate and pass in plugins=[...])."""
    if not inspect.ismodule(plugin):
        return []
    return sorted(
        name
        for name, obj in vars(plugin).items()
        if inspect.isclass(obj)
        and obj.__module__.startswith(plugin.__name__)
        and not name.startswith("_")
        and _hook_names(obj)
    )


def _plugin_tool_names(plugin: Any) -> list[str]:
    hook = getattr(plugin, "agentloop_tools", None)
    if hook is None or not hasattr(hook, "agentloop_impl"):
        return []
    if inspect.isclass(plugin):
        return ["(configurable: instantiate the class to see its tools)"]
    params = inspect.signature(hook).parameters
    tools = hook(**({"agent": None} if "agent" in params else {})) or []
    return [getattr(t, "name", repr(t)) for t in tools]


def serve_command(args: argparse.Namespace) -> int:
    """Serve a model over the chat-completions API until Ctrl-C (which exits 0).

    A port that is already in use is a one-line error naming ``--port`` (exit 2),
    raised by :func:`agentloop.server.app.make_server`.
    """
    from agentloop.config import load_settings
    from agentloop.providers.registry import resolve_model

    settings = load_settings(
        {"model": args.model, "base_url": args.base_url}, os.environ, Path.cwd()
    )
    spec = settings.model or "offline"
    model = resolve_model(
        spec,
        base_url=settings.base_url,
        api_key=settings.api_key,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
    )
    from agentloop.server.app import serve

    serve(
        model,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        model_name=args.model_name,
        accept_any_model=args.any_model,
    )
    return 0
