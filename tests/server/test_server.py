"""The local OpenAI-compatible server, through real sockets on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from agentloop.errors import APIConnectionError, RateLimitError
from agentloop.messages import ChatResponse
from agentloop.offline.model import OfflineModel
from agentloop.server.app import make_server
from agentloop.streaming import DONE, ChatStream, parse_response

CALC = {
    "type": "function",
    "function": {
        "name": "calculate",
        "description": "Evaluate an arithmetic expression.",
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    },
}
QUESTION = [{"role": "user", "content": "What is 12 * (3 + 4)?"}]


class Running:
    """A server on a free loopback port, serving in a background thread."""

    def __init__(self, model: Any, **options: Any) -> None:
        self.server = make_server(model, port=0, **options)
        self.host, self.port = self.server.server_address[:2]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def client(self, api_key: str = "unused") -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key=api_key, max_retries=0, timeout=10)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def running() -> Iterator[Running]:
    server = Running(OfflineModel())
    yield server
    server.stop()


def sse_chunks(raw: bytes) -> list[Any]:
    """Decode an SSE body into chunk dicts (and DONE), checking the framing."""
    out: list[Any] = []
    assert raw.endswith(b"\n\n")
    for event in raw.decode().split("\n\n")[:-1]:
        assert event.startswith("data: ")
        data = event[len("data: ") :]
        out.append(DONE if data == "[DONE]" else json.loads(data))
    return out


# -- the official client -----------------------------------------------------------------


def test_openai_client_tool_call_round_trip(running):
    client = running.client()
    first = client.chat.completions.create(model="offline", messages=QUESTION, tools=[CALC])
    expected = OfflineModel().create(messages=QUESTION, tools=[CALC])
    assert first.choices[0].finish_reason == "tool_calls"
    call = first.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, call.function.arguments) == (
        expected.tool_calls[0].id,
        "calculate",
        '{"expression":"12 * (3 + 4)"}',
    )
    assert first.usage.total_tokens == expected.usage.total_tokens
    history = [
        *QUESTION,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "84"},
    ]
    final = client.chat.completions.create(model="offline", messages=history, tools=[CALC])
    assert final.choices[0].message.content == "The result of calculate is 84."


def test_openai_client_streams_tool_calls_and_usage(running):
    stream = running.client().chat.completions.create(
        model="offline",
        messages=QUESTION,
        tools=[CALC],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in chunks:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or ():
                slot = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] = slot["id"] or (delta.id or "")
                if delta.function:
                    slot["name"] += delta.function.name or ""
                    slot["arguments"] += delta.function.arguments or ""
            finish = choice.finish_reason or finish
    expected = OfflineModel().create(messages=QUESTION, tools=[CALC])
    call = expected.tool_calls[0]
    assert calls == {0: {"id": call.id, "name": call.name, "arguments": call.arguments}}
    assert finish == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == expected.usage.total_tokens


def test_openai_client_streams_text(running):
    messages = [{"role": "user", "content": "hello there"}]
    stream = running.client().chat.completions.create(
        model="offline", messages=messages, stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == OfflineModel().create(messages=messages).message.content


def test_openai_client_sees_bad_request(running):
    with pytest.raises(openai.BadRequestError) as info:
        running.client().chat.completions.create(
            model="offline", messages=QUESTION, tool_choice="required"
        )
    assert info.value.status_code == 400
    assert info.value.body["param"] == "tool_choice"
    assert info.value.body["type"] == "invalid_request_error"


def test_models_listing(running):
    models = running.client().models.list()
    assert [m.id for m in models.data] == ["offline"]
    assert running.client().models.retrieve("offline").id == "offline"
    with pytest.raises(openai.NotFoundError):
        running.client().models.retrieve("gpt-9")


def test_model_name_option():
    server = Running(OfflineModel(), model_name="house-model")
    try:
        status, _, body = server.request("GET", "/models")
        assert status == 200 and json.loads(body)["data"][0]["id"] == "house-model"
    finally:
        server.stop()


# -- transcripts: in-process equals over HTTP --------------------------------------------


def test_agent_transcript_is_the_same_over_http(running):
    from agentloop import Agent, tool
    from agentloop.providers.registry import resolve_model

    @tool
    def calculate(expression: str) -> str:
        """Evaluate an arithmetic expression.

        Args:
            expression: The expression, e.g. ``2 * (3 + 4)``.
        """
        return str(eval(expression, {"__builtins__": {}}))  # noqa: S307 - test input only

    remote = resolve_model("local:offline", base_url=running.base_url, env={})
    here = Agent(model="offline", tools=[calculate]).run("What is 12 * (3 + 4)?")
    there = Agent(model=remote, tools=[calculate]).run("What is 12 * (3 + 4)?")
    assert "84" in here.output
    assert [dict(m) for m in there.messages] == [dict(m) for m in here.messages]
    assert there.output == here.output


# -- errors and HTTP behaviour -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/v1/chat/completions", b"{not json", 400, None),
        ("POST", "/v1/chat/completions", b"[1, 2]", 400, None),
        ("POST", "/v1/chat/completions", {"messages": QUESTION}, 400, None),
        ("POST", "/v1/chat/completions", {"model": "offline"}, 400, None),
        ("POST", "/v1/chat/completions", {"model": "offline", "messages": QUESTION, "stream": "yes"}, 400, None),
        ("POST", "/v1/chat/completions", {"model": "offline", "messages": QUESTION, "stream_options": {}}, 400, None),
        ("POST", "/v1/chat/completions", {"model": "offline", "messages": [{"role": "x"}]}, 400, None),
        ("GET", "/v1/chat/completions", None, 405, "method_not_allowed"),
        ("DELETE", "/v1/models", None, 405, "method_not_allowed"),
        ("GET", "/v1/nothing", None, 404, "unknown_url"),
    ],
)  # fmt: skip
def test_error_bodies_match_openai(running, method, path, body, status, code):
    got, headers, raw = running.request(method, path, body)
    assert got == status
    assert headers["Content-Type"] == "application/json"
    error = json.loads(raw)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["code"] == code
    if status == 405:
        assert headers["Allow"]


def test_bad_stream_request_fails_before_streaming(running):
    body = {"model": "offline", "messages": [], "stream": True}
    status, headers, raw = running.request("POST", "/v1/chat/completions", body)
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert json.loads(raw)["error"]["param"] == "messages"


def test_api_key_is_required_when_configured():
    server = Running(OfflineModel(), api_key="s3cret-key")
    try:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-key"}):
            status, _, raw = server.request("GET", "/v1/models", headers=headers)
            assert status == 401
            assert json.loads(raw)["error"]["code"] == "invalid_api_key"
            assert b"s3cret" not in raw
        with pytest.raises(openai.AuthenticationError):
            server.client("nope").chat.completions.create(model="offline", messages=QUESTION)
        ok = server.client("s3cret-key").chat.completions.create(model="offline", messages=QUESTION)
        assert ok.choices[0].finish_reason == "stop"
    finally:
        server.stop()


def test_api_key_is_taken_only_with_the_bearer_scheme():
    server = Running(OfflineModel(), api_key="s3cret-key")
    try:
        for scheme in ("Basic", "Token", "ApiKey", "Bearerx"):
            status, _, _ = server.request(
                "GET", "/v1/models", headers={"Authorization": f"{scheme} s3cret-key"}
            )
            assert status == 401, scheme
        for scheme in ("Bearer", "bearer", "BEARER"):  # the scheme is case-insensitive
            status, _, _ = server.request(
                "GET", "/v1/models", headers={"Authorization": f"{scheme} s3cret-key"}
            )
            assert status == 200, scheme
    finally:
        server.stop()


def test_binds_loopback_by_default():
    server = make_server(OfflineModel(), port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_keep_alive_serves_several_requests_on_one_connection(running):
    conn = http.client.HTTPConnection(running.host, running.port, timeout=10)
    try:
        for stream in (False, True, False):
            body = json.dumps({"model": "offline", "messages": QUESTION, "stream": stream})
            conn.request("POST", "/v1/chat/completions", body=body)
            resp = conn.getresponse()
            assert resp.status == 200
            resp.read()
            assert not resp.will_close
    finally:
        conn.close()


def test_sse_framing_and_done(running):
    body = {"model": "offline", "messages": QUESTION, "tools": [CALC], "stream": True}
    status, headers, raw = running.request("POST", "/v1/chat/completions", body)
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    chunks = sse_chunks(raw)
    assert chunks[-1] is DONE
    stream = ChatStream(chunks)
    list(stream)
    assert stream.response.choices == OfflineModel().create(messages=QUESTION, tools=[CALC]).choices


def test_http_1_0_stream_is_close_delimited(running):
    body = json.dumps({"model": "offline", "messages": QUESTION, "stream": True}).encode()
    head = (
        "POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((running.host, running.port), timeout=10) as sock:
        sock.sendall(head + body)
        raw = b""
        while data := sock.recv(65536):
            raw += data
    headers, _, payload = raw.partition(b"\r\n\r\n")
    assert b"chunked" not in headers.lower()
    assert sse_chunks(payload)[-1] is DONE


# -- a gateway in front of another model ---------------------------------------------------


class FakeUpstream:
    """A Model whose answers are canned chunks (as a remote provider would send them)."""

    name = "upstream-model"

    def __init__(self, chunks: list[dict[str, Any]], error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error

    def create(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatResponse:
        if self.error:
            raise self.error
        stream = ChatStream(self.chunks)
        return stream.response

    def stream(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatStream:
        if self.error:
            raise self.error
        return ChatStream(self.chunks)


def gemini_like_chunks() -> list[dict[str, Any]]:
    """No index, no ids, a thought signature, and ``stop`` for a tool-call turn."""
    sig = {"google": {"thought_signature": "c2ln"}}
    base = {"id": "up-1", "object": "chat.completion.chunk", "created": 5, "model": "g"}
    calls = [
        {"id": "", "type": "function", "function": {"name": "a", "arguments": '{"x":1}'},
         "extra_content": sig},
        {"id": "", "type": "function", "function": {"name": "b", "arguments": "{}"}},
    ]  # fmt: skip
    return [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": calls}}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "STOP"}]},
        {**base, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4,
                                          "total_tokens": 9}},
    ]  # fmt: skip


@pytest.mark.parametrize("stream", [False, True])
def test_gateway_relays_what_the_model_assembled(stream):
    upstream = FakeUpstream(gemini_like_chunks())
    expected = ChatStream(gemini_like_chunks()).response
    server = Running(upstream)
    try:
        body = {"model": "upstream-model", "messages": QUESTION, "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        status, _, raw = server.request("POST", "/v1/chat/completions", body)
        assert status == 200
        if stream:
            got = ChatStream(sse_chunks(raw))
            list(got)
            response = got.response
        else:
            response = parse_response(json.loads(raw))
        assert response.choices == expected.choices
        assert [c.id for c in response.tool_calls] == ["call_0", "call_1"]
        assert response.tool_calls[0].extra_content == {"google": {"thought_signature": "c2ln"}}
        assert response.finish_reason == "tool_calls"
        assert response.usage.total_tokens == 9
    finally:
        server.stop()


def test_gateway_deduplicates_repeated_ids_in_stream():
    base = {"id": "up", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    calls = [
        {"index": 0, "id": "same", "function": {"name": "a", "arguments": "{}"}},
        {"index": 1, "id": "same", "function": {"name": "b", "arguments": "{}"}},
    ]
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"tool_calls": calls}}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    expected = ChatStream(list(chunks)).response
    server = Running(FakeUpstream(chunks))
    try:
        body = {"model": "upstream-model", "messages": QUESTION, "stream": True}
        _, _, raw = server.request("POST", "/v1/chat/completions", body)
        got = ChatStream(sse_chunks(raw))
        list(got)
        assert [c.id for c in got.response.tool_calls] == [c.id for c in expected.tool_calls]
        assert len({c.id for c in got.response.tool_calls}) == 2
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (
            RateLimitError(
                "slow down",
                status_code=429,
                body={"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
            ),
            429,
            "requests",
        ),
        (APIConnectionError("connection refused"), 502, "upstream_error"),
        (RuntimeError("secret internals"), 500, "server_error"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_errors_map_to_status(error, status, kind, stream):
    server = Running(FakeUpstream([], error=error))
    try:
        body = {"model": "upstream-model", "messages": QUESTION, "stream": stream}
        got, _, raw = server.request("POST", "/v1/chat/completions", body)
        assert got == status
        detail = json.loads(raw)["error"]
        assert detail["type"] == kind
        assert "secret internals" not in detail["message"]
    finally:
        server.stop()


def test_error_mid_stream_is_an_error_event_without_done():
    base = {"id": "up", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"content": "partial "}}]},
        {"error": {"message": "The server had an error", "type": "server_error"}},
    ]
    server = Running(FakeUpstream(chunks))
    try:
        body = {"model": "upstream-model", "messages": QUESTION, "stream": True}
        status, _, raw = server.request("POST", "/v1/chat/completions", body)
        assert status == 200
        events = sse_chunks(raw)
        assert DONE not in events
        assert events[-1]["error"]["type"] == "upstream_error"
        assert events[1]["choices"][0]["delta"] == {"content": "partial "}
    finally:
        server.stop()


def test_client_disconnect_mid_stream_closes_the_model_stream():
    closed = threading.Event()

    def endless() -> Iterator[dict[str, Any]]:
        base = {"id": "up", "object": "chat.completion.chunk", "created": 1, "model": "m"}
        try:
            while True:
                yield {**base, "choices": [{"index": 0, "delta": {"content": "x" * 512}}]}
        finally:
            closed.set()

    class Endless(FakeUpstream):
        def stream(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatStream:
            return ChatStream(endless())

    server = Running(Endless([]))
    try:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        body = json.dumps({"model": "upstream-model", "messages": QUESTION, "stream": True})
        conn.request("POST", "/v1/chat/completions", body=body)
        resp = conn.getresponse()
        resp.read(2048)
        conn.sock.close()
        conn.close()
        assert closed.wait(10)
    finally:
        server.stop()


# -- serve(): the blocking entry point behind `agentloop serve` ----------------------------


def test_serve_prints_its_url_serves_and_stops_on_interrupt():
    code = (
        "from agentloop.server.app import serve\n"
        "from agentloop.offline.model import OfflineModel\n"
        "serve(OfflineModel(), port=0)\n"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        line = proc.stderr.readline()
        assert "serving 'offline' at http://127.0.0.1:" in line
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/v1/models")
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
