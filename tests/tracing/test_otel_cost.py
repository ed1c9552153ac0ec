"""OpenTelemetry: ``agentloop.usage.cost`` on chat and invoke_agent spans, absent when unknown."""

from __future__ import annotations

import os
from typing import Any

import pytest
from fakeserver import FakeServer, chunk, sse_reply

from agentloop import Agent

try:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
except ImportError:  # pragma: no cover - CI installs the SDK
    if os.environ.get("AGENTLOOP_ALLOW_SKIP") != "1":
        raise
    pytest.skip("opentelemetry-sdk is not installed", allow_module_level=True)

from agentloop.tracing.otel import OtelPlugin

PROVIDER = TracerProvider()
EXPORTER = InMemorySpanExporter()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))


def _spans(server: FakeServer, usage: dict[str, Any]) -> dict[str, Any]:
    EXPORTER.clear()
    server.script(
        sse_reply([chunk(content="hi", finish="stop"), chunk(choices=False, usage=usage)])
    )
    agent = Agent(
        "local:fake-model",
        base_url=server.base_url,
        api_key="sk-otel-test-key-1",
        plugins=[OtelPlugin(PROVIDER)],
        load_plugins=False,
        stream=True,
    )
    agent.run("hi")
    return {s.name.split()[0]: s for s in EXPORTER.get_finished_spans()}


def test_the_cost_is_an_attribute_of_the_call_and_the_run(fake_server: FakeServer) -> None:
    spans = _spans(fake_server, {"prompt_tokens": 3, "completion_tokens": 1, "cost": 0.0025})
    assert spans["chat"].attributes["agentloop.usage.cost"] == pytest.approx(0.0025)
    assert spans["invoke_agent"].attributes["agentloop.usage.cost"] == pytest.approx(0.0025)


def test_an_unknown_cost_is_no_attribute_never_zero(fake_server: FakeServer) -> None:
    spans = _spans(fake_server, {"prompt_tokens": 3, "completion_tokens": 1})
    assert "agentloop.usage.cost" not in spans["chat"].attributes
    assert "agentloop.usage.cost" not in spans["invoke_agent"].attributes
