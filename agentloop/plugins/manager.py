"""Build the plugin manager of an :class:`~agentloop.Agent` (one per agent, never global).

Installed plugins (entry-point group ``agentloop``) are *contained*: one that
cannot be imported, implements a hook that does not exist (a typo such as
``agentloop_run_strat``) or takes an argument its hook does not have is
skipped, with one :class:`~agentloop.AgentloopWarning` per process naming its
distribution, version, the problem and the fix. Every other agent goes on.
Plugins passed in ``Agent(plugins=[...])`` are the developer's own: problems
with them raise :class:`~agentloop.PluginError` at once.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from agentloop import hookspecs
from agentloop.errors import AgentloopWarning, PluginError
from agentloop.plugins import DEFAULT_PLUGINS

if TYPE_CHECKING:
    from agentloop.runspec import RunSpec
    from agentloop.tools import Tool

__all__ = [
    "AUTOLOAD_ENV",
    "BLOCK_ENV",
    "ENTRY_POINT_GROUP",
    "TRACE_ENV",
    "AgentloopPluginManager",
    "HookOutcome",
    "InstalledPlugin",
    "autoload_disabled",
    "blocked_by_env",
    "call_each",
    "collect_tools",
    "make_plugin_manager",
    "owner_name",
]

ENTRY_POINT_GROUP = "agentloop"
AUTOLOAD_ENV = "AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD"
BLOCK_ENV = "AGENTLOOP_BLOCK_PLUGINS"
TRACE_ENV = "AGENTLOOP_TRACE_PLUGINS"


@dataclass(frozen=True, kw_only=True, slots=True)
class InstalledPlugin:
    """One entry point of the ``agentloop`` group, as loaded (or not).

    Attributes:
        name: The entry-point name (what ``block=[...]`` takes).
        value: The entry-point value (``module`` or ``module:attr``).
        distribution: The distribution that declares it, or None.
        version: That distribution's version, or None.
        plugin: The loaded plugin, or None when it is broken.
        problem: Why it was skipped, or None.
    """

    name: str
    value: str
    distribution: str | None
    version: str | None
    plugin: Any = None
    problem: str | None = None

    @property
    def fix(self) -> str:
        """How to get rid of the problem: fix, uninstall or block the plugin."""
        dist = self.distribution or self.value
        return (
            f"fix or uninstall {dist} (pip uninstall {dist}), or block it with "
            f"{BLOCK_ENV}={self.name} or Agent(block=[{self.name!r}])"
        )

    def warning(self) -> str:
        """The one-line warning for a broken plugin."""
        where = f"{self.distribution} {self.version}" if self.distribution else self.value
        return f"installed plugin {self.name!r} ({where}) is skipped: {self.problem}; {self.fix}"


class AgentloopPluginManager(pluggy.PluginManager):
    """A pluggy manager that knows which plugins came from installed distributions.

    Attributes:
        installed: Every entry point seen, by name (broken ones included).
        chosen: ids of plugins the agent was given (built-ins, its own, ``plugins=[...]``);
            only these give tools through ``agentloop_tools``.
    """

    def __init__(self) -> None:
        super().__init__(ENTRY_POINT_GROUP)
        self.installed: dict[str, InstalledPlugin] = {}
        self.chosen: set[int] = set()


_CACHE: dict[tuple[str, str, int], InstalledPlugin] = {}
_SCANS: dict[tuple[tuple[str, int], ...], list[tuple[Any, Any]]] = {}
_WARNED: set[tuple[str, str, str | None, str | None]] = set()
_LOCK = threading.Lock()


def autoload_disabled() -> bool:
    """Return True when ``AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD`` is set to a non-empty, non-0 value."""
    return os.environ.get(AUTOLOAD_ENV, "").strip().lower() not in ("", "0", "false", "no")


def blocked_by_env() -> list[str]:
    """The plugin names in ``AGENTLOOP_BLOCK_PLUGINS`` (comma- or space-separated)."""
    return os.environ.get(BLOCK_ENV, "").replace(",", " ").split()


def make_plugin_manager(
    *,
    plugins: Sequence[object] = (),
    named: Mapping[str, object] | None = None,
    load_entrypoints: bool = True,
    blocked: Iterable[str] = (),
    warn: bool = True,
) -> AgentloopPluginManager:
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
            or built-in module names (``"agentloop.plugins.approval"``); the names
            in ``AGENTLOOP_BLOCK_PLUGINS`` are added.
        warn: Warn (once per process) about broken installed plugins.

    Returns:
        The manager, with ``check_pending()`` passed.

    Raises:
        PluginError: A plugin given in ``plugins`` or ``named`` implements an
            unknown hook (a typo) or takes an argument its hook does not have.
    """
    pm = AgentloopPluginManager()
    pm.add_hookspecs(hookspecs)
    for name in (*blocked, *blocked_by_env()):
        pm.set_blocked(name)
    try:
        for name in DEFAULT_PLUGINS:
            if not pm.is_blocked(name):
                _register_chosen(pm, importlib.import_module(name), name)
        if load_entrypoints and not autoload_disabled():
            load_installed(pm, warn=warn)
        for name, plugin in (named or {}).items():
            _register_chosen(pm, plugin, name)
        for plugin in plugins:
            # an entry-point module may also be passed explicitly: register it once
            if pm.is_registered(plugin):
                pm.chosen.add(id(plugin))
            else:
                _register_chosen(pm, plugin, None)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} is invalid: {exc}") from exc
    if os.environ.get(TRACE_ENV):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    return pm


