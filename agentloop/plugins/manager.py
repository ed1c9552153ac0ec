"""Build the plugin manager of an :class:`~agentloop.Agent` (one per agent, never global)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

from agentloop import hookspecs
from agentloop.errors import PluginError
from agentloop.plugins import DEFAULT_PLUGINS

if TYPE_CHECKING:
    from agentloop.protocols import RunSpec
    from agentloop.tools import Tool

__all__ = [
    "AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "TRACE_ENV",
    "autoload_disabled",
    "collect_tools",
    "make_plugin_manager",
]

ENTRY_POINT_GROUP = "agentloop"
AUTOLOAD_ENV = "AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD"
TRACE_ENV = "AGENTLOOP_TRACE_PLUGINS"


def autoload_disabled() -> bool:
    """Return True when ``AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD`` is set to a non-empty, non-0 value."""
    return os.environ.get(AUTOLOAD_ENV, "").strip().lower() not in ("", "0", "false", "no")


def make_plugin_manager(
    *,
    plugins: Sequence[object] = (),
    named: Mapping[str, object] | None = None,
    load_entrypoints: bool = True,
    blocked: Iterable[str] = (),
) -> pluggy.PluginManager:
    """Return a new plugin manager with the hookspecs and every plugin registered.

    Registration order (later plugins are called first by pluggy): the
    built-ins of ``DEFAULT_PLUGINS``, installed distributions of the
    ``agentloop`` entry-point group, ``named``, then ``plugins`` in the order given.

    Args:
        plugins: Modules or objects with ``@hookimpl`` functions.
        named: Plugins to register under the given names (the agent's internal ones).
        load_entrypoints: Load installed plugins (also off when
            ``AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD=1``).
        blocked: Plugin names never to register: entry-point names (``"weather"``)
            or built-in module names (``"agentloop.plugins.approval"``).

    Returns:
        The manager, with ``check_pending()`` passed.

    Raises:
        PluginError: A plugin implements an unknown hook (a typo) or takes an
            argument its hook does not have, or an installed plugin fails to
            import (the message names its entry point, to block it).
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    try:
        for name in DEFAULT_PLUGINS:
            if not pm.is_blocked(name):
                pm.register(importlib.import_module(name), name=name)
        if load_entrypoints and not autoload_disabled():
            _load_entrypoints(pm)
        for name, plugin in (named or {}).items():
            pm.register(plugin, name=name)
        for plugin in plugins:
            # an entry-point module may also be passed explicitly: register it once
            if not pm.is_registered(plugin):
                pm.register(plugin)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} is invalid: {exc}") from exc
    if os.environ.get(TRACE_ENV):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    return pm


def _load_entrypoints(pm: pluggy.PluginManager) -> None:
    """Register the installed plugins; one that fails to import is a PluginError naming it."""
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except pluggy.PluginValidationError:
        raise
    except Exception as exc:
        name = _next_entry_point(pm)
        raise PluginError(
            f"installed plugin {name!r} could not be loaded: {type(exc).__name__}: {exc}; "
            f"block it with Agent(block=[{name!r}]) or set {AUTOLOAD_ENV}=1"
        ) from exc


def _next_entry_point(pm: pluggy.PluginManager) -> str:
    """The entry point pluggy was loading: the first one, in its order, not yet registered."""
    import importlib.metadata

    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP and not (
                pm.has_plugin(ep.name) or pm.is_blocked(ep.name)
            ):
                return str(ep.name)
    return "?"


def collect_tools(agent: RunSpec) -> dict[str, Tool]:
    """Ask every plugin's ``agentloop_tools`` for its tools; names must be unique.

    Each implementation is called directly, in pluggy's call order, so that
    every tool's owner is known (hook wrappers of this hook do not apply).

    Raises:
        PluginError: Two tools share a name (the message names both owners),
            or a plugin's hook raised.
    """
    tools: dict[str, Tool] = {}
    owners: dict[str, str] = {}
    pm = agent.plugin_manager
    for impl in reversed(pm.hook.agentloop_tools.get_hookimpls()):
        if impl.wrapper or impl.hookwrapper:
            continue
        owner = _owner_name(pm, impl.plugin)
        kwargs = {"agent": agent}
        try:
            offered: Any = impl.function(*[kwargs[name] for name in impl.argnames])
        except Exception as exc:
            raise PluginError(f"plugin {owner!r} failed in agentloop_tools: {exc}") from exc
        for tool in offered or ():
            from agentloop.tools import Tool  # here: an agent without tools never loads jsonschema

            if not isinstance(tool, Tool):
                raise PluginError(
                    f"plugin {owner!r} offered {tool!r} from agentloop_tools; expected Tool objects"
                )
            if tool.name in tools:
                raise PluginError(
                    f"two tools are named {tool.name!r}: one from plugin {owners[tool.name]!r}, "
                    f"one from plugin {owner!r}; rename one or block a plugin (Agent(block=[...]))"
                )
            tools[tool.name], owners[tool.name] = tool, owner
    return tools


def _owner_name(pm: pluggy.PluginManager, plugin: object) -> str:
    """The plugin's registered name; for an object registered without one, its class."""
    name = pm.get_name(plugin) or ""
    if name and name != str(id(plugin)):
        return name
    cls = type(plugin)
    return f"{cls.__module__}.{cls.__qualname__} object"
