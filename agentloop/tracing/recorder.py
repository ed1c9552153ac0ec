"""The recorder: a plugin on the public hooks that turns a run into :class:`TraceEvent` objects.

Every reader of runs (the JSONL trace file, the SQLite run log, tests) is a *sink*: a callable
that receives each event as soon as the fact it records is complete. The recorder never
changes a request or a result, and a failing sink never fails the run: its first error becomes
an :class:`~agentloop.AgentloopWarning` and the sink is not called again for that run (so the
sink can mark the gap if it wants to).
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from agentloop.errors import AgentloopWarning
from agentloop.events import StepFinished, ToolCallFinished
from agentloop.hookspecs import hookimpl
from agentloop.secrets import Redactor, env_secrets
from agentloop.tracing.events import EVENT_FIELDS, TraceEvent

__all__ = ["Sink", "TraceRecorder", "env_secrets"]

Sink = Callable[[TraceEvent], None]


class _Run:
    """What the recorder keeps about one run in flight."""

    __slots__ = ("alive", "model_step", "seq", "sent", "started")

    def __init__(self) -> None:
        self.seq = 0
        self.started = time.perf_counter()
        self.model_step: StepFinished | None = None
        self.alive = True
        # the messages of the previous model request (to record only the new ones)
        self.sent: list[Any] = []

    def new_messages(self, messages: list[Any]) -> int:
        """Where the messages not sent before begin (0 when the history was rewritten)."""
        sent, self.sent = self.sent, messages
        k = len(sent)
        if k and len(messages) >= k and messages[0] == sent[0] and messages[k - 1] == sent[-1]:
            return k
        return 0


class TraceRecorder:
    """Record every run of an agent as trace events, handed to ``sink`` one by one.

    Args:
        sink: Called with each :class:`TraceEvent`, in order, from the run's thread.
        secrets: More strings to redact from every recorded value (ids, texts, parameters).
            Every key the process knows is always redacted as well (see
            :mod:`agentloop.secrets`: the environment's keys, the key store, the config file,
            the credential the client sends).
        include_content: False leaves message texts, arguments and results out (only their
            shapes, names, usage and timings are recorded).
        conversation_id: Recorded in ``run_started`` (for the run log's conversations).

    Example:
        ``Agent(..., plugins=[TraceRecorder(events.append)])``
    """

    def __init__(
        self,
        sink: Sink,
        *,
        secrets: Iterable[str | None] = (),
        include_content: bool = True,
        conversation_id: str | None = None,
    ) -> None:
        self.sink = sink
        self.redactor = Redactor(secrets)
        self.include_content = include_content
        self.conversation_id = conversation_id
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    # -- hooks -----------------------------------------------------------------------------

    @hookimpl
    def agentloop_run_start(self, context: Any) -> None:
        """Emit ``run_started``."""
        with self._lock:
            self._runs[context.run_id] = _Run()
        agent = context.agent
        model = getattr(agent, "model", None)
        provider = getattr(model, "provider", None)
        messages = list(context.messages)
        system = next((m for m in messages if m.get("role") in ("system", "developer")), None)
        prompt = next((m for m in reversed(messages) if m.get("role") == "user"), None)
        self._emit(
            context,
            "run_started",
            agent=getattr(agent, "name", None),
            model=getattr(model, "name", None),
            provider=getattr(provider, "name", provider if isinstance(provider, str) else None),
            instructions=self._text(system.get("content") if system else None),
            prompt=self._text(prompt.get("content") if prompt else None),
            messages=self._content(messages),
            conversation_id=self.conversation_id,
        )

    @hookimpl(trylast=True)
    def agentloop_model_request(self, context: Any, request: dict[str, Any]) -> None:
        """Emit ``model_request`` with the body as the other plugins left it.

        Only the messages that the run's previous request did not hold are recorded
        (``messages_from`` says where they start), so a long run's trace grows linearly.
        """
        params = {k: v for k, v in request.items() if k != "messages"}
        messages = list(request.get("messages", ()))
        run = self._runs.get(context.run_id)
        start = run.new_messages(messages) if run is not None else 0
        self._emit(
            context,
            "model_request",
            step=context.step + 1,
            messages=self._content(messages[start:]),
            messages_from=start,
            message_count=len(messages),
            params=params,
        )

    @hookimpl
    def agentloop_context_trimmed(
        self, context: Any, dropped_messages: list[Any], summary: str | None, reason: str
    ) -> None:
        """Emit ``context_trimmed``: what the next request leaves out of the history, and why."""
        self._emit(
            context,
            "context_trimmed",
            step=context.step + 1,
            dropped_messages=self._content(dropped_messages),
            summary=self._text(summary),
            reason=reason,
        )

    @hookimpl
    def agentloop_stream_event(self, context: Any, event: Any) -> None:
        """Keep the model step's timing; emit ``tool_call`` when a tool call has its result."""
        if isinstance(event, StepFinished) and event.kind == "model":
            run = self._runs.get(context.run_id)
            if run is not None:
                run.model_step = event
        elif isinstance(event, StepFinished) and event.kind in ("handoff", "guardrail"):
            self._policy_step(context, event.step)
        elif isinstance(event, ToolCallFinished):
            result = event.result
            self._emit(
                context,
                "tool_call",
                step=context.step,
                call_id=event.call.id,
                name=event.call.name,
                arguments=self._text(event.call.arguments),
                status=result.status,
                is_error=result.is_error,
                content=self._text(result.content),
                started_at=time.time() - event.duration,
                duration=event.duration,
            )

    @hookimpl
    def agentloop_model_response(self, context: Any, response: Any) -> None:
        """Emit ``model_response`` (after the step's timing is known)."""
        run = self._runs.get(context.run_id)
        step = run.model_step if run is not None else None
        message = response.message
        calls = [
            {"id": c.id, "name": c.name, "arguments": self._text(c.arguments)}
            for c in response.tool_calls
        ]
        self._emit(
            context,
            "model_response",
            step=context.step,
            response_id=response.id or None,
            model=response.model or None,
            text=self._text(message.text),
            refusal=self._text(message.refusal),
            tool_calls=calls,
            finish_reason=response.finish_reason,
            usage=response.usage.to_dict() if response.usage else None,
            started_at=step.step.started_at if step else None,
            duration=step.step.duration if step else None,
        )

    @hookimpl
    def agentloop_run_end(self, context: Any, result: Any, error: BaseException | None) -> None:
        """Emit ``run_finished`` and forget the run."""
        with self._lock:
            run = self._runs.pop(context.run_id, None)
        summary = result.to_dict() if result is not None else {}
        failure = None
        if error is not None:
            failure = {"type": type(error).__name__, "message": str(error)}
        self._emit(
            context,
            "run_finished",
            run=run,
            output=self._content(summary.get("output")),
            stop_reason=summary.get("stop_reason"),
            usage=summary.get("usage"),
            error=failure,
            steps=len(summary.get("steps", ())),
            duration=time.perf_counter() - run.started if run else None,
        )

    def _policy_step(self, context: Any, step: Any) -> None:
        """Emit ``handoff`` or ``guardrail`` for a handoff or a guardrail's answer."""
        if step.kind == "handoff":
            self._emit(
                context,
                "handoff",
                step=step.index,
                call_id=step.call_id,
                from_agent=step.from_agent,
                to_agent=step.agent,
            )
            return
        self._emit(
            context,
            "guardrail",
            step=step.index,
            point=step.point,
            guardrail=step.guardrail,
            outcome=step.outcome,
            detail=self._text(step.detail),
            call_id=step.call_id,
            agent=step.agent,
        )

    # -- helpers -------------------------------------------------------------------------------

    def _emit(self, context: Any, kind: str, *, run: _Run | None = None, **data: Any) -> None:
        run = run or self._runs.get(context.run_id)
        if run is None or not run.alive:
            return
        event = TraceEvent(
            type=kind,
            run_id=context.run_id,
            seq=run.seq,
            time=time.time(),
            # every field (ids included: a server may echo a key in them) through one rule
            data=self.redactor.value({key: data.get(key) for key in EVENT_FIELDS[kind]}),
        )
        run.seq += 1
        try:
            self.sink(event)
        except Exception as exc:
            run.alive = False
            warnings.warn(
                AgentloopWarning(
                    f"the trace sink failed ({type(exc).__name__}: {self.redactor.text(str(exc))}); "
                    f"run {context.run_id} is not recorded from event {kind!r} on"
                ),
                stacklevel=2,
            )

    def _text(self, value: Any) -> Any:
        return None if value is None or not self.include_content else value

    def _content(self, value: Any) -> Any:
        # copied as plain JSON (and redacted) by _emit
        return value if self.include_content else None
