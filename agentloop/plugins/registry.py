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

import difflib
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConfigurationError, PluginError

if TYPE_CHECKING:
    import pluggy

    from agentloop.tools import Tool

__all__ = ["Offer", "ToolOption", "ToolRegistry", "ToolSelection", "Toolset", "parse_tool_option"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TYPES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list of strings",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolOption:
    """One typed setting of a :class:`Toolset` (``root`` of ``files``).

    Attributes:
        type: ``str``, ``int``, ``float``, ``bool`` or ``list`` (a list of strings;
            from the command line, comma-separated).
        help: One line for ``agentloop tools`` and error messages.
        default: The value when none is given (not passed to ``build`` when None).
        required: The toolset cannot be built without it.
    """

    type: type = str
    help: str = ""
    default: Any = None
    required: bool = False

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise PluginError(
                f"ToolOption type must be one of str, int, float, bool, list; got {self.type!r}"
            )

    def convert(self, value: Any, *, where: str) -> Any:
        """Return ``value`` as this option's type; text (from the CLI) is parsed.

        Args:
            value: The given value.
            where: The option's full name for messages (``files.max_read_bytes``).

        Raises:
            ConfigurationError: The value has the wrong type or does not parse.
        """
        kind = self.type
        if isinstance(value, str) and kind is not str:
            return _parse(value, kind, where)
        if kind is list and isinstance(value, (list, tuple)):
            if all(isinstance(item, str) for item in value):
                return list(value)
        elif kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        elif isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return value
        raise ConfigurationError(
            f"tool option {where} must be {_TYPES[kind]}, got {type(value).__name__} {value!r}"
        )


def _parse(text: str, kind: type, where: str) -> Any:
    word = text.strip()
    if kind is list:
        return [part.strip() for part in word.split(",") if part.strip()]
    if kind is bool:
        if word.lower() in ("1", "true", "yes", "on"):
            return True
        if word.lower() in ("0", "false", "no", "off"):
            return False
    else:
        try:
            return kind(word)
        except ValueError:
            pass
    raise ConfigurationError(f"tool option {where} must be {_TYPES[kind]}, got {text!r}")


@dataclass(frozen=True, kw_only=True)
class Toolset:
    """A named group of tools a plugin builds from settings when an agent asks for it.

    Attributes:
        name: The name agents choose it by (``files``); same rules as tool names.
        build: Called with the validated options as keyword arguments (defaults
            filled in, None values left out); returns the tools.
        description: One line for ``agentloop tools``.
        options: The settings ``build`` takes, by name.
        tools: The names of the tools ``build`` may return, so that one of them
            can be chosen alone (``read_file``) and listed without building.
    """

    name: str
    build: Callable[..., Iterable[Tool]]
    description: str = ""
    options: Mapping[str, ToolOption] = field(default_factory=dict)
    tools: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (self.name, *self.tools):
            if not isinstance(name, str) or not _NAME.match(name):
                raise PluginError(f"Toolset name {name!r} is invalid (1-64 of a-z A-Z 0-9 _ -)")
        if not callable(self.build):
            raise PluginError(f"Toolset {self.name!r}: build must be callable")
        object.__setattr__(self, "options", dict(self.options))
        object.__setattr__(self, "tools", tuple(self.tools))

    def check_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and convert ``given``; return the keyword arguments for ``build``.

        Raises:
            ConfigurationError: An unknown option (with close matches), a value of
                the wrong type, or a missing required option.
        """
        kwargs: dict[str, Any] = {}
        for key, value in given.items():
            spec = self.options.get(key)
            if spec is None:
                raise ConfigurationError(
                    f"unknown tool option {self.name}.{key}{_close(key, self.options)}; "
                    f"{self.name} takes: {', '.join(sorted(self.options)) or 'no options'}"
                )
            kwargs[key] = spec.convert(value, where=f"{self.name}.{key}")
        for key, spec in self.options.items():
            if key not in kwargs and spec.default is not None:
                kwargs[key] = spec.default
            if spec.required and kwargs.get(key) is None:
                raise ConfigurationError(
                    f"toolset {self.name!r} needs the option {key!r} ({spec.help or spec.type}); "
                    f"give it with --tool-option {self.name}.{key}=VALUE or "
                    f"tool_options={{{self.name!r}: {{{key!r}: ...}}}}"
                )
        return kwargs


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
        from agentloop.plugins.manager import owner_name

        offers: dict[str, Offer] = {}
        conflicts: dict[str, list[str]] = {}
        problems: dict[str, str] = {}
        for impl in reversed(pm.hook.agentloop_register_tools.get_hookimpls()):
            if impl.wrapper or impl.hookwrapper:
                continue
            owner = owner_name(pm, impl.plugin)
            try:
                found = offered_by(impl.function(), owner)
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
                    f"{_close(name, toolsets)}; toolsets: {', '.join(sorted(toolsets)) or 'none'}"
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
        message = f"unknown tool {name!r}{_close(name, self.offers)}"
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


def _close(name: str, known: Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(m) for m in matches)}?)" if matches else ""


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
