"""OpenTelemetry spans under the one redaction rule (issue 19: every writer, OTel included).

A key known to the process only through the key store is echoed by a real local server in the
response id, the response's model, a tool-call id, the content and a tool's error. No span name,
attribute, event or status description exported by the SDK's in-memory exporter may hold it,
with and without message content captured.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from fakeserver import FakeServer, chunk, sse_reply, tool_call_chunk

from agentloop import Agent, tool
from agentloop.providers.keys import save_key, stored_key

try:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
except ImportError:  # pragma: no cover - CI installs the SDK
    if os.environ.get("AGENTLOOP_ALLOW_SKIP") != "1":
        raise
    pytest.skip("opentelemetry-sdk is not installed", allow_module_level=True)

from agentloop.tracing.otel import OtelPlugin

_ECHO: list[str] = []


@tool
def echo_key() -> str:
    """Fail with the key the server echoed (a tool error carries it into the span's status)."""
    raise RuntimeError(f"upstream refused key {_ECHO[0]}")


def _everything(span: Any) -> str:
    """Every text a span exports: name, attributes, events and their attributes, status."""
    parts = [span.name, repr(dict(span.attributes or {}))]
    for event in span.events:
        parts += [event.name, repr(dict(event.attributes or {}))]
    parts.append(str(span.status.description))
    return "\n".join(parts)


def _spans_of_a_run_echoing(key: str, *, capture: bool) -> list[Any]:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with FakeServer() as server:
        server.script(
            sse_reply(
                [
                    chunk(role="assistant", id=f"chatcmpl-{key}", model=f"m-{key}"),
                    tool_call_chunk(f"call_{key}", "echo_key", "{}"),
                    chunk(finish="tool_calls"),
                ]
            ),
            sse_reply([chunk(content=f"your key is {key}", id=key, finish="stop")]),
        )
        agent = Agent(
            "local:m",
            base_url=server.base_url,
            api_key="unrelated-1234",
            tools=[echo_key],
            plugins=[OtelPlugin(provider, capture_content=capture)],
            load_plugins=False,
            stream=True,
        )
        result = agent.run("hi")
    assert key in result.output  # the server really echoed it
    return list(exporter.get_finished_spans())


@pytest.mark.parametrize("capture", [False, True], ids=["ids-only", "content-captured"])
def test_a_key_of_the_store_echoed_by_the_server_never_reaches_a_span(
    tmp_path: Path, capture: bool
) -> None:
    key = f"otel-{uuid.uuid4().hex}"
    home = {"AGENTLOOP_HOME": str(tmp_path / "home")}
    save_key("zprovider", key, env=home)
    assert stored_key("zprovider", env=home) == key  # known only through the key store
    _ECHO[:] = [key]
    spans = _spans_of_a_run_echoing(key, capture=capture)
    assert {s.name.split()[0] for s in spans} == {"invoke_agent", "chat", "execute_tool"}
    exported = "\n".join(_everything(s) for s in spans)
    assert key not in exported, [s.name for s in spans if key in _everything(s)]
    assert "[REDACTED]" in exported  # the echoed values were there, masked
