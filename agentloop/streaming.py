"""Chat-completion chunks in, typed stream events and one assembled response out.

:class:`ChatStream` takes decoded ``chat.completion.chunk`` dicts from any
source (SSE over HTTP, the offline model, a script) and yields
:class:`~agentloop.deltas.TextDelta`, :class:`~agentloop.deltas.RefusalDelta`,
:class:`~agentloop.deltas.ToolCallDelta`, :class:`~agentloop.deltas.UsageEvent`
and :class:`~agentloop.deltas.FinishEvent` as each chunk arrives. After the
stream ends, ``.response`` is the :class:`~agentloop.messages.ChatResponse` the
non-streamed body would have given; :func:`agentloop.wire.assembly.parse_response`
(re-exported here) parses such a body.

The per-choice state and the tool-call merge rules live in
:mod:`agentloop.wire.assembly` (:class:`~agentloop.wire.assembly.ChoiceState`): calls are
merged by ``index`` when present, else by the fallback for servers that send none
(Gemini); ``id`` and ``name`` are set once and never concatenated; ``arguments``
concatenate; missing, empty or duplicated ids become unique ids
(:func:`agentloop.messages.unique_call_ids`: ``call_<pos>``, ``<id>_<pos>``). This module
does no I/O and imports no HTTP library.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import Any

from agentloop.deltas import FinishEvent, RefusalDelta, StreamEvent, TextDelta, UsageEvent
from agentloop.errors import StreamError
from agentloop.messages import ROLES, ChatResponse, Choice, Usage, to_int
from agentloop.wire.assembly import (
    ChoiceState,
    call_entries,
    deep_merge,
    final_finish,
    parse_response,
    text_of,
    to_str,
)
from agentloop.wire.build import choices_body, completion_body
from agentloop.wire.decode import loads
from agentloop.wire.errors import error_detail, error_message

__all__ = ["DONE", "ChatStream", "parse_response"]

#: The end-of-stream marker; a chunk source may yield it (SSE sources do).
DONE = "[DONE]"


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
        self._choices: dict[int, ChoiceState] = {}
        self._meta: dict[str, Any] = {}
        self._meta_pending = ["id", "model", "created", "system_fingerprint"]
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
        choices = self._choices
        return "".join(choices[min(choices)].text) if choices else ""

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
        try:
            self._gen.close()
            close = getattr(self._chunks, "close", None)
            if callable(close):
                close()
        except ValueError:
            pass  # closed from another thread mid-read: on_close below unblocks the reader
        finally:
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
            if exc.partial_text or not self.text:
                self._error = exc
                raise
            self._error = StreamError(str(exc), partial_text=self.text)
            raise self._error from exc
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
        if self._meta_pending:
            for key in tuple(self._meta_pending):
                if chunk.get(key):
                    self._meta[key] = chunk[key]
                    self._meta_pending.remove(key)
        events: list[StreamEvent] = []
        choices = chunk.get("choices")
        if type(choices) is list:
            for pos, choice in enumerate(choices):
                if type(choice) is dict or isinstance(choice, Mapping):
                    self._feed_choice(choice, pos, events)
        usage = chunk.get("usage")
        if usage is not None and isinstance(usage, Mapping) and usage != self._usage_raw:
            self._usage_raw = usage
            self._usage = Usage.from_dict(usage)
            if self._usage is not None:
                events.append(UsageEvent(usage=self._usage))
        return events

    def _feed_choice(self, choice: Mapping[str, Any], pos: int, out: list[StreamEvent]) -> None:
        index = choice.get("index", pos)
        if type(index) is not int:
            index = pos
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = ChoiceState(index)
        delta = choice.get("delta") or choice.get("message")
        if delta and (type(delta) is dict or isinstance(delta, Mapping)):
            self._feed_delta(state, delta, out)
        finish = choice.get("finish_reason")
        if finish and isinstance(finish, str):
            reason = final_finish(finish, bool(state.calls))
            if reason != state.finish:
                state.finish = reason
                out.append(FinishEvent(finish_reason=reason, choice_index=index))

    def _feed_delta(
        self, state: ChoiceState, delta: Mapping[str, Any], out: list[StreamEvent]
    ) -> None:
        content = delta.get("content")
        if content:
            text = content if type(content) is str else text_of(content)
            if text:
                state.text.append(text)
                out.append(TextDelta(delta=text, choice_index=state.index))
        if len(delta) == 1 and content is not None:
            return  # the common case: a text-only delta
        if delta.get("role") in ROLES:
            state.role = delta["role"]
        refusal = delta.get("refusal")
        if refusal and isinstance(refusal, str):
            state.refusal = [*(state.refusal or ()), refusal]
            out.append(RefusalDelta(delta=refusal, choice_index=state.index))
        extra = delta.get("extra_content")
        if extra and isinstance(extra, Mapping):
            state.extra = deep_merge(state.extra, extra)
        state.add_reasoning(delta)  # kept in .response.raw, as a whole body carries it
        if "tool_calls" in delta or "function_call" in delta:
            for entry in call_entries(delta):
                event = state.merge_call(entry)
                if event is not None:
                    out.append(event)

    def _complete(self) -> Iterator[StreamEvent]:
        states = [self._choices[i] for i in sorted(self._choices)]
        if not self._done and (not states or any(s.finish is None for s in states)):
            raise StreamError(
                "the stream ended early: no finish_reason and no [DONE] marker "
                "(connection dropped or the server failed mid-answer)",
                partial_text=self.text,
            )
        if not states:
            states = [ChoiceState(0)]
        for state in states:
            if state.finish is not None:
                state.finish = final_finish(state.finish, bool(state.calls))
            else:
                state.finish = "tool_calls" if state.calls else "stop"
                yield FinishEvent(finish_reason=state.finish, choice_index=state.index)
        choices = tuple(
            Choice(index=s.index, message=s.message(), finish_reason=s.finish) for s in states
        )
        self._response = ChatResponse(
            id=to_str(self._meta.get("id")),
            model=to_str(self._meta.get("model")),
            created=to_int(self._meta.get("created")),
            choices=choices,
            usage=self._usage,
            raw=self._raw_body(choices),
        )

    def _raw_body(self, choices: tuple[Choice, ...]) -> dict[str, Any]:
        fingerprint = self._meta.get("system_fingerprint")
        raw_choices = choices_body(choices)
        for raw in raw_choices:
            state = self._choices.get(raw["index"])
            if state is not None and state.reasoning:
                # the reasoning a whole body's message would carry, under the server's name
                raw["message"].update({k: "".join(v) for k, v in state.reasoning.items()})
        return completion_body(
            id=to_str(self._meta.get("id")),
            created=to_int(self._meta.get("created")),
            model=to_str(self._meta.get("model")),
            choices=raw_choices,
            usage=self._usage_raw,
            system_fingerprint=to_str(fingerprint) if fingerprint else None,
        )


# -- helpers ----------------------------------------------------------------------------


def _as_chunk(item: Any) -> Mapping[str, Any] | None:
    """Return the chunk dict, or None for the DONE marker."""
    if type(item) is dict or isinstance(item, Mapping):
        return item
    if isinstance(item, (str, bytes)):
        text = item.decode("utf-8", "replace") if isinstance(item, bytes) else item
        if text.strip().startswith(DONE):
            return None
        try:
            value = loads(text)
        except ValueError as exc:
            raise StreamError(f"a stream chunk is not JSON ({exc}): {text[:80]!r}") from None
        return value if isinstance(value, Mapping) else {}
    raise StreamError(f"a stream chunk must be a dict, got {type(item).__name__}")
