"""The state of one run: transcript, steps, usage, tools, counters, and the steps that use them.

:func:`agentloop.loop.engine.run_events` drives a :class:`RunState` through its steps; the tool
calls of a turn are handled by :mod:`agentloop.loop.toolcalls`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any

from agentloop.context import RunContext
from agentloop.deltas import TextDelta
from agentloop.errors import (
    AgentloopWarning,
    ConfigurationError,
    ContextWindowExceeded,
    CostBudgetExceeded,
    LoopDetected,
    MaxStepsExceeded,
    OutputValidationError,
    RunAborted,
    RunCancelled,
    RunError,
    StreamError,
    TokenBudgetExceeded,
    ToolRetriesExceeded,
)
from agentloop.events import StepFinished
from agentloop.jsondata import copy_json
from agentloop.loop.guards import Guards
from agentloop.loop.handoffs import Handoffs, tools_of
from agentloop.loop.threads import ToolThreads
from agentloop.messages import ChatResponse, Usage, unique_call_ids
from agentloop.pricing import CostBudget
from agentloop.result import RunResult, Step
from agentloop.tokens import estimate_tokens, estimate_tools_tokens

if TYPE_CHECKING:
    from agentloop.events import RunEvent
    from agentloop.runspec import RunSpec
    from agentloop.tools import Tool

__all__ = ["RunState", "estimate_prompt_tokens", "stop_reason_of"]

_FORCED = ("required",)
_STOP_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (MaxStepsExceeded, "max_steps"),
    (LoopDetected, "loop_detected"),
    (TokenBudgetExceeded, "token_budget"),
    (CostBudgetExceeded, "cost_budget"),
    (ToolRetriesExceeded, "tool_retries"),
    (OutputValidationError, "output_validation"),
    (RunAborted, "aborted"),
    (RunCancelled, "cancelled"),
    (KeyboardInterrupt, "interrupted"),
    (GeneratorExit, "cancelled"),
)


# Hooks the loop skips for a run when no plugin implements them (read once per run). With no
# ``agentloop_model_request``, nothing can change a request, so the transcript is not copied.
_SKIPPABLE = (
    "agentloop_run_start",
    "agentloop_model_request",
    "agentloop_model_response",
    "agentloop_stream_event",
    "agentloop_after_tool_call",
    "agentloop_run_end",
)


class RunState:
    """Everything one run owns: transcript, steps, usage, tools, counters, thread pool.

    Created by :meth:`start` for each run and never shared between runs.
    """

    def __init__(self, spec: RunSpec, context: RunContext, tools: dict[str, Tool], stream: bool):
        self.spec = spec
        self.limits = spec.limits
        self.context = context
        self.hook = spec.plugin_manager.hook
        self.tools = tools
        self.tool_defs = [t.definition for t in tools.values()]
        self.stream = stream
        self.output_spec = spec.output_spec
        self.tool_choice: Any = spec.tool_choice
        self.steps: list[Step] = []
        self.usage = Usage(requests=0)
        self.failures: Counter[str] = Counter()
        self.seen_calls: Counter[tuple[str, str]] = Counter()
        self.output_failures = 0
        self.output: Any = None
        self.stop_reason = "stop"
        self.refused = False  # an input guardrail blocked: the run answers with its reason
        # after a handoff: the transcript as the active agent sees it (its history filter)
        self.view: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
        self._pool: ToolThreads | None = None
        self.cost_budget = CostBudget.of(self.limits.max_cost, spec.price, spec.model)
        # read once per run: no implementation means no call (each one costs microseconds)
        self.implemented = frozenset(
            name for name in _SKIPPABLE if getattr(self.hook, name).get_hookimpls()
        )
        profile = getattr(spec.model, "profile", None)
        # sent only with tools, and only to models whose profile takes it
        self._parallel_ok = getattr(profile, "supports_parallel_tool_calls", True)
        self.guards = Guards(self) if Guards.needed(spec) else None
        self.handoffs = Handoffs(self) if spec.handoffs else None

    # -- 1. start ------------------------------------------------------------------------

    @classmethod
    def start(
        cls, spec: RunSpec, messages: list[dict[str, Any]], *, deps: Any, stream: bool
    ) -> RunState:
        """Create the run's state and collect its tools (a PluginError ends it here)."""
        agent = spec.agent if spec.agent is not None else spec
        context = RunContext(
            run_id=uuid.uuid4().hex, agent=agent, deps=deps, messages=messages, spec=spec
        )
        tools = tools_of(spec)  # collect_tools, and the transfer tool of its handoffs
        _check_tool_choice(spec.tool_choice, tools)
        return cls(spec, context, tools, stream)

    # -- 2a. limits ------------------------------------------------------------------------

    def check_limits(self) -> None:
        """Raise when the next model call would exceed ``max_steps`` or the token budget."""
        limit = self.limits.max_steps
        if self.context.step >= limit:
            raise MaxStepsExceeded(
                f"the run made {limit} model calls without a final answer (max_steps={limit})"
            )
        budget = self.limits.max_tokens_total
        if budget is not None and self.usage.total_tokens >= budget:
            raise TokenBudgetExceeded(
                f"the run used {self.usage.total_tokens} tokens, over its budget of {budget} "
                "(max_tokens_total)"
            )
        if self.cost_budget is not None:
            self.cost_budget.check()

    # -- 2b. request -------------------------------------------------------------------------

    def build_request(self) -> dict[str, Any]:
        """Return this call's request body after ``agentloop_model_request``.

        The transcript is copied at most once per request: deeply when a plugin implements
        ``agentloop_model_request`` (it may change anything, and the transcript must not
        change with it), else only the list, since models treat the messages they are given
        as read-only (see :class:`~agentloop.protocols.Model`).
        """
        request: dict[str, Any] = dict(self.spec.model_settings)
        request["messages"] = self.context.message_list()
        if self.view is not None:
            request["messages"] = self.view(request["messages"])
        if self.tool_defs:
            request["tools"] = self.tool_defs
            if self.tool_choice is not None:
                request["tool_choice"] = self.tool_choice
        if "parallel_tool_calls" in request and not (self.tool_defs and self._parallel_ok):
            del request["parallel_tool_calls"]  # the one place this is decided
        if self.output_spec is not None:
            request["response_format"] = self.output_spec.response_format
            self.output_spec.add_instructions(request["messages"])
        if "agentloop_model_request" in self.implemented:
            request = copy_json(request)
            self.hook.agentloop_model_request(context=self.context, request=request)
        if self.limits.max_tokens_total is not None:
            self._fit_budget(request, self.limits.max_tokens_total)
        if self.cost_budget is not None:
            self.cost_budget.fit(request, estimate_prompt_tokens(request), self.spec.price)
        return request

    def _fit_budget(self, request: dict[str, Any], budget: int) -> None:
        """Bound the reply by what is left of the token budget; refuse a prompt that cannot fit.

        The prompt is estimated by :mod:`agentloop.tokens` (about four characters a token, the
        rule the context window uses too); what is left after it becomes the request's ``max_tokens``
        (or ``max_completion_tokens`` when that is what the request uses), unless smaller.
        """
        left = budget - self.usage.total_tokens
        prompt = estimate_prompt_tokens(request)
        if prompt >= left:
            raise TokenBudgetExceeded(
                f"the next request needs about {prompt} prompt tokens, but only {left} of the "
                f"run's budget of {budget} are left (max_tokens_total); raise the budget or "
                "shorten the conversation"
            )
        key = "max_completion_tokens" if "max_completion_tokens" in request else "max_tokens"
        current = request.get(key)
        if not isinstance(current, int) or current > left - prompt:
            request[key] = left - prompt

    # -- 2c. model call ------------------------------------------------------------------------

    def call_model(self, request: dict[str, Any]) -> Generator[RunEvent, None, ChatResponse]:
        """Call the model, yield its text as ``TextDelta`` events, record the model step."""
        self.context.step += 1
        messages = request.pop("messages")
        started, started_at = time.perf_counter(), time.time()
        try:
            response = yield from self._answer(messages, request)
        except ContextWindowExceeded as exc:
            retry = self._trimmed_request(exc)
            if retry is None:
                raise
            response = yield from self._answer(retry.pop("messages"), retry)
        duration = time.perf_counter() - started
        price = self.spec.price  # the active agent's: a call the provider does not price
        if price is not None and response.usage is not None and response.usage.cost is None:
            response = dataclasses.replace(response, usage=price.priced(response.usage))
        if self.cost_budget is not None:
            self.cost_budget.charge(response.usage)
        usage = response.usage or Usage()
        self.usage = self.usage + usage
        self.context.record_usage(self.usage)
        step = Step(
            kind="model",
            index=self.context.step,
            started_at=started_at,
            duration=duration,
            finish_reason=response.finish_reason,
            usage=response.usage,
            tool_calls=len(response.tool_calls),
        )
        self.steps.append(step)
        yield self.emit(StepFinished(step=step, kind="model"))
        return response

    def _answer(
        self, messages: list[dict[str, Any]], request: dict[str, Any]
    ) -> Generator[RunEvent, None, ChatResponse]:
        if self.stream:
            return (yield from self._stream_response(messages, request))
        response = self.spec.model.create(messages=messages, **request)
        if response.message.text:
            yield self.emit(TextDelta(delta=response.message.text))
        return response

    def _trimmed_request(self, exc: ContextWindowExceeded) -> dict[str, Any] | None:
        """With ``max_context_tokens="auto"``: the request rebuilt to fit the window ``exc``
        names (else the profile's), trimmed by the context-window plugin; None when it
        cannot be (no window known, no plugin, nothing left to leave out, or already retried).
        """
        state = self.context.state.setdefault("agentloop.context", {})
        window = exc.window or getattr(getattr(self.spec.model, "profile", None),
                                       "context_tokens", None)  # fmt: skip
        if (
            self.limits.max_context_tokens != "auto"
            or window is None
            or state.get("window") == window  # this window was already tried once
            or "agentloop_model_request" not in self.implemented
        ):
            return None
        before = state.get("reported", 0)
        state["window"] = window
        request = self.build_request()
        if state.get("reported", 0) == before:
            return None  # nothing more was left out: the same request would fail again
        return request

    def _stream_response(
        self, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> Generator[RunEvent, None, ChatResponse]:
        """Stream one model call, yielding its text.

        A stream that breaks before any text reached the caller (say, in the
        middle of a tool call's arguments) is re-issued once from scratch; the
        broken part is discarded and never run. After text was yielded, the
        :class:`~agentloop.StreamError` propagates.
        """
        for attempt in (1, 2):
            chat_stream = self.spec.model.stream(messages=messages, **params)
            yielded = False
            try:
                for event in chat_stream:
                    if isinstance(event, TextDelta):
                        yielded = True
                        yield self.emit(event)
                return chat_stream.response
            except StreamError:
                if yielded or attempt == 2:
                    raise
            finally:
                chat_stream.close()
        raise AssertionError("unreachable")

    # -- 2d. record ------------------------------------------------------------------------------

    def record_response(self, response: ChatResponse) -> ChatResponse:
        """Call ``agentloop_model_response`` and append the assistant message.

        Call ids are kept as received; only a missing or repeated id (which the
        client already repairs for HTTP models) is replaced, so that every call
        can be answered exactly once.
        """
        response = _with_unique_ids(response, f"call_{self.context.run_id[:8]}")
        if "agentloop_model_response" in self.implemented:
            self.hook.agentloop_model_response(context=self.context, response=response)
        self.append(response.message.to_dict())
        return response

    # -- 2e. final answer -----------------------------------------------------------------------

    def accept_answer(self, response: ChatResponse) -> bool:
        """Take a response without tool calls as the answer; False sends a retry request.

        Raises:
            OutputValidationError: The answer failed ``output_type`` more than
                ``output_retries`` times.
        """
        self.stop_reason = response.finish_reason or "stop"
        text = response.message.text
        refusal = response.message.refusal
        if refusal:
            self.stop_reason = "refusal"
            if self.output_spec is not None:
                raise OutputValidationError(f"the model refused to answer: {refusal}")
            self.output = refusal
            return True
        if self.output_spec is None:
            self.output = text
            return True
        try:
            self.output = self.output_spec.parse(text)
            return True
        except ValueError as exc:
            self.output_failures += 1
            if self.output_failures > self.limits.output_retries:
                raise OutputValidationError(
                    f"the final answer did not match output_type after "
                    f"{self.limits.output_retries} retries: {exc}"
                ) from exc
            self.append({"role": "user", "content": self.output_spec.retry_prompt(exc)})
            return False

    # -- 2f. tool calls -------------------------------------------------------------------------

    def after_tool_turn(self) -> None:
        """After a forced tool call, go back to ``auto`` unless ``reset_tool_choice=False``."""
        if self.spec.reset_tool_choice and _is_forced(self.tool_choice):
            self.tool_choice = "auto"

    def executor(self) -> ToolThreads:
        """The run's tool threads, created on first use (bounded by ``max_parallel_tools``)."""
        if self._pool is None:
            self._pool = ToolThreads(
                self.limits.max_parallel_tools, f"agentloop-{self.context.run_id[:8]}"
            )
        return self._pool

    def use_spec(
        self,
        spec: RunSpec,
        tools: dict[str, Tool],
        *,
        view: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    ) -> None:
        """Go on with ``spec`` (a handoff): its model, tools, settings and output type, and
        ``view`` of the transcript, from the next request on."""
        _check_tool_choice(spec.tool_choice, tools)
        self.spec = spec
        self.context.spec = spec
        self.context.agent = spec.agent if spec.agent is not None else spec
        self.tools = tools
        self.tool_defs = [t.definition for t in tools.values()]
        self.output_spec = spec.output_spec
        self.tool_choice = spec.tool_choice
        profile = getattr(spec.model, "profile", None)
        self._parallel_ok = getattr(profile, "supports_parallel_tool_calls", True)
        self.view = view

    # -- shared -----------------------------------------------------------------------------------

    def append(self, message: dict[str, Any]) -> None:
        """Append one wire-format message to the transcript."""
        self.context.add_message(message)

    def emit(self, event: RunEvent) -> RunEvent:
        """Send ``event`` to ``agentloop_stream_event`` and return it for yielding."""
        if "agentloop_stream_event" in self.implemented:
            self.hook.agentloop_stream_event(context=self.context, event=event)
        return event

    def result(self, *, output: Any, stop_reason: str) -> RunResult:
        """Return the :class:`RunResult` of what the run did so far."""
        return RunResult(
            output=output,
            messages=tuple(self.context.message_list()),
            usage=self.usage,
            steps=tuple(self.steps),
            stop_reason=stop_reason,
            run_id=self.context.run_id,
            agent=self.spec.name,
        )

    # -- 3. end ----------------------------------------------------------------------------

    def fail(self, exc: BaseException) -> None:
        """Attach the partial result to ``exc`` and call ``agentloop_run_end``."""
        result = self.result(output=None, stop_reason=stop_reason_of(exc))
        if isinstance(exc, RunError) and exc.result is None:
            exc.result = result
        with contextlib.suppress(AttributeError):  # exceptions with __slots__
            exc.agentloop_result = result  # type: ignore[attr-defined]
        self.end(result, exc)

    def end(self, result: RunResult, error: BaseException | None) -> None:
        """Call ``agentloop_run_end``; its exceptions become warnings, never the outcome."""
        try:
            if "agentloop_run_end" in self.implemented:
                self.hook.agentloop_run_end(context=self.context, result=result, error=error)
        except Exception as exc:
            warnings.warn(
                AgentloopWarning(f"agentloop_run_end hook failed: {type(exc).__name__}: {exc}"),
                stacklevel=2,
            )

    def close(self) -> None:
        """Cancel queued tool calls; abandoned (timed-out) ones are not waited for."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _with_unique_ids(response: ChatResponse, prefix: str) -> ChatResponse:
    calls = response.tool_calls
    fixed = unique_call_ids(calls, prefix)
    if all(a is b for a, b in zip(fixed, calls, strict=True)):
        return response
    message = dataclasses.replace(response.message, tool_calls=fixed)
    first = dataclasses.replace(response.choices[0], message=message)
    return dataclasses.replace(response, choices=(first, *response.choices[1:]))


def _check_tool_choice(choice: Any, tools: dict[str, Tool]) -> None:
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if name is not None and name not in tools:
            raise ConfigurationError(
                f"tool_choice names tool {name!r}, which the agent does not have; "
                f"tools: {', '.join(sorted(tools)) or '(none)'}"
            )


def _is_forced(choice: Any) -> bool:
    return choice in _FORCED or isinstance(choice, dict)


def stop_reason_of(exc: BaseException) -> str:
    """The ``stop_reason`` of a run that ``exc`` ended."""
    return next((r for t, r in _STOP_REASONS if isinstance(exc, t)), "error")


def estimate_prompt_tokens(request: Mapping[str, Any]) -> int:
    """About how many tokens ``request`` spends on its prompt: its messages and tools.

    The rule of :mod:`agentloop.tokens` (the context window counts the same way); a rough,
    deliberately simple estimate, used only for the budget.
    """
    return estimate_tokens(request.get("messages", ())) + estimate_tools_tokens(
        request.get("tools")
    )
