"""The tool registry: plugins *offer* tools by name, agents *choose* them.

Any plugin object (a module, an instance, an installed distribution, an MCP
bridge) offers tools by implementing ``agentloop_register_tools()``. It takes
no arguments, so the answer does not depend on an agent, and returns

* :class:`~agentloop.Tool` objects, offered under their own names, and
* :class:`Toolset` objects: a named group of tools built from settings
  (``files`` with ``root=...``), with typed :class:`ToolOption` declarations.

Nothing offered reaches a model unless an agent asks for it by name:
``Agent(tools=["calculate", "files"], tool_options={"files": {"root": "src"}})``,
or on the command line ``agentloop run -T files --tool-option files.root=src``.
A name is a tool's name, a toolset's name (all of its tools), or the name of
one tool inside a toolset (``read_file``: that tool of ``files``). Names are
resolved when a run first starts; an unknown name is a
:class:`~agentloop.ConfigurationError` listing the close matches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConfigurationError, PluginError
from agentloop.plugins.toolsets import ToolOption, Toolset, close_matches

if TYPE_CHECKING:
    import pluggy

    from agentloop.tools import Tool

__all__ = ["Offer", "ToolOption", "ToolRegistry", "ToolSelection", "Toolset", "parse_tool_option"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Offer:
    """One name in the registry and what stands behind it.

    Attributes:
        name: The name an agent asks for.
        plugin: The name of the plugin that offers it.
        tool: The tool, for a tool offered directly.
        toolset: The toolset, for a toolset name or a tool inside a toolset.
    """

    name: str
    plugin: str
    tool: Tool | None = None
    toolset: Toolset | None = None

    @property
    def kind(self) -> str:
        """``"tool"``, ``"toolset"`` or ``"toolset tool"`` (one tool of a toolset)."""
        if self.tool is not None:
            return "tool"
        assert self.toolset is not None
        return "toolset" if self.toolset.name == self.name else "toolset tool"

    @property
    def description(self) -> str:
        """The tool's description, or the toolset's."""
        if self.tool is not None:
            return self.tool.description
        assert self.toolset is not None
        return self.toolset.description


class ToolRegistry:
    """Every tool and toolset that a plugin manager's plugins offer, by name.

    Build it with :meth:`from_plugin_manager`. A plugin whose hook fails, or
    two plugins offering one name, are recorded, not raised: they matter only
    to an agent that asks for one of those names.

    Args:
        offers: Offers by name.
        conflicts: Names offered by more than one plugin -> the plugins.
        problems: Plugin name -> what went wrong in its ``agentloop_register_tools``.
        note: Added to the unknown-name error (e.g. that installed plugins are not loaded).
    """

    def __init__(
        self,
        offers: Mapping[str, Offer],
        *,
        conflicts: Mapping[str, Sequence[str]] | None = None,
        problems: Mapping[str, str] | None = None,
        note: str = "",
    ) -> None:
        self.note = note
        self.offers: dict[str, Offer] = dict(offers)
        self.conflicts: dict[str, list[str]] = {k: list(v) for k, v in (conflicts or {}).items()}
        self.problems: dict[str, str] = dict(problems or {})

    @classmethod
    def from_plugin_manager(cls, pm: pluggy.PluginManager) -> ToolRegistry:
        """Ask every registered plugin's ``agentloop_register_tools`` what it offers."""
        from agentloop.plugins.manager import call_each

        offers: dict[str, Offer] = {}
        conflicts: dict[str, list[str]] = {}
        problems: dict[str, str] = {}
        for outcome in call_each(pm, "agentloop_register_tools"):
            owner = outcome.owner
            try:
                if outcome.error is not None:
                    raise outcome.error
                found = offered_by(outcome.value, owner)
            except Exception as exc:  # contained: only agents asking for its tools fail
                problems[owner] = f"{type(exc).__name__}: {exc}"
                continue
            for offer in found:
                if offer.name in offers and offers[offer.name].plugin != owner:
                    conflicts.setdefault(offer.name, [offers[offer.name].plugin]).append(owner)
                    continue
                offers.setdefault(offer.name, offer)
        note = ""
        if not getattr(pm, "installed", True):
            note = (
                " (this agent loads no installed plugins: Agent(load_plugins=False) "
                "or AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD=1)"
            )
        return cls(offers, conflicts=conflicts, problems=problems, note=note)

    def names(self) -> list[str]:
        """Every name an agent may ask for, sorted."""
        return sorted(self.offers)

    def check_options(self, options: Mapping[str, Mapping[str, Any]]) -> None:
        """Validate ``{toolset: {option: value}}`` against the offered toolsets.

        Raises:
            ConfigurationError: An unknown toolset or option, or a bad value.
        """
        toolsets = {o.name: o.toolset for o in self.offers.values() if o.kind == "toolset"}
        for name, given in options.items():
            toolset = toolsets.get(name)
            if toolset is None:
                raise ConfigurationError(
                    f"tool options given for {name!r}, which is no installed toolset"
                    f"{close_matches(name, toolsets)}; toolsets: {', '.join(sorted(toolsets)) or 'none'}"
                )
            toolset.check_options(given)

    def resolve(
        self, names: Sequence[str], options: Mapping[str, Mapping[str, Any]] | None = None
    ) -> list[tuple[Tool, str]]:
        """Return the tools (with the offering plugin's name) the names choose, in order.

        Args:
            names: Tool or toolset names.
            options: Settings of toolsets, by toolset name.

        Raises:
            ConfigurationError: An unknown name (close matches listed), an unknown
                or wrongly typed option, or a toolset that cannot be built.
            PluginError: A name offered by two plugins, or a toolset whose build failed.
        """
        options = options or {}
        self.check_options(options)
        built: dict[str, list[Tool]] = {}
        chosen: list[tuple[Tool, str]] = []
        for name in names:
            offer = self._offer(name)
            if offer.tool is not None:
                chosen.append((offer.tool, offer.plugin))
                continue
            assert offer.toolset is not None
            toolset = offer.toolset
            if toolset.name not in built:
                built[toolset.name] = _build(toolset, options.get(toolset.name, {}), offer.plugin)
            tools = built[toolset.name]
            if offer.kind == "toolset tool":
                tools = [t for t in tools if t.name == name]
                if not tools:
                    raise ConfigurationError(
                        f"toolset {toolset.name!r} did not build {name!r} with the options given "
                        f"(it built: {', '.join(t.name for t in built[toolset.name]) or 'nothing'})"
                    )
            chosen.extend((t, offer.plugin) for t in tools)
        return _unique(chosen)

    def _offer(self, name: str) -> Offer:
        if name in self.conflicts:
            raise PluginError(
                f"the tool name {name!r} is offered by several plugins "
                f"({', '.join(self.conflicts[name])}); block one (Agent(block=[...]) or "
                "AGENTLOOP_BLOCK_PLUGINS)"
            )
        offer = self.offers.get(name)
        if offer is not None:
            return offer
        message = f"unknown tool {name!r}{close_matches(name, self.offers)}"
        if self.problems:
            broken = "; ".join(f"{k}: {v}" for k, v in sorted(self.problems.items()))
            message += f"; plugins that failed to offer their tools: {broken}"
        offered = ", ".join(self.names()) or "none"
        raise ConfigurationError(
            f"{message}; offered: {offered}{self.note} (see `agentloop tools`)"
        )


