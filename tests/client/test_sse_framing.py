"""SSE framing as the specification (and the official openai client) reads it, split at every byte.

Each case is a byte stream and the text a client must read from it. Every case runs three
ways: whole, cut in two at every position, and over a real socket with each byte sent as
its own HTTP chunk (so the client's reader sees every possible split).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from client_support import USER, make_client
from fakeserver import FakeServer, chunk, raw_reply

from agentloop import ChatStream, StreamError, TextDelta
from agentloop.client.sse import frame_events, iter_chunks


def data(content: str | None = None, **kw: Any) -> str:
    return "data: " + json.dumps(chunk(content, **kw), ensure_ascii=False)


FINISH = data(finish="stop")
UNICODE = "Grüße \u2028 日本 🌍"  # U+2028 is no line ending in SSE

# name -> (bytes on the wire, the text the client must read)
CASES: dict[str, tuple[bytes, str]] = {
    "lf": (f"{data('a')}\n\n{data('b')}\n\n{FINISH}\n\ndata: [DONE]\n\n".encode(), "ab"),
    "crlf": (f"{data('a')}\r\n\r\n{data('b')}\r\n\r\n{FINISH}\r\n\r\n".encode(), "ab"),
    "cr": (f"{data('a')}\r\r{data('b')}\r\r{FINISH}\r\rdata: [DONE]\r\r".encode(), "ab"),
    # a blank line made of a CR right after an LF-terminated line, and other mixes
    "lf-then-cr": (f"{data('a')}\n\r{data('b')}\r\n\n{FINISH}\r\r".encode(), "ab"),
    "every-mix": (
        f"{data('a')}\r\n\r{data('b')}\r\r\n{data('c')}\n\r\n{FINISH}\n\n".encode(),
        "abc",
    ),
    "comments-and-fields": (
        (
            f": keep-alive\r\n\r\nevent: message\nid: 1\nretry: 10\n{data('a')}\n\n"
            f":comment\n{data('b')}\r\n: trailing\r\n\r\ndata:\n\n{FINISH}\n\n"
        ).encode(),
        "ab",
    ),
    "multi-line-data": (
        (
            'data: {"id": "x", "choices":\ndata: [{"index": 0,\r\ndata:\r'
            'data: "delta": {"content": "joined"}}]}\n\n'
            f"{FINISH}\n\n"
        ).encode(),
        "joined",
    ),
    "unicode": (f"{data(UNICODE)}\n\n{FINISH}\n\n".encode(), UNICODE),
    # an event the connection cut before its blank line is discarded, not delivered
    "unterminated-last-event": (f"{data('kept')}\n\n{FINISH}\n\n{data('LOST')}\n".encode(), "kept"),
    "unterminated-no-newline": (f"{data('kept')}\n\n{FINISH}\n\n{data('LOST')}".encode(), "kept"),
}


def read(parts: list[bytes]) -> str:
    stream = ChatStream(iter_chunks(iter(parts)))
    return "".join(e.delta for e in stream if isinstance(e, TextDelta))


@pytest.mark.parametrize("name", sorted(CASES))
def test_whole_body(name: str) -> None:
    body, text = CASES[name]
    assert read([body]) == text


@pytest.mark.parametrize("name", sorted(CASES))
def test_cut_at_every_position(name: str) -> None:
    body, text = CASES[name]
    for cut in range(1, len(body)):
        assert read([body[:cut], body[cut:]]) == text, (name, cut, body[:cut])


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_byte_its_own_chunk_over_a_socket(fake_server: FakeServer, name: str) -> None:
    body, text = CASES[name]
    fake_server.script(raw_reply([body[i : i + 1] for i in range(len(body))]))
    with make_client(fake_server, max_retries=0).stream(model="m", messages=USER) as stream:
        got = "".join(e.delta for e in stream if isinstance(e, TextDelta))
    assert got == text
    assert stream.response.message.content == text


def test_framing_yields_only_complete_events_with_lf_endings() -> None:
    parts = [b"data: 1\r", b"\n\r", b"\ndata: 2\r\r", b"data: 3\n"]
    assert list(frame_events(iter(parts))) == [b"data: 1\n\n", b"data: 2\n\n"]


@pytest.mark.parametrize(
    "line",
    ["data: not json at all", "data: {'single': 'quotes'}", 'data: {"cut": ', "data: DONE"],
)
def test_data_that_is_not_json_is_an_error_quoting_it(line: str) -> None:
    body = f"{data('a')}\n\n{line}\n\n{FINISH}\n\n".encode()
    with pytest.raises(StreamError) as caught:
        read([body])
    assert line[6:].strip()[:40] in str(caught.value)


def test_data_that_is_not_json_over_a_socket(fake_server: FakeServer) -> None:
    body = f"{data('a')}\n\ndata: <html>oops</html>\n\n{FINISH}\n\n".encode()
    fake_server.script(raw_reply([body[i : i + 1] for i in range(len(body))]))
    stream = make_client(fake_server, max_retries=0).stream(model="m", messages=USER)
    with pytest.raises(StreamError, match="<html>oops"):
        list(stream)


@pytest.mark.parametrize(
    "keep_alive",
    [b"data:\n\n", b"data: \n\n", b": ping\n\n", b"event: ping\ndata: ping\n\n", b"\n\n\n"],
)
def test_known_keep_alives_are_skipped(keep_alive: bytes) -> None:
    body = f"{data('a')}\n\n".encode() + keep_alive + f"{FINISH}\n\n".encode()
    assert read([body]) == "a"


def test_an_error_event_with_text_data_is_an_error_object() -> None:
    body = b"event: error\ndata: upstream exploded\n\n"
    assert list(iter_chunks(iter([body]))) == [{"error": {"message": "upstream exploded"}}]
