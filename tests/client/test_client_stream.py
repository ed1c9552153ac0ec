"""ChatClient.stream over real SSE: latency, framing, byte splits, tool calls, errors, closing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from client_support import USER, make_client
from fakeserver import (
    FakeServer,
    Reply,
    chunk,
    completion,
    json_reply,
    raw_reply,
    reset_reply,
    sse_reply,
    tool_call_chunk,
)

from agentloop import (
    APIError,
    APIStatusError,
    ChatStream,
    FinishEvent,
    StreamError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from agentloop.client.sse import iter_chunks
from agentloop.streaming import DONE


def sse_bytes(*events: Any, end: str = "\n") -> bytes:
    out = []
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
        out.append(f"data: {data}{end}{end}")
    return "".join(out).encode()


class Gate:
    """A pause in a scripted body that lasts until the test opens it (or 20 s pass).

    ``passed`` records that the server went on to send what follows the pause: a
    client that buffers, or drains a stream it was asked to drop, only gets its
    next event (or finishes) after that, so the tests check the order of events
    instead of timing them.
    """

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.passed = threading.Event()

    def body(self, before: list[bytes], after: list[bytes]) -> Iterator[bytes]:
        yield from before
        self.opened.wait(20)
        self.passed.set()
        yield from after


@pytest.fixture
def gates() -> Iterator[list[Gate]]:
    made: list[Gate] = []
    yield made
    for gate in made:  # let the server threads finish
        gate.opened.set()


def gated_sse(gates: list[Gate], before: list[Any], after: list[Any], **kw: Any) -> Reply:
    """A chunked SSE reply sending ``before``, a :class:`Gate`, then ``after`` and [DONE]."""
    gate = Gate()
    gates.append(gate)
    body = gate.body([sse_bytes(e) for e in before], [sse_bytes(e) for e in [*after, "[DONE]"]])
    return raw_reply(body, **kw)


def test_stream_sends_streaming_headers_and_body(fake_server: FakeServer) -> None:
    fake_server.script(sse_reply([chunk("x"), chunk(finish="stop")]))
    stream = make_client(fake_server).stream(
        model="m", messages=USER, stream_options={"include_usage": True}
    )
    list(stream)
    sent = fake_server.requests[0]
    assert sent.headers["Accept"] == "text/event-stream"
    assert sent.json == {
        "model": "m",
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_events_arrive_as_bytes_arrive(fake_server: FakeServer, gates: list[Gate]) -> None:
    fake_server.script(
        gated_sse(
            gates, [chunk("first", role="assistant")], [chunk("second"), chunk(finish="stop")]
        )
    )
    stream = make_client(fake_server, timeout=(2.0, 60.0)).stream(model="m", messages=USER)
    events = iter(stream)
    assert next(events) == TextDelta(delta="first")
    assert not gates[0].passed.is_set()  # delivered before the server sent anything more
    gates[0].opened.set()
    assert list(events) == [TextDelta(delta="second"), FinishEvent(finish_reason="stop")]


def test_stream_response_equals_create(fake_server: FakeServer) -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    fake_server.script(
        sse_reply(
            [
                chunk("", role="assistant"),
                chunk("Let me "),
                chunk("check."),
                tool_call_chunk("call_1", "f"),
                chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"a":'}}]),
                chunk(tool_calls=[{"index": 0, "function": {"arguments": "1}"}}]),
                chunk(finish="tool_calls"),
                chunk(choices=False, usage=usage),
            ]
        ),
        json_reply(
            completion("Let me check.", tool_calls=[call], finish="tool_calls", usage=usage)
        ),
    )
    client = make_client(fake_server)
    streamed = client.stream(model="m", messages=USER)
    list(streamed)
    created = client.create(model="m", messages=USER)
    assert streamed.response == created
    assert created.tool_calls == (ToolCall(id="call_1", name="f", arguments='{"a":1}'),)


def test_split_at_every_byte_over_http(fake_server: FakeServer) -> None:
    text = "Grüße ✅ 日本 🌍"
    args = json.dumps({"city": "Zürich"}, ensure_ascii=False)
    body = sse_bytes(
        chunk(text[:5], role="assistant"),
        chunk(text[5:]),
        chunk(tool_calls=[{"index": 0, "id": "c", "function": {"name": "w", "arguments": args}}]),
        chunk(finish="tool_calls"),
        "[DONE]",
        end="\r\n",
    )
    body = b"\xef\xbb\xbf" + body
    fake_server.script(raw_reply([body[i : i + 1] for i in range(len(body))]))
    stream = make_client(fake_server).stream(model="m", messages=USER)
    events = list(stream)
    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == text
    assert stream.response.message.content == text
    assert stream.response.tool_calls == (ToolCall(id="c", name="w", arguments=args),)


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_split_at_every_position_parses_the_same(end: str) -> None:
    body = (
        b": comment\n\n"
        + sse_bytes(
            chunk("é✅", role="assistant"), chunk("🌍"), chunk(finish="stop"), "[DONE]", end=end
        )
        + b"data: ignored after done\n\n"
    )
    expected = list(iter_chunks(iter([body])))
    assert expected[-1] == DONE and len(expected) == 4
    for cut in range(1, len(body)):
        assert list(iter_chunks(iter([body[:cut], body[cut:]]))) == expected, cut


def test_sse_framing_variants() -> None:
    first, second = json.dumps(chunk("multi")).split(", ", 1)
    body = (
        "\ufeff: keep-alive\n\n"
        "data:\n\n"
        "id: 7\nretry: 3000\n\n"
        "event: ping\ndata: \n\n"
        f"data:{json.dumps(chunk('a'))}\n\n"
        f"data: {first},\ndata: {second}\n\n"
        ": OPENROUTER PROCESSING\n\n"
        f"data: {json.dumps(chunk(finish='stop'))}\r\n\r\n"
        "data: [DONE]\n\n"
    ).encode()
    chunks = list(iter_chunks(iter([body])))
    stream = ChatStream(iter(chunks))
    assert [e.delta for e in stream if isinstance(e, TextDelta)] == ["a", "multi"]
    assert stream.response.message.content == "amulti"


def test_parallel_interleaved_tool_calls(fake_server: FakeServer) -> None:
    def tc(index: int, **kw: Any) -> dict:
        return chunk(tool_calls=[{"index": index, **kw}])

    fake_server.script(
        sse_reply(
            [
                chunk(None, role="assistant"),
                tc(0, id="call_a", type="function", function={"name": "a", "arguments": ""}),
                tc(1, id="call_b", type="function", function={"name": "b", "arguments": ""}),
                tc(0, function={"arguments": '{"x"'}),
                tc(1, function={"arguments": '{"y"'}),
                tc(1, function={"arguments": ":2}"}),
                tc(0, function={"arguments": ":1}"}),
                chunk(finish="tool_calls"),
            ]
        )
    )
    stream = make_client(fake_server).stream(model="m", messages=USER)
    deltas = [e for e in stream if isinstance(e, ToolCallDelta)]
    assert [d.index for d in deltas] == [0, 1, 0, 1, 1, 0]
    assert stream.response.tool_calls == (
        ToolCall(id="call_a", name="a", arguments='{"x":1}'),
        ToolCall(id="call_b", name="b", arguments='{"y":2}'),
    )


def test_gemini_style_stream(fake_server: FakeServer) -> None:
    sig = {"google": {"thought_signature": "sig"}}
    usage1 = {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
    usage2 = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    fake_server.script(
        sse_reply(
            [
                chunk(
                    None,
                    role="assistant",
                    usage=usage1,
                    tool_calls=[
                        {
                            "id": "",
                            "type": "function",
                            "function": {"name": "a", "arguments": '{"q":1}'},
                            "extra_content": sig,
                        }
                    ],
                ),
                chunk(tool_calls=[{"function": {"name": "b", "arguments": "{}"}}], usage=usage2),
                chunk(finish="stop", usage=usage2),
            ]
        )
    )
    stream = make_client(fake_server).stream(model="m", messages=USER)
    events = list(stream)
    resp = stream.response
    assert resp.tool_calls == (
        ToolCall(id="call_0", name="a", arguments='{"q":1}', extra_content=sig),
        ToolCall(id="call_1", name="b", arguments="{}"),
    )
    assert resp.finish_reason == "tool_calls"
    assert resp.usage == Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
    assert [e.usage.total_tokens for e in events if isinstance(e, UsageEvent)] == [11, 15]
    assert events[-1] == FinishEvent(finish_reason="tool_calls")


def test_error_event_mid_stream(fake_server: FakeServer) -> None:
    fake_server.script(sse_reply([chunk("Hi"), b"event: error\ndata: upstream failed\n\n"]))
    stream = make_client(fake_server).stream(model="m", messages=USER)
    with pytest.raises(StreamError, match="upstream failed") as info:
        list(stream)
    assert info.value.partial_text == "Hi"


def test_error_object_mid_stream(fake_server: FakeServer) -> None:
    fake_server.script(
        sse_reply(
            [chunk("Hi"), {"error": {"message": "The server had an error", "type": "server_error"}}]
        )
    )
    with pytest.raises(StreamError, match="The server had an error"):
        list(make_client(fake_server).stream(model="m", messages=USER))
    assert len(fake_server.requests) == 1


def test_raw_json_error_after_200_is_truncation(fake_server: FakeServer) -> None:
    tail = b'{\n  "error": {\n    "code": 503,\n    "message": "The model is overloaded."\n  }\n}\n'
    fake_server.script(sse_reply([chunk("Hel"), tail], done=False))
    with pytest.raises(StreamError, match="ended early") as info:
        list(make_client(fake_server).stream(model="m", messages=USER))
    assert info.value.partial_text == "Hel"


def test_reset_mid_stream(fake_server: FakeServer) -> None:
    fake_server.script(reset_reply([sse_bytes(chunk("Hel")), 0.05], status=200))
    with pytest.raises(StreamError, match="broke") as info:
        list(make_client(fake_server).stream(model="m", messages=USER))
    assert info.value.partial_text == "Hel"


def test_garbage_after_done_is_ignored(fake_server: FakeServer) -> None:
    fake_server.script(
        sse_reply(
            [
                chunk("ok"),
                chunk(finish="stop"),
                "[DONE]",
                {"error": {"message": "ignored"}},
                b"junk\n\n",
            ],
            done=False,
        )
    )
    client = make_client(fake_server)
    assert client.stream(model="m", messages=USER).response.message.content == "ok"


def test_json_answer_to_a_stream_request(fake_server: FakeServer) -> None:
    call = {"id": "", "type": "function", "function": {"name": "f", "arguments": ""}}
    fake_server.script(json_reply(completion(None, tool_calls=[call, call], finish="tool_calls")))
    stream = make_client(fake_server).stream(model="m", messages=USER)
    events = list(stream)
    assert [e.index for e in events if isinstance(e, ToolCallDelta)] == [0, 1]
    assert [c.id for c in stream.response.tool_calls] == ["call_0", "call_1"]


def test_json_error_in_200_answer_to_a_stream_request(fake_server: FakeServer) -> None:
    fake_server.script(json_reply({"error": {"message": "bad", "code": 400}}))
    with pytest.raises(APIStatusError, match="bad"):
        list(make_client(fake_server).stream(model="m", messages=USER))


def test_abandoned_stream_releases_the_connection(
    fake_server: FakeServer, gates: list[Gate]
) -> None:
    def slow() -> Reply:
        return gated_sse(gates, [chunk("a")], [chunk("b"), chunk("c"), chunk(finish="stop")])

    fake_server.script(slow(), slow(), slow(), json_reply(completion("after")))
    client = make_client(fake_server, timeout=(2.0, 60.0))
    for _event in client.stream(model="m", messages=USER):
        break
    with client.stream(model="m", messages=USER) as stream:
        next(iter(stream))
    stream = client.stream(model="m", messages=USER)
    next(iter(stream))
    stream.close()
    # Dropped, not drained: draining would have waited for the rest of each body.
    assert not any(gate.passed.is_set() for gate in gates)
    assert client.create(model="m", messages=USER).message.content == "after"
    assert fake_server.connections == 4


def test_stream_content_null_and_empty(fake_server: FakeServer) -> None:
    fake_server.script(sse_reply([chunk(None, role="assistant"), chunk(""), chunk(finish="stop")]))
    stream = make_client(fake_server).stream(model="m", messages=USER)
    assert list(stream) == [FinishEvent(finish_reason="stop")]
    assert stream.response.message.content == ""


def test_closing_before_iterating_releases_the_response(
    fake_server: FakeServer, gates: list[Gate]
) -> None:
    fake_server.script(
        gated_sse(gates, [chunk("a")], [chunk(finish="stop")]), json_reply(completion("next"))
    )
    client = make_client(fake_server, timeout=(2.0, 60.0))
    stream = client.stream(model="m", messages=USER)
    stream.close()
    assert client.create(model="m", messages=USER).message.content == "next"
    assert not gates[0].passed.is_set()  # the first body was dropped, not drained
    assert fake_server.connections == 2
    with pytest.raises(StreamError, match="closed before it finished"):
        _ = stream.response


def test_invalid_utf8_is_a_stream_error(fake_server: FakeServer) -> None:
    fake_server.script(
        sse_reply([chunk("ok"), b'data: {"choices": [{"delta": {"content": "\xff"}}]}\n\n'])
    )
    with pytest.raises(StreamError, match="UTF-8") as info:
        list(make_client(fake_server).stream(model="m", messages=USER))
    assert info.value.partial_text == "ok"


def test_close_from_another_thread_unblocks_the_reader(
    fake_server: FakeServer, gates: list[Gate]
) -> None:
    fake_server.script(
        gated_sse(gates, [chunk("a")], [chunk(finish="stop")]), json_reply(completion("after"))
    )
    client = make_client(fake_server, timeout=(1.0, 60.0))
    stream = client.stream(model="m", messages=USER)
    got_first = threading.Event()
    outcome: list[BaseException | None] = []

    def consume() -> None:
        try:
            for _event in stream:
                got_first.set()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    reader = threading.Thread(target=consume)
    reader.start()
    assert got_first.wait(30)
    time.sleep(0.2)  # let the reader block on the silent connection (not a timing assertion)
    stream.close()
    reader.join(30)  # hang bound only: unblocked by close, the reader ends at once
    assert not reader.is_alive()
    # Ended by the close, not by the server: the rest of the body was never sent.
    assert not gates[0].passed.is_set()
    assert isinstance(outcome[0], APIError), repr(outcome[0])
    assert client.create(model="m", messages=USER).message.content == "after"


def test_close_delimited_stream_is_not_buffered(fake_server: FakeServer, gates: list[Gate]) -> None:
    fake_server.script(gated_sse(gates, [chunk("early")], [chunk(finish="stop")], chunked=False))
    stream = make_client(fake_server, timeout=(2.0, 60.0)).stream(model="m", messages=USER)
    events = iter(stream)
    assert next(events) == TextDelta(delta="early")
    assert not gates[0].passed.is_set()  # delivered before the server sent anything more
    gates[0].opened.set()
    assert list(events) == [FinishEvent(finish_reason="stop")]


TINY = b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'  # < 128 bytes


@pytest.mark.parametrize("chunked", [True, False])
def test_a_tiny_event_is_not_held_back(
    fake_server: FakeServer, gates: list[Gate], chunked: bool
) -> None:
    """No 128-byte (``iter_content``) or line buffering: a 60-byte event arrives at once."""
    assert len(TINY) < 128
    rest = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    gate = Gate()
    gates.append(gate)
    headers = {"Content-Type": "text/event-stream"}
    if not chunked:  # a Content-Length body, as before, sent in two writes
        headers["Content-Length"] = str(len(TINY) + len(rest))
    fake_server.script(Reply(headers=headers, body=gate.body([TINY], [rest]), chunked=chunked))
    stream = make_client(fake_server, timeout=(2.0, 60.0)).stream(model="m", messages=USER)
    events = iter(stream)
    assert next(events) == TextDelta(delta="hi")
    assert not gate.passed.is_set()  # delivered before the server sent anything more
    gate.opened.set()
    assert list(events) == [FinishEvent(finish_reason="stop")]
    assert stream.response.message.content == "hi"


def test_gemini_ids_synthesized_once_and_used_in_the_next_request(fake_server: FakeServer) -> None:
    """No index, no ids, both calls in one delta, a metadata-only delta, finish "stop"."""
    sig = {"google": {"thought_signature": "c2ln"}}
    fake_server.script(
        sse_reply(
            [
                chunk(
                    None,
                    role="assistant",
                    tool_calls=[
                        {"type": "function", "function": {"name": "a", "arguments": '{"x":1}'}},
                        {"id": None, "function": {"name": "b", "arguments": '{"y":2}'}},
                    ],
                ),
                chunk(tool_calls=[{"extra_content": sig}]),
                chunk(finish="STOP"),
            ]
        ),
        json_reply(completion("done")),
    )
    client = make_client(fake_server)
    stream = client.stream(model="m", messages=USER)
    deltas = [e for e in stream if isinstance(e, ToolCallDelta)]
    resp = stream.response
    assert resp.tool_calls == (
        ToolCall(id="call_0", name="a", arguments='{"x":1}'),
        ToolCall(id="call_1", name="b", arguments='{"y":2}', extra_content=sig),
    )
    assert [d.index for d in deltas] == [0, 1]
    assert resp.finish_reason == "tool_calls"
    history = [
        *USER,
        resp.message.to_dict(),
        *(
            {"role": "tool", "tool_call_id": c.id, "name": c.name, "content": "ok"}
            for c in resp.tool_calls
        ),
    ]
    client.create(model="m", messages=history)
    sent = fake_server.requests[1].json["messages"]
    assert [c["id"] for c in sent[1]["tool_calls"]] == ["call_0", "call_1"]
    assert sent[1]["tool_calls"][1]["extra_content"] == sig
    assert [m["tool_call_id"] for m in sent[2:]] == ["call_0", "call_1"]


def test_every_response_is_closed(fake_server: FakeServer) -> None:
    """Finished, abandoned, closed-unread, failed and plain calls all close their response."""
    responses: list[requests.Response] = []

    class Spy(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> requests.Response:
            responses.append(super().request(*args, **kwargs))
            return responses[-1]

    slow = [chunk("a"), 1.0, chunk("b"), chunk(finish="stop")]
    fake_server.script(
        sse_reply(slow),
        sse_reply(slow),
        sse_reply([chunk("a"), chunk(finish="stop")]),
        json_reply({"error": {"message": "bad"}}, status=400),
        sse_reply([chunk("a")], done=False),
        json_reply(completion("x")),
    )
    client = make_client(fake_server, session=Spy())
    for _event in client.stream(model="m", messages=USER):
        break
    assert responses[-1].raw.closed
    client.stream(model="m", messages=USER).close()
    assert responses[-1].raw.closed
    assert client.stream(model="m", messages=USER).response.message.content == "a"
    with pytest.raises(APIStatusError):
        client.stream(model="m", messages=USER)
    with pytest.raises(StreamError):
        list(client.stream(model="m", messages=USER))
    client.create(model="m", messages=USER)
    assert len(responses) == 6
    assert [r.raw.closed for r in responses] == [True] * 6