def offered_by(value: Any, owner: str) -> list[Offer]:
    """Turn one plugin's ``agentloop_register_tools`` answer into offers.

    Raises:
        PluginError: The answer holds something that is neither a Tool nor a Toolset.
    """
    from agentloop.tools import Tool

    offers: list[Offer] = []
    for item in value or ():
        if isinstance(item, Tool):
            offers.append(Offer(name=item.name, plugin=owner, tool=item))
        elif isinstance(item, Toolset):
            offers.append(Offer(name=item.name, plugin=owner, toolset=item))
            offers.extend(
                Offer(name=n, plugin=owner, toolset=item) for n in item.tools if n != item.name
            )
        else:
            raise PluginError(
                f"agentloop_register_tools returned {item!r}; expected Tool or Toolset objects"
            )
    return offers


def _build(toolset: Toolset, given: Mapping[str, Any], owner: str) -> list[Tool]:
    from agentloop.tools import Tool

    kwargs = toolset.check_options(given)
    try:
        tools = list(toolset.build(**kwargs))
    except ConfigurationError as exc:
        raise ConfigurationError(f"toolset {toolset.name!r}: {exc}") from exc
    except Exception as exc:
        raise PluginError(
            f"plugin {owner!r} failed to build toolset {toolset.name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    for item in tools:
        if not isinstance(item, Tool):
            raise PluginError(f"toolset {toolset.name!r} built {item!r}, not a Tool")
    return tools


def _unique(chosen: list[tuple[Tool, str]]) -> list[tuple[Tool, str]]:
    """Drop repeats of one tool object (``-T files -T read_file``)."""
    seen: set[int] = set()
    out = []
    for tool, owner in chosen:
        if id(tool) not in seen:
            seen.add(id(tool))
            out.append((tool, owner))
    return out


def parse_tool_option(text: str) -> tuple[str, str, str]:
    """Split ``TOOLSET.OPTION=VALUE`` (the CLI's ``--tool-option``).

    Raises:
        ConfigurationError: The text is not of that form.
    """
    head, sep, value = text.partition("=")
    toolset, dot, option = head.strip().partition(".")
    if not (sep and dot and toolset and option):
        raise ConfigurationError(
            f"--tool-option {text!r} is not TOOLSET.OPTION=VALUE (e.g. files.root=./src)"
        )
    return toolset, option.strip(), value


class ToolSelection:
    """The tool names an agent chose and their options; resolved once, on first use.

    Args:
        names: Tool or toolset names.
        options: Toolset settings, ``{toolset: {option: value}}``.

    Raises:
        ConfigurationError: ``options`` is not a mapping of mappings.
    """

    def __init__(
        self, names: Iterable[str] = (), options: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.names: tuple[str, ...] = tuple(names)
        if options is not None and not isinstance(options, Mapping):
            raise ConfigurationError(
                "tool_options must be a dict of dicts: {'files': {'root': './src'}}"
            )
        self.options: dict[str, dict[str, Any]] = {}
        for toolset, given in (options or {}).items():
            if not isinstance(given, Mapping):
                raise ConfigurationError(
                    f"tool_options[{toolset!r}] must be a dict of option values, got {given!r}"
                )
            self.options[toolset] = dict(given)
        self._lock = threading.Lock()
        self._resolved: list[tuple[Tool, str]] | None = None

    def resolve(self, pm: pluggy.PluginManager) -> list[tuple[Tool, str]]:
        """The chosen tools with their owners (the first call builds them; then cached)."""
        if not self.names and not self.options:
            return []
        with self._lock:
            if self._resolved is None:
                registry = ToolRegistry.from_plugin_manager(pm)
                self._resolved = registry.resolve(self.names, self.options)
            return list(self._resolved)

    def __repr__(self) -> str:
        return f"ToolSelection({list(self.names)!r}, options={sorted(self.options)!r})"
