"""End-to-end runs over a real local HTTP server (tests/fakeserver.py), including the load test."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
from fakeserver import FakeServer, chunk, completion, json_reply, sse_reply, tool_call_chunk
from loop_support import add, tool_messages

from agentloop import Agent, StreamError, TextDelta, ToolCallFinished, tool

USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def _call(id_, name, args):
    return {
        "id": id_,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }


def _agent(server, **kwargs):
    kwargs.setdefault("load_plugins", False)
    return Agent("local:fake-model", base_url=server.base_url, api_key="sk-test", **kwargs)


def _check_pairing(body):
    """What a real endpoint checks: each tool call answered exactly once, by a later message."""
    pending: list[str] = []
    for message in body["messages"]:
        if message["role"] == "assistant":
            assert not pending, f"unanswered tool calls {pending}"
            pending = [c["id"] for c in message.get("tool_calls") or ()]
            assert len(set(pending)) == len(pending)
        elif message["role"] == "tool":
            assert message["tool_call_id"] in pending and message["name"]
            pending.remove(message["tool_call_id"])
    assert not pending


def test_tool_loop_over_http(fake_server):
    fake_server.script(
        json_reply(
            completion(
                None,
                tool_calls=[_call("c1", "add", {"a": 1, "b": 2}), _call("c2", "nope", {})],
                finish="tool_calls",
                usage=USAGE,
            )
        ),
        json_reply(completion("3", usage=USAGE)),
    )
    result = _agent(fake_server, tools=[add], model_settings={"temperature": 0}).run("1+2?")
    assert result.output == "3" and result.usage.total_tokens == 20
    second = fake_server.requests[1].json
    _check_pairing(second)
    assert second["model"] == "fake-model" and second["temperature"] == 0
    assert second["tools"][0]["function"]["name"] == "add" and second["tool_choice"] == "auto"
    assert [m["content"][:18] for m in tool_messages(second["messages"])] == [
        "3",
        "error: unknown too",
    ]


def test_stream_over_http(fake_server):
    tool_chunks = [
        chunk(role="assistant", content="Adding."),
        tool_call_chunk("c1", "add"),
        *[
            chunk(tool_calls=[{"index": 0, "function": {"arguments": piece}}])
            for piece in ['{"a"', ': 4, "b', '": 5}']
        ],
        chunk(finish="tool_calls"),
    ]
    fake_server.script(
        sse_reply(tool_chunks),
        sse_reply([chunk(content="Nine"), chunk(content="."), chunk(finish="stop")]),
    )
    events = list(_agent(fake_server, tools=[add]).stream("4+5?"))
    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == "Adding.Nine."
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished[0].result.content == "9"
    assert events[-1].result.output == "Nine."
    assert all(r.json.get("stream") for r in fake_server.requests)
    _check_pairing(fake_server.requests[1].json)


def test_truncated_stream_never_runs_its_tool_call(fake_server):
    ran = []

    @tool
    def write_file(path: str) -> str:
        """Write.

        Args:
            path: Path.
        """
        ran.append(path)
        return "ok"

    cut = [tool_call_chunk("c1", "write_file", '{"path": "a')]
    fake_server.script(sse_reply(cut, done=False), sse_reply(cut, done=False))
    with pytest.raises(StreamError) as info:
        list(_agent(fake_server, tools=[write_file]).stream("x"))
    assert ran == []
    assert len(fake_server.requests) == 2  # re-issued once, then given up
    result = info.value.agentloop_result
    assert result.stop_reason == "error" and result.messages[-1]["role"] == "user"


def test_cut_stream_is_reissued_once_and_the_tool_runs_once(fake_server):
    cut = [tool_call_chunk("c1", "add", '{"a": 1, "b')]
    whole = [
        tool_call_chunk("c2", "add", '{"a": 1, "b": 5}'),
        chunk(finish="tool_calls"),
    ]
    fake_server.script(
        sse_reply(cut, done=False),
        sse_reply(whole),
        sse_reply([chunk(content="6"), chunk(finish="stop")]),
    )
    events = list(_agent(fake_server, tools=[add]).stream("1+5"))
    result = events[-1].result
    assert result.output == "6"
    assert fake_server.requests[0].json == fake_server.requests[1].json  # the same request again
    assert [m["tool_call_id"] for m in tool_messages(result.messages)] == ["c2"]
    assert [s.kind for s in result.steps] == ["model", "tool", "model"]


def test_stream_broken_after_text_is_not_reissued(fake_server):
    fake_server.script(sse_reply([chunk(content="Hello, I")], done=False))
    with pytest.raises(StreamError):
        list(_agent(fake_server).stream("x"))
    assert len(fake_server.requests) == 1


def test_fifty_parallel_runs_no_cross_talk():
    """50 runs of one Agent in 50 threads: each transcript holds only its own calls and results."""

    @tool
    def echo(token: str) -> str:
        """Echo.

        Args:
            token: The token.
        """
        return f"echo:{token}"

    problems = []

    def reply(request):
        body = request.json
        messages = body["messages"]
        token = next(m["content"] for m in messages if m["role"] == "user")
        try:
            _check_pairing(body)
            if messages[-1]["role"] == "tool":  # the request after the tool call: its own only
                assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
                assert messages[1]["tool_calls"][0]["id"] == f"call_{token}"
                assert messages[2]["tool_call_id"] == f"call_{token}"
                assert messages[2]["content"] == f"echo:{token}"
        except AssertionError as exc:
            problems.append(f"{token}: {exc}")
        if messages[-1]["role"] == "user":
            calls = [_call(f"call_{token}", "echo", {"token": token})]
            return json_reply(completion(None, tool_calls=calls, finish="tool_calls", usage=USAGE))
        echoed = messages[-1]["content"]
        return json_reply(completion(f"final {echoed}", usage=USAGE))

    with FakeServer() as server:
        server.default = reply
        agent = _agent(server, tools=[echo])
        results, errors = {}, []

        def one(i):
            try:
                results[i] = agent.run(f"T{i:02d}")
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == [] and problems == [] and len(results) == 50
        assert len(server.requests) == 100
        for i, result in results.items():
            token = f"T{i:02d}"
            text = json.dumps(list(result.messages))
            assert Counter(t for t in (f"T{j:02d}" for j in range(50)) if t in text) == {token: 1}
            assert tool_messages(result.messages)[0]["content"] == f"echo:{token}"
            assert result.output == f"final echo:{token}"
            assert result.usage.total_tokens == 20 and result.usage.requests == 2


def test_loop_benchmark_measures_loop_time_next_to_the_model_call():
    """benchmarks/bench_loop.py runs (2 runs only) and reports the loop's own time per step."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_loop.py"
    spec = importlib.util.spec_from_file_location("bench_loop_smoke", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.measure_all(2)
    for name in ("http", "scripted"):
        assert set(results[name]) == {"loop_per_step", "model_call", "tool_call", "run"}
        assert 0 <= results[name]["loop_per_step"] < results[name]["run"]
        assert 0 < results[name]["model_call"] < results[name]["run"]
    assert results["raw"]["run"] > 0
