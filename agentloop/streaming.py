"""Chat-completion chunks in, typed stream events and one assembled response out.

:class:`ChatStream` takes decoded ``chat.completion.chunk`` dicts from any
source (SSE over HTTP, the offline model, a script) and yields
:class:`~agentloop.messages.TextDelta`, :class:`~agentloop.messages.RefusalDelta`,
:class:`~agentloop.messages.ToolCallDelta`, :class:`~agentloop.messages.UsageEvent`
and :class:`~agentloop.messages.FinishEvent` as each chunk arrives. After the
stream ends, ``.response`` is the :class:`~agentloop.messages.ChatResponse` the
non-streamed body would have given. :func:`parse_response` parses such a body.

Tool calls are assembled as PROTOCOL.md 3.5 describes: by ``index`` when
present, else by the fallback for servers that send none (Gemini); ``id`` and
``name`` are set once and never concatenated; ``arguments`` concatenate;
missing, empty or duplicated ids become unique ids (``call_<pos>``,
``<id>_<pos>``). This module does no I/O and imports no HTTP library.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import Any

from ._apierrors import error_detail, error_message, make_status_error, status_from_error
from .errors import APIStatusError, StreamError
from .messages import (
    ChatResponse,
    Choice,
    FinishEvent,
    Message,
    RefusalDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
    normalize_finish_reason,
)

__all__ = ["DONE", "ChatStream", "parse_response"]

#: The end-of-stream marker; a chunk source may yield it (SSE sources do).
DONE = "[DONE]"

_ROLES = ("system", "developer", "user", "assistant", "tool")
_FUNCTION_CALL_SLOT = -1  # the deprecated ``function_call`` delta gets its own slot


class _Call:
    """One tool call being assembled."""

    __slots__ = ("args", "extra", "has_index", "id", "name", "pos")

    def __init__(self, *, has_index: bool, pos: int) -> None:
        self.pos = pos
        self.id = ""
        self.name = ""
        self.args: list[str] = []
        self.extra: dict[str, Any] | None = None
        self.has_index = has_index

    def args_complete(self) -> bool:
        try:
            json.loads("".join(self.args))
        except ValueError:
            return False
        return True


class _ChoiceState:
    """Everything assembled so far for one choice."""

    __slots__ = ("by_index", "calls", "extra", "finish", "index", "refusal", "role", "text")

    def __init__(self, index: int) -> None:
        self.index = index
        self.role = "assistant"
        self.text: list[str] = []
        self.refusal: list[str] | None = None
        self.calls: list[_Call] = []
        self.by_index: dict[int, _Call] = {}
        self.finish: str | None = None
        self.extra: dict[str, Any] | None = None

    def merge_call(self, entry: Mapping[str, Any]) -> ToolCallDelta | None:
        """Merge one ``delta.tool_calls`` entry; return the event for it, if any."""
        fn = entry.get("function")
        fn = fn if isinstance(fn, Mapping) else {}
        new_id = _str(entry.get("id"))
        new_name = _str(fn.get("name"))
        call = self._slot(entry.get("index"), new_id, new_name)
        set_id = set_name = None
        if new_id and not call.id:
            call.id = set_id = new_id
        if new_name and not call.name:
            call.name = set_name = new_name
        fragment = _args_fragment(fn.get("arguments"))
        if fragment:
            call.args.append(fragment)
        if isinstance(entry.get("extra_content"), Mapping):
            call.extra = _deep_merge(call.extra, entry["extra_content"])
        if set_id is None and set_name is None and not fragment:
            return None
        return ToolCallDelta(
            index=call.pos, id=set_id, name=set_name, arguments_delta=fragment,
            choice_index=self.index,
        )

    def _slot(self, index: Any, new_id: str, new_name: str) -> _Call:
        if isinstance(index, int) and not isinstance(index, bool):
            call = self.by_index.get(index)
            if call is not None and not _starts_new_call(call, new_id, new_name):
                return call
            call = _Call(has_index=True, pos=len(self.calls))
            self.by_index[index] = call
            self.calls.append(call)
            return call
        last = self.calls[-1] if self.calls else None
        if (
            last is not None
            and not last.has_index
            and (not new_id or not last.id or new_id == last.id)
            and not (new_name and last.name and last.args_complete())
        ):
            return last
        call = _Call(has_index=False, pos=len(self.calls))
        self.calls.append(call)
        return call

    def message(self) -> Message:
        """Build the final message (ids synthesized, content normalized)."""
        calls = _finalize_calls(
            [(c.id, c.name, "".join(c.args), c.extra) for c in self.calls]
        )
        refusal = "".join(self.refusal or ()) or None
        return Message(
            role=self.role,  # type: ignore[arg-type]
            content=_content("".join(self.text), bool(calls)),
            tool_calls=calls,
            refusal=refusal,
            extra_content=self.extra,
        )


def _starts_new_call(call: _Call, new_id: str, new_name: str) -> bool:
    # Ollama reuses index 0 for parallel calls and tells them apart only by id.
    return bool(
        new_id and call.id and new_id != call.id and new_name and call.args_complete()
    )


class ChatStream:
    """An iterable of stream events over chat-completion chunks; ``.response`` afterwards.

    Iterate it (once) to get events as chunks arrive; ``.response`` is then the
    assembled :class:`ChatResponse`. Leaving a ``with`` block, calling
    :meth:`close`, or abandoning a ``for`` loop (the iterator is closed)
    closes the chunk source and calls ``on_close`` exactly once.

    Args:
        chunks: Decoded ``chat.completion.chunk`` dicts. The source may also
            yield :data:`DONE` (the SSE ``[DONE]`` marker) or raw JSON text.
        on_close: Called once when the stream ends, fails or is closed.

    Raises:
        StreamError: While iterating, when the chunks end with neither a
            ``finish_reason`` nor :data:`DONE`, or carry an error object
            (``.partial_text`` keeps the text received so far).
    """

    def __init__(
        self, chunks: Iterable[Any], *, on_close: Callable[[], None] | None = None
    ) -> None:
        self._chunks = chunks
        self._on_close = on_close
        self._choices: dict[int, _ChoiceState] = {}
        self._meta: dict[str, Any] = {}
        self._usage_raw: Mapping[str, Any] | None = None
        self._usage: Usage | None = None
        self._done = False
        self._started = False
        self._finished = False
        self._closed = False
        self._error: BaseException | None = None
        self._response: ChatResponse | None = None
        self._gen: Generator[StreamEvent, None, None] = self._run()

    # -- public surface -----------------------------------------------------------------

    def __iter__(self) -> Iterator[StreamEvent]:
        try:
            yield from self._gen
        finally:
            self.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "finished" if self._finished else "closed" if self._closed else "open"
        return f"<ChatStream {state}>"

    @property
    def started(self) -> bool:
        """Whether at least one event has been handed to the caller."""
        return self._started

    @property
    def text(self) -> str:
        """The text of the first choice received so far."""
        return _partial_text(self._choices)

    @property
    def response(self) -> ChatResponse:
        """The assembled response; consumes the rest of the stream if needed.

        Raises:
            StreamError: The stream broke, or was closed before it finished.
        """
        if self._response is None and self._error is None and not self._closed:
            for _ in self:
                pass
        if self._error is not None:
            raise self._error
        if self._response is None:
            raise StreamError(
                "the stream was closed before it finished; no response",
                partial_text=self.text,
            )
        return self._response

    def close(self) -> None:
        """Stop reading: close the chunk source and call ``on_close`` (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._gen.close()
        close = getattr(self._chunks, "close", None)
        if callable(close):
            close()
        if self._on_close is not None:
            self._on_close()

    # -- assembly -----------------------------------------------------------------------

    def _run(self) -> Generator[StreamEvent, None, None]:
        try:
            for item in self._chunks:
                chunk = _as_chunk(item)
                if chunk is None:
                    self._done = True
                    break
                for event in self._feed(chunk):
                    self._started = True
                    yield event
            yield from self._complete()
        except StreamError as exc:
            if not exc.partial_text and self.text:
                exc = StreamError(str(exc), partial_text=self.text)
            self._error = exc
            raise exc from exc.__cause__
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):
                self._error = exc
            raise
        finally:
            self._finished = self._response is not None

    def _feed(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        if chunk.get("error"):
            detail = error_detail(chunk)
            raise StreamError(
                f"the server sent an error mid-stream: {error_message(detail)}",
                partial_text=self.text,
            )
        for key in ("id", "model", "created", "system_fingerprint"):
            if not self._meta.get(key) and chunk.get(key):
                self._meta[key] = chunk[key]
        events: list[StreamEvent] = []
        choices = chunk.get("choices")
        for pos, choice in enumerate(choices if isinstance(choices, list) else ()):
            if isinstance(choice, Mapping):
                self._feed_choice(choice, pos, events)
        usage = chunk.get("usage")
        if isinstance(usage, Mapping) and usage != self._usage_raw:
            self._usage_raw = usage
            self._usage = Usage.from_dict(usage)
            if self._usage is not None:
                events.append(UsageEvent(usage=self._usage))
        return events

    def _feed_choice(self, choice: Mapping[str, Any], pos: int, out: list[StreamEvent]) -> None:
        index = choice.get("index", pos)
        index = index if isinstance(index, int) and not isinstance(index, bool) else pos
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = _ChoiceState(index)
        delta = choice.get("delta") or choice.get("message") or {}
        if not isinstance(delta, Mapping):
            delta = {}
        if delta.get("role") in _ROLES:
            state.role = delta["role"]
        text = _text_of(delta.get("content"))
        if text:
            state.text.append(text)
            out.append(TextDelta(delta=text, choice_index=index))
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            state.refusal = [*(state.refusal or ()), refusal]
            out.append(RefusalDelta(delta=refusal, choice_index=index))
        if isinstance(delta.get("extra_content"), Mapping):
            state.extra = _deep_merge(state.extra, delta["extra_content"])
        for entry in _call_entries(delta):
            event = state.merge_call(entry)
            if event is not None:
                out.append(event)
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish:
            reason = _final_finish(finish, bool(state.calls))
            if reason != state.finish:
                state.finish = reason
                out.append(FinishEvent(finish_reason=reason, choice_index=index))

    def _complete(self) -> Iterator[StreamEvent]:
        states = [self._choices[i] for i in sorted(self._choices)]
        if not self._done and (not states or any(s.finish is None for s in states)):
            raise StreamError(
                "the stream ended early: no finish_reason and no [DONE] marker "
                "(connection dropped or the server failed mid-answer)",
                partial_text=self.text,
            )
        if not states:
            states = [_ChoiceState(0)]
        for state in states:
            if state.finish is not None:
                state.finish = _final_finish(state.finish, bool(state.calls))
            else:
                state.finish = "tool_calls" if state.calls else "stop"
                yield FinishEvent(finish_reason=state.finish, choice_index=state.index)
        choices = tuple(
            Choice(index=s.index, message=s.message(), finish_reason=s.finish) for s in states
        )
        self._response = ChatResponse(
            id=_str(self._meta.get("id")),
            model=_str(self._meta.get("model")),
            created=_int(self._meta.get("created")),
            choices=choices,
            usage=self._usage,
            raw=self._raw_body(choices),
        )

    def _raw_body(self, choices: tuple[Choice, ...]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": _str(self._meta.get("id")),
            "object": "chat.completion",
            "created": _int(self._meta.get("created")),
            "model": _str(self._meta.get("model")),
        }
        if self._meta.get("system_fingerprint"):
            body["system_fingerprint"] = self._meta["system_fingerprint"]
        body["choices"] = [
            {"index": c.index, "message": c.message.to_dict(), "finish_reason": c.finish_reason}
            for c in choices
        ]
        if self._usage_raw is not None:
            body["usage"] = dict(self._usage_raw)
        return body


# -- non-streamed bodies ------------------------------------------------------------------


def parse_response(body: Mapping[str, Any]) -> ChatResponse:
    """Parse a non-streamed ``chat.completion`` body into a :class:`ChatResponse`.

    ``finish_reason`` is normalized (tool calls present means ``tool_calls``),
    missing or duplicated tool-call ids are synthesized, ``content`` null or
    ``""`` is tolerated, and ``extra_content`` is kept.

    Args:
        body: The decoded JSON body.

    Returns:
        The response; ``.raw`` is ``body`` itself.

    Raises:
        APIStatusError: The body is an error object (an error inside an HTTP
            200), or has no choices; the subclass follows the error's code.
    """
    if isinstance(body, list) or (isinstance(body, Mapping) and body.get("error")):
        detail = error_detail(body)
        raise make_status_error(status_from_error(detail) or 200, body, prefix="200 body: ")
    raw_choices = body.get("choices") if isinstance(body, Mapping) else None
    if not isinstance(raw_choices, list) or not raw_choices:
        raise APIStatusError(
            "the server's response has no choices (not a chat.completion body): "
            f"{error_message(body)[:200]}",
            status_code=200,
            body=body,
        )
    choices = tuple(
        _parse_choice(c if isinstance(c, Mapping) else {}, pos)
        for pos, c in enumerate(raw_choices)
    )
    return ChatResponse(
        id=_str(body.get("id")),
        model=_str(body.get("model")),
        created=_int(body.get("created")),
        choices=choices,
        usage=Usage.from_dict(body.get("usage")),
        raw=body,
    )


def _parse_choice(choice: Mapping[str, Any], pos: int) -> Choice:
    msg = choice.get("message") or choice.get("delta") or {}
    if not isinstance(msg, Mapping):
        msg = {}
    entries = msg.get("tool_calls")
    raw_calls = [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []
    if not raw_calls and isinstance(msg.get("function_call"), Mapping):
        raw_calls = [{"function": msg["function_call"]}]
    calls = _finalize_calls(
        [
            (
                _str(c.get("id")),
                _str((c.get("function") or {}).get("name")),
                _args_fragment((c.get("function") or {}).get("arguments")),
                c.get("extra_content") if isinstance(c.get("extra_content"), Mapping) else None,
            )
            for c in raw_calls
        ]
    )
    refusal = msg.get("refusal")
    content = msg.get("content")
    if isinstance(content, list):
        refusal = refusal or "".join(
            str(p.get("refusal", "")) for p in content
            if isinstance(p, Mapping) and p.get("type") == "refusal"
        )
    role = msg.get("role") if msg.get("role") in _ROLES else "assistant"
    index = choice.get("index")
    finish = choice.get("finish_reason")
    return Choice(
        index=index if isinstance(index, int) and not isinstance(index, bool) else pos,
        message=Message(
            role=role,  # type: ignore[arg-type]
            content=_content(_text_of(content), bool(calls)),
            tool_calls=calls,
            refusal=refusal if isinstance(refusal, str) and refusal else None,
            extra_content=msg.get("extra_content")
            if isinstance(msg.get("extra_content"), Mapping) else None,
        ),
        finish_reason=_final_finish(finish if isinstance(finish, str) else None, bool(calls)),
    )


# -- helpers ----------------------------------------------------------------------------


def _as_chunk(item: Any) -> Mapping[str, Any] | None:
    """Return the chunk dict, or None for the DONE marker."""
    if isinstance(item, Mapping):
        return item
    if isinstance(item, (str, bytes)):
        text = item.decode("utf-8", "replace") if isinstance(item, bytes) else item
        if text.strip().startswith(DONE):
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise StreamError(f"a stream chunk is not JSON: {text[:80]!r}") from exc
        return value if isinstance(value, Mapping) else {}
    raise StreamError(f"a stream chunk must be a dict, got {type(item).__name__}")


def _call_entries(delta: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = delta.get("tool_calls")
    if isinstance(entries, list):
        return [e for e in entries if isinstance(e, Mapping)]
    fc = delta.get("function_call")
    if isinstance(fc, Mapping):
        return [{"index": _FUNCTION_CALL_SLOT, "function": fc}]
    return []


def _finalize_calls(
    calls: list[tuple[str, str, str, Mapping[str, Any] | None]],
) -> tuple[ToolCall, ...]:
    used: set[str] = set()
    out = []
    for pos, (call_id, name, args, extra) in enumerate(calls):
        final = call_id or f"call_{pos}"
        if final in used:
            final = f"{final}_{pos}"
            while final in used:
                final += "_"
        used.add(final)
        out.append(ToolCall(id=final, name=name, arguments=args or "{}", extra_content=extra))
    return tuple(out)


def _final_finish(raw: str | None, has_calls: bool) -> str:
    reason = normalize_finish_reason(raw)
    if has_calls and reason in (None, "stop", "function_call"):
        return "tool_calls"
    if not has_calls and reason in (None, "tool_calls", "function_call"):
        return "stop"
    return reason or "stop"


def _content(text: str, has_calls: bool) -> str | None:
    if text:
        return text
    return None if has_calls else ""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text", "")) for p in content
            if isinstance(p, Mapping) and p.get("type", "text") == "text"
        )
    return ""


def _args_fragment(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _deep_merge(base: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base or {})
    for key, value in new.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = _deep_merge(old, value)
        else:
            out[key] = value
    return out


def _partial_text(choices: Mapping[int, _ChoiceState]) -> str:
    if not choices:
        return ""
    return "".join(choices[min(choices)].text)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
