"""Built-in plugin: run ``@tool`` functions in-process (the default ``agentloop_call_tool``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentloop.hookspecs import hookimpl
from agentloop.messages import ToolResult

if TYPE_CHECKING:
    from agentloop.context import RunContext
    from agentloop.messages import ToolCall
    from agentloop.tools import Tool


@hookimpl(trylast=True)
def agentloop_call_tool(
    context: RunContext, call: ToolCall, tool: Tool, arguments: dict[str, Any]
) -> ToolResult:
    """Call the tool's Python function with the arguments the loop already validated.

    Runs last, so a plugin that owns a tool (or answers it another way) goes first.
    """
    if tool.isolated:
        from agentloop.plugins.isolation import run_isolated

        spec = context.spec
        timeout = spec.limits.timeout_for(tool) if spec is not None else tool.timeout
        value = run_isolated(
            lambda: tool.call_validated(arguments, context=context), timeout=timeout, name=tool.name
        )
    else:
        value = tool.call_validated(arguments, context=context)
    return ToolResult(
        call_id=call.id, name=call.name, content=tool.format_result(value), value=value
    )
