"""MCP servers from the command line (``--mcp``) and config files (``[mcp.servers.NAME]``).

A ``--mcp`` value is a URL (``https://host/mcp``) or a command line
(``"python server.py"``, split like a shell would). A config table has the
shape MCP desktop clients use for ``mcpServers``, so an existing entry can be
pasted::

    [mcp.servers.files]
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
    env = { DEBUG = "0" }

    [mcp.servers.search]
    url = "https://example.com/mcp"
    headers = { Authorization = "Bearer ..." }

plus this plugin's options (``prefix``, ``tool_filter``, ``requires_approval``,
``timeout``, ``startup_timeout``, ``cache_tools``, ``max_result_chars``,
``required``).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from agentloop import ConfigurationError

from ._server import MCPServer

__all__ = ["server_from_spec", "servers_from_config", "servers_from_specs"]

_CONNECTION_KEYS = {"command", "args", "env", "cwd", "url", "headers", "type", "transport"}
_OPTION_KEYS = {
    "prefix",
    "tool_filter",
    "requires_approval",
    "timeout",
    "startup_timeout",
    "cache_tools",
    "max_result_chars",
    "required",
}
_IGNORED_KEYS = {"disabled", "description", "alwaysAllow", "autoApprove"}
_HTTP_TYPES = {"http", "streamable-http", "streamable_http", "streamableHttp"}


def server_from_spec(spec: str, **options: Any) -> MCPServer:
    """One server from a ``--mcp`` value: a URL, or a command line.

    Raises:
        ConfigurationError: The value is empty or cannot be split.
    """
    text = spec.strip()
    if text.startswith(("http://", "https://")):
        return MCPServer.http(text, **options)
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ConfigurationError(f"--mcp {spec!r}: {exc}") from None
    if not words:
        raise ConfigurationError("--mcp needs a command line or an http(s):// URL")
    return MCPServer.stdio(words[0], args=words[1:], **options)


def servers_from_specs(specs: Iterable[str]) -> list[MCPServer]:
    """Servers from ``--mcp`` values; each gets a distinct name."""
    servers: list[MCPServer] = []
    seen: dict[str, int] = {}
    for spec in specs:
        server = server_from_spec(spec)
        count = seen.get(server.name, 0)
        seen[server.name] = count + 1
        if count:
            server = server_from_spec(spec, name=f"{server.name}{count + 1}")
        servers.append(server)
    return servers


def servers_from_config(table: Mapping[str, Any], *, source: str = "config") -> list[MCPServer]:
    """Servers from an ``[mcp]`` table: ``{"servers": {NAME: {...}}}``.

    ``mcpServers`` (the desktop clients' key) is accepted in place of ``servers``.

    Raises:
        ConfigurationError: An entry has neither ``command`` nor ``url``, an unknown
            key, or a value of the wrong type (the message names the entry and source).
    """
    if not isinstance(table, Mapping):
        raise ConfigurationError(f"[mcp] in {source} must be a table")
    unknown = set(table) - {"servers", "mcpServers"}
    if unknown:
        raise ConfigurationError(
            f"unknown key {sorted(unknown)[0]!r} in [mcp] of {source}; use [mcp.servers.NAME]"
        )
    entries = table.get("servers", table.get("mcpServers", {}))
    if not isinstance(entries, Mapping):
        raise ConfigurationError(f"[mcp.servers] in {source} must be a table of servers")
    servers = []
    for name, entry in entries.items():
        if isinstance(entry, Mapping) and entry.get("disabled") is True:
            continue
        servers.append(_from_entry(str(name), entry, f"[mcp.servers.{name}] in {source}"))
    return servers


def _from_entry(name: str, entry: Any, where: str) -> MCPServer:
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"{where} must be a table with command or url")
    unknown = set(entry) - _CONNECTION_KEYS - _OPTION_KEYS - _IGNORED_KEYS
    if unknown:
        known = ", ".join(sorted(_CONNECTION_KEYS | _OPTION_KEYS))
        raise ConfigurationError(f"unknown key {sorted(unknown)[0]!r} in {where}; known: {known}")
    kind = entry.get("type", entry.get("transport"))
    if kind == "sse":
        raise ConfigurationError(
            f"{where}: the old SSE transport is not supported; use the server's streamable-HTTP "
            "URL (usually ending in /mcp)"
        )
    options = {k: entry[k] for k in _OPTION_KEYS if k in entry}
    try:
        if "url" in entry or kind in _HTTP_TYPES:
            if "command" in entry:
                raise ConfigurationError("give either command or url, not both")
            return MCPServer.http(
                _string(entry.get("url"), "url"),
                headers=_strings(entry.get("headers", {}), "headers"),
                name=name,
                **options,
            )
        if "command" not in entry:
            raise ConfigurationError("needs command (a stdio server) or url (an HTTP server)")
        args = entry.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ConfigurationError("args must be a list of strings")
        return MCPServer.stdio(
            _string(entry["command"], "command"),
            args=args,
            env=_strings(entry.get("env", {}), "env"),
            cwd=entry.get("cwd"),
            name=name,
            **options,
        )
    except (ConfigurationError, TypeError) as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _strings(value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{key} must be a table of strings")
    return {str(k): str(v) for k, v in value.items()}
