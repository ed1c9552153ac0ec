"""``POST /v1/responses`` of ``agentloop serve``: the real ``openai`` client and a real Agents SDK run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from cli_support import cli_env

from agentloop.errors import BadRequestError
from agentloop.offline.model import OfflineModel
from agentloop.server.responses import chat_request, parse

QUESTION = "What is 12 * (3 + 4)?"
CALC = {
    "type": "function",
    "name": "calculate",
    "description": "Evaluate an arithmetic expression.",
    "parameters": {
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
}


class Serve:
    """``agentloop serve --model offline --port 0`` in a subprocess; its URL from its first line."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentloop", "serve", "--model", "offline", "--port", "0"],
            stderr=subprocess.PIPE, text=True, env=cli_env(PYTHONUNBUFFERED="1"),
        )  # fmt: skip
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        assert "serving 'offline' at http://127.0.0.1:" in line, line
        self.base_url = "http://" + line.split("http://")[1].split()[0]

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key="unused", max_retries=0, timeout=20)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def serve() -> Iterator[Serve]:
    server = Serve()
    yield server
    server.stop()


# -- the openai client ------------------------------------------------------------------


def test_responses_create_tool_call_round_trip(serve: Serve) -> None:
    client = serve.client()
    first = client.responses.create(model="offline", input=QUESTION, tools=[CALC])
    expected = OfflineModel().create(
        messages=[{"role": "user", "content": QUESTION}],
        tools=[{"type": "function", "function": {k: v for k, v in CALC.items() if k != "type"}}],
    )
    assert first.status == "completed" and len(first.output) == 1
    call = first.output[0]
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.arguments) == (
        expected.tool_calls[0].id,
        "calculate",
        '{"expression":"12 * (3 + 4)"}',
    )
    assert first.usage is not None and first.usage.total_tokens == expected.usage.total_tokens
    history = [
        {"role": "user", "content": QUESTION},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "84"},
    ]
    final = client.responses.create(model="offline", input=history, tools=[CALC])
    assert final.output_text == "The result of calculate is 84."
    assert final.output[0].type == "message" and final.output[0].role == "assistant"


def test_responses_stream_tool_call_events_and_final_response(serve: Serve) -> None:
    with serve.client().responses.stream(model="offline", input=QUESTION, tools=[CALC]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-3:] == [
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) > 1  # relayed as the model produced them, not in one piece
    assert "".join(deltas) == '{"expression":"12 * (3 + 4)"}'
    assert [e.sequence_number for e in events] == list(range(len(events)))
    (call,) = final.output
    assert call.type == "function_call" and call.call_id.startswith("call_")
    assert call.arguments == "".join(deltas)
    assert final.usage is not None and final.usage.output_tokens > 0