def _register_chosen(pm: AgentloopPluginManager, plugin: object, name: str | None) -> None:
    if pm.register(plugin, name=name) is not None:
        pm.chosen.add(id(plugin))


def load_installed(pm: AgentloopPluginManager, *, warn: bool = True) -> list[InstalledPlugin]:
    """Register every installed plugin that loads and is valid; record and warn about the rest.

    Args:
        pm: The manager (hookspecs added, blocked names set).
        warn: Warn once per process about each broken plugin.

    Returns:
        Every entry point not blocked, in discovery order (broken ones with ``problem`` set).
    """
    seen: list[InstalledPlugin] = []
    for ep, dist in _entry_points():
        if pm.is_blocked(ep.name) or ep.name in pm.installed:
            continue
        entry = _load(ep, dist)
        pm.installed[ep.name] = entry
        seen.append(entry)
        if entry.problem is None and not pm.has_plugin(ep.name):
            pm.register(entry.plugin, name=ep.name)
        elif entry.problem is not None and warn:
            _warn_once(entry)
    return seen


def _entry_points() -> list[tuple[Any, Any]]:
    """The ``agentloop`` entry points and their distributions, in pluggy's discovery order.

    Scanning every installed distribution's metadata costs milliseconds, so the
    scan is kept per process while ``sys.path`` and its folders stay the same
    (installing a distribution changes its folder's mtime: the next agent scans again).
    """
    import importlib.metadata

    key = tuple((entry, _mtime(entry)) for entry in sys.path)
    with _LOCK:
        cached = _SCANS.get(key)
    if cached is not None:
        return cached
    found = [
        (ep, dist)
        for dist in importlib.metadata.distributions()
        for ep in dist.entry_points
        if ep.group == ENTRY_POINT_GROUP
    ]
    with _LOCK:
        _SCANS[key] = found
    return found


def _mtime(path: str) -> int:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return 0


def _load(ep: Any, dist: Any) -> InstalledPlugin:
    """Load and check one entry point (cached per process: a broken import is tried once)."""
    key = (ep.name, ep.value, id(dist))
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    name = dist.metadata["Name"] if dist is not None else None
    version = getattr(dist, "version", None)
    info = {"name": ep.name, "value": ep.value, "distribution": name, "version": version}
    try:
        plugin = ep.load()
    except Exception as exc:
        entry = InstalledPlugin(**info, problem=f"importing it failed: {_describe(exc)}")
    else:
        entry = InstalledPlugin(**info, plugin=plugin, problem=check_plugin(plugin, ep.name))
    with _LOCK:
        _CACHE[key] = entry
    return entry


