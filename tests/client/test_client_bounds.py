"""Hard bounds of the client: JSON nesting, response size, the deadline against trickled headers,
and secrets echoed back in headers, error-body keys and request ids. Small limits, real sockets."""

from __future__ import annotations

import json
import socket
import threading
import time
import traceback

import pytest
from client_support import KEY, USER, make_client
from fakeserver import FakeServer, chunk, completion, json_reply, raw_reply, sse_reply, text_reply

from agentloop import APIError, APIStatusError, APITimeoutError, BadRequestError, StreamError
from agentloop.client.timeouts import Timeout
from agentloop.wire.decode import MAX_DEPTH, loads

# -- JSON nesting -----------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 100_000])
def test_deeply_nested_body_is_an_api_error(fake_server: FakeServer, depth: int) -> None:
    body = json.dumps(completion("x"))[:-1] + f', "deep": {nested(depth)}}}'
    fake_server.script(text_reply(body, content_type="application/json"))
    with pytest.raises(APIStatusError, match="nested deeper"):
        make_client(fake_server).create(model="m", messages=USER)
    assert len(fake_server.requests) == 1  # the same body again would not help


def test_nesting_up_to_the_bound_is_accepted(fake_server: FakeServer) -> None:
    body = json.dumps(completion("ok"))[:-1] + f', "deep": {nested(MAX_DEPTH - 1)}}}'
    fake_server.script(text_reply(body, content_type="application/json"))
    assert make_client(fake_server).create(model="m", messages=USER).message.content == "ok"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deeply_nested_error_body_keeps_its_text(fake_server: FakeServer, depth: int) -> None:
    fake_server.script(
        text_reply('{"error": ' + nested(depth) + "}", status=400, content_type="application/json")
    )
    with pytest.raises(BadRequestError) as caught:
        make_client(fake_server).create(model="m", messages=USER)
    assert isinstance(caught.value.body, str) and caught.value.body.startswith('{"error": [[[')


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deeply_nested_sse_data_is_a_stream_error(fake_server: FakeServer, depth: int) -> None:
    deep = chunk("a") | {"extra": "@"}
    line = json.dumps(deep).replace('"@"', nested(depth))
    fake_server.script(sse_reply([chunk("a", role="assistant"), line, chunk(finish="stop")]))
    stream = make_client(fake_server).stream(model="m", messages=USER)
    with pytest.raises(StreamError, match="nested deeper"):
        list(stream)


def test_loads_bound_counts_objects_and_arrays() -> None:
    assert loads('{"a": ' * MAX_DEPTH + "1" + "}" * MAX_DEPTH)["a"]
    with pytest.raises(ValueError, match="nested deeper"):
        loads('{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1))
    assert loads(b"[" + b"{}," * 5000 + b"{}]")  # many brackets, little depth


# -- response size ----------------------------------------------------------------------------


def test_streamed_response_over_the_cap_is_a_stream_error(fake_server: FakeServer) -> None:
    many = [chunk("x" * 40, role="assistant")] + [chunk("x" * 40)] * 100 + [chunk(finish="stop")]
    fake_server.script(sse_reply(many), sse_reply(many[:3] + many[-1:]))
    client = make_client(fake_server, max_response_bytes=2_000)
    with pytest.raises(StreamError, match="max_response_bytes"):
        list(client.stream(model="m", messages=USER))
    small = client.stream(model="m", messages=USER)  # a small stream passes the same cap
    assert small.response.message.content == "x" * 120


def test_plain_response_over_the_cap_is_an_api_error(fake_server: FakeServer) -> None:
    fake_server.script(json_reply(completion("y" * 5_000)), json_reply(completion("small")))
    client = make_client(fake_server, max_response_bytes=2_000)
    with pytest.raises(APIError, match="larger than 2000 bytes"):
        client.create(model="m", messages=USER)
    assert client.create(model="m", messages=USER).message.content == "small"
    assert len(fake_server.requests) == 2


# -- the deadline against a server trickling its status line and headers ----------------------


class TrickleServer:
    """Accepts one request and sends its status line and headers a byte every ``every`` s."""

    def __init__(self, every: float = 0.02) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"p" * 400
        self.every = every
        self.sent = 0
        self.client_gone = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            try:
                for byte in self.head:
                    conn.sendall(bytes([byte]))
                    self.sent += 1
                    time.sleep(self.every)
            except OSError:
                self.client_gone.set()
                return
            # the client hung up: the next sends fail, or the read sees the end
            self.client_gone.set()


@pytest.mark.parametrize("stream", [False, True])
def test_deadline_holds_against_trickled_headers(stream: bool) -> None:
    server = TrickleServer()
    client = make_client(server, timeout=Timeout(connect=1, read=5, total=0.5), max_retries=0)
    with pytest.raises(APITimeoutError, match=r"within its 0\.5 s deadline"):
        if stream:
            list(client.stream(model="m", messages=USER))
        else:
            client.create(model="m", messages=USER)
    assert server.client_gone.wait(5)
    # the server had not finished its headers: the call ended on the deadline, not on them
    assert server.sent < len(server.head)


# -- secrets echoed back ----------------------------------------------------------------------


def echo_headers() -> dict[str, str]:
    return {"x-request-id": f"req-{KEY}", "Content-Type": "application/json"}


def test_echoed_key_is_redacted_in_request_id_body_keys_and_messages(
    fake_server: FakeServer,
) -> None:
    error = {"error": {"message": f"bad {KEY}", KEY: {"nested": {KEY: f"Bearer {KEY}"}}}}
    fake_server.script(
        json_reply(error, status=400, headers=echo_headers()),
        raw_reply([b"not json " + KEY.encode()], content_type="application/json"),
        sse_reply([{"error": {"message": "boom", KEY: KEY}}]),
    )
    client = make_client(fake_server)
    seen: list[str] = []
    for call in ("create", "create", "stream"):
        with pytest.raises(APIError) as caught:
            result = getattr(client, call)(model="m", messages=USER)
            list(result)
        exc = caught.value
        seen += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        seen += [json.dumps(getattr(exc, "body", None)), str(getattr(exc, "request_id", None))]
    everything = "\n".join(seen)
    assert KEY not in everything
    assert "req-[REDACTED]" in everything and '"[REDACTED]": {"nested"' in everything


def test_request_id_without_secrets_is_kept(fake_server: FakeServer) -> None:
    fake_server.script(json_reply({"error": {"message": "no"}}, status=400,
                                  headers={"x-request-id": "req-123"}))  # fmt: skip
    with pytest.raises(BadRequestError) as caught:
        make_client(fake_server).create(model="m", messages=USER)
    assert caught.value.request_id == "req-123" and "req-123" in str(caught.value)
