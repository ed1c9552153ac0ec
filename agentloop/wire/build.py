"""The one writer of chat-completions wire shapes (internal).

Every ``chat.completion`` body, ``chat.completion.chunk``, usage object,
tool-call delta and OpenAI error body that agentloop produces comes from here:
the offline model's answers, ``agentloop serve``'s responses and streams, the
fakes of :mod:`agentloop.testing`, the client's view of a server that ignored
``stream``, and the raw body a :class:`~agentloop.streaming.ChatStream`
assembles. Reading side: :mod:`agentloop.wire.assembly`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from agentloop.messages import Choice, Usage, plain_json

__all__ = [
    "CHUNK",
    "COMPLETION",
    "ChunkWriter",
    "call_delta",
    "choice_body",
    "choices_body",
    "completion_as_chunk",
    "completion_body",
    "completion_chunks",
    "error_body",
    "split_words",
    "usage_body",
    "wrap_error",
]

COMPLETION = "chat.completion"
CHUNK = "chat.completion.chunk"
_WORDS = re.compile(r"\s*\S+\s*|\s+")


# -- bodies -----------------------------------------------------------------------------


def usage_body(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """Return a ``usage`` object (``total_tokens`` is the sum)."""
    total = prompt_tokens + completion_tokens
    usage = Usage(
        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, total_tokens=total
    )
    return usage.to_dict()


def choice_body(
    index: int, message: Mapping[str, Any], finish_reason: str | None
) -> dict[str, Any]:
    """Return one entry of a body's ``choices``."""
    return {"index": index, "message": message, "finish_reason": finish_reason}


def choices_body(choices: Iterable[Choice]) -> list[dict[str, Any]]:
    """Return the ``choices`` of parsed :class:`~agentloop.messages.Choice` objects."""
    return [choice_body(c.index, c.message.to_dict(), c.finish_reason) for c in choices]


def completion_body(
    *,
    id: str,  # noqa: A002 - the wire field's name
    created: int,
    model: str,
    choices: list[dict[str, Any]],
    usage: Mapping[str, Any] | None = None,
    system_fingerprint: str | None = None,
) -> dict[str, Any]:
    """Return a ``chat.completion`` body (``usage`` and the fingerprint only when given)."""
    body: dict[str, Any] = {"id": id, "object": COMPLETION, "created": created, "model": model}
    if system_fingerprint:
        body["system_fingerprint"] = system_fingerprint
    body["choices"] = choices
    if usage is not None:
        body["usage"] = dict(usage)
    return body


def error_body(
    *,
    message: str,
    type: str = "invalid_request_error",  # noqa: A002 - OpenAI's field name
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """Return OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def wrap_error(detail: Any) -> dict[str, Any]:
    """Return ``{"error": detail}`` (an SSE ``error`` event as the stream consumer reads it)."""
    return {"error": detail}


# -- chunks -----------------------------------------------------------------------------


def call_delta(
    index: int,
    *,
    id: str | None = None,  # noqa: A002 - the wire field's name
    name: str | None = None,
    arguments: str | None = None,
    extra_content: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return one ``delta.tool_calls`` entry; only the given fields are written.

    Args:
        index: The call's position in the message.
        id: The call id (also writes ``"type": "function"``).
        name: The function name.
        arguments: An arguments fragment (``""`` is written; None is not).
        extra_content: Provider data for the call.
    """
    entry: dict[str, Any] = {"index": index}
    if id:
        entry["id"] = id
        entry["type"] = "function"
    function: dict[str, Any] = {}
    if name:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    if function:
        entry["function"] = function
    if extra_content is not None:
        entry["extra_content"] = plain_json(extra_content)
    return entry


class ChunkWriter:
    """Writes the chunks of one stream: every chunk shares ``id``, ``created`` and ``model``.

    Args:
        id: The completion id.
        created: Unix time of the completion.
        model: The model name.
        include_usage: Whether the client asked for ``stream_options.include_usage``
            (every chunk then carries ``"usage": null`` until the last one).
    """

    __slots__ = ("_extra", "_head")

    def __init__(
        self,
        *,
        id: str,  # noqa: A002 - the wire field's name
        created: int,
        model: str,
        include_usage: bool = False,
    ) -> None:
        self._head = {"id": id, "object": CHUNK, "created": created, "model": model}
        self._extra: dict[str, Any] = {"usage": None} if include_usage else {}

    def chunk(
        self, index: int, delta: Mapping[str, Any], finish: str | None = None
    ) -> dict[str, Any]:
        """Return a chunk with one choice's ``delta`` (and its finish reason, if any)."""
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**self._head, "choices": [choice], **self._extra}

    def role(self, index: int, content: str | None = "") -> dict[str, Any]:
        """Return the first chunk of a choice (role, and ``""`` or null content)."""
        return self.chunk(index, {"role": "assistant", "content": content})

    def usage(self, usage: Mapping[str, Any] | None) -> dict[str, Any]:
        """Return the last chunk of a stream with usage: no choices, only ``usage``."""
        return {**self._head, "choices": [], "usage": None if usage is None else dict(usage)}


