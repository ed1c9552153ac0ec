"""ChatClient.create against a real local HTTP server: body, headers, errors, secrets, reuse."""

from __future__ import annotations

import gzip
import json
import logging
import traceback
from typing import Any

import pytest
import requests
from client_support import KEY, USER, FakeClock, make_client
from fakeserver import FakeServer, Reply, completion, json_reply, sse_reply, text_reply
from fakeserver import chunk as sse_chunk

import agentloop
from agentloop import (
    AgentloopError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ChatClient,
    ChatResponse,
    ConfigurationError,
    InternalServerError,
    Message,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
    ToolCall,
    Usage,
)
from agentloop.client.chat import Timeout


def test_create_parses_response_and_sends_minimal_body(fake_server: FakeServer) -> None:
    body = completion(
        "Hello",
        usage={
            "prompt_tokens": 9,
            "completion_tokens": 12,
            "total_tokens": 21,
            "completion_tokens_details": {"reasoning_tokens": 4},
        },
    )
    fake_server.script(json_reply(body))
    with make_client(fake_server) as client:
        resp = client.create(model="gpt-x", messages=USER)
    assert isinstance(resp, ChatResponse)
    assert (resp.id, resp.model, resp.created) == ("chatcmpl-fake", "fake-model", 1)
    assert resp.message.role == "assistant" and resp.message.content == "Hello"
    assert resp.message.refusal is None and resp.message.tool_calls == ()
    assert resp.finish_reason == "stop"
    assert resp.usage == Usage(
        prompt_tokens=9, completion_tokens=12, total_tokens=21, reasoning_tokens=4
    )
    assert resp.raw == body
    sent = fake_server.requests[0]
    assert sent.method == "POST" and sent.path == "/v1/chat/completions"
    assert sent.json == {"model": "gpt-x", "messages": USER}
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["User-Agent"].startswith("agentloop/")


def test_top_level_export() -> None:
    assert agentloop.ChatClient is agentloop.client.chat.ChatClient


def test_error_tree() -> None:
    for cls in (APIConnectionError, APIStatusError, StreamError):
        assert issubclass(cls, APIError) and issubclass(cls, AgentloopError)
    assert issubclass(APITimeoutError, APIConnectionError)
    for cls in (
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        BadRequestError,
        RateLimitError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError)


def test_custom_headers_are_sent_and_streams_ask_for_sse(fake_server: FakeServer) -> None:
    fake_server.script(
        json_reply(completion("x")), sse_reply([sse_chunk("y"), sse_chunk(finish="stop")])
    )
    client = make_client(fake_server, headers={"X-Team": "blue", "OpenAI-Organization": "org-1"})
    client.create(model="m", messages=USER)
    assert client.stream(model="m", messages=USER).response.message.content == "y"
    plain, streamed = fake_server.requests
    for sent in (plain, streamed):
        assert sent.headers["X-Team"] == "blue"
        assert sent.headers["OpenAI-Organization"] == "org-1"
        assert sent.headers["Content-Type"] == "application/json"
        assert sent.headers["Authorization"] == f"Bearer {KEY}"
        assert sent.headers["User-Agent"].startswith("agentloop/")
    assert plain.headers["Accept"] == "application/json"
    assert streamed.headers["Accept"] == "text/event-stream"


