"""Guardrails in the run loop: the input, each tool call and the output, checked in one way.

The checks of one point, in order: the active agent's ``Guardrail`` objects
(``RunSpec.guardrails``), then every plugin's ``agentloop_guard_<point>`` implementation
(:func:`~agentloop.plugins.manager.call_each`, so each one is named). The first outcome that is
not ``Allow`` decides; every guardrail asked is recorded as a ``guardrail`` step
(``StepFinished(kind="guardrail")``, a ``guardrail`` trace event) and handed to
``agentloop_guardrail`` (when implemented: the OpenTelemetry plugin's span events). A guardrail that raises, or
answers something else than an outcome, ends the run with :class:`~agentloop.GuardrailError`.
See :mod:`agentloop.teams.guardrails` for what each outcome does at each point.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

from agentloop.errors import GuardrailBlocked, GuardrailError
from agentloop.events import StepFinished
from agentloop.messages import ToolResult
from agentloop.plugins.manager import call_each
from agentloop.result import Step
from agentloop.teams.guardrails import Allow, Block, Replace, Retry, as_outcome, outcome_name

if TYPE_CHECKING:
    from agentloop.events import RunEvent
    from agentloop.teams.guardrails import Guardrail, Outcome

__all__ = ["Guards", "InputRefused", "InputCheck"]

_HOOKS = {
    "input": "agentloop_guard_input",
    "tool_call": "agentloop_guard_tool_call",
    "output": "agentloop_guard_output",
}
Check = tuple[str, Callable[[], Any]]


class InputRefused(Exception):  # noqa: N818 - an internal signal, never seen by users
    """A parallel input guardrail blocked while the first model call ran (internal)."""

    def __init__(self, label: str, outcome: Block) -> None:
        super().__init__(outcome.reason)
        self.label = label
        self.outcome = outcome


class Guards:
    """The guardrail checks of one run (created by :class:`~agentloop.loop.state.RunState`)."""

    def __init__(self, run: Any) -> None:
        self.run: Any = run  # the RunState (not imported: it imports this module)
        pm = run.spec.plugin_manager
        # plugin hooks stay the run's (the first agent's manager) through handoffs
        self.hooked = frozenset(
            point for point, name in _HOOKS.items() if getattr(pm.hook, name).get_hookimpls()
        )
        # observers of each answer (the OTel plugin); asked here only, so runs without a
        # guardrail never pay for it, and no run event needs building for it
        self.observed = bool(pm.hook.agentloop_guardrail.get_hookimpls())
        self.retries = 0
        self._cached_for: Any = None
        self._by_point: dict[str, list[Guardrail]] = {}
        self.pending: list[Step] = []  # steps of parallel checks, yielded at the next point

    @staticmethod
    def needed(spec: Any) -> bool:
        """Whether a run of ``spec`` has anything to check (else the loop skips every point)."""
        hook = spec.plugin_manager.hook
        return bool(
            spec.guardrails
            or spec.handoffs
            or any(getattr(hook, name).get_hookimpls() for name in _HOOKS.values())
        )

    # -- deciding ---------------------------------------------------------------------------

    def _objects(self, point: str, *, parallel: bool | None = None) -> list[Guardrail]:
        guardrails = self.run.spec.guardrails
        if guardrails is not self._cached_for:  # a new spec (a handoff): sort its guardrails
            self._cached_for = guardrails
            self._by_point = {p: [g for g in guardrails if p in g.points()] for p in _HOOKS}
        found = self._by_point[point]
        if parallel is None:
            return found
        return [g for g in found if g.parallel == parallel]

    def _decide(
        self, point: str, checks: Iterator[Check], call_id: str | None
    ) -> tuple[str, Outcome, list[Step]]:
        """Ask ``checks`` in order until one does not allow; one step per guardrail asked."""
        steps: list[Step] = []
        for label, ask in checks:
            started_at, started = time.time(), time.perf_counter()
            try:
                outcome = as_outcome(ask(), label)
            except GuardrailError:
                raise
            except Exception as exc:
                raise GuardrailError(
                    f"guardrail {label!r} failed at the {point} check: {type(exc).__name__}: {exc}",
                    guardrail=label,
                ) from exc
            steps.append(self._step(point, label, outcome, call_id, started_at, started))
            if not isinstance(outcome, Allow):
                return label, outcome, steps
        return "", Allow(), steps

    def _checks(
        self, point: str, objects: list[Guardrail], method: str, **kwargs: Any
    ) -> Iterator[Check]:
        context = self.run.context
        for guard in objects:
            yield guard.label, lambda g=guard: getattr(g, method)(context, *kwargs.values())  # type: ignore[misc]
        if point not in self.hooked:
            return
        hook_kwargs = {"context": context, **kwargs}
        for outcome in call_each(self.run.spec.plugin_manager, _HOOKS[point], **hook_kwargs):
            yield outcome.owner, lambda o=outcome: _value_of(o)  # type: ignore[misc]

    def _step(
        self, point: str, label: str, outcome: Outcome, call_id: str | None, at: float, t0: float
    ) -> Step:
        detail = None
        if isinstance(outcome, Block):
            detail = outcome.reason
        elif isinstance(outcome, Retry):
            detail = outcome.feedback
        return Step(
            kind="guardrail",
            index=self.run.context.step,
            started_at=at,
            duration=time.perf_counter() - t0,
            point=point,
            guardrail=label,
            outcome=outcome_name(outcome),
            detail=detail,
            call_id=call_id,
            agent=self.run.spec.name,
        )

    def record(self, steps: list[Step]) -> Iterator[RunEvent]:
        """Add ``steps`` (and the parallel checks' steps still pending) to the run; yield them."""
        steps, self.pending = [*self.pending, *steps], []
        run = self.run
        for step in steps:
            run.steps.append(step)
            if self.observed:
                run.hook.agentloop_guardrail(context=run.context, step=step)
            yield run.emit(StepFinished(step=step, kind="guardrail"))

    # -- 1. input ---------------------------------------------------------------------------

    def check_input(self) -> InputCheck:
        """Check the prompt before ``agentloop_run_start`` (so the trace sees only a redaction)."""
        message = _last_user(self.run.context.messages)
        text = _text_of(message)
        label, outcome, steps = self._decide(
            "input", self._checks("input", self._objects("input", parallel=False), "check_input",
                                  text=text), None)  # fmt: skip
        if isinstance(outcome, Replace):
            if message is None or not isinstance(outcome.value, str):
                raise GuardrailError(
                    f"guardrail {label!r} replaced the input with {type(outcome.value).__name__}; "
                    "an input replacement is the new prompt text (a str)",
                    guardrail=label,
                )
            message["content"] = outcome.value  # the message the model and every record see
        elif isinstance(outcome, Retry):
            raise GuardrailError(
                f"guardrail {label!r} answered Retry at the input check; there is no answer to "
                "retry yet (Block or Replace the input instead)",
                guardrail=label,
            )
        parallel = self._objects("input", parallel=True)
        if parallel and not isinstance(outcome, Block):
            self._start_parallel(parallel, text)
        return InputCheck(self, steps, label, outcome if isinstance(outcome, Block) else None)

    def refused_by(self, exc: InputRefused) -> Iterator[RunEvent]:
        """A parallel input guardrail blocked the first call: record it, refuse the run."""
        yield from self.record([])
        self.refuse(exc.label, exc.outcome)

    def refuse(self, label: str, outcome: Block) -> None:
        """End the run with ``outcome``'s reason as its answer (no further model call)."""
        run = self.run
        run.refused = True
        run.output = outcome.reason
        run.stop_reason = "guardrail"
        run.append({"role": "assistant", "content": outcome.reason})

    def _start_parallel(self, guards: list[Guardrail], text: str) -> None:
        """Run the parallel input guardrails next to the first model call (see _ParallelModel)."""
        future: Future[tuple[str, Outcome, list[Step]]] = Future()

        def work() -> None:
            try:
                future.set_result(self._decide("input", self._parallel_checks(guards, text), None))
            except BaseException as exc:  # handed to the run's thread
                future.set_exception(exc)

        threading.Thread(target=work, name="agentloop-input-guard", daemon=True).start()
        run = self.run
        original = run.spec
        run.spec = original.replace(model=_ParallelModel(original.model, future, self, original))

    def _parallel_checks(self, guards: list[Guardrail], text: str) -> Iterator[Check]:
        context = self.run.context
        for guard in guards:
            yield guard.label, lambda g=guard: g.check_input(context, text)  # type: ignore[misc]

    def parallel_outcome(self, future: Future[Any], spec: Any) -> None:
        """The parallel checks' verdict, once the first call is done: a block refuses the run."""
        self.run.spec = spec  # the first call is over: the plain model from here on
        label, outcome, steps = future.result()
        self.pending.extend(steps)
        if isinstance(outcome, Block):
            raise InputRefused(label, outcome)
        if not isinstance(outcome, Allow):
            raise GuardrailError(
                f"guardrail {label!r} runs in parallel with the first model call, so it may only "
                f"Allow or Block, not {outcome_name(outcome).title()}; make it sequential",
                guardrail=label,
            )

    # -- 2. tool calls --------------------------------------------------------------------------

    def check_tool(self, item: Any) -> Iterator[RunEvent]:
        """Check one validated call; a block answers it, a replacement changes its arguments."""
        if item.tool is None:
            return
        objects = self._objects("tool_call")
        if not objects and "tool_call" not in self.hooked and not self.pending:
            return
        call = item.call
        label, outcome, steps = self._decide(
            "tool_call",
            self._checks("tool_call", objects, "check_tool_call", call=call, tool=item.tool,
                         arguments=item.arguments),
            call.id,
        )  # fmt: skip
        yield from self.record(steps)
        if isinstance(outcome, (Block, Retry)):
            text = outcome.reason if isinstance(outcome, Block) else outcome.feedback
            item.result = ToolResult(
                call_id=call.id,
                name=call.name,
                content=f"blocked by guardrail {label!r}: {text}",
                is_error=True,
                status="denied",
            )
        elif isinstance(outcome, Replace):
            try:
                item.arguments = item.tool.parse_arguments(json.dumps(outcome.value))
            except Exception as exc:
                raise GuardrailError(
                    f"guardrail {label!r} replaced the arguments of {call.name!r} with ones "
                    f"the tool does not accept: {exc}",
                    guardrail=label,
                ) from exc

    # -- 3. output ----------------------------------------------------------------------------------

    def check_output(self) -> Generator[RunEvent, None, bool]:
        """Check the answer; True ends the run, False asks the model again (a retry)."""
        run = self.run
        objects = self._objects("output")
        if not objects and "output" not in self.hooked:
            yield from self.record([])
            return True
        label, outcome, steps = self._decide(
            "output",
            self._checks("output", objects, "check_output", output=run.output),
            None,
        )
        yield from self.record(steps)
        if isinstance(outcome, Allow):
            return True
        if isinstance(outcome, Replace):
            run.output = outcome.value
            last = run.context.messages[-1]
            if last.get("role") == "assistant":  # what a session and the log keep
                last["content"] = (
                    outcome.value
                    if isinstance(outcome.value, str)
                    else json.dumps(outcome.value, default=str)
                )
            return True
        if isinstance(outcome, Block):
            run.output = None
            raise GuardrailBlocked(
                f"output guardrail {label!r} blocked the answer: {outcome.reason}", guardrail=label
            )
        assert isinstance(outcome, Retry)
        self.retries += 1
        limit = run.limits.output_retries
        if self.retries > limit:
            run.output = None
            raise GuardrailBlocked(
                f"output guardrail {label!r} still asked for a retry after {limit} retries "
                f"(output_retries={limit}): {outcome.feedback}",
                guardrail=label,
            )
        run.output = None
        run.append({"role": "user", "content": outcome.feedback})
        return False


class InputCheck:
    """What the input check decided, recorded once the run has started."""

    def __init__(self, guards: Guards, steps: list[Step], label: str, block: Block | None):
        self.guards, self.steps, self.label, self.block = guards, steps, label, block

    def record(self) -> Iterator[RunEvent]:
        """Yield the input check's steps; a block refuses the run."""
        yield from self.guards.record(self.steps)
        if self.block is not None:
            self.guards.refuse(self.label, self.block)


class _ParallelModel:
    """The run's model for its first call while parallel input guardrails run.

    A block cancels the call: a stream is closed between two events; a plain request is
    left to finish on its thread and its answer dropped. The call's answer is used only
    after every parallel guardrail allowed.
    """

    def __init__(self, model: Any, future: Future[Any], guards: Guards, spec: Any) -> None:
        self._model, self._future, self._guards, self._spec = model, future, guards, spec

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def settle(self) -> None:
        """Wait for the parallel checks; raise when they blocked (or failed)."""
        self._guards.parallel_outcome(self._future, self._spec)

    def blocked(self) -> bool:
        """Whether the parallel checks are done and did not allow."""
        if not self._future.done() or self._future.exception() is not None:
            return self._future.done()
        return isinstance(self._future.result()[1], Block)

    def create(self, *, messages: list[dict[str, Any]], **params: Any) -> Any:
        answer: Future[Any] = Future()

        def work() -> None:
            try:
                answer.set_result(self._model.create(messages=messages, **params))
            except BaseException as exc:
                answer.set_exception(exc)

        threading.Thread(target=work, name="agentloop-first-call", daemon=True).start()
        wait([answer, self._future], return_when=FIRST_COMPLETED)
        if self.blocked():
            self.settle()
        response = answer.result()
        self.settle()
        return response

    def stream(self, *, messages: list[dict[str, Any]], **params: Any) -> Any:
        return _GuardedStream(self._model.stream(messages=messages, **params), self)


class _GuardedStream:
    """A model stream closed as soon as a parallel input guardrail blocks."""

    def __init__(self, inner: Any, owner: _ParallelModel) -> None:
        self._inner, self._owner = inner, owner

    def __iter__(self) -> Iterator[Any]:
        owner = self._owner
        for event in self._inner:
            if owner.blocked():
                self._inner.close()
                owner.settle()
            yield event
        owner.settle()

    @property
    def response(self) -> Any:
        return self._inner.response

    def close(self) -> None:
        self._inner.close()


def _value_of(outcome: Any) -> Any:
    if outcome.error is not None:
        raise outcome.error
    return outcome.value


def _last_user(messages: Any) -> dict[str, Any] | None:
    return next((m for m in reversed(messages) if m.get("role") == "user"), None)


def _text_of(message: dict[str, Any] | None) -> str:
    if message is None:
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""
