"""Fakes for testing agents without a server: scripted models and response builders.

    from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response

    model = ScriptedModel([
        tool_calls_response(tool_call("add", {"a": 1, "b": 2})),
        text_response("3"),
    ])
    result = Agent(model, tools=[add]).run("1 + 2?")
    assert model.requests[1]["messages"][-1]["content"] == "3"

A scripted model answers each request with the next item of its script and
raises :class:`UnexpectedModelCall` when the script runs out. ``stream()``
turns each response into ``chat.completion.chunk`` dicts and feeds them to
:class:`agentloop.streaming.ChatStream`, the same assembler the HTTP client uses.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agentloop.messages import ChatResponse, Choice, Message, ModelProfile, ToolCall, Usage
from agentloop.protocols import ChatStreamLike
from agentloop.wire.build import choice_body, completion_body, completion_chunks

__all__ = [
    "FunctionModel",
    "ScriptedModel",
    "UnexpectedModelCall",
    "make_response",
    "replay",
    "response_chunks",
    "text_response",
    "tool_call",
    "tool_calls_response",
]

ScriptItem = (
    ChatResponse | str | list[dict[str, Any]] | BaseException | Callable[[dict[str, Any]], Any]
)
_ids = itertools.count(1)


class UnexpectedModelCall(AssertionError):
    """The scripted model was called more often than its script allows."""


def tool_call(
    name: str,
    arguments: Mapping[str, Any] | str | None = None,
    *,
    id: str | None = None,
    extra_content: Mapping[str, Any] | None = None,
) -> ToolCall:
    """Return a :class:`ToolCall` (a dict of arguments is JSON-encoded; a str is kept raw)."""
    if arguments is None:
        arguments = {}
    raw = arguments if isinstance(arguments, str) else json.dumps(dict(arguments))
    return ToolCall(
        id=id or f"call_{next(_ids)}", name=name, arguments=raw, extra_content=extra_content
    )


def make_response(
    text: str | None = None,
    tool_calls: Iterable[ToolCall] = (),
    *,
    finish_reason: str | None = None,
    usage: Usage | None = None,
    refusal: str | None = None,
    model: str = "scripted",
) -> ChatResponse:
    """Return a one-choice response (finish reason defaults to ``tool_calls`` or ``stop``)."""
    calls = tuple(tool_calls)
    message = Message(role="assistant", content=text, tool_calls=calls, refusal=refusal)
    reason = finish_reason or ("tool_calls" if calls else "stop")
    response_id = f"chatcmpl-{next(_ids)}"
    raw = completion_body(
        id=response_id,
        created=0,
        model=model,
        choices=[choice_body(0, message.to_dict(), reason)],
        usage=usage.to_dict() if usage is not None else None,
    )
    choice = Choice(index=0, message=message, finish_reason=reason)
    return ChatResponse(id=response_id, model=model, choices=(choice,), usage=usage, raw=raw)


def text_response(text: str, **kwargs: Any) -> ChatResponse:
    """Return a final answer with ``text`` (keyword options as :func:`make_response`)."""
    return make_response(text, **kwargs)


def tool_calls_response(*calls: ToolCall, text: str | None = None, **kwargs: Any) -> ChatResponse:
    """Return a response asking for ``calls`` (keyword options as :func:`make_response`)."""
    return make_response(text, calls, **kwargs)


def response_chunks(response: ChatResponse, *, piece: int = 8) -> list[dict[str, Any]]:
    """Split ``response`` into the ``chat.completion.chunk`` dicts a server would stream.

    Text and tool arguments arrive in ``piece``-character fragments; a tool
    call's ``id`` and ``name`` only in its first fragment; usage in a last
    chunk with no choices.
    """
    body = completion_body(
        id=response.id,
        created=response.created,
        model=response.model,
        choices=[
            choice_body(c.index, c.message.to_dict(), c.finish_reason or "stop")
            for c in response.choices
        ],
        usage=response.usage.to_dict() if response.usage is not None else None,
    )

    def pieces(text: str) -> list[str]:
        return [text[i : i + piece] for i in range(0, len(text), piece)]

    include_usage = response.usage is not None
    return list(
        completion_chunks(
            body, include_usage=include_usage, split_text=pieces, argument_piece=piece
        )
    )


class ScriptedModel:
    """A :class:`~agentloop.Model` answering each request with the next script item.

    Script items: a :class:`ChatResponse`; a ``str`` (a final text answer); a
    list of chunk dicts (streamed as given; ``create`` rejects it); an
    exception instance (raised); or a callable ``fn(request) -> item``.

    Args:
        script: The items, used in order.
        name: The model name.
        profile: What the fake endpoint supports.

    Attributes:
        requests: Every request received (``messages`` plus the other body
            fields, and ``stream``), in order.
    """

    def __init__(
        self,
        script: Iterable[ScriptItem],
        *,
        name: str = "scripted",
        profile: ModelProfile | None = None,
    ) -> None:
        self._script = list(script)
        self._lock = threading.Lock()
        self.name = name
        self.profile = profile or ModelProfile()
        self.requests: list[dict[str, Any]] = []

    @property
    def remaining(self) -> int:
        """How many script items are left."""
        with self._lock:
            return len(self._script)

    def create(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatResponse:
        """Return the next scripted response."""
        item = self._next({"messages": messages, **params})
        if isinstance(item, list):
            raise TypeError("a list of chunks can only answer stream(); script a ChatResponse")
        return item

    def stream(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatStreamLike:
        """Return the next scripted response as a :class:`~agentloop.ChatStream`."""
        from agentloop.streaming import ChatStream

        item = self._next({"messages": messages, **params, "stream": True})
        chunks = item if isinstance(item, list) else response_chunks(item)
        return ChatStream(iter(chunks))

    def _next(self, request: dict[str, Any]) -> ChatResponse | list[dict[str, Any]]:
        with self._lock:
            self.requests.append(json.loads(json.dumps(request)))
            if not self._script:
                raise UnexpectedModelCall(
                    f"scripted model {self.name!r} has no response left for request "
                    f"#{len(self.requests)} (last message: {request['messages'][-1:]!r})"
                )
            item = self._script.pop(0)
        return _resolve_item(item, request)


class FunctionModel(ScriptedModel):
    """A model whose every answer comes from ``fn(request)`` (thread-safe if ``fn`` is).

    ``fn`` returns any script item (a ``ChatResponse``, text, chunks or an exception).
    Useful for answers that depend on the request, and for many concurrent runs.
    """

    def __init__(
        self,
        fn: Callable[[dict[str, Any]], Any],
        *,
        name: str = "function",
        profile: ModelProfile | None = None,
    ) -> None:
        super().__init__((), name=name, profile=profile)
        self.fn = fn

    def _next(self, request: dict[str, Any]) -> ChatResponse | list[dict[str, Any]]:
        with self._lock:
            self.requests.append(json.loads(json.dumps(request)))
        return _resolve_item(self.fn, request)


def _resolve_item(item: Any, request: dict[str, Any]) -> ChatResponse | list[dict[str, Any]]:
    if callable(item) and not isinstance(item, (ChatResponse, BaseException)):
        item = item(request)
    if isinstance(item, BaseException):
        raise item
    if isinstance(item, str):
        return text_response(item)
    if isinstance(item, (ChatResponse, list)):
        return item
    raise TypeError(f"unsupported script item {item!r}")


def replay(path: Any, target: Any = None, *, mode: str = "strict") -> Any:
    """Serve a cassette recorded with ``agentloop run --record`` back, with no network.

    ``with replay("odd.cassette.jsonl") as tape: Agent(tape.model, tools=[...]).run(prompt)``,
    or ``replay(path, agent)`` to answer an existing agent's requests. The real client, stream
    reader, retries, loop and tools run; a request that differs from the recording raises
    :class:`~agentloop.tracing.cassette.ReplayMismatch` with a diff (``mode="lenient"``: by
    position). See :func:`agentloop.tracing.tape.replay` and docs/seeing-runs.md.
    """
    from agentloop.tracing.tape import replay as replay_cassette

    return replay_cassette(path, target, mode=mode)
