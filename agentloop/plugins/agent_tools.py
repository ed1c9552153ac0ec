"""Built-in plugin class: offers the tools passed as ``Agent(tools=[...])``.

The agent registers one instance, so its own tools reach the model through
``agentloop_tools`` exactly like plugin tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentloop.hookspecs import hookimpl

if TYPE_CHECKING:
    from agentloop.tools import Tool

__all__ = ["AgentTools"]


class AgentTools:
    """Plugin offering a fixed list of tools.

    Args:
        tools: The agent's tools.
    """

    def __init__(self, tools: Sequence[Tool]) -> None:
        self.tools = tuple(tools)

    @hookimpl
    def agentloop_tools(self, agent: Any) -> list[Tool]:
        """Return the agent's own tools."""
        return list(self.tools)

    def __repr__(self) -> str:
        return f"AgentTools({[t.name for t in self.tools]!r})"
