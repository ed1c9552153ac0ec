"""Drive one synchronous run from another thread, so that its caller can cancel it.

Every driver of many runs (``arun``/``astream``, the batch engines) runs
:meth:`Agent.run`'s own event generator; none re-implements a step of the loop.
What they add is a :class:`CancelScope`:

* between two run events (a *safe point*) a cancelled scope throws
  :class:`~agentloop.RunCancelled` into the run, so the loop answers unfinished
  tool calls with ``cancelled`` results, tells ``agentloop_run_end`` and ends with
  ``stop_reason="cancelled"`` and the partial result on the error;
* a model call in progress is interrupted by closing its HTTP response from the
  cancelling thread (:class:`ScopedModel` streams the call, because a stream is
  what can be closed from outside; the assembled response is the one ``create``
  returns, so the loop, its events and the result do not change);
* the rate limiter of a batch is asked before each model call.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from agentloop.errors import APIError, RunCancelled
from agentloop.events import RunFinished
from agentloop.protocols import is_loaded_instance

if TYPE_CHECKING:
    from agentloop.events import RunEvent
    from agentloop.messages import ChatResponse
    from agentloop.protocols import ChatStreamLike, Model
    from agentloop.result import RunResult

__all__ = ["CancelScope", "Limiter", "ScopedModel", "run_scoped", "scoped_events"]


class Limiter(Protocol):
    """What a run asks before each model call (see :mod:`agentloop.batch.limiter`)."""

    def acquire(self, scope: CancelScope) -> None:
        """Block until one more request may be sent (or the scope is cancelled)."""

    def charge(self, tokens: int) -> None:
        """Count the tokens a finished request used."""


class CancelScope:
    """A cancel flag for one or more runs, plus the model streams they have open.

    Thread-safe: :meth:`cancel` is called from another thread (an event loop,
    a batch's main thread) than the one running the run.

    Args:
        reason: The default reason given by :meth:`error`.
    """

    def __init__(self, reason: str = "the run was cancelled") -> None:
        self.reason = reason
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._streams: set[Any] = set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    def cancel(self, reason: str | None = None) -> None:
        """Cancel: runs stop at their next safe point; open model streams are closed now."""
        with self._lock:
            if reason is not None:
                self.reason = reason
            self._event.set()
            streams, self._streams = list(self._streams), set()
        for stream in streams:
            _close_quietly(stream)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True (at once) when the scope is cancelled meanwhile."""
        return self._event.wait(seconds)

    def error(self) -> RunCancelled:
        """A fresh :class:`RunCancelled` with the scope's reason."""
        return RunCancelled(self.reason)

    def check(self) -> None:
        """Raise :meth:`error` when cancelled."""
        if self._event.is_set():
            raise self.error()

    def register(self, stream: Any) -> None:
        """Track an open model stream (closed at once if the scope is already cancelled)."""
        with self._lock:
            if not self._event.is_set():
                self._streams.add(stream)
                return
        _close_quietly(stream)

    def unregister(self, stream: Any) -> None:
        """Stop tracking a stream that ended."""
        with self._lock:
            self._streams.discard(stream)


class ScopedModel:
    """The agent's model, as seen by one scoped run: cancellable, rate limited.

    ``create`` of an HTTP model (:class:`~agentloop.ChatModel`) is sent as a
    stream and assembled, so that cancelling can close the response; other
    models (offline, scripted) answer in-process and are only checked around
    the call. Every other attribute is the wrapped model's.

    Args:
        model: The agent's model.
        scope: The run's cancel scope.
        limiter: Asked before each call and told each call's tokens, or None.
    """

    def __init__(self, model: Model, scope: CancelScope, limiter: Limiter | None = None):
        self._model = model
        self._scope = scope
        self._limiter = limiter
        self._http = _is_http_model(model)

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self._model.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def create(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatResponse:
        """Like the model's ``create``, but cancellable (see the class docstring)."""
        self._before()
        if not self._http:
            return self._after(self._model.create(messages=messages, **params))
        stream = self._open(messages, params)
        try:
            for _ in stream:
                pass
            return stream.response  # counted by the stream
        finally:
            stream.close()

    def stream(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatStreamLike:
        """Like the model's ``stream``, closed by a cancel of the scope."""
        self._before()
        return self._open(messages, params)

    def _open(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> _ScopedStream:
        inner = self._model.stream(messages=messages, **params)
        return _ScopedStream(inner, self)

    def _before(self) -> None:
        self._scope.check()
        if self._limiter is not None:
            self._limiter.acquire(self._scope)
            self._scope.check()

    def _after(self, response: ChatResponse) -> ChatResponse:
        if self._limiter is not None and response.usage is not None:
            self._limiter.charge(response.usage.total_tokens)
        self._scope.check()
        return response


class _ScopedStream:
    """A model stream that a cancel of its scope closes (from any thread)."""

    def __init__(self, inner: ChatStreamLike, owner: ScopedModel) -> None:
        self._inner = inner
        self._owner = owner
        owner._scope.register(inner)

    def __iter__(self) -> Iterator[Any]:
        scope = self._owner._scope
        try:
            for event in self._inner:
                scope.check()
                yield event
        except APIError as exc:
            if scope.cancelled:  # the response was closed under the reader: that is the cancel
                raise scope.error() from exc
            raise
        finally:
            scope.unregister(self._inner)
        scope.check()

    @property
    def response(self) -> ChatResponse:
        scope = self._owner._scope
        try:
            response = self._inner.response
        except APIError as exc:
            if scope.cancelled:
                raise scope.error() from exc
            raise
        return self._owner._after(response)

    def close(self) -> None:
        self._owner._scope.unregister(self._inner)
        self._inner.close()


def scoped_events(
    agent: Any,
    prompt: Any,
    *,
    history: Any = None,
    deps: Any = None,
    stream: bool,
    scope: CancelScope,
    limiter: Limiter | None = None,
) -> Generator[RunEvent, None, None]:
    """Yield the events of ``agent``'s run on ``prompt``; a cancel of ``scope`` ends it.

    The run is the agent's own event generator (:meth:`Agent.events`), on the agent's
    :class:`~agentloop.runspec.RunSpec` with its model wrapped in :class:`ScopedModel`.

    Raises:
        RunCancelled: The scope was cancelled; ``.result`` is the partial result
            (None when the run had not started).
        Exception: Whatever ends the run, as :meth:`Agent.run` raises it.
    """
    scope.check()
    spec = agent.spec()
    spec = spec.replace(model=ScopedModel(spec.model, scope, limiter))
    events = agent.events(prompt, history=history, deps=deps, stream=stream, spec=spec)
    try:
        while True:
            if scope.cancelled:
                events.throw(scope.error())  # the loop re-raises it, partial result attached
            try:
                event = next(events)
            except StopIteration:
                return
            yield event
    finally:
        events.close()


def run_scoped(
    agent: Any,
    prompt: Any,
    *,
    history: Any = None,
    deps: Any = None,
    scope: CancelScope,
    limiter: Limiter | None = None,
) -> RunResult:
    """:meth:`Agent.run` under ``scope`` (same streaming choice, result and errors)."""
    final: RunResult | None = None
    stream = getattr(agent, "stream_mode", None) is True
    for event in scoped_events(
        agent, prompt, history=history, deps=deps, stream=stream, scope=scope, limiter=limiter
    ):
        if isinstance(event, RunFinished):
            final = event.result
    assert final is not None  # the loop always ends with RunFinished or raises
    return final


def partial_result(exc: BaseException) -> RunResult | None:
    """The partial result the loop attached to ``exc``, if any."""
    result = getattr(exc, "result", None)
    if result is None:
        result = getattr(exc, "agentloop_result", None)
    return result


def _is_http_model(model: Any) -> bool:
    """Whether ``model`` talks HTTP through a ChatClient (never imports requests itself)."""
    return is_loaded_instance(model, "agentloop.providers.registry", "ChatModel")


def _close_quietly(stream: Any) -> None:
    with contextlib.suppress(Exception):  # a stream that fails to close is closed enough
        stream.close()
