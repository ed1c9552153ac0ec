"""Property tests: any fragmentation of a stream assembles to the same response."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop import ChatStream, ToolCall
from agentloop.client.sse import iter_chunks
from agentloop.streaming import DONE

TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)
ARGS = st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), TEXT, st.none()), max_size=3)


def cuts(draw: Any, text: str) -> list[str]:
    points = sorted(draw(st.lists(st.integers(0, len(text)), max_size=6)))
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@st.composite
def scripted(draw: Any) -> tuple[list[dict], str, list[ToolCall]]:
    text = draw(TEXT)
    calls = [
        ToolCall(
            id=f"call_{i}", name=f"tool_{i}", arguments=json.dumps(draw(ARGS), ensure_ascii=False)
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    events: list[tuple[int, dict]] = []
    for piece in cuts(draw, text):
        events.append((-1, {"content": piece}))
    for index, call in enumerate(calls):
        frags = cuts(draw, call.arguments)
        first = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": frags[0]},
        }
        events.append((index, {"tool_calls": [first]}))
        for frag in frags[1:]:
            events.append(
                (index, {"tool_calls": [{"index": index, "function": {"arguments": frag}}]})
            )
    # interleave the calls' fragments, keeping each call's own order
    order = draw(st.permutations(range(len(events))))
    by_call: dict[int, list[dict]] = {}
    for key, delta in events:
        by_call.setdefault(key, []).append(delta)
    keys = [events[i][0] for i in order]
    deltas = [by_call[k].pop(0) for k in keys]
    texts = [d for d in deltas if "content" in d]
    merged_text = "".join(d["content"] for d in texts)
    chunks = [{"id": "x", "choices": [{"index": 0, "delta": d}]} for d in deltas]
    # calls are listed in the order they first appear (agentloop.wire.assembly)
    first_seen = list(dict.fromkeys(k for k in keys if k >= 0))
    calls = [calls[k] for k in first_seen]
    chunks.append({"id": "x", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks, merged_text, calls


@settings(max_examples=150, deadline=None)
@given(scripted())
def test_any_fragmentation_assembles(case: tuple[list[dict], str, list[ToolCall]]) -> None:
    chunks, text, calls = case
    stream = ChatStream(iter(chunks))
    list(stream)
    resp = stream.response
    assert resp.message.content == (text or (None if calls else ""))
    assert resp.tool_calls == tuple(calls)
    assert resp.finish_reason == ("tool_calls" if calls else "stop")


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=5), st.data())
def test_any_byte_split_of_sse_parses_the_same(pieces: list[str], data: Any) -> None:
    end = data.draw(st.sampled_from(["\n", "\r\n", "\r"]))
    body = (
        "".join(
            f"data: {json.dumps({'choices': [{'delta': {'content': p}}]}, ensure_ascii=False)}{end}{end}"
            for p in pieces
        ).encode()
        + f"data: [DONE]{end}{end}".encode()
    )
    points = sorted(data.draw(st.lists(st.integers(1, len(body) - 1), max_size=20)))
    bounds = [0, *points, len(body)]
    parts = [body[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    chunks = list(iter_chunks(iter(parts)))
    assert chunks[-1] == DONE
    got = [c["choices"][0]["delta"]["content"] for c in chunks[:-1]]
    assert got == pieces


ENDS = st.sampled_from(["\n", "\r\n", "\r"])
EXTRA = st.sampled_from(["", ": comment", "event: message", "id: 7", "retry: 10"])


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=5), st.data())
def test_any_mix_of_line_endings_and_fields_split_anywhere(pieces: list[str], data: Any) -> None:
    """Every line ending, chosen per line, with comments and other fields between."""
    out = []
    for p in pieces:
        for extra in data.draw(st.lists(EXTRA, max_size=2)):
            if extra:
                out.append(extra + data.draw(ENDS))
        line = json.dumps({"choices": [{"delta": {"content": p}}]}, ensure_ascii=False)
        end = data.draw(ENDS)
        # the blank line: after a CR, an LF would only complete that CRLF (one line ending)
        blank = data.draw(st.sampled_from(["\r", "\r\n"]) if end == "\r" else ENDS)
        out.append(f"data: {line}{end}{blank}")
    tail = data.draw(st.sampled_from(["", "data: [DONE]\n\n", 'data: {"lost": 1}']))
    body = ("".join(out) + tail).encode()
    points = sorted(data.draw(st.lists(st.integers(1, len(body) - 1), max_size=20)))
    bounds = [0, *points, len(body)]
    parts = [body[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    chunks = [c for c in iter_chunks(iter(parts)) if c is not DONE]
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == pieces
