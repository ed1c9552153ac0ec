"""Built-in plugin: run ``@tool`` functions in-process (the default ``agentloop_call_tool``)."""

from __future__ import annotations

from agentloop import RunContext, Tool, ToolCall, ToolResult, hookimpl


@hookimpl(trylast=True)
def agentloop_call_tool(context: RunContext, call: ToolCall, tool: Tool) -> ToolResult | None:
    """Call the tool's Python function with the model's arguments.

    Runs last, so a plugin that owns a tool (or answers it another way) goes
    first. Tools without a function (``tool.fn is None``) are left to their owner.
    """
    if getattr(tool, "fn", None) is None:
        return None
    value = tool.invoke(call.arguments, context=context)
    return ToolResult(
        call_id=call.id, name=call.name, content=tool.format_result(value), value=value
    )