def test_connect_and_read_timeouts_are_passed_separately(fake_server: FakeServer) -> None:
    seen: list[Any] = []

    class Spy(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> requests.Response:
            seen.append(kwargs["timeout"])
            return super().request(*args, **kwargs)

    fake_server.script(json_reply(completion("x")))
    client = make_client(fake_server, session=Spy(), timeout=Timeout(connect=1.5, read=7, total=60))
    client.create(model="m", messages=USER)
    assert seen == [(1.5, 7)]


def test_no_authorization_without_key(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENTLOOP_API_KEY", raising=False)
    fake_server.script(json_reply(completion("x")))
    make_client(fake_server, api_key=None).create(model="m", messages=USER)
    assert "Authorization" not in fake_server.requests[0].headers


def test_key_and_base_url_from_environment(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTLOOP_API_KEY", "env-key-123456")
    monkeypatch.setenv("AGENTLOOP_BASE_URL", fake_server.base_url)
    fake_server.script(json_reply(completion("x")))
    ChatClient().create(model="m", messages=USER)
    assert fake_server.requests[0].headers["Authorization"] == "Bearer env-key-123456"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "ftp://x/v1"},
        {"base_url": "http://user:pw@host/v1"},
        {"base_url": "http://h/v1", "max_retries": -1},
        {"base_url": "http://h/v1", "timeout": "soon"},
        {"base_url": "http://h/v1", "timeout": 0},
        {"base_url": "http://h/v1", "timeout": (-1, 5)},
        {"base_url": "http://h/v1", "timeout": (5, float("nan"))},
        {"base_url": "http://h/v1", "timeout": Timeout(total=-3)},
        {"base_url": "http://h/v1", "headers": {"X-Note": "caf\u00e9 \u2615"}},
        {"base_url": "http://h/v1", "headers": {"X-Note": "a\r\nInjected: 1"}},
        {"base_url": "http://h/v1", "headers": {"X-Count": 3}},
    ],
)
def test_bad_configuration(kwargs: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError):
        ChatClient(**kwargs)


def test_missing_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTLOOP_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="base_url"):
        ChatClient(api_key="k")


def test_timeout_forms() -> None:
    assert ChatClient(base_url="http://h/v1", timeout=30).timeout == Timeout(
        connect=5.0, read=30.0, total=30.0
    )
    assert ChatClient(base_url="http://h/v1", timeout=(1, 2)).timeout == Timeout(
        connect=1, read=2, total=600.0
    )


def test_every_parameter_is_sent_as_the_real_api_expects(fake_server: FakeServer) -> None:
    fake_server.script(json_reply(completion("x")))
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    schema = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}}
    params: dict[str, Any] = {
        "temperature": 0.2,
        "top_p": 1,
        "n": 1,
        "stop": ["a", "b", "c", "d"],
        "max_tokens": 50,
        "presence_penalty": -2,
        "frequency_penalty": 1.5,
        "logit_bias": {50256: -100},
        "user": "u1",
        "response_format": schema,
        "seed": 42,
        "tools": [tool],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "reasoning_effort": "low",
        "parallel_tool_calls": False,
        "max_completion_tokens": 99,
    }
    make_client(fake_server).create(
        model="m",
        messages=USER,
        top_logprobs=None,
        extra_body={"google": {"thinking_config": {}}},
        **params,
    )
    sent = fake_server.requests[0].json
    expected = {**params, "logit_bias": {"50256": -100}, "google": {"thinking_config": {}}}
    assert sent == {"model": "m", "messages": USER, **expected}


