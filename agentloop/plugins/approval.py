"""Built-in plugin: tools made with ``@tool(requires_approval=True)`` run only when approved.

Before such a call, ``agentloop_approve_tool_call`` is asked (the CLI asks on
the terminal; ``Agent(approver=fn)`` registers :class:`ApproverCallback`).
With no plugin answering, the call is denied: nothing that needs approval
runs by default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agentloop.hookspecs import hookimpl
from agentloop.messages import ToolResult

if TYPE_CHECKING:
    from agentloop.context import RunContext
    from agentloop.messages import ToolCall
    from agentloop.tools import Tool

__all__ = ["ApproverCallback", "agentloop_before_tool_call"]


@hookimpl
def agentloop_before_tool_call(
    context: RunContext, call: ToolCall, tool: Tool
) -> ToolResult | None:
    """Deny a call to a tool that requires approval unless a plugin approves it."""
    if not tool.requires_approval:
        return None
    answer = context.agent.hook.agentloop_approve_tool_call(context=context, call=call, tool=tool)
    if answer is True:
        return None
    reason = "approval required" if answer is None else "the user did not approve this call"
    return ToolResult(
        call_id=call.id, name=call.name, content=f"denied: {reason}", is_error=True, status="denied"
    )


class ApproverCallback:
    """Plugin asking a callback whether a call may run: ``Agent(approver=fn)`` registers it.

    Args:
        approver: ``approver(call, tool) -> bool``; anything but True denies.
    """

    def __init__(self, approver: Callable[[ToolCall, Tool], bool]) -> None:
        self.approver = approver

    @hookimpl
    def agentloop_approve_tool_call(self, call: ToolCall, tool: Tool) -> bool:
        """Return the callback's answer (True allows, anything else denies)."""
        return self.approver(call, tool) is True
