"""Hook specifications: the complete contract between agentloop and its plugins.

A plugin is a module or an object whose functions carry ``@hookimpl`` and are
named after the hooks below. Plugins come from three places, in this order:
the built-ins (``agentloop.plugins.DEFAULT_PLUGINS``), installed distributions
that declare an entry point in the ``agentloop`` group, and ``Agent(plugins=[...])``.

Hooks are called with keyword arguments only, and an implementation may take
any subset of a hook's arguments. Every hook here is documented in
``docs/plugins.md`` and has a ``test_hook_<name>`` test (``tests/test_meta.py``
checks both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from agentloop.context import RunContext
    from agentloop.messages import ChatResponse, ToolCall, ToolResult
    from agentloop.tools import Tool

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("agentloop")
"""Marker for hook specifications (used only in this module and by plugins adding hooks)."""

hookimpl = pluggy.HookimplMarker("agentloop")
"""Marker for hook implementations: ``from agentloop import hookimpl``."""


# ---------------------------------------------------------------------------
# Registration hooks
# ---------------------------------------------------------------------------


@hookspec
def agentloop_tools(agent: Any) -> list[Tool] | None:
    """Offer tools to the model.

    Called once at the start of every run. Results from all plugins are
    concatenated with the agent's own ``tools=[...]`` (which reach the model
    through this same hook, from an internal plugin). Two tools with the same
    name are a :class:`~agentloop.PluginError` at run start naming both owners.
    To know each tool's owner, the loop calls every implementation itself,
    so ``wrapper=True`` implementations of this hook are not applied.

    Args:
        agent: The :class:`~agentloop.Agent` being run (read it, do not change it).

    Returns:
        A list of :class:`~agentloop.Tool`, or None for no tools.
    """


@hookspec
def agentloop_agent_close(agent: Any) -> None:
    """Called when an agent is closed: ``agent.close()`` or leaving ``with agent:``.

    Release what a plugin holds for the agent's runs: subprocesses, network
    connections, pools (an MCP server plugin stops its server here). Called on
    every ``close()``; implementations must be idempotent. Every implementation
    is called even when one raises: exceptions become an
    :class:`~agentloop.AgentloopWarning` naming the plugin. The agent may run
    again afterwards, so a plugin starts what it needs again on the next run.

    Args:
        agent: The :class:`~agentloop.Agent` being closed.
    """


# ---------------------------------------------------------------------------
# Run lifecycle hooks
# ---------------------------------------------------------------------------


@hookspec
def agentloop_run_start(context: RunContext) -> None:
    """Called once when a run starts, before the first model request.

    Called after the run's tools were collected (a duplicate tool name ends
    the run before this hook). From here on ``agentloop_run_end`` is called
    however the run ends, also when an implementation of this hook raises
    (the exception then ends the run).

    Args:
        context: The new run's context (``run_id``, ``agent``, ``state``, ``deps``).
    """


@hookspec
def agentloop_run_end(context: RunContext, result: Any, error: BaseException | None) -> None:
    """Called once when a run ends, however it ends (answer, error or Ctrl-C).

    Exceptions raised here are not allowed to hide the run's own outcome: they
    are reported as a warning and the run's result or error stands.

    Args:
        context: The run's context.
        result: The :class:`~agentloop.RunResult` built so far (complete on success).
        error: The exception that ended the run, or None on success.
    """


# ---------------------------------------------------------------------------
# Model request hooks
# ---------------------------------------------------------------------------


@hookspec
def agentloop_model_request(context: RunContext, request: dict[str, Any]) -> None:
    """Called before every model request; may change what is sent.

    ``request`` is the body about to be sent, without ``model`` and ``stream``:
    ``messages`` (wire-format dicts), ``tools``, ``tool_choice`` and every model
    setting. It is a private copy for this request: mutate it in place
    (add a system message, drop a tool, change ``temperature``). Changes apply
    to this request only; the run's transcript is not changed.

    Args:
        context: The run's context.
        request: The request body, mutable.
    """


@hookspec
def agentloop_model_response(context: RunContext, response: ChatResponse) -> None:
    """Called after every successful model response, before its tool calls run.

    Called before the assistant message is added to the transcript, so
    ``context.messages`` does not contain it yet. An exception raised here
    ends the run.

    Args:
        context: The run's context.
        response: The complete response (assembled when streamed).
    """


@hookspec
def agentloop_stream_event(context: RunContext, event: Any) -> None:
    """Called for every run event, in order, as it happens.

    Events are the ones ``Agent.stream`` yields: text deltas, tool call started
    and finished, step finished, run finished. Called in streaming and
    non-streaming runs alike (a non-streamed model call gives one text event).
    Keep implementations fast: they run on the loop's thread. An exception
    raised here ends the run.

    Args:
        context: The run's context.
        event: The event.
    """


# ---------------------------------------------------------------------------
# Tool-call hooks
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def agentloop_before_tool_call(
    context: RunContext, call: ToolCall, tool: Tool
) -> ToolResult | None:
    """Called before a tool runs, after its arguments validated; may deny or answer it.

    Use it for approval, caching, rate limiting or policy. Return None to let
    the call run. Return a :class:`~agentloop.ToolResult` to skip the tool and
    send that result instead: ``status="denied"`` for a refusal (with
    ``is_error=True``), ``status="answered"`` for a cached answer. Stops at the
    first non-None result. Not called for unknown tool names or arguments that
    failed validation (the model gets an error result for those). Raising
    :class:`~agentloop.AbortRun` ends the run; any other exception becomes an
    error result for this call.

    Args:
        context: The run's context.
        call: The model's call (``arguments`` is the raw JSON text).
        tool: The tool called.

    Returns:
        A result that replaces running the tool, or None.
    """


@hookspec(firstresult=True)
def agentloop_approve_tool_call(context: RunContext, call: ToolCall, tool: Tool) -> bool | None:
    """Decide whether a tool that requires approval may run.

    Called only for tools made with ``@tool(requires_approval=True)``. The CLI
    asks on the terminal; ``Agent(approver=callback)`` registers a plugin that
    asks the callback. With no implementation answering, the call is denied.
    Stops at the first non-None result.

    Args:
        context: The run's context.
        call: The call awaiting approval.
        tool: The tool called.

    Returns:
        True to allow, False to deny, None to leave it to the next plugin.
    """


@hookspec(firstresult=True)
def agentloop_call_tool(context: RunContext, call: ToolCall, tool: Tool) -> ToolResult | None:
    """Run one tool call.

    The plugin that owns a tool runs it; the built-in default (``trylast``)
    runs ``@tool`` functions in-process with ``Tool.invoke``. Return None for
    tools you do not own. Exceptions are caught by the loop and sent to the
    model as an error result (:class:`~agentloop.AbortRun` ends the run).
    Stops at the first non-None result. When a turn has several calls, or the
    tool has a timeout, this runs on one of the run's tool threads, possibly
    next to other calls: implementations must be thread-safe.

    Args:
        context: The run's context.
        call: The model's call.
        tool: The tool called.

    Returns:
        The result, or None when this plugin does not run this tool.
    """


@hookspec(firstresult=True)
def agentloop_after_tool_call(
    context: RunContext, call: ToolCall, tool: Tool, result: ToolResult
) -> ToolResult | None:
    """Called after every tool call (also failed or denied ones); may replace the result.

    Use it to redact, summarize or post-process what the model sees. Not
    called for a call to an unknown tool name (there is no ``tool``) or for a
    call the loop cancelled without running it. The returned result is still
    pinned to the call's id and name and cut to ``max_result_chars``. Stops at
    the first non-None result.

    Args:
        context: The run's context.
        call: The model's call.
        tool: The tool called.
        result: The result so far.

    Returns:
        A replacement result, or None to keep it.
    """