def test_tool_objects_and_message_objects_are_converted(fake_server: FakeServer) -> None:
    class FakeTool:
        definition = {"type": "function", "function": {"name": "t", "parameters": {}}}

    fake_server.script(json_reply(completion("x")))
    messages = [
        Message(role="user", content="hi"),
        Message(
            role="assistant", content=None, tool_calls=(ToolCall(id="c", name="t", arguments="{}"),)
        ),
        {"role": "tool", "tool_call_id": "c", "content": "ok", "name": "t"},
    ]
    make_client(fake_server).create(
        model="m",
        messages=messages,
        tools=[FakeTool()],
        response_format={"type": "json_object"},
        stop="END",
    )
    sent = fake_server.requests[0].json
    assert sent["tools"] == [FakeTool.definition]
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "t", "arguments": "{}"}}
        ],
    }
    assert sent["stop"] == "END"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"temperature": 2.5}, "temperature.*out of range"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": "hot"}, "temperature.*number"),
        ({"temperature": True}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"n": 0}, "'n'"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "1 to 4 stop"),
        ({"stop": [1]}, "stop"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"presence_penalty": 3}, "presence_penalty"),
        ({"frequency_penalty": -2.1}, "frequency_penalty"),
        ({"logit_bias": {"abc": 1}}, "logit_bias"),
        ({"logit_bias": {1: 200}}, "logit_bias"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, "json_schema"),
        ({"seed": 1.5}, "seed"),
        ({"tools": "get_weather"}, "tools"),
        ({"tools": [{"function": {"name": "x"}}]}, r"tools\[0\]"),
        ({"tools": [{"type": "function", "function": {}}]}, r"tools\[0\]"),
        ({"tool_choice": "maybe"}, "tool_choice"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"parallel_tool_calls": True}, "only valid together with 'tools'"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"seen": 1}, "did you mean 'seed'.*extra_body"),
        ({"foo": 1}, "unknown parameter.*extra_body"),
        ({"extra_body": "x"}, "extra_body"),
    ],
)
def test_invalid_parameters_are_rejected_before_sending(
    fake_server: FakeServer, params: dict, match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        make_client(fake_server).create(model="m", messages=USER, **params)
    assert fake_server.requests == []


@pytest.mark.parametrize(
    ("model", "messages"),
    [
        ("", USER),
        (None, USER),
        ("m", []),
        ("m", "hi"),
        ("m", [{"content": "no role"}]),
    ],
)
def test_invalid_model_or_messages(fake_server: FakeServer, model: Any, messages: Any) -> None:
    with pytest.raises(ConfigurationError):
        make_client(fake_server).create(model=model, messages=messages)


def test_unserializable_body_is_a_configuration_error(fake_server: FakeServer) -> None:
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        make_client(fake_server).create(model="m", messages=[{"role": "user", "content": object()}])
    with pytest.raises(ConfigurationError):
        make_client(fake_server).create(model="m", messages=USER, extra_body={"x": float("nan")})


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, APIStatusError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
    ],
)
def test_status_code_exceptions(fake_server: FakeServer, status: int, cls: type) -> None:
    error = {"error": {"message": f"failure {status}", "type": "x", "param": None, "code": None}}
    fake_server.script(
        json_reply(
            error, status=status, headers={"x-request-id": "req_1", "x-should-retry": "false"}
        )
    )
    with pytest.raises(cls) as info:
        make_client(fake_server).create(model="m", messages=USER)
    assert type(info.value) is cls
    assert info.value.status_code == status
    assert info.value.body == error["error"]
    assert info.value.request_id == "req_1"
    assert f"failure {status}" in str(info.value)
    assert len(fake_server.requests) == 1


def test_gemini_invalid_key_is_authentication_error(fake_server: FakeServer) -> None:
    body = [
        {
            "error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                    }
                ],
            }
        }
    ]
    fake_server.script(json_reply(body, status=400))
    with pytest.raises(AuthenticationError, match="API key not valid") as info:
        make_client(fake_server).create(model="m", messages=USER)
    assert info.value.status_code == 400
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize(
    ("reply", "text"),
    [
        (text_reply("upstream connect error", status=400), "upstream connect error"),
        (
            text_reply(
                "<html><body><h1>400 Bad Request</h1></body></html>",
                status=400,
                content_type="text/html",
            ),
            "400 Bad Request",
        ),
        (
            json_reply(
                {"error": {"message": "bad", "type": "None", "param": "None", "code": "400"}},
                status=400,
            ),
            "bad",
        ),
        (json_reply({"detail": "nope"}, status=400), "nope"),
        (text_reply("", status=400), "empty body"),
    ],
)
def test_error_body_shapes(fake_server: FakeServer, reply: Any, text: str) -> None:
    fake_server.script(reply)
    with pytest.raises(BadRequestError, match=text):
        make_client(fake_server).create(model="m", messages=USER)


