"""Toolsets: a name for a group of tools a plugin builds from typed settings.

A :class:`Toolset` (``files``) declares its :class:`ToolOption` settings
(``root``: a string, default ``"."``) and a ``build`` function; the registry
(:mod:`agentloop.plugins.registry`) validates and converts the options an
agent or the command line gives, then builds the tools when an agent first
asks for the toolset.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConfigurationError, PluginError

if TYPE_CHECKING:
    from agentloop.tools import Tool

__all__ = ["ToolOption", "Toolset", "close_matches"]

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
                    f"unknown tool option {self.name}.{key}{close_matches(key, self.options)}; "
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


def close_matches(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the close matches of ``name`` in ``known``, or ``""``."""
    matches = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(m) for m in matches)}?)" if matches else ""