def test_responses_stream_text_with_instructions(serve: Serve) -> None:
    with serve.client().responses.stream(
        model="offline", instructions="Be brief.", input=[{"role": "user", "content": "Say hi"}]
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert "response.content_part.added" in kinds and "response.output_text.done" in kinds
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text and final.output_text == text
    done = next(e for e in events if e.type == "response.output_text.done")
    assert done.text == text


def test_unservable_requests_are_400s_naming_the_field(serve: Serve) -> None:
    client = serve.client()
    with pytest.raises(openai.BadRequestError, match="stores no responses.*input"):
        client.responses.create(model="offline", input="hi", previous_response_id="resp_x")
    with pytest.raises(openai.BadRequestError, match=r"tools\[0\].*only function tools"):
        client.responses.create(model="offline", input="hi", tools=[{"type": "web_search"}])
    with pytest.raises(openai.NotFoundError, match="serves 'offline'"):
        client.responses.create(model="other", input="hi")


# -- the translation --------------------------------------------------------------------


def test_chat_request_translates_items_tools_choice_and_format() -> None:
    request = {
        "model": "offline",
        "instructions": "Sys.",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Q"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "g", "arguments": '{"a":1}'},
            {"type": "function_call_output", "call_id": "c1", "output": "one"},
            {
                "type": "function_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "two"}],
            },
        ],  # fmt: skip
        "tools": [CALC],
        "tool_choice": {"type": "function", "name": "calculate"},
        "max_output_tokens": 50,
        "text": {"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}}},
        "store": False,
        "include": [],
    }
    out = chat_request(parse(json.dumps(request).encode()))
    assert out["messages"] == [
        {"role": "system", "content": "Sys."},
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "c2", "type": "function", "function": {"name": "g", "arguments": '{"a":1}'}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
        {"role": "tool", "tool_call_id": "c2", "content": "two"},
    ]  # fmt: skip
    assert out["tools"][0]["function"]["name"] == "calculate"
    assert out["tool_choice"] == {"type": "function", "function": {"name": "calculate"}}
    assert out["max_tokens"] == 50
    assert out["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "object"}},
    }
    assert "store" not in out and "include" not in out


def test_parse_refuses_a_body_without_input() -> None:
    with pytest.raises(BadRequestError, match="'input'"):
        parse(b'{"model": "offline"}')


# -- the OpenAI Agents SDK, default settings (the Responses API) ------------------------

AGENT = textwrap.dedent(
    """
    import asyncio, sys
    from openai import AsyncOpenAI
    from agents import Agent, Runner, function_tool, set_default_openai_client
    from agents import set_tracing_disabled

    calls = []

    @function_tool
    def calculate(expression: str) -> str:
        \"\"\"Evaluate an arithmetic expression.\"\"\"
        calls.append(expression)
        return "84"

    async def main():
        set_tracing_disabled(True)  # traces would be uploaded to api.openai.com
        set_default_openai_client(AsyncOpenAI(base_url=sys.argv[1], api_key="unused"))
        agent = Agent(name="calc", instructions="Use the tool.", tools=[calculate], model="offline")
        result = await Runner.run(agent, "What is 12 * (3 + 4)?")
        streamed = Runner.run_streamed(agent, "What is 12 * (3 + 4)?")
        async for _ in streamed.stream_events():
            pass
        print(result.final_output)
        print(streamed.final_output)
        print(calls)

    asyncio.run(main())
    """
)


def test_openai_agents_default_run_with_a_function_tool(serve: Serve, tmp_path: Path) -> None:
    script = tmp_path / "agent_run.py"
    script.write_text(AGENT)
    done = subprocess.run(
        [sys.executable, str(script), serve.base_url],
        capture_output=True, text=True, env=cli_env(), timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()[-3:]
    assert lines == [
        "The result of calculate is 84.",
        "The result of calculate is 84.",
        "['12 * (3 + 4)', '12 * (3 + 4)']",
    ]


# -- text and several calls in one turn (a scripted model behind an in-process server) --


@pytest.fixture
def two_calls() -> Iterator[str]:
    import threading

    from agentloop.server.app import make_server
    from agentloop.testing import FunctionModel, tool_call, tool_calls_response

    def answer(request: dict) -> object:
        return tool_calls_response(
            tool_call("calculate", {"expression": "1+1"}),
            tool_call("calculate", {"expression": "2+2"}),
            text="Let me compute.",
        )

    server = make_server(FunctionModel(answer), port=0, accept_any_model=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_text_then_two_calls_are_three_output_items(two_calls: str) -> None:
    client = openai.OpenAI(base_url=two_calls, api_key="unused", max_retries=0, timeout=20)
    plain = client.responses.create(model="m", input="compute", tools=[CALC])
    assert [item.type for item in plain.output] == ["message", "function_call", "function_call"]
    with client.responses.stream(model="m", input="compute", tools=[CALC]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    added = [
        (e.output_index, e.item.type) for e in events if e.type == "response.output_item.added"
    ]
    assert added == [(0, "message"), (1, "function_call"), (2, "function_call")]
    done = [e.output_index for e in events if e.type == "response.output_item.done"]
    assert done == [0, 1, 2]  # the message closes when the first call opens
    assert final.output_text == "Let me compute."
    calls = [(i.call_id, i.arguments) for i in final.output if i.type == "function_call"]
    opened = [e.item for e in events if e.type == "response.output_item.added"]
    first_ids = [item.call_id for item in opened[1:]]
    assert [c[0] for c in calls] == first_ids and len(set(first_ids)) == 2
    assert [c[1] for c in calls] == ['{"expression": "1+1"}', '{"expression": "2+2"}']
    assert [i.arguments for i in plain.output[1:]] == [c[1] for c in calls]


def test_an_upstream_stream_that_breaks_ends_with_response_failed(fake_server: Any) -> None:
    import threading

    from fakeserver import chunk, sse_reply

    from agentloop import resolve_model
    from agentloop.server.app import make_server

    # the upstream connection is reset mid-stream, before [DONE]
    broken = sse_reply([chunk(content="Hel"), chunk(content="lo")], done=False, reset=True)
    fake_server.script(broken, broken, broken)
    upstream = resolve_model("local:up", base_url=fake_server.base_url, max_retries=0)
    server = make_server(upstream, port=0, accept_any_model=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=20)
        with client.responses.stream(model="up", input="hi") as stream:
            events = list(stream)
    except openai.APIError:
        pytest.fail("the failure must arrive in-band, as response.failed")
    finally:
        server.shutdown()
        server.server_close()
    assert [e.type for e in events][:2] == ["response.created", "response.in_progress"]
    assert events[-1].type == "response.failed"
    assert events[-1].response.status == "failed" and events[-1].response.error is not None