def test_error_inside_200_body(fake_server: FakeServer) -> None:
    fake_server.script(
        json_reply({"error": {"code": 404, "message": "no such model"}}),
        json_reply({"error": {"message": "provider exploded"}}),
    )
    client = make_client(fake_server)
    with pytest.raises(NotFoundError, match="no such model"):
        client.create(model="m", messages=USER)
    with pytest.raises(APIStatusError, match="provider exploded") as info:
        client.create(model="m", messages=USER)
    assert info.value.status_code == 200
    assert len(fake_server.requests) == 2


@pytest.mark.parametrize(
    "reply",
    [
        text_reply("<html>Bad gateway</html>", content_type="text/html"),
        json_reply({"choices": []}),
        json_reply({"object": "chat.completion"}),
    ],
)
def test_unusable_200_body_is_not_retried(fake_server: FakeServer, reply: Any) -> None:
    fake_server.script(reply)
    with pytest.raises(APIStatusError) as info:
        make_client(fake_server).create(model="m", messages=USER)
    assert info.value.status_code == 200
    assert len(fake_server.requests) == 1


def test_content_null_and_tool_calls_with_extra_content_round_trip(
    fake_server: FakeServer,
) -> None:
    sig = {"google": {"thought_signature": "CiQB+sig=="}}
    call = {
        "id": "",
        "type": "function",
        "function": {"name": "f", "arguments": '{"a":1}'},
        "extra_content": sig,
    }
    fake_server.script(
        json_reply(completion(None, tool_calls=[call], finish="stop")), json_reply(completion(""))
    )
    client = make_client(fake_server)
    first = client.create(model="m", messages=USER)
    assert first.message.content is None
    assert first.tool_calls == (
        ToolCall(id="call_0", name="f", arguments='{"a":1}', extra_content=sig),
    )
    assert first.finish_reason == "tool_calls"
    history = [
        *USER,
        first.message.to_dict(),
        {"role": "tool", "tool_call_id": "call_0", "name": "f", "content": "1"},
    ]
    second = client.create(model="m", messages=history)
    assert second.message.content == ""
    assert fake_server.requests[1].json["messages"][1]["tool_calls"][0]["extra_content"] == sig


def test_redirects_are_not_followed(fake_server: FakeServer) -> None:
    with FakeServer() as canary:
        fake_server.script(
            json_reply({}, status=307, headers={"Location": canary.base_url + "/chat/completions"})
        )
        with pytest.raises(APIStatusError, match="redirect") as info:
            make_client(fake_server).create(model="m", messages=USER)
        assert info.value.status_code == 307
        assert canary.requests == []


def test_create_with_stream_true_returns_the_assembled_response(fake_server: FakeServer) -> None:
    fake_server.script(
        sse_reply([sse_chunk("a", role="assistant"), sse_chunk("b"), sse_chunk(finish="stop")])
    )
    resp = make_client(fake_server).create(model="m", messages=USER, stream=True)
    assert resp.message.content == "ab"
    assert fake_server.requests[0].json["stream"] is True


def test_sse_answer_to_a_plain_request_is_assembled(fake_server: FakeServer) -> None:
    fake_server.script(sse_reply([sse_chunk("ok"), sse_chunk(finish="stop")]))
    assert make_client(fake_server).create(model="m", messages=USER).message.content == "ok"


def test_sequential_calls_reuse_one_connection(fake_server: FakeServer) -> None:
    for _ in range(5):
        fake_server.script(
            json_reply(completion("x")), sse_reply([sse_chunk("y"), sse_chunk(finish="stop")])
        )
    with make_client(fake_server) as client:
        for _ in range(5):
            assert client.create(model="m", messages=USER).message.content == "x"
            stream = client.stream(model="m", messages=USER)
            assert stream.response.message.content == "y"
        fake_server.script(json_reply({"error": {"message": "no"}}, status=400))
        with pytest.raises(BadRequestError):
            client.create(model="m", messages=USER)
        fake_server.script(json_reply(completion("z")))
        client.create(model="m", messages=USER)
    assert len(fake_server.requests) == 12
    assert fake_server.connections == 1


