"""ChatStream (chunk dicts -> events + response) and parse_response, without HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentloop import (
    APIStatusError,
    AuthenticationError,
    ChatStream,
    FinishEvent,
    RateLimitError,
    RefusalDelta,
    StreamError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from agentloop.streaming import DONE, parse_response


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 7,
        "model": "m",
    }
    body["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    body.update(extra)
    return body


def text_chunks(*pieces: str, finish: str = "stop") -> list[dict]:
    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": p}) for p in pieces]
    out.append(chunk({}, finish))
    return out


def run(chunks: list[Any]) -> tuple[list[Any], Any]:
    stream = ChatStream(iter(chunks))
    events = list(stream)
    return events, stream.response


def test_text_events_and_response() -> None:
    events, resp = run([*text_chunks("Hel", "lo"), DONE])
    assert events == [
        TextDelta(delta="Hel"),
        TextDelta(delta="lo"),
        FinishEvent(finish_reason="stop"),
    ]
    assert resp.message.content == "Hello"
    assert resp.message.role == "assistant"
    assert resp.finish_reason == "stop"
    assert (resp.id, resp.model, resp.created) == ("chatcmpl-1", "m", 7)
    assert resp.usage is None
    assert resp.tool_calls == ()


def test_usage_only_chunk_and_last_usage_wins() -> None:
    usage1 = {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
    usage2 = {
        "prompt_tokens": 5,
        "completion_tokens": 3,
        "total_tokens": 8,
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    chunks = [
        chunk({"content": "a"}, usage=usage1),
        chunk({"content": "b"}, usage=usage1),
        chunk({}, "stop", usage=usage2),
        {"id": "chatcmpl-1", "choices": [], "usage": usage2},
        DONE,
    ]
    events, resp = run(chunks)
    usages = [e.usage for e in events if isinstance(e, UsageEvent)]
    assert usages == [
        Usage(prompt_tokens=5, completion_tokens=1, total_tokens=6),
        Usage(prompt_tokens=5, completion_tokens=3, total_tokens=8, reasoning_tokens=2),
    ]
    assert resp.usage == usages[-1]
    assert resp.usage.reasoning_tokens == 2


def test_truncated_stream_raises_with_partial_text() -> None:
    stream = ChatStream(iter([chunk({"content": "par"}), chunk({"content": "tial"})]))
    with pytest.raises(StreamError) as info:
        list(stream)
    assert info.value.partial_text == "partial"
    with pytest.raises(StreamError):
        _ = stream.response


def test_empty_source_is_truncated() -> None:
    with pytest.raises(StreamError):
        list(ChatStream(iter([])))


def test_finish_without_done_is_complete_for_plain_chunk_sources() -> None:
    _, resp = run(text_chunks("hi"))
    assert resp.message.content == "hi"


def test_done_without_finish_reason() -> None:
    events, resp = run([chunk({"content": "x"}), DONE])
    assert events[-1] == FinishEvent(finish_reason="stop")
    assert resp.finish_reason == "stop"


def test_everything_after_done_is_ignored() -> None:
    consumed = []

    def source():
        yield chunk({"content": "a"}, "stop")
        yield DONE
        consumed.append("read past done")
        yield {"error": {"message": "must be ignored"}}

    stream = ChatStream(source())
    list(stream)
    assert stream.response.message.content == "a"
    assert consumed == []


def test_string_items_are_json_and_done_marker() -> None:
    _, resp = run([json.dumps(chunk({"content": "é"})), json.dumps(chunk({}, "stop")), "[DONE]"])
    assert resp.message.content == "é"


def test_error_chunk_mid_stream() -> None:
    chunks = [
        chunk({"content": "Hi "}),
        {"error": {"message": "The server had an error", "type": "server_error"}},
    ]
    stream = ChatStream(iter(chunks))
    seen = []
    with pytest.raises(StreamError, match="The server had an error") as info:
        for event in stream:
            seen.append(event)
    assert seen == [TextDelta(delta="Hi ")]
    assert info.value.partial_text == "Hi "


def test_parallel_interleaved_tool_calls_by_index() -> None:
    def tc(index: int, **kw: Any) -> dict:
        return chunk({"tool_calls": [{"index": index, **kw}]})

    chunks = [
        chunk({"role": "assistant", "content": None}),
        tc(0, id="call_a", type="function", function={"name": "get_weather", "arguments": ""}),
        tc(1, id="call_b", type="function", function={"name": "get_time", "arguments": ""}),
        tc(0, function={"arguments": '{"city":'}),
        tc(1, function={"arguments": '{"tz":'}),
        tc(0, function={"arguments": '"Paris"}'}),
        chunk(
            {
                "tool_calls": [
                    {"index": 1, "function": {"arguments": '"UTC"}'}},
                    {"index": 0, "function": {"arguments": ""}},
                ]
            }
        ),
        chunk({}, "tool_calls"),
        DONE,
    ]
    events, resp = run(chunks)
    assert resp.tool_calls == (
        ToolCall(id="call_a", name="get_weather", arguments='{"city":"Paris"}'),
        ToolCall(id="call_b", name="get_time", arguments='{"tz":"UTC"}'),
    )
    assert resp.message.content is None
    assert resp.finish_reason == "tool_calls"
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0] == ToolCallDelta(index=0, id="call_a", name="get_weather")
    assert deltas[1] == ToolCallDelta(index=1, id="call_b", name="get_time")
    assert [d.index for d in deltas[2:]] == [0, 1, 0, 1]


def test_gemini_stream_without_index_or_ids_and_stop_finish() -> None:
    signature = {"google": {"thought_signature": "sig=="}}
    chunks = [
        chunk(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "",
                        "type": "function",
                        "function": {"name": "a", "arguments": '{"x":1}'},
                        "extra_content": signature,
                    }
                ],
            }
        ),
        chunk({"tool_calls": [{"function": {"name": "b", "arguments": '{"y":2}'}}]}),
        chunk({}, "stop"),
        DONE,
    ]
    events, resp = run(chunks)
    assert resp.tool_calls == (
        ToolCall(id="call_0", name="a", arguments='{"x":1}', extra_content=signature),
        ToolCall(id="call_1", name="b", arguments='{"y":2}'),
    )
    assert resp.finish_reason == "tool_calls"
    assert FinishEvent(finish_reason="tool_calls") in events
    assert resp.message.to_dict()["tool_calls"][0]["extra_content"] == signature


def test_indexless_fragments_continue_the_last_call() -> None:
    chunks = [
        chunk({"tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": '{"a"'}}]}),
        chunk({"tool_calls": [{"function": {"arguments": ": 1}"}}]}),
        chunk({"tool_calls": [{"id": "c1", "function": {"arguments": ""}}]}),
        chunk({"tool_calls": [{"extra_content": {"google": {"thought_signature": "s"}}}]}),
        chunk({}, "stop"),
    ]
    _, resp = run(chunks)
    assert resp.tool_calls == (
        ToolCall(
            id="c1",
            name="f",
            arguments='{"a": 1}',
            extra_content={"google": {"thought_signature": "s"}},
        ),
    )


def test_repeated_id_and_name_are_never_concatenated() -> None:
    entry = {"index": 0, "id": "call_x", "type": "function", "function": {"name": "f"}}
    chunks = [
        chunk({"tool_calls": [{**entry, "function": {"name": "f", "arguments": "{"}}]}),
        chunk({"tool_calls": [{**entry, "function": {"name": "f", "arguments": "}"}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "other",
                        "type": "",
                        "function": {"name": "", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({}, "tool_calls"),
    ]
    _, resp = run(chunks)
    assert resp.tool_calls == (ToolCall(id="call_x", name="f", arguments="{}"),)


def test_duplicate_and_missing_ids_become_unique() -> None:
    chunks = [
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "same", "function": {"name": "f", "arguments": "{}"}},
                    {"index": 1, "id": "same", "function": {"name": "g", "arguments": "{}"}},
                    {"index": 2, "function": {"name": "h", "arguments": "{}"}},
                    {"index": 3, "id": "call_2", "function": {"name": "k", "arguments": ""}},
                ]
            }
        ),
        chunk({}, "tool_calls"),
    ]
    _, resp = run(chunks)
    assert [c.id for c in resp.tool_calls] == ["same", "same_1", "call_2", "call_2_3"]
    assert resp.tool_calls[3].arguments == "{}"


def test_ollama_index_reuse_with_distinct_ids() -> None:
    chunks = [
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"n":1}'}}
                ]
            }
        ),
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "b", "function": {"name": "f", "arguments": '{"n":2}'}}
                ]
            }
        ),
        chunk({}, "tool_calls"),
    ]
    _, resp = run(chunks)
    assert [(c.id, c.arguments) for c in resp.tool_calls] == [("a", '{"n":1}'), ("b", '{"n":2}')]


@pytest.mark.parametrize("indexed", [True, False])
def test_arguments_split_at_every_position(indexed: bool) -> None:
    args = json.dumps({"city": 'Zürich "quoted" \\ 🌍', "n": [1, 2.5, None]}, ensure_ascii=False)
    for cut in range(len(args) + 1):
        first = {"id": "call_1", "function": {"name": "w", "arguments": args[:cut]}}
        second = {"function": {"arguments": args[cut:]}}
        if indexed:
            first["index"] = second["index"] = 0
        _, resp = run(
            [chunk({"tool_calls": [first]}), chunk({"tool_calls": [second]}), chunk({}, "stop")]
        )
        assert resp.tool_calls == (ToolCall(id="call_1", name="w", arguments=args),), cut


def test_text_split_at_every_character() -> None:
    text = "héllo wörld ✅ 🌍 done"
    for cut in range(len(text) + 1):
        _, resp = run(text_chunks(text[:cut], text[cut:]))
        assert resp.message.content == text


def test_refusal_and_content_null() -> None:
    chunks = [
        chunk({"role": "assistant", "content": None, "refusal": None}),
        chunk({"refusal": "I can't"}),
        chunk({"refusal": " help."}),
        chunk({}, "stop"),
    ]
    events, resp = run(chunks)
    assert [e for e in events if isinstance(e, RefusalDelta)] == [
        RefusalDelta(delta="I can't"),
        RefusalDelta(delta=" help."),
    ]
    assert resp.message.refusal == "I can't help."
    assert resp.message.content == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("length", "length"),
        ("content_filter", "content_filter"),
        ("tool_calls", "stop"),
    ],
)
def test_finish_reason_normalized(raw: str, expected: str) -> None:
    _, resp = run(text_chunks("x", finish=raw))
    assert resp.finish_reason == expected


def test_two_choices_interleaved() -> None:
    def c(index: int, delta: dict, finish: str | None = None) -> dict:
        return {"id": "x", "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}

    chunks = [
        c(0, {"content": "a"}),
        c(1, {"content": "b"}),
        c(0, {"content": "c"}),
        c(1, {}, "stop"),
        c(0, {}, "length"),
    ]
    events, resp = run(chunks)
    assert [c.message.content for c in resp.choices] == ["ac", "b"]
    assert [c.finish_reason for c in resp.choices] == ["length", "stop"]
    assert TextDelta(delta="b", choice_index=1) in events


def test_message_level_extra_content_kept() -> None:
    chunks = [
        chunk({"content": "x", "extra_content": {"google": {"thought_signature": "t"}}}),
        chunk({}, "stop"),
    ]
    _, resp = run(chunks)
    assert resp.message.extra_content == {"google": {"thought_signature": "t"}}


def test_legacy_function_call_delta() -> None:
    chunks = [
        chunk({"function_call": {"name": "f", "arguments": '{"a":'}}),
        chunk({"function_call": {"arguments": "1}"}}),
        chunk({}, "function_call"),
    ]
    _, resp = run(chunks)
    assert resp.tool_calls == (ToolCall(id="call_0", name="f", arguments='{"a":1}'),)
    assert resp.finish_reason == "tool_calls"


# -- closing ---------------------------------------------------------------------------


class Source:
    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = chunks
        self.closed = 0

    def __iter__(self):
        return iter(self.chunks)

    def close(self) -> None:
        self.closed += 1


def test_on_close_called_once_after_completion() -> None:
    calls = []
    source = Source(text_chunks("a"))
    stream = ChatStream(source, on_close=lambda: calls.append(1))
    list(stream)
    stream.close()
    assert calls == [1]
    assert source.closed == 1


def test_abandoned_loop_closes_the_source() -> None:
    closed = []

    def source():
        try:
            yield chunk({"content": "a"})
            yield chunk({"content": "b"})
            yield chunk({}, "stop")
        finally:
            closed.append("source")

    stream = ChatStream(source(), on_close=lambda: closed.append("on_close"))
    for _event in stream:
        break
    assert closed == ["source", "on_close"]
    with pytest.raises(StreamError, match="closed before it finished") as info:
        _ = stream.response
    assert info.value.partial_text == "a"


def test_context_manager_closes() -> None:
    calls = []
    with ChatStream(iter(text_chunks("a", "b")), on_close=lambda: calls.append(1)) as stream:
        assert next(iter(stream)) == TextDelta(delta="a")
    assert calls == [1]


def test_response_consumes_the_rest() -> None:
    stream = ChatStream(iter(text_chunks("a", "b")))
    assert stream.response.message.content == "ab"
    assert repr(stream) == "<ChatStream finished>"


def test_source_exception_propagates_and_closes() -> None:
    calls = []

    def source():
        yield chunk({"content": "a"})
        raise StreamError("connection reset")

    stream = ChatStream(source(), on_close=lambda: calls.append(1))
    with pytest.raises(StreamError) as info:
        list(stream)
    assert info.value.partial_text == "a"
    assert calls == [1]


# -- parse_response -----------------------------------------------------------------------


def completion(message: dict[str, Any], finish: str | None = "stop", **extra: Any) -> dict:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 7,
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }
    body.update(extra)
    return body


def test_parse_basic() -> None:
    body = completion(
        {"role": "assistant", "content": "Hi"},
        usage={"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
    )
    resp = parse_response(body)
    assert resp.message.content == "Hi"
    assert resp.usage == Usage(prompt_tokens=9, completion_tokens=12, total_tokens=21)
    assert resp.usage.reasoning_tokens is None
    assert resp.raw is body


def test_parse_tool_calls_gemini_style() -> None:
    sig = {"google": {"thought_signature": "abc"}}
    body = completion(
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "",
                    "type": "function",
                    "function": {"name": "a", "arguments": '{"x":1}'},
                    "extra_content": sig,
                },
                {"id": "", "type": "function", "function": {"name": "b", "arguments": ""}},
            ],
        },
        finish="stop",
        id=None,
    )
    resp = parse_response(body)
    assert resp.tool_calls == (
        ToolCall(id="call_0", name="a", arguments='{"x":1}', extra_content=sig),
        ToolCall(id="call_1", name="b", arguments="{}"),
    )
    assert resp.finish_reason == "tool_calls"
    assert resp.message.content is None
    assert resp.id == ""


def test_parse_content_list_and_missing_finish() -> None:
    resp = parse_response(
        completion(
            {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, finish=None
        )
    )
    assert resp.message.content == "ab"
    assert resp.finish_reason == "stop"


def test_parse_error_in_200_body() -> None:
    with pytest.raises(RateLimitError) as info:
        parse_response({"error": {"code": 429, "message": "slow down"}})
    assert info.value.status_code == 429
    with pytest.raises(AuthenticationError):
        parse_response(
            [
                {
                    "error": {
                        "code": 400,
                        "status": "INVALID_ARGUMENT",
                        "message": "bad key",
                        "details": [{"reason": "API_KEY_INVALID"}],
                    }
                }
            ]
        )
    with pytest.raises(APIStatusError) as info2:
        parse_response({"error": "upstream exploded"})
    assert info2.value.status_code == 200


@pytest.mark.parametrize("body", [{}, {"choices": []}, {"choices": None}, {"object": "list"}])
def test_parse_without_choices(body: dict) -> None:
    with pytest.raises(APIStatusError, match="no choices"):
        parse_response(body)


def test_stream_and_parse_agree() -> None:
    sig = {"google": {"thought_signature": "s"}}
    chunks = [
        chunk({"role": "assistant", "content": "Let me check."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_9",
                        "function": {"name": "f", "arguments": '{"q":'},
                        "extra_content": sig,
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"x"}'}}]}),
        chunk({}, "tool_calls"),
        {
            "id": "chatcmpl-1",
            "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        },
        DONE,
    ]
    _, streamed = run(chunks)
    body = completion(
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "f", "arguments": '{"q":"x"}'},
                    "extra_content": sig,
                }
            ],
        },
        finish="tool_calls",
        usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    )
    assert parse_response(body) == streamed
    assert parse_response(streamed.raw) == streamed
