"""The run loop: ask the model, dispatch its tool calls through hooks, repeat until an answer.

The loop talks to a model object (anything with ``create``/``stream``, see
:class:`~agentloop.protocols.Model`); it never imports an HTTP library. Every
piece of per-run state lives in one :class:`RunState`, so one
:class:`~agentloop.Agent` can run in many threads at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from agentloop.events import RunFinished
from agentloop.loop.guards import InputRefused
from agentloop.loop.state import RunState, stop_reason_of
from agentloop.loop.toolcalls import cancel_open_calls, dispatch_tool_calls

if TYPE_CHECKING:
    from agentloop.events import RunEvent
    from agentloop.messages import ToolCall
    from agentloop.runspec import RunSpec

__all__ = ["run_events"]


def run_events(
    spec: RunSpec,
    messages: list[dict[str, Any]],
    *,
    deps: Any = None,
    stream: bool = False,
    pending: Sequence[ToolCall] = (),
) -> Iterator[RunEvent]:
    """Run ``spec`` on ``messages``, yielding run events; the last one is ``RunFinished``.

    ``messages`` is the whole transcript so far (instructions, history, the new prompt), so
    a handoff is another spec on a run's messages and a resume is a spec on stored ones.

    The steps, in order:

    1. start the run: new context, tools from ``agentloop_tools``, ``agentloop_run_start``;
    2. until the model answers without tool calls:
       a. check the limits (``max_steps``, the token budget);
       b. build the request and let ``agentloop_model_request`` change it;
       c. call the model (streamed or not), yielding its text, and record the step
          (a stream that breaks before any text was yielded is re-issued once);
       d. ``agentloop_model_response``; append the assistant message to the transcript;
       e. no tool calls: validate the answer (``output_type``) and stop, or send the
          validation error back; cut by ``length``: answer its calls without running them;
       f. decode and validate each call once, check the repeated-call guard and the
          per-turn cap, then run the calls (one result each, in order);
    3. end the run: ``RunFinished`` and ``agentloop_run_end``.

    ``pending`` (a resume, :mod:`agentloop.durable`): calls of the transcript's last assistant
    message that have no result yet; they are answered (step 2f) before the first model call.
    A call a ``before`` hook defers (``status="deferred"``) stays unanswered and ends the run
    with ``stop_reason="awaiting_approval"`` and the deferred calls in ``RunResult.pending``.

    Whatever ends the run early (a limit, an abort, an API error, ``KeyboardInterrupt``)
    propagates with the partial :class:`RunResult` attached as ``exc.agentloop_result``
    (and as ``exc.result`` for :class:`~agentloop.RunError`), after every unanswered
    tool call got a ``cancelled`` result, and after ``agentloop_run_end`` saw it.
    """
    run = RunState.start(spec, messages, deps=deps, stream=stream)
    try:
        # input guardrails before run_start, so that the trace sees only a redacted prompt
        checked = run.guards.check_input() if run.guards is not None else None
        if "agentloop_run_start" in run.implemented:
            run.hook.agentloop_run_start(context=run.context)
        if checked is not None:
            yield from checked.record()  # a block refuses the run: no model call
        deferred: list[ToolCall] = []
        if pending:
            deferred = yield from dispatch_tool_calls(run, pending)
            run.after_tool_turn()
        while not deferred:
            if run.refused:
                break
            run.check_limits()
            request = run.build_request()
            try:
                response = yield from run.call_model(request)
            except InputRefused as refused:  # a parallel input guardrail cancelled the call
                assert run.guards is not None
                yield from run.guards.refused_by(refused)
                break
            response = run.record_response(response)
            if not response.tool_calls:
                if run.accept_answer(response) and (
                    run.guards is None or (yield from run.guards.check_output())
                ):
                    break
                continue
            if response.finish_reason == "length":
                yield from dispatch_tool_calls(run, response.tool_calls, cancel_reason=_CUT)
                continue
            deferred = yield from dispatch_tool_calls(run, response.tool_calls)
            run.after_tool_turn()
            if run.handoffs is not None:
                yield from run.handoffs.switch_if_asked()
    except BaseException as exc:
        cancel_open_calls(run, f"the run stopped ({stop_reason_of(exc)})")
        run.fail(exc)
        raise
    finally:
        run.close()
    result = run.result(output=run.output, stop_reason=run.stop_reason)
    if deferred:
        result = dataclasses.replace(
            result, output=None, stop_reason="awaiting_approval", pending=tuple(deferred)
        )
    event = run.emit(RunFinished(result=result))
    run.end(result, None)
    yield event


_CUT = (
    "the response was cut off (finish_reason 'length') before this tool call was complete, "
    "so it was not run; call it again with shorter arguments"
)
