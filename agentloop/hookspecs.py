"""Hook specifications: the complete contract between agentloop and its plugins.

A plugin is a module or an object whose functions carry ``@hookimpl`` and are
named after the hooks below. Plugins come from three places, in this order:
the built-ins (``agentloop.plugins.DEFAULT_PLUGINS``), installed distributions
that declare an entry point in the ``agentloop`` group, and ``Agent(plugins=[...])``.

Tools: plugins *offer* them by name (:func:`agentloop_register_tools`, the
tool registry of :mod:`agentloop.plugins.registry`) and agents *choose* them
(``Agent(tools=["calculate"])``, ``agentloop run -T calculate``). Lifecycle
and tool-call hooks of every registered plugin, installed ones included,
apply to every run; ``Agent(block=[name])`` or ``AGENTLOOP_BLOCK_PLUGINS``
turns a plugin off. An installed plugin that cannot load or is invalid is
skipped with one warning (see :mod:`agentloop.plugins.manager`).

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
    from agentloop.events import RunEvent
    from agentloop.messages import ChatResponse, ToolCall, ToolResult
    from agentloop.protocols import AgentView
    from agentloop.result import RunResult, Step
    from agentloop.teams.guardrails import Outcome
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
def agentloop_register_tools() -> list[Any] | None:
    """Offer tools by name; an agent gets them only when it asks for one of the names.

    The tool registry is built from this hook: ``Agent(tools=["calculate",
    "files"])``, ``agentloop run -T files`` and ``agentloop tools`` all read it.
    It takes no arguments, so its answer never depends on an agent: list what
    you offer, do not start anything expensive here (a :class:`Toolset` builds
    its tools only when an agent chooses it). Any plugin object may implement
    it: installed distributions, ``Agent(plugins=[...])`` objects, an MCP
    bridge. Called (each implementation on its own, so the owner of every
    name is known; ``wrapper=True`` implementations are not applied) when a
    run first needs the registry, and by ``agentloop tools``/``plugins``. A
    plugin whose implementation raises, or two plugins offering one name, fail
    only the agents that ask for those names.

    Returns:
        :class:`~agentloop.Tool` objects (offered under their names) and
        :class:`~agentloop.Toolset` objects (a name for a group of tools built
        from typed :class:`~agentloop.ToolOption` settings, e.g. ``files``
        with ``root``), or None.
    """


@hookspec
def agentloop_tools(agent: AgentView) -> list[Tool] | None:
    """Give tools to the agent this plugin object was given to.

    Called once at the start of every run, only for the plugins the agent was
    given: its own ``tools=[...]`` functions (through an internal plugin) and
    the objects in ``Agent(plugins=[...])``, such as ``FilesPlugin(root)``.
    Installed plugins are not asked (they offer tools by name with
    :func:`agentloop_register_tools`, so nothing reaches an agent that did not
    ask for it). Two tools with the same name are a
    :class:`~agentloop.PluginError` at run start naming both owners. To know
    each tool's owner, the loop calls every implementation itself, so
    ``wrapper=True`` implementations of this hook are not applied.

    Args:
        agent: The :class:`~agentloop.Agent` being run (read it, do not change it).

    Returns:
        A list of :class:`~agentloop.Tool`, or None for no tools.
    """


@hookspec
def agentloop_agent_close(agent: AgentView) -> None:
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
def agentloop_run_end(context: RunContext, result: RunResult, error: BaseException | None) -> None:
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
def agentloop_stream_event(context: RunContext, event: RunEvent) -> None:
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
# Policy hooks: guardrails and handoffs (docs/guardrails.md, docs/teams.md)
# ---------------------------------------------------------------------------


@hookspec
def agentloop_guard_input(context: RunContext, text: str) -> Outcome | None:
    """Check a run's prompt before its first model call (an input guardrail).

    Called once per run, after ``Agent(guardrails=[...])`` objects allowed, before
    ``agentloop_run_start`` (so a replaced prompt is all the trace records). Every
    implementation is asked, in pluggy's order, until one answers something other than
    ``Allow``/None; each answer is recorded as a ``guardrail`` step and trace event.

    Args:
        context: The run's context (``context.messages`` holds the whole transcript).
        text: The last user message's text.

    Returns:
        ``Allow()``/None; ``Block(reason)``: the run ends at once with ``reason`` as its
        output and ``stop_reason="guardrail"`` (no model call); ``Replace(text)``: the model
        sees ``text`` as the prompt. Raising ends the run with
        :class:`~agentloop.GuardrailError` naming the plugin.
    """


@hookspec
def agentloop_guard_tool_call(
    context: RunContext, call: ToolCall, tool: Tool, arguments: dict[str, Any]
) -> Outcome | None:
    """Check one tool call before it runs (a tool-call guardrail).

    Called for each call whose arguments validated, before
    ``agentloop_before_tool_call``; asked as ``agentloop_guard_input`` is.

    Args:
        context: The run's context.
        call: The model's call.
        tool: The tool called.
        arguments: The validated arguments (read-only).

    Returns:
        ``Allow()``/None; ``Block(reason)`` or ``Retry(feedback)``: the tool does not run and
        the model gets the text as the call's result (status ``denied``);
        ``Replace(arguments)``: the tool runs with these arguments (validated again).
    """


@hookspec
def agentloop_guard_output(context: RunContext, output: Any) -> Outcome | None:
    """Check the answer before the run ends (an output guardrail).

    Called for every answer the run would end with (after ``output_type`` validated it);
    asked as ``agentloop_guard_input`` is.

    Args:
        context: The run's context (the answer is its last message).
        output: The answer: its text, or the parsed ``output_type`` value.

    Returns:
        ``Allow()``/None; ``Block(reason)``: :class:`~agentloop.GuardrailBlocked` with the
        partial result; ``Replace(value)``: the run's output (and the transcript's last
        message) is ``value``; ``Retry(feedback)``: ``feedback`` goes to the model as a user
        message and it answers again (at most ``output_retries`` times).
    """


@hookspec
def agentloop_guardrail(context: RunContext, step: Step) -> None:
    """Called once per guardrail answer, as the run records it (an observer hook).

    Called only in runs that have a guardrail (``Agent(guardrails=[...])`` objects or
    ``agentloop_guard_*`` implementations), once for each guardrail asked, in order, just
    before its ``guardrail`` step's ``StepFinished`` event: the input check's answers right
    after ``agentloop_run_start`` (a parallel input check's at the next point: after the
    first model call), a tool call's before ``agentloop_before_tool_call`` (so a tool call
    that goes on has no ``execute_tool`` span yet), the output's before the run ends. Unlike
    ``agentloop_stream_event``, implementing it does not make the loop build run events. The
    OpenTelemetry plugin adds its ``agentloop.guardrail`` span events here. An exception
    raised here ends the run.

    Args:
        context: The run's context.
        step: The answer's :class:`~agentloop.Step` (``kind="guardrail"``): ``point``
            (``input``, ``tool_call`` or ``output``), ``guardrail`` (its name), ``outcome``
            (``allow``, ``block``, ``replace`` or ``retry``), ``detail`` (a block's reason or
            a retry's feedback, else None), ``call_id`` (tool calls), ``agent``,
            ``started_at`` and ``duration``.
    """


@hookspec
def agentloop_handoff(context: RunContext, from_agent: str, to_agent: str) -> None:
    """Called when a run is handed from one agent to another (``Agent(handoffs=[...])``).

    Called after the switch, before the new agent's first model call: ``context.agent``
    is already the new agent. The OpenTelemetry plugin opens the new agent's
    ``invoke_agent`` span here. An exception raised here ends the run.

    Args:
        context: The run's context.
        from_agent: The name of the agent that handed the run on.
        to_agent: The name of the agent that has it now.
    """


# ---------------------------------------------------------------------------
# Context hooks (history that does not fit the model's context budget)
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def agentloop_compact_history(
    context: RunContext, messages: list[dict[str, Any]], budget: int
) -> str | None:
    """Write the summary that replaces old messages left out of a request.

    Called only for agents made with ``compact_history=True``, before a model
    request whose history is over the context budget (``max_context_tokens``
    or the model profile's ``context_tokens``), with the oldest messages the
    request leaves out (never the instructions, never a tool call without its
    result). The summary is sent as one system message in their place; the
    run's transcript is not changed. Asked again only when the set of left-out
    messages grows. The built-in implementation (``trylast``) asks the run's
    model. Stops at the first non-None result.

    Args:
        context: The run's context.
        messages: The messages left out, oldest first (wire-format dicts).
        budget: The tokens the request's messages may take.

    Returns:
        The summary text, or None to leave it to the next plugin (with no
        summary at all, the messages are simply left out).
    """


@hookspec
def agentloop_context_trimmed(
    context: RunContext, dropped_messages: list[dict[str, Any]], summary: str | None, reason: str
) -> None:
    """Called when a request leaves out old history to fit the context budget.

    Called once each time the set of left-out messages changes (not for every
    request), after trimming and before ``agentloop_model_request`` reaches
    the plugins that run after the built-in trimmer (the trace recorder, which
    writes a ``context_trimmed`` event, is one of them).

    Args:
        context: The run's context.
        dropped_messages: The messages newly left out since the last call in this run.
        summary: The summary sent in their place, or None when they were only dropped.
        reason: One line saying what was done and why (the budget).
    """


# ---------------------------------------------------------------------------
# Tool-call hooks
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def agentloop_before_tool_call(
    context: RunContext, call: ToolCall, tool: Tool, arguments: dict[str, Any]
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
        call: The model's call (``call.arguments`` is the raw JSON text).
        tool: The tool called.
        arguments: The decoded arguments, already validated against the tool's schema
            (the same dict ``agentloop_call_tool`` receives; treat it as read-only).

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
def agentloop_call_tool(
    context: RunContext, call: ToolCall, tool: Tool, arguments: dict[str, Any]
) -> ToolResult | None:
    """Run one tool call.

    The plugin that owns a tool runs it; the built-in default (``trylast``)
    runs ``@tool`` functions in-process with ``Tool.call_validated(arguments)``.
    The loop decodes and validates each call's arguments exactly once, before
    ``agentloop_before_tool_call``; ``arguments`` is that result, private to this
    call, so an implementation never needs to parse ``call.arguments`` again
    (pluggy lets an implementation leave ``arguments`` out of its signature). Return None for
    tools you do not own. Exceptions are caught by the loop and sent to the
    model as an error result (:class:`~agentloop.AbortRun` ends the run).
    Stops at the first non-None result. When a turn has several calls, or the
    tool has a timeout, this runs on one of the run's tool threads, possibly
    next to other calls: implementations must be thread-safe.

    Args:
        context: The run's context.
        call: The model's call.
        tool: The tool called.
        arguments: The decoded, validated arguments of this call.

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
