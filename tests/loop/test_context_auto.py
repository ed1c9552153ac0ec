"""``Agent(max_context_tokens="auto")``: a context-length 400 is trimmed to the window it names, once."""

from __future__ import annotations

import json

import pytest
from fakeserver import FakeServer, Reply, Request, chunk, completion, json_reply, sse_reply

from agentloop import Agent, ContextWindowExceeded
from agentloop.errors import ConfigurationError
from agentloop.events import RunFinished
from agentloop.runspec import RunLimits

WINDOW = 400
"""The window the server names; a request over about 4 characters a token is refused."""


def llama_like(request: Request) -> Reply:
    """Answers like llama.cpp's server: a 400 naming the window when the prompt is too long."""
    size = len(json.dumps(request.json["messages"])) // 4
    if size > WINDOW:
        message = (
            f"This model's maximum context length is {WINDOW} tokens. However, you "
            f"requested {size} tokens."
        )
        return json_reply({"error": {"code": 400, "message": message,
                                     "type": "invalid_request_error"}}, status=400)  # fmt: skip
    answer = f"answered {len(request.json['messages'])} messages"
    if request.json.get("stream"):
        return sse_reply([chunk(content=answer), chunk(finish="stop")])
    return json_reply(completion(answer))


def history() -> list[dict]:
    """Old turns, among them a tool call with its result, about 1500 tokens in all."""
    turns: list[dict] = []
    for k in range(6):
        turns.append({"role": "user", "content": f"question {k} " + "x" * 900})
        call = {"id": f"call_{k}", "type": "function",
                "function": {"name": "look", "arguments": "{}"}}  # fmt: skip
        turns.append({"role": "assistant", "content": None, "tool_calls": [call]})
        turns.append({"role": "tool", "tool_call_id": f"call_{k}", "content": "y" * 100})
        turns.append({"role": "assistant", "content": f"answer {k}"})
    return turns


@pytest.mark.parametrize("stream", [False, True])
def test_auto_trims_and_retries_once_never_splitting_a_call(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    monkeypatch.setenv("AGENTLOOP_BASE_URL", fake_server.base_url)
    fake_server.script(llama_like, llama_like)
    agent = Agent("local:tiny", instructions="Be brief.", max_context_tokens="auto",
                  load_plugins=False)  # fmt: skip
    if stream:
        *_, last = agent.stream("the latest question", history=history())
        assert isinstance(last, RunFinished)
        result = last.result
    else:
        result = agent.run("the latest question", history=history())
    assert result.output.startswith("answered")
    first, second = (r.json["messages"] for r in fake_server.requests)
    assert len(first) == len(history()) + 2  # the whole history was sent first, and refused
    assert second[0] == {"role": "system", "content": "Be brief."}
    assert second[-1]["content"] == "the latest question"
    assert len(json.dumps(second)) // 4 <= WINDOW
    calls = {c["id"] for m in second for c in m.get("tool_calls") or ()}
    results = {m["tool_call_id"] for m in second if m["role"] == "tool"}
    assert calls == results  # every call kept has its result, and no result is orphaned
    assert len(result.messages) == len(history()) + 3  # the run's transcript is whole


def test_without_auto_the_overflow_is_context_window_exceeded(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTLOOP_BASE_URL", fake_server.base_url)
    fake_server.script(llama_like)
    agent = Agent("local:tiny", load_plugins=False)
    with pytest.raises(ContextWindowExceeded) as caught:
        agent.run("the latest question", history=history())
    assert caught.value.window == WINDOW
    assert len(fake_server.requests) == 1  # no retry unless asked for


def test_auto_retries_only_once(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLOOP_BASE_URL", fake_server.base_url)
    too_long = json_reply({"error": {"message": "maximum context length is 400 tokens"}},
                          status=400)  # fmt: skip
    fake_server.script(too_long, too_long, too_long)
    agent = Agent("local:tiny", max_context_tokens="auto", load_plugins=False)
    with pytest.raises(ContextWindowExceeded):
        agent.run("the latest question", history=history())
    assert len(fake_server.requests) == 2


def test_max_context_tokens_takes_auto_and_refuses_other_words() -> None:
    assert RunLimits(max_context_tokens="auto").max_context_tokens == "auto"
    with pytest.raises(ConfigurationError, match="max_context_tokens"):
        RunLimits(max_context_tokens="big")  # type: ignore[arg-type]
