"""Names: a server's default name, tool prefixes and tool filters (internal)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

from agentloop import ConfigurationError

from ._endpoint import Endpoint

__all__ = ["MAX_NAME", "default_name", "hashed_name", "local_name", "make_filter", "make_prefix"]

_LAUNCHERS = {"python", "node", "npx", "uvx", "uv", "bunx", "bun", "deno", "pipx", "docker"}
_GENERIC = {
    "dist", "build", "src", "bin", "lib", "out", "index", "main", "server", "app", "cli",
    "__main__", "__init__", "run", "start", "tool", "x", "exec", "mcp", "node_modules",
}  # fmt: skip
_BAD = re.compile(r"[^A-Za-z0-9_-]+")
_VERSION = re.compile(r"(?<=.)@[^/@]*$")  # "@scope/pkg@1.2.3" -> "@scope/pkg"


def _clean(text: str) -> str:
    return _BAD.sub("_", text).strip("_") or "mcp"


def default_name(endpoint: Endpoint) -> str:
    """A meaningful name for a server: ``python weather.py`` -> ``weather``.

    ``node .../server-files/dist/index.js`` -> ``server-files`` (generic folder and
    file names such as dist, build, src, bin, lib, index, main and server are skipped,
    walking up the path; a relative path is read from the server's working folder),
    ``npx -y @scope/server-files`` -> ``server-files``, ``uvx mcp-server-time`` ->
    ``mcp-server-time``; a URL -> its host.
    """
    if endpoint.kind == "http":
        return _clean(urlsplit(endpoint.url).hostname or "mcp")
    words = [endpoint.command]
    if _launcher(endpoint.command):
        words = [w for w in endpoint.args if not w.startswith("-")] or words
    for word in words:
        name = _meaningful(word, endpoint.cwd)
        if name:
            return _clean(name)
    return _clean(PurePath(words[0]).stem) if words else "mcp"


def _launcher(command: str) -> bool:
    base = PurePath(command).name.lower().removesuffix(".exe")
    return base.rstrip("0123456789.") in _LAUNCHERS


def _meaningful(word: str, cwd: str | None) -> str:
    """The last path part of ``word`` that is not a generic name ("" when there is none)."""
    word = _VERSION.sub("", word)
    path = PurePath(word)
    if "/" in word and not word.startswith(("/", "@", ".")) and not path.suffix:
        parts = list(path.parts)  # a package name such as "mcp/fetch": its last part first
    else:
        if not path.is_absolute() and (path.suffix or word.startswith(".")):
            path = PurePath(cwd or os.getcwd()) / path  # "server.py": named after its folder
        parts = list(path.parts)
    for part in reversed(parts):
        stem = PurePath(part).stem if part == parts[-1] else part
        if stem and stem.lower() not in _GENERIC and stem not in ("/", "@"):
            return stem.split(".")[0] if stem.count(".") > 1 else stem
    return ""


def make_prefix(name: str, prefix: bool | str) -> str:
    """The text put before each tool name ("" for none)."""
    if prefix is False or prefix == "":
        return ""
    if prefix is True:
        return _clean(name) + "_"
    if not isinstance(prefix, str):
        raise ConfigurationError(f"prefix must be True, False or a string, got {prefix!r}")
    return prefix if prefix.endswith(("_", "-")) else prefix + "_"


MAX_NAME = 64
"""The longest tool name models accept."""


def local_name(prefix: str, mcp_name: str) -> str:
    """The agentloop tool name: the prefix, then the MCP name with characters models refuse replaced.

    A name longer than :data:`MAX_NAME` is cut and ends with a short hash of the whole
    MCP name, so two long names sharing their first 64 characters stay distinct.
    """
    name = prefix + _BAD.sub("_", mcp_name)
    return name if len(name) <= MAX_NAME else hashed_name(name, mcp_name)


def hashed_name(name: str, mcp_name: str) -> str:
    """``name`` cut to fit :data:`MAX_NAME` with ``_`` and 8 hex digits of ``mcp_name``'s hash."""
    digest = hashlib.sha256(mcp_name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


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
