"""Names: a server's default name, tool prefixes and tool filters (internal)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

from agentloop import ConfigurationError

from ._endpoint import Endpoint

__all__ = ["default_name", "local_name", "make_filter", "make_prefix"]

_LAUNCHERS = {"python", "python3", "node", "npx", "uvx", "uv", "bunx", "deno", "pipx", "docker"}
_BAD = re.compile(r"[^A-Za-z0-9_-]+")


def _clean(text: str) -> str:
    return _BAD.sub("_", text).strip("_") or "mcp"


def default_name(endpoint: Endpoint) -> str:
    """``python weather.py`` -> ``weather``; ``npx -y @scope/server-files`` -> ``server-files``; a URL -> its host."""
    if endpoint.kind == "http":
        return _clean(urlsplit(endpoint.url).hostname or "mcp")
    words = [endpoint.command, *endpoint.args]
    if PurePath(endpoint.command).name.lower().rstrip("0123456789.") in _LAUNCHERS | {"python"}:
        words = [w for w in endpoint.args if not w.startswith("-")] or words
    stem = PurePath(words[0]).stem if words else "mcp"
    return _clean(stem.split("/")[-1])


def make_prefix(name: str, prefix: bool | str) -> str:
    """The text put before each tool name ("" for none)."""
    if prefix is False or prefix == "":
        return ""
    if prefix is True:
        return _clean(name) + "_"
    if not isinstance(prefix, str):
        raise ConfigurationError(f"prefix must be True, False or a string, got {prefix!r}")
    return prefix if prefix.endswith(("_", "-")) else prefix + "_"


def local_name(prefix: str, mcp_name: str) -> str:
    """The agentloop tool name: the prefix, then the MCP name with characters models refuse replaced."""
    return (prefix + _BAD.sub("_", mcp_name))[:64]


def make_filter(
    tool_filter: Mapping[str, Iterable[str]] | Callable[[str], bool] | None,
) -> Callable[[str], bool]:
    """A predicate over the server's tool names."""
    if tool_filter is None:
        return lambda name: True
    if callable(tool_filter):
        return tool_filter
    if not isinstance(tool_filter, Mapping) or set(tool_filter) - {"allow", "deny"}:
        raise ConfigurationError(
            'tool_filter must be {"allow": [names], "deny": [names]} or a function name -> bool, '
            f"got {tool_filter!r}"
        )
    allow: Any = tool_filter.get("allow")
    deny = frozenset(_names(tool_filter.get("deny") or ()))
    allowed = None if allow is None else frozenset(_names(allow))
    return lambda name: name not in deny and (allowed is None or name in allowed)


def _names(values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        raise ConfigurationError(f"tool_filter takes lists of names, got the string {values!r}")
    return [str(v) for v in values]
