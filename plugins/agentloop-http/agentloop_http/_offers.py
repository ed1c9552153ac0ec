"""What the installed distribution offers by name: the ``http`` toolset (``fetch_url``).

``Agent(tools=["fetch_url"])`` or ``agentloop run -T http`` gives the agent
``fetch_url`` with the default limits; ``--tool-option http.allow_hosts=a,b``
exempts hosts from the public-address rule.
"""

from __future__ import annotations

from typing import Any

from agentloop import Tool, ToolOption, Toolset, hookimpl


def build(**options: Any) -> list[Tool]:
    """Build ``fetch_url`` with these settings."""
    from . import HTTPPlugin

    return [HTTPPlugin(**options).fetch_url]


HTTP = Toolset(
    name="http",
    description="Fetch public web pages as text (SSRF-guarded, size and time capped).",
    build=build,
    options={
        "allow_hosts": ToolOption(type=list, help="hosts exempt from the public-address rule"),
        "max_bytes": ToolOption(type=int, help="most body bytes read"),
        "timeout": ToolOption(type=float, help="seconds for a whole fetch"),
        "max_redirects": ToolOption(type=int, help="most redirects followed"),
    },
    tools=("fetch_url",),
)


@hookimpl
def agentloop_register_tools() -> list[Any]:
    """Offer the ``http`` toolset by name."""
    return [HTTP]
