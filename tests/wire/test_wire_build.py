"""agentloop.wire.build: the one writer of chat-completions shapes, and that it is the only one."""

from __future__ import annotations

import ast
import pathlib

import pytest

from agentloop.deltas import ToolCallDelta
from agentloop.streaming import ChatStream
from agentloop.wire.assembly import parse_response
from agentloop.wire.build import (
    CHUNK,
    ChunkWriter,
    call_delta,
    choice_body,
    completion_as_chunk,
    completion_body,
    completion_chunks,
    error_body,
    usage_body,
)

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "agentloop"
# Keys only a completion body's choice, a chunk, a usage object or an error body has
# ("object" counts when it names a chat.completion; model cards have one too).
SHAPE_KEYS = {"finish_reason", "delta", "prompt_tokens", "logprobs"}
# The parts that speak the chat-completions wire (messages.py keeps the data classes' own
# to_dict forms; logs, the CLI's --json and traces are formats of their own).
WIRE_USERS = ("offline/", "server/", "client/", "providers/", "wire/", "testing.py", "streaming.py")
# The Responses API is another wire (output items, output_text parts with their own logprobs
# key); server/responses.py is its one builder.
OTHER_WIRES = {"server/responses.py"}


def _body() -> dict:
    calls = [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
        },
        {
            "id": "c2",
            "type": "function",
            "function": {"name": "mul", "arguments": "{}"},
            "extra_content": {"google": {"thought_signature": "sig"}},
        },
    ]
    return completion_body(
        id="chatcmpl-1",
        created=7,
        model="m",
        choices=[
            choice_body(
                0,
                {"role": "assistant", "content": "Let me add.", "tool_calls": calls},
                "tool_calls",
            ),
            choice_body(1, {"role": "assistant", "content": "no", "refusal": "I can't"}, "stop"),
            choice_body(
                2, {"role": "assistant", "content": "x", "extra_content": {"k": [1]}}, "length"
            ),
        ],
        usage=usage_body(5, 3),
    )


def _shapes_in(source: str) -> list[int]:
    """Line numbers of dict literals in ``source`` that write a chat-completions shape."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Dict):
            continue
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        names = {v.value for v in node.values if isinstance(v, ast.Constant)}
        completion_object = any(str(n).startswith("chat.completion") for n in names)
        error_literal = "error" in keys and any(isinstance(v, ast.Dict) for v in node.values)
        if keys & SHAPE_KEYS or error_literal or completion_object:
            lines.append(node.lineno)
    return lines


def test_only_the_builder_writes_wire_shapes() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(WIRE_USERS) and rel != "wire/build.py" and rel not in OTHER_WIRES:
            found += [f"{rel}:{line}" for line in _shapes_in(path.read_text())]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        'x = {"choices": [{"index": 0, "delta": {}}]}',
        'x = {"id": "a", "object": "chat.completion.chunk"}',
        'x = {"prompt_tokens": 1}',
        'x = {"error": {"message": "m"}}',
    ],
)
def test_the_shape_scan_finds_hand_built_shapes(source: str) -> None:
    assert _shapes_in(source) != []
    assert _shapes_in('x = {"object": "model", "error": "text"}') == []


def test_completion_body_shape() -> None:
    body = _body()
    assert list(body) == ["id", "object", "created", "model", "choices", "usage"]
    assert body["object"] == "chat.completion"
    assert body["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    with_fp = completion_body(id="x", created=0, model="m", choices=[], system_fingerprint="fp")
    assert with_fp["system_fingerprint"] == "fp" and "usage" not in with_fp


@pytest.mark.parametrize("include_usage", [True, False])
def test_chunks_assemble_back_into_the_body(include_usage: bool) -> None:
    body = _body()
    chunks = list(completion_chunks(body, include_usage=include_usage, argument_piece=3))
    assert all(c["object"] == CHUNK and c["id"] == "chatcmpl-1" for c in chunks)
    assert all(("usage" in c) == include_usage for c in chunks)
    stream = ChatStream(iter(chunks))
    events = list(stream)
    fragments = [e.arguments_delta for e in events if isinstance(e, ToolCallDelta)]
    assert max(len(f) for f in fragments) == 3
    expected = parse_response(body)
    assert stream.response.choices == expected.choices
    assert (stream.response.usage is not None) == include_usage


def test_one_chunk_body_assembles_like_the_body() -> None:
    body = _body()
    stream = ChatStream(iter([completion_as_chunk(body)]))
    list(stream)
    assert stream.response.choices == parse_response(body).choices


def test_call_delta_writes_only_what_is_given() -> None:
    assert call_delta(2) == {"index": 2}
    assert call_delta(0, arguments="") == {"index": 0, "function": {"arguments": ""}}
    head = call_delta(1, id="c", name="f", arguments="", extra_content={"a": (1,)})
    assert head == {
        "index": 1,
        "id": "c",
        "type": "function",
        "function": {"name": "f", "arguments": ""},
        "extra_content": {"a": [1]},
    }


def test_chunk_writer_and_error_body() -> None:
    writer = ChunkWriter(id="i", created=1, model="m", include_usage=True)
    chunk = writer.chunk(0, {"content": "hi"}, "stop")
    assert chunk == {
        "id": "i",
        "object": CHUNK,
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"content": "hi"}, "logprobs": None, "finish_reason": "stop"}
        ],
        "usage": None,
    }
    assert writer.usage({"total_tokens": 1})["choices"] == []
    assert error_body(message="bad", param="p") == {
        "error": {"message": "bad", "type": "invalid_request_error", "param": "p", "code": None}
    }
