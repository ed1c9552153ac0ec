"""Streamed reasoning: its deltas are assembled into ``.response.raw`` under the server's
field name, and a profile with ``reasoning_field`` keeps it for the next request's echo."""

from __future__ import annotations

from typing import Any

import pytest

from agentloop.providers.quirks import REASONING_KEY, adapt_messages, with_reasoning
from agentloop.providers.registry import PROVIDERS
from agentloop.providers.specs import spec_from_table
from agentloop.streaming import DONE, ChatStream


def _chunks(field: str) -> list[Any]:
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}  # fmt: skip
    return [
        {"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        {"choices": [{"index": 0, "delta": {"content": None, field: "The user "}}]},
        {"choices": [{"index": 0, "delta": {field: "wants weather."}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        DONE,
    ]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_streamed_reasoning_is_assembled_under_its_field(field: str) -> None:
    stream = ChatStream(iter(_chunks(field)))
    list(stream)
    message = stream.response.raw["choices"][0]["message"]
    assert message[field] == "The user wants weather."
    other = "reasoning" if field == "reasoning_content" else "reasoning_content"
    assert other not in message
    assert stream.response.message.extra_content is None  # nothing echoed unless a profile asks


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_a_profile_echoes_streamed_reasoning_on_the_next_request(field: str) -> None:
    stream = ChatStream(iter(_chunks(field)))
    list(stream)
    kept = with_reasoning(stream.response)
    assert kept.message.extra_content == {REASONING_KEY: "The user wants weather."}
    spec = spec_from_table(PROVIDERS["local"], {"reasoning_field": field})
    history = [{"role": "user", "content": "Weather in Paris?"}, kept.message.to_dict()]
    sent = adapt_messages(spec, history)
    assert sent[1][field] == "The user wants weather."
    assert "extra_content" not in sent[1]


def test_without_a_reasoning_field_the_kept_reasoning_is_not_sent() -> None:
    stream = ChatStream(iter(_chunks("reasoning_content")))
    list(stream)
    kept = with_reasoning(stream.response).message.to_dict()
    spec = spec_from_table(PROVIDERS["local"], {"merge_system": True})
    sent = adapt_messages(spec, [kept])
    assert "reasoning_content" not in sent[0] and "extra_content" not in sent[0]
