"""What the installed distribution offers by name: the ``calculate`` tool.

Agents get it only when they ask: ``Agent(tools=["calculate"])`` or
``agentloop run -T calculate``.
"""

from __future__ import annotations

from typing import Any

from agentloop import hookimpl


@hookimpl
def agentloop_register_tools() -> list[Any]:
    """Offer ``calculate`` by name."""
    from . import calculate

    return [calculate]
