"""Provider-profile quirks over a real local server: tool-call content, rejections, streaming, key hints."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from client_support import FakeClock
from fakeserver import FakeServer, chunk, completion, json_reply, sse_reply

from agentloop import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ChatClient,
    ChatModel,
    FinishEvent,
    InternalServerError,
    TextDelta,
    ToolCallDelta,
)
from agentloop.providers.registry import PROVIDERS, resolve_model

TOOL = {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}
CALL = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
TOOL_TURN = [
    {"role": "user", "content": "add 2 and 3"},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "c1", "content": "5"},
]
# what llama-cpp-python 0.3.36 answered for content: null next to tool_calls (a 500)
LLAMA_REJECTION = {
    "error": {
        "message": "7 validation errors:\n  {'type': 'string_type', 'loc': ('body', 'messages', "
        "1, 'ChatCompletionRequestAssistantMessage', 'content'), 'msg': 'Input should be a "
        "valid string', 'input': None}\n",
        "type": "internal_server_error",
        "param": None,
        "code": None,
    }
}


def model_for(server: FakeServer, provider: str = "local", **kw: Any) -> ChatModel:
    client = ChatClient(base_url=server.base_url, max_retries=2, clock=FakeClock(), **kw)
    return ChatModel(client, "m", provider)


def sent_content(server: FakeServer) -> list[Any]:
    return [r.json["messages"][1]["content"] for r in server.requests]


def test_llamacpp_preset() -> None:
    spec = PROVIDERS["llamacpp"]
    model = resolve_model("llamacpp:smollm2", env={"AGENTLOOP_API_KEY": "not-for-llama"})
    assert isinstance(model, ChatModel)
    assert model.client.base_url == "http://localhost:8080/v1"
    assert not model.client.has_api_key  # local, no key: a key for another server is not sent
    keyed = resolve_model("llamacpp:m", env={"LLAMACPP_API_KEY": "llama-key-123"})
    assert isinstance(keyed, ChatModel) and keyed.client.has_api_key
    assert spec.tool_call_content == "" and not spec.streams_tool_choice_auto
    assert not model.profile.supports_strict and not model.profile.supports_json_schema
    _, params = model.prepare([], {"tools": [TOOL], "parallel_tool_calls": False,
                                   "stream_options": {"include_usage": True}})  # fmt: skip
    assert params == {"tools": [TOOL]}


def test_llamacpp_sends_empty_content_from_the_first_request(fake_server: FakeServer) -> None:
    fake_server.script(json_reply(completion("five")), json_reply(completion("again")))
    model = model_for(fake_server, "llamacpp")
    model.create(messages=TOOL_TURN)
    model.create(messages=TOOL_TURN)
    assert sent_content(fake_server) == ["", ""]
    assert TOOL_TURN[1]["content"] is None  # the caller's transcript is not changed


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, LLAMA_REJECTION),  # llama-cpp-python: a 500 whose body is a validation error
        (
            422,
            {
                "detail": [
                    {
                        "loc": ["body", "messages", 1, "content"],
                        "msg": "Field required",
                        "type": "missing",
                    }
                ]
            },
        ),  # fmt: skip
        (400, {"error": {"message": "Invalid value for 'messages[1].content': null"}}),
        (
            400,
            [
                {
                    "error": {
                        "code": 400,
                        "message": "contents.parts must not be empty",
                        "status": "INVALID_ARGUMENT",
                    }
                }
            ],
        ),  # fmt: skip
        (
            500,
            {
                "error": {
                    "message": "1 validation error for Request: messages.1: input should "
                    "be a valid string"
                }
            },
        ),  # fmt: skip
    ],
)
def test_a_rejected_null_content_is_sent_again_with_empty_content_once(
    fake_server: FakeServer, status: int, body: Any
) -> None:
    fake_server.script(json_reply(body, status=status), json_reply(completion("five")),
                       json_reply(completion("again")))  # fmt: skip
    model = model_for(fake_server)
    assert model.create(messages=TOOL_TURN).message.content == "five"
    assert model.create(messages=TOOL_TURN).message.content == "again"
    # no client retry of the rejected request: one fallback, then "" from then on
    assert sent_content(fake_server) == [None, "", ""]


@pytest.mark.parametrize(
    ("status", "body", "error", "attempts"),
    [
        # a 500 that is no validation error is retried as usual, and no fallback
        (500, {"error": {"message": "CUDA out of memory", "type": "server_error"}},
         InternalServerError, 3),
        # a validation 500 about something else: not retried (it cannot succeed), no fallback
        (500, {"error": {"message": "1 validation error: ('body', 'temperature'): Input should "
                         "be a valid number"}}, InternalServerError, 1),
        (400, {"error": {"message": "temperature is out of range"}}, BadRequestError, 1),
        (422, {"detail": [{"loc": ["body", "top_p"], "msg": "Input should be less than 1"}]},
         APIStatusError, 1),
    ],
)  # fmt: skip
def test_other_failures_get_no_empty_content_fallback(
    fake_server: FakeServer, status: int, body: Any, error: type[Exception], attempts: int
) -> None:
    fake_server.script(*[json_reply(body, status=status)] * 3)
    with pytest.raises(error):
        model_for(fake_server).create(messages=TOOL_TURN)
    assert sent_content(fake_server) == [None] * attempts


def test_a_turn_without_null_content_is_not_resent(fake_server: FakeServer) -> None:
    fake_server.script(json_reply(LLAMA_REJECTION, status=500))
    turn = [TOOL_TURN[0], {**TOOL_TURN[1], "content": "thinking"}, TOOL_TURN[2]]
    with pytest.raises(InternalServerError):
        model_for(fake_server).create(messages=turn)
    assert len(fake_server.requests) == 1


def test_llamacpp_sends_tool_choice_auto_unstreamed_and_replays_events(
    fake_server: FakeServer,
) -> None:
    call = {"id": "call_9", "type": "function", "function": {"name": "add", "arguments": '{"a":1}'}}
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    fake_server.script(json_reply(completion(None, tool_calls=[call], finish="tool_calls",
                                             usage=usage)))  # fmt: skip
    model = model_for(fake_server, "llamacpp")
    stream = model.stream(messages=TOOL_TURN[:1], tools=[TOOL], tool_choice="auto")
    events = list(stream)
    request = fake_server.requests[0].json
    assert "stream" not in request and "stream_options" not in request
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(d.id, d.name, d.arguments_delta) for d in deltas] == [("call_9", "add", '{"a":1}')]
    assert any(isinstance(e, FinishEvent) and e.finish_reason == "tool_calls" for e in events)
    assert stream.response.tool_calls[0].id == "call_9"
    assert stream.response.usage is not None and stream.response.usage.total_tokens == 7


@pytest.mark.parametrize(
    ("provider", "params", "streamed"),
    [
        ("llamacpp", {"tools": [TOOL], "tool_choice": {"type": "function",
                                                       "function": {"name": "add"}}}, True),
        ("llamacpp", {}, True),
        ("llamacpp", {"tools": [TOOL], "tool_choice": "none"}, True),
        ("local", {"tools": [TOOL], "tool_choice": "auto"}, True),
    ],
)  # fmt: skip
def test_other_requests_stream_as_asked(
    fake_server: FakeServer, provider: str, params: dict[str, Any], streamed: bool
) -> None:
    fake_server.script(sse_reply([chunk("hi"), chunk(finish="stop")]))
    stream = model_for(fake_server, provider).stream(messages=TOOL_TURN[:1], **params)
    assert [e.delta for e in stream if isinstance(e, TextDelta)] == ["hi"]
    assert fake_server.requests[0].json.get("stream") is streamed


@pytest.mark.parametrize(
    ("provider", "variable"),
    [("local", "AGENTLOOP_API_KEY"), ("llamacpp", "LLAMACPP_API_KEY"),
     ("openai", "OPENAI_API_KEY"), ("kkiai", "KKIAI_API_KEY")],
)  # fmt: skip
def test_a_401_names_the_variable_the_provider_reads(
    fake_server: FakeServer, provider: str, variable: str
) -> None:
    fake_server.script(json_reply({"error": {"message": "Invalid API key"}}, status=401))
    with pytest.raises(AuthenticationError) as caught:
        model_for(fake_server, provider, api_key="sk-wrong-key-000").create(messages=TOOL_TURN)
    notes = " ".join(caught.value.__notes__)
    assert variable in notes and "refused" in notes
    others = {"OPENAI_API_KEY", "GEMINI_API_KEY", "LLAMACPP_API_KEY"} - {variable}
    assert not any(name in notes for name in others)


def test_a_401_from_a_provider_without_key_says_none_was_sent(fake_server: FakeServer) -> None:
    fake_server.script(json_reply({"error": {"message": "no key"}}, status=401))
    with pytest.raises(AuthenticationError) as caught:
        model_for(fake_server, "ollama").create(messages=TOOL_TURN)
    assert "send no API key" in " ".join(caught.value.__notes__)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    base = {k: v for k, v in os.environ.items() if not k.endswith("API_KEY")}
    base.update(env or {}, AGENTLOOP_MAX_RETRIES="0")
    return subprocess.run(
        [sys.executable, "-m", "agentloop", "run", "examples/calculator.py", "What is 2+2?", *args],
        capture_output=True, text=True, env=base, timeout=60, check=False,
    )  # fmt: skip


def test_cli_401_hint_names_the_providers_variable(fake_server: FakeServer) -> None:
    fake_server.script(*[json_reply({"error": {"message": "Incorrect API key"}}, status=401)] * 3)
    done = _cli("--model", "local:m", "--base-url", fake_server.base_url,
                env={"AGENTLOOP_API_KEY": "sk-local-wrong-123"})  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1, done.stderr
    assert "AGENTLOOP_API_KEY" in lines[0]
    assert "OPENAI_API_KEY" not in lines[0] and "GEMINI_API_KEY" not in lines[0]
    assert "sk-local-wrong-123" not in done.stderr + done.stdout


def test_cli_unreachable_base_url_is_one_line_naming_url_and_fix() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    done = _cli("--model", "local:m", "--base-url", url)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1, done.stderr
    assert url in lines[0] and "connection refused" in lines[0] and "--base-url" in lines[0]
    assert "HTTPConnection" not in lines[0] and "Max retries" not in lines[0]
    assert len(lines[0]) < 200, lines[0]


def test_rejection_detection_reads_the_whole_error_body() -> None:
    from agentloop.providers.quirks import rejects_tool_call_content

    def error(status: int, body: Any) -> APIStatusError:
        return APIStatusError(f"Error code: {status}", status_code=status, body=body)

    assert rejects_tool_call_content(error(500, json.loads(json.dumps(LLAMA_REJECTION))["error"]))
    assert not rejects_tool_call_content(error(500, {"message": "content filter unavailable"}))
    assert not rejects_tool_call_content(error(503, "overloaded"))