def check_plugin(plugin: object, name: str) -> str | None:
    """Return what is wrong with a plugin's hook implementations, or None.

    Checks what registering would check (each hook exists, each argument is
    one of its hook's), on a scratch manager, so nothing is half-registered.
    """
    scratch = pluggy.PluginManager(ENTRY_POINT_GROUP)
    scratch.add_hookspecs(hookspecs)
    known = [n for n in dir(hookspecs) if n.startswith("agentloop_")]
    for attr in dir(plugin):
        opts = scratch.parse_hookimpl_opts(plugin, attr)
        if opts is None:
            continue
        hook = opts.get("specname") or attr
        if hook not in known:
            close = difflib.get_close_matches(hook, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"it implements the unknown hook {hook!r}{hint}"
    try:
        scratch.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        return f"it is invalid: {' '.join(str(exc).split())}"
    except Exception as exc:
        return f"registering it failed: {_describe(exc)}"
    return None


def _warn_once(entry: InstalledPlugin) -> None:
    key = (entry.name, entry.value, entry.distribution, entry.version)
    with _LOCK:
        if key in _WARNED:
            return
        _WARNED.add(key)
    warnings.warn(AgentloopWarning(entry.warning()), stacklevel=4)


def _describe(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


@dataclass(frozen=True, kw_only=True, slots=True)
class HookOutcome:
    """What one plugin's implementation of a hook gave: its value, or the exception it raised.

    Attributes:
        owner: The plugin's name (:func:`owner_name`).
        plugin: The plugin object.
        value: The implementation's return value (None when it raised).
        error: The exception it raised, or None.
    """

    owner: str
    plugin: object
    value: Any = None
    error: Exception | None = None


def call_each(
    pm: pluggy.PluginManager,
    hook: str,
    *,
    only: Callable[[object], bool] | None = None,
    **kwargs: Any,
) -> Iterator[HookOutcome]:
    """Call every plain implementation of ``hook`` in pluggy's order, one outcome each.

    Unlike ``pm.hook.<name>(...)``, one implementation that raises does not stop the
    others, and the caller learns whose value (or error) each one is: the one place
    that calls hook implementations by hand. Wrappers are skipped. An implementation is
    given only the arguments it names.

    Args:
        pm: The plugin manager.
        hook: The hook's name, e.g. ``"agentloop_agent_close"``.
        only: Call only the plugins for which this returns True.
        **kwargs: The hook's arguments.
    """
    for impl in reversed(getattr(pm.hook, hook).get_hookimpls()):
        if impl.wrapper or impl.hookwrapper or (only is not None and not only(impl.plugin)):
            continue
        owner = owner_name(pm, impl.plugin)
        try:
            value = impl.function(*[kwargs[name] for name in impl.argnames])
        except Exception as exc:
            yield HookOutcome(owner=owner, plugin=impl.plugin, error=exc)
        else:
            yield HookOutcome(owner=owner, plugin=impl.plugin, value=value)


def collect_tools(spec: RunSpec | Any) -> dict[str, Tool]:
    """The tools one run offers the model: the agent's own, its plugins', and the chosen names.

    ``spec`` is a run's :class:`~agentloop.runspec.RunSpec`, or an agent (its ``spec()``).

    Two sources, in this order:

    1. ``agentloop_tools(agent)`` of the plugins the agent was given (its
       ``tools=[...]`` functions, ``plugins=[...]``); installed plugins are
       not asked: they offer tools by name only.
    2. The names in ``Agent(tools=["name", ...])``, resolved in the tool
       registry (``agentloop_register_tools`` of every registered plugin)
       with the agent's ``tool_options`` (first run only; then cached).

    Raises:
        PluginError: Two tools share a name (the message names both owners),
            or a plugin's hook raised.
        ConfigurationError: A chosen name is unknown, or a tool option is bad.
    """
    make_spec = getattr(spec, "spec", None)
    if callable(make_spec):  # an Agent
        spec = make_spec()
    tools: dict[str, Tool] = {}
    owners: dict[str, str] = {}
    pm = spec.plugin_manager
    chosen: set[int] | None = getattr(pm, "chosen", None)
    agent = spec.agent if spec.agent is not None else spec
    only = None if chosen is None else (lambda plugin: id(plugin) in chosen)
    for outcome in call_each(pm, "agentloop_tools", only=only, agent=agent):
        if outcome.error is not None:
            raise PluginError(
                f"plugin {outcome.owner!r} failed in agentloop_tools: {outcome.error}"
            ) from outcome.error
        for tool in outcome.value or ():
            _add(tools, owners, tool, outcome.owner, "agentloop_tools")
    selection = spec.tool_selection
    if selection is not None:
        for tool, owner in selection.resolve(pm):
            _add(tools, owners, tool, owner, "agentloop_register_tools")
    return tools


def _add(tools: dict[str, Tool], owners: dict[str, str], tool: Any, owner: str, hook: str) -> None:
    from agentloop.tools import Tool  # here: an agent without tools never loads jsonschema

    if not isinstance(tool, Tool):
        raise PluginError(f"plugin {owner!r} offered {tool!r} from {hook}; expected Tool objects")
    if tool.name in tools:
        if tools[tool.name] is tool and owners[tool.name] == owner:
            return  # one plugin giving it and offering it by name (a module passed explicitly)
        raise PluginError(
            f"two tools are named {tool.name!r}: one from plugin {owners[tool.name]!r}, "
            f"one from plugin {owner!r}; rename one or block a plugin (Agent(block=[...]))"
        )
    tools[tool.name], owners[tool.name] = tool, owner


def owner_name(pm: pluggy.PluginManager, plugin: object) -> str:
    """The plugin's registered name; for an object registered without one, its class."""
    name = pm.get_name(plugin) or ""
    if name and name != str(id(plugin)):
        return name
    cls = type(plugin)
    return f"{cls.__module__}.{cls.__qualname__} object"