def test_connection_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeServer() as server:
        url = server.base_url
    clock = FakeClock()
    client = ChatClient(base_url=url, api_key=KEY, clock=clock, timeout=(1, 1))
    with pytest.raises(APIConnectionError, match="could not reach"):
        client.create(model="m", messages=USER)
    assert clock.sleeps == [0.4375, 0.875]


# -- secrets ------------------------------------------------------------------------------


def test_key_never_leaks(
    fake_server: FakeServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {
        "error": {
            "message": f"Incorrect API key provided: {KEY}",
            "request_headers": {"Authorization": f"Bearer {KEY}"},
        }
    }
    fake_server.script(
        json_reply(echo, status=401),
        text_reply(
            f"<html>Authorization: Bearer {KEY}</html>", status=403, content_type="text/html"
        ),
        json_reply(echo, status=503),
        json_reply(echo, status=503),
        json_reply(echo, status=503),
        json_reply(
            {"error": {"message": f"key {KEY} over quota", "code": 429}},
            headers={"x-should-retry": "false"},
        ),
        sse_reply([sse_chunk("a"), {"error": {"message": f"bad key {KEY}"}}]),
    )
    client = make_client(fake_server, headers={"X-Api-Key": "another-secret-value"})
    texts = [repr(client), str(client)]
    for _ in range(4):
        with pytest.raises(APIStatusError) as info:
            client.create(model="m", messages=USER)
        exc = info.value
        texts += [str(exc), repr(exc), repr(exc.body), "".join(traceback.format_exception(exc))]
    with pytest.raises(agentloop.StreamError) as sinfo:
        list(client.stream(model="m", messages=USER))
    texts += [str(sinfo.value), "".join(traceback.format_exception(sinfo.value))]
    print(*texts)
    out = capsys.readouterr()
    everything = "\n".join([*texts, caplog.text, out.out, out.err])
    assert "Incorrect API key provided: [REDACTED]" in everything
    assert KEY not in everything
    assert "another-secret-value" not in everything
    assert "retrying" in caplog.text


def test_api_key_is_stripped_and_checked(fake_server: FakeServer) -> None:
    fake_server.script(json_reply(completion("x")))
    make_client(fake_server, api_key=f"  {KEY}\n").create(model="m", messages=USER)
    assert fake_server.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    with pytest.raises(ConfigurationError, match="whitespace") as info:
        make_client(fake_server, api_key="sk-abc def-secret")
    assert "def-secret" not in str(info.value)
    with pytest.raises(ConfigurationError, match="non-ASCII") as info:
        make_client(fake_server, api_key="sk-abc\u2013def-secret")
    assert "def-secret" not in str(info.value)
    with pytest.raises(ConfigurationError, match="X-Api-Key") as info:
        make_client(fake_server, headers={"X-Api-Key": "secret-\u2013-value"})
    assert "secret-" not in str(info.value)
    assert fake_server.requests[1:] == []


def test_gzip_encoded_body(fake_server: FakeServer) -> None:
    body = gzip.compress(json.dumps(completion("zipped ✅")).encode())
    fake_server.script(
        Reply(headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}, body=[body])
    )
    assert make_client(fake_server).create(model="m", messages=USER).message.content == "zipped ✅"


def test_own_session_is_used_and_left_open(fake_server: FakeServer) -> None:
    session = requests.Session()
    session.headers["X-From-Session"] = "yes"
    fake_server.script(json_reply(completion("a")), json_reply(completion("b")))
    with make_client(fake_server, session=session) as client:
        client.create(model="m", messages=USER)
    assert fake_server.requests[0].headers["X-From-Session"] == "yes"
    make_client(fake_server, session=session).create(model="m", messages=USER)
    assert fake_server.connections == 1


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\r\nb"])
def test_a_header_value_with_any_line_break_is_refused(value: str) -> None:
    # a lone "\n" is enough to smuggle a second header into the request
    with pytest.raises(ConfigurationError, match="line break"):
        ChatClient(base_url="http://127.0.0.1:9/v1", api_key="k", headers={"X-Note": value})