def split_words(text: str) -> list[str]:
    """Split text into word-sized deltas (each keeps its surrounding whitespace)."""
    return _WORDS.findall(text)


def completion_chunks(
    body: Mapping[str, Any],
    *,
    include_usage: bool = False,
    split_text: Callable[[str], list[str]] = split_words,
    argument_piece: int = 24,
) -> Iterator[dict[str, Any]]:
    """Turn a ``chat.completion`` body into the ``chat.completion.chunk`` dicts of its stream.

    Per choice: a role chunk, the text in ``split_text`` deltas, a refusal delta,
    each tool call as a first delta (index, id, name) and ``argument_piece``-sized
    argument fragments, then a finish chunk (carrying the message's
    ``extra_content``); with ``include_usage``, a last chunk with ``choices: []``.

    Args:
        body: A non-streamed response body.
        include_usage: Whether to end with the usage chunk.
        split_text: How text is cut into deltas.
        argument_piece: The length of each arguments fragment.

    Yields:
        Chunk dicts, in order.
    """
    writer = ChunkWriter(
        id=body["id"], created=body["created"], model=body["model"], include_usage=include_usage
    )
    for choice in body["choices"]:
        index, message = choice["index"], choice["message"]
        content = message.get("content")
        yield writer.role(index, "" if content is not None else None)
        for piece in split_text(content or ""):
            yield writer.chunk(index, {"content": piece})
        if message.get("refusal"):
            yield writer.chunk(index, {"refusal": message["refusal"]})
        for k, call in enumerate(message.get("tool_calls") or ()):
            fn = call["function"]
            head = call_delta(
                k,
                id=call["id"],
                name=fn["name"],
                arguments="",
                extra_content=call.get("extra_content"),
            )
            yield writer.chunk(index, {"tool_calls": [head]})
            arguments = fn["arguments"]
            for start in range(0, len(arguments), argument_piece):
                piece = arguments[start : start + argument_piece]
                yield writer.chunk(index, {"tool_calls": [call_delta(k, arguments=piece)]})
        tail = {"extra_content": message["extra_content"]} if message.get("extra_content") else {}
        yield writer.chunk(index, tail, choice["finish_reason"])
    if include_usage:
        yield writer.usage(body.get("usage"))


def completion_as_chunk(body: Mapping[str, Any]) -> dict[str, Any]:
    """A whole ``chat.completion`` body as one chunk (for servers that ignore ``stream``)."""
    choices = []
    for pos, choice in enumerate(body.get("choices") or ()):
        message = dict(choice.get("message") or {})
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            message["tool_calls"] = [
                {**c, "index": i} for i, c in enumerate(calls) if isinstance(c, Mapping)
            ]
        choices.append(
            {
                "index": choice.get("index", pos),
                "delta": message,
                "finish_reason": choice.get("finish_reason"),
            }
        )
    return {**body, "choices": choices}
