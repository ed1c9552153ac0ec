"""How to reach one MCP server: a command over stdio, or a streamable-HTTP URL (internal)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["Endpoint"]


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """How to reach one MCP server.

    Attributes:
        kind: ``stdio`` (a command) or ``http`` (a streamable-HTTP URL).
        command: The executable (stdio).
        args: Its arguments (stdio).
        env: Extra environment variables for the server (never shown in reprs).
        cwd: The server's working directory (stdio).
        url: The endpoint URL (http).
        headers: Extra HTTP headers, e.g. ``Authorization`` (never shown in reprs).
    """

    kind: Literal["stdio", "http"]
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = field(default=None, repr=False)
    cwd: str | None = None
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        """A short, secret-free description: the command line, or the URL without credentials."""
        if self.kind == "stdio":
            return shlex.join([self.command, *self.args])
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"
