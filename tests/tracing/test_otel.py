"""OpenTelemetry GenAI spans, checked attribute by attribute with the SDK's in-memory exporter.

These tests need ``opentelemetry-api`` and ``opentelemetry-sdk`` (the ``test`` extra installs
them); without them they fail, unless ``AGENTLOOP_ALLOW_SKIP=1``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from fakeserver import FakeServer, chunk, json_reply, sse_reply, tool_call_chunk
from loop_support import add, boom

from agentloop import Agent, AgentloopError, tool

try:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind, StatusCode
except ImportError:  # pragma: no cover - CI installs the SDK
    if os.environ.get("AGENTLOOP_ALLOW_SKIP") != "1":
        raise
    pytest.skip("opentelemetry-sdk is not installed", allow_module_level=True)

from agentloop.tracing.otel import OtelPlugin

USAGE = {"prompt_tokens": 40, "completion_tokens": 7, "total_tokens": 47}
PROVIDER = TracerProvider()
EXPORTER = InMemorySpanExporter()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))


@tool
def traced(x: int) -> int:
    """A tool that makes its own span.

    Args:
        x: A number.
    """
    with PROVIDER.get_tracer("user-code").start_as_current_span("inside the tool"):
        return x


def _run(server: FakeServer, *, capture: bool = False, **kw: Any) -> tuple[list[Any], Any]:
    EXPORTER.clear()
    agent = Agent(
        "local:fake-model",
        base_url=server.base_url,
        api_key="sk-otel-test-key-1",
        name="helper",
        instructions="Be brief.",
        tools=[add, boom, traced],
        plugins=[OtelPlugin(PROVIDER, capture_content=capture)],
        load_plugins=False,
        stream=True,
        **kw,
    )
    try:
        result = agent.run("add 2 and 3")
    except AgentloopError as exc:
        result = exc
    return list(EXPORTER.get_finished_spans()), result


def _script(server: FakeServer) -> None:
    server.script(
        sse_reply(
            [
                chunk(role="assistant", id="resp-1", model="fake-model-0613"),
                tool_call_chunk("call_a", "add", '{"a": 2, "b": 3}'),
                tool_call_chunk("call_b", "boom", '{"message": "kaput"}', index=1),
                tool_call_chunk("call_c", "traced", '{"x": 1}', index=2),
                chunk(finish="tool_calls", usage=USAGE),
            ]
        ),
        sse_reply([chunk(content="5", id="resp-2"), chunk(finish="stop", usage=USAGE)]),
    )


def _by_name(spans: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for span in spans:
        out.setdefault(span.name, []).append(span)
    return out


def test_a_run_is_an_invoke_agent_span_with_chat_and_execute_tool_children(
    fake_server: FakeServer,
) -> None:
    _script(fake_server)
    spans, result = _run(fake_server)
    names = _by_name(spans)
    assert sorted(names) == [
        "chat fake-model", "execute_tool add", "execute_tool boom", "execute_tool traced",
        "inside the tool", "invoke_agent helper",
    ]  # fmt: skip
    (agent,) = names["invoke_agent helper"]
    first, second = names["chat fake-model"]
    assert agent.kind == SpanKind.INTERNAL and agent.parent is None
    assert dict(agent.attributes) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "helper",
        "gen_ai.provider.name": "local",
        "gen_ai.request.model": "fake-model",
        "gen_ai.usage.input_tokens": 80,
        "gen_ai.usage.output_tokens": 14,
        "gen_ai.response.finish_reasons": ("stop",),
    }
    assert agent.status.status_code == StatusCode.UNSET

    assert first.kind == SpanKind.CLIENT and first.parent.span_id == agent.context.span_id
    attrs = dict(first.attributes)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "local"
    assert attrs["gen_ai.request.model"] == "fake-model"
    assert attrs["gen_ai.response.model"] == "fake-model-0613"
    assert attrs["gen_ai.response.id"] == "resp-1"
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attrs["gen_ai.usage.input_tokens"] == 40
    assert attrs["gen_ai.usage.output_tokens"] == 7
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == fake_server.port
    assert "gen_ai.input.messages" not in attrs and "gen_ai.output.messages" not in attrs
    assert dict(second.attributes)["gen_ai.response.id"] == "resp-2"
    assert first.end_time <= second.start_time

    (ok,) = names["execute_tool add"]
    assert ok.parent.span_id == agent.context.span_id
    assert dict(ok.attributes) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add",
        "gen_ai.tool.call.id": "call_a",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.description": "Add two numbers.",
    }
    assert ok.status.status_code == StatusCode.UNSET
    (failed,) = names["execute_tool boom"]
    assert failed.status.status_code == StatusCode.ERROR
    assert "kaput" in failed.status.description
    assert failed.attributes["error.type"] == "error"
    (inner,) = names["inside the tool"]  # the tool's own span nests under its execute_tool span
    assert inner.parent.span_id == names["execute_tool traced"][0].context.span_id
    assert result.output == "5"
    for span in spans:  # the key is in no attribute
        assert "sk-otel-test-key-1" not in json.dumps(dict(span.attributes), default=str)


def test_message_contents_only_when_opted_in(fake_server: FakeServer) -> None:
    _script(fake_server)
    spans, _ = _run(fake_server, capture=True)
    names = _by_name(spans)
    (agent,) = names["invoke_agent helper"]
    assert json.loads(agent.attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be brief."}
    ]
    first = names["chat fake-model"][0]
    sent = json.loads(first.attributes["gen_ai.input.messages"])
    assert [m["role"] for m in sent] == ["system", "user"]
    out = json.loads(first.attributes["gen_ai.output.messages"])
    assert out[0]["parts"][0] == {
        "type": "tool_call", "id": "call_a", "name": "add", "arguments": '{"a": 2, "b": 3}'
    }  # fmt: skip
    (ok,) = names["execute_tool add"]
    assert ok.attributes["gen_ai.tool.call.arguments"] == '{"a": 2, "b": 3}'
    assert ok.attributes["gen_ai.tool.call.result"] == "5"


def test_a_failed_model_call_is_an_error_status(fake_server: FakeServer) -> None:
    fake_server.script(json_reply({"error": {"message": "bad request"}}, status=400))
    spans, result = _run(fake_server)
    assert type(result).__name__ == "BadRequestError"
    names = _by_name(spans)
    (chat,) = names["chat fake-model"]
    (agent,) = names["invoke_agent helper"]
    for span in (chat, agent):
        assert span.status.status_code == StatusCode.ERROR
        assert span.attributes["error.type"] == "BadRequestError"
        assert "bad request" in span.status.description


def test_the_idle_plugin_leaves_the_runs_fast_path_alone() -> None:
    from agentloop.testing import ScriptedModel, text_response

    agent = Agent(ScriptedModel([text_response("hi")]), plugins=[OtelPlugin()], load_plugins=False)
    # no stream-event observer: the loop builds and dispatches no run events for this agent
    assert agent.plugin_manager.hook.agentloop_stream_event.get_hookimpls() == []
    assert agent.run("hi").output == "hi"


def test_nothing_happens_until_a_tracer_provider_is_configured(fake_server: FakeServer) -> None:
    from opentelemetry import trace

    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    plugin = OtelPlugin()  # the global provider: not configured in this process
    fake_server.script(sse_reply([chunk(content="hi"), chunk(finish="stop")]))
    agent = Agent(
        "local:m", base_url=fake_server.base_url, api_key="k", plugins=[plugin], load_plugins=False
    )
    assert agent.run("hi").output == "hi"
    assert plugin._runs == {} and plugin._get_tracer() is None


def test_the_entry_point_registers_the_plugin() -> None:
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="agentloop") if e.name == "otel"]
    assert ep.value == "agentloop.tracing.otel:plugin"
    assert isinstance(ep.load(), OtelPlugin)


def test_without_opentelemetry_the_entry_point_loads_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    from agentloop.tracing import otel

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "opentelemetry" else real(name, *a),
    )
    absent = otel._plugin()
    assert not [name for name in dir(absent) if name.startswith("agentloop_")]
    agent = Agent(plugins=[absent], load_plugins=False)
    assert agent.run("What is 2 + 3?").output
