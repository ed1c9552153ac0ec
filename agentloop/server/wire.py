"""Wire bodies for the local server: requests, responses, stream chunks, OpenAI errors.

Kept apart from the HTTP handling in :mod:`agentloop.server.app` so the conversion
from a model's :class:`~agentloop.messages.ChatResponse` and stream events back
to chat-completions JSON can be read (and tested) on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from agentloop.deltas import RefusalDelta, TextDelta, ToolCallDelta
from agentloop.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    StreamError,
)
from agentloop.messages import ChatResponse, plain_json
from agentloop.protocols import ChatStreamLike
from agentloop.wire.build import (
    ChunkWriter,
    call_delta,
    choices_body,
    completion_body,
    error_body,
)

__all__ = [
    "error_body",
    "error_for_exception",
    "parse_request",
    "response_body",
    "stream_chunks",
]

_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}


def error_for_exception(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Map an exception from a model to an HTTP status and an error object's fields.

    A status error keeps its status and the upstream error's fields; timeouts
    give 504, other connection or stream failures 502, and anything else 500
    with a generic message (details stay in the server's log).
    """
    if isinstance(exc, APIStatusError):
        status = exc.status_code if 400 <= exc.status_code <= 599 else 502
        detail = _upstream_detail(exc.body)
        default_type = _TYPES.get(
            status, "server_error" if status >= 500 else "invalid_request_error"
        )
        return status, {
            "message": str(detail.get("message") or exc),
            "type": _text(detail.get("type")) or default_type,
            "param": _text(detail.get("param")),
            "code": _text(detail.get("code")),
        }
    if isinstance(exc, APITimeoutError):
        return 504, {"message": f"The upstream model timed out: {exc}", "type": "timeout"}
    if isinstance(exc, (APIConnectionError, StreamError)):
        return 502, {"message": f"The upstream model failed: {exc}", "type": "upstream_error"}
    return 500, {
        "message": "The server had an error while processing your request.",
        "type": "server_error",
    }


def _upstream_detail(body: Any) -> Mapping[str, Any]:
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            return inner
        return body
    return {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def response_body(response: ChatResponse, model_name: str) -> dict[str, Any]:
    """Return the ``chat.completion`` body of a model's response.

    Messages are written from the parsed response (so synthesized tool-call ids
    are the ones the client sees); usage keeps the upstream's details when present.
    """
    fingerprint = response.raw.get("system_fingerprint")
    return completion_body(
        id=response.id or "chatcmpl-local",
        created=response.created,
        model=response.model or model_name,
        choices=choices_body(response.choices),
        usage=_usage(response),
        system_fingerprint=fingerprint if isinstance(fingerprint, str) else None,
    )


def _usage(response: ChatResponse) -> dict[str, Any] | None:
    raw = response.raw.get("usage")
    if isinstance(raw, Mapping):
        return dict(raw)
    return response.usage.to_dict() if response.usage is not None else None


def stream_chunks(
    stream: ChatStreamLike, meta: Mapping[str, Any], *, include_usage: bool
) -> Iterator[dict[str, Any]]:
    """Turn a model's stream events back into ``chat.completion.chunk`` dicts.

    Text, refusal and tool-call fragments are relayed as they arrive. Finish
    reasons are sent once the model's stream is complete, after a last delta per
    tool call carrying what only the assembled response knows: the final id (when
    the model sent none, or a duplicate) and ``extra_content``. With
    ``include_usage``, a ``choices: []`` usage chunk comes last.

    Args:
        stream: The model's stream (closed when this generator ends).
        meta: ``id``, ``created`` and ``model`` for every chunk.
        include_usage: Whether the client asked for ``stream_options.include_usage``.

    Yields:
        Chunk dicts.
    """
    relay = _Relay(meta, include_usage=include_usage)
    try:
        for event in stream:
            yield from relay.event(event)
        yield from relay.finish(stream.response)
    finally:
        stream.close()


class _Relay:
    """The state of one relayed stream: which choices started, which ids were sent."""

    def __init__(self, meta: Mapping[str, Any], *, include_usage: bool) -> None:
        self.writer = ChunkWriter(
            id=meta["id"], created=meta["created"], model=meta["model"], include_usage=include_usage
        )
        self.chunk = self.writer.chunk
        self.include_usage = include_usage
        self.started: set[int] = set()
        self.sent_ids: dict[tuple[int, int], str] = {}

    def open(self, index: int) -> Iterator[dict[str, Any]]:
        if index not in self.started:
            self.started.add(index)
            yield self.writer.role(index)

    def event(self, event: Any) -> Iterator[dict[str, Any]]:
        if isinstance(event, TextDelta):
            yield from self.open(event.choice_index)
            yield self.chunk(event.choice_index, {"content": event.delta})
        elif isinstance(event, RefusalDelta):
            yield from self.open(event.choice_index)
            yield self.chunk(event.choice_index, {"refusal": event.delta})
        elif isinstance(event, ToolCallDelta):
            yield from self.open(event.choice_index)
            yield self.chunk(event.choice_index, {"tool_calls": [self._call_entry(event)]})

    def _call_entry(self, event: ToolCallDelta) -> dict[str, Any]:
        key = (event.choice_index, event.index)
        taken = {v for (c, _), v in self.sent_ids.items() if c == event.choice_index}
        call_id = None
        if event.id and key not in self.sent_ids and event.id not in taken:
            # a duplicate id is held back; the assembled (deduplicated) id follows at the end
            self.sent_ids[key] = call_id = event.id
        arguments = event.arguments_delta if event.name or event.arguments_delta else None
        return call_delta(event.index, id=call_id, name=event.name, arguments=arguments)

    def finish(self, response: ChatResponse) -> Iterator[dict[str, Any]]:
        for choice in response.choices:
            index = choice.index
            yield from self.open(index)
            for k, call in enumerate(choice.message.tool_calls):
                resend = self.sent_ids.get((index, k)) != call.id
                fix = call_delta(
                    k, id=call.id if resend else None, extra_content=call.extra_content
                )
                if len(fix) > 1:
                    yield self.chunk(index, {"tool_calls": [fix]})
            tail: dict[str, Any] = {}
            if choice.message.extra_content is not None:
                tail["extra_content"] = plain_json(choice.message.extra_content)
            yield self.chunk(index, tail, choice.finish_reason)
        usage = _usage(response)
        if self.include_usage and usage is not None:
            yield self.writer.usage(usage)


def parse_request(raw: bytes) -> dict[str, Any]:
    """Decode and check the envelope of a chat request (the model checks the rest).

    Raises:
        BadRequestError: Not a JSON object, no ``model``/``messages``, or a bad ``stream``.
    """
    try:
        request = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)"
        ) from exc
    if not isinstance(request, dict):
        raise _bad("The request body must be a JSON object.")
    if not isinstance(request.get("model"), str) or not request["model"]:
        raise _bad("you must provide a model parameter", param="model")
    if "messages" not in request:
        raise _bad("Missing required parameter: 'messages'.", param="messages")
    stream = request.get("stream", False)
    if stream is None:
        request["stream"] = stream = False
    if not isinstance(stream, bool):
        raise _bad("Invalid type for 'stream': expected a boolean.", param="stream")
    if request.get("stream_options") is not None and not stream:
        raise _bad(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    return request


def _bad(message: str, *, param: str | None = None) -> BadRequestError:
    body = error_body(message=message, type="invalid_request_error", param=param)
    return BadRequestError(message, status_code=400, body=body)
