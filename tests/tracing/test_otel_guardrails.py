"""OpenTelemetry: each guardrail answer is an ``agentloop.guardrail`` span event; a block marks
the agent's span. Real runs over the local HTTP server, streamed and not, with the SDK's
in-memory exporter (these tests need ``opentelemetry-sdk``, the ``test`` extra)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from fakeserver import FakeServer, Reply, chunk, completion, json_reply, sse_reply, tool_call_chunk

from agentloop import (
    Agent,
    Allow,
    Block,
    GuardrailBlocked,
    Replace,
    Retry,
    input_guardrail,
    output_guardrail,
    tool,
    tool_guardrail,
)

try:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode
except ImportError:  # pragma: no cover - CI installs the SDK
    if os.environ.get("AGENTLOOP_ALLOW_SKIP") != "1":
        raise
    pytest.skip("opentelemetry-sdk is not installed", allow_module_level=True)

from agentloop.tracing.otel import BLOCKED_ATTRIBUTE, GUARDRAIL_EVENT, OtelPlugin

PROVIDER = TracerProvider()
EXPORTER = InMemorySpanExporter()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
SECRET = "sk-guardrail-secret-0123456789"


@tool
def lookup(account: str) -> str:
    """Look an account up.

    Args:
        account: The account number.
    """
    return f"account {account}: 12 EUR"


def _text(content: str, *, stream: bool) -> Reply:
    if stream:
        return sse_reply([chunk(content=content), chunk(finish="stop")])
    return json_reply(completion(content))


def _calls(*pairs: tuple[str, dict[str, Any]], stream: bool, prefix: str = "c") -> Reply:
    if stream:
        parts = [
            tool_call_chunk(f"{prefix}{i}", name, json.dumps(args), index=i)
            for i, (name, args) in enumerate(pairs)
        ]
        return sse_reply([*parts, chunk(finish="tool_calls")])
    wire = [
        {"id": f"{prefix}{i}", "type": "function",
         "function": {"name": n, "arguments": json.dumps(a)}}
        for i, (n, a) in enumerate(pairs)
    ]  # fmt: skip
    return json_reply(completion(None, tool_calls=wire, finish="tool_calls"))


def _agent(server: FakeServer, *, stream: bool, capture: bool = False, **kw: Any) -> Agent:
    kw.setdefault("plugins", [OtelPlugin(PROVIDER, capture_content=capture)])
    return Agent(
        "local:fake-model", base_url=server.base_url, api_key="sk-otel-test-key-1",
        load_plugins=False, stream=stream, **kw,
    )  # fmt: skip


def _run(agent: Agent, prompt: str, *, stream: bool) -> Any:
    """Run streamed (consuming ``Agent.stream``) or not; the result, or the run's error."""
    EXPORTER.clear()
    try:
        if not stream:
            return agent.run(prompt)
        final = None
        for event in agent.stream(prompt):
            final = getattr(event, "result", final)
        return final
    except GuardrailBlocked as exc:
        return exc


def _spans() -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for span in EXPORTER.get_finished_spans():
        out.setdefault(span.name, []).append(span)
    return out


def _events(span: Any) -> list[dict[str, Any]]:
    return [dict(e.attributes) for e in span.events if e.name == GUARDRAIL_EVENT]


def _short(span: Any) -> list[tuple[str, str, str]]:
    return [
        (e["agentloop.guardrail.point"], e["agentloop.guardrail.name"],
         e["agentloop.guardrail.outcome"])
        for e in _events(span)
    ]  # fmt: skip


@STREAMS
def test_input_answers_are_events_of_the_agent_span(fake_server: FakeServer, stream: bool):
    @input_guardrail
    def fine(prompt):
        return Allow()

    @input_guardrail
    def redact(prompt):
        return Replace(prompt.replace("4111", "[card]"))

    fake_server.script(_text("Noted.", stream=stream))
    result = _run(_agent(fake_server, stream=stream, name="billing",
                         guardrails=[fine, redact]), "card 4111", stream=stream)  # fmt: skip
    assert result.output == "Noted."
    [span] = _spans()["invoke_agent billing"]
    assert _short(span) == [("input", "fine", "allow"), ("input", "redact", "replace")]
    assert BLOCKED_ATTRIBUTE not in span.attributes
    assert "agentloop.guardrail.detail" not in _events(span)[0]
    [chat] = _spans()["chat fake-model"]
    assert chat.events == ()  # the events are the agent's, not the model call's


@STREAMS
def test_an_input_block_marks_the_agent_span(fake_server: FakeServer, stream: bool):
    @input_guardrail
    def topic(prompt):
        return Block("I only talk about billing.")

    result = _run(_agent(fake_server, stream=stream, name="billing", guardrails=[topic]),
                  "weather?", stream=stream)  # fmt: skip
    assert result.stop_reason == "guardrail" and fake_server.requests == []
    spans = _spans()
    assert list(spans) == ["invoke_agent billing"]  # no chat span: no model call
    [span] = spans["invoke_agent billing"]
    assert _short(span) == [("input", "topic", "block")]
    assert span.attributes[BLOCKED_ATTRIBUTE] == "topic"
    assert span.status.status_code != StatusCode.ERROR  # a refusal is an answer, not a failure


@STREAMS
def test_tool_call_answers_go_on_the_execute_tool_span_or_the_agent_span(
    fake_server: FakeServer, stream: bool
):
    @tool_guardrail
    def no_vip(call, arguments):
        if arguments["account"] == "007":
            return Block(f"VIP {SECRET}")
        return Replace({"account": "2"}) if arguments["account"] == "1" else Allow()

    fake_server.script(
        _calls(("lookup", {"account": "1"}), ("lookup", {"account": "007"}),
               ("lookup", {"account": "3"}), stream=stream),
        _text("done", stream=stream),
    )  # fmt: skip
    agent = _agent(fake_server, stream=stream, name="bank", tools=[lookup], guardrails=[no_vip])
    assert _run(agent, "balances?", stream=stream).output == "done"
    spans = _spans()
    tools = {s.attributes["gen_ai.tool.call.id"]: s for s in spans["execute_tool lookup"]}
    assert sorted(tools) == ["c0", "c2"]  # the blocked call never ran: no span of its own
    assert _short(tools["c0"]) == [("tool_call", "no_vip", "replace")]
    assert _short(tools["c2"]) == [("tool_call", "no_vip", "allow")]
    assert _events(tools["c0"])[0]["gen_ai.tool.call.id"] == "c0"
    [span] = spans["invoke_agent bank"]
    assert _short(span) == [("tool_call", "no_vip", "block")]
    assert _events(span)[0]["gen_ai.tool.call.id"] == "c1"
    assert span.attributes[BLOCKED_ATTRIBUTE] == "no_vip"
    assert "agentloop.guardrail.detail" not in _events(span)[0]  # no content capture


@STREAMS
def test_a_call_allowed_then_blocked_keeps_every_answer_on_the_agent_span(
    fake_server: FakeServer, stream: bool
):
    @tool_guardrail
    def first(call, arguments):
        return Allow()

    @tool_guardrail
    def second(call, arguments):
        return Retry("ask for a different account")

    fake_server.script(
        _calls(("lookup", {"account": "1"}), stream=stream), _text("ok", stream=stream)
    )
    agent = _agent(fake_server, stream=stream, name="bank", tools=[lookup],
                   guardrails=[first, second])  # fmt: skip
    assert _run(agent, "balance?", stream=stream).output == "ok"
    spans = _spans()
    assert "execute_tool lookup" not in spans
    [span] = spans["invoke_agent bank"]
    assert _short(span) == [("tool_call", "first", "allow"), ("tool_call", "second", "retry")]
    assert BLOCKED_ATTRIBUTE not in span.attributes  # a retry is not a block


@STREAMS
def test_output_retry_then_block_with_content_capture_redacted(
    fake_server: FakeServer, stream: bool
):
    answers = iter([Retry("in EUR please"), Block(f"leaks {SECRET}")])

    @output_guardrail
    def check(output):
        return next(answers)

    fake_server.script(_text("12", stream=stream), _text("12 EUR", stream=stream))
    agent = _agent(fake_server, stream=stream, capture=True, name="bank", guardrails=[check])
    error = _run(agent, "balance?", stream=stream)
    assert isinstance(error, GuardrailBlocked)
    [span] = _spans()["invoke_agent bank"]
    events = _events(span)
    assert _short(span) == [("output", "check", "retry"), ("output", "check", "block")]
    assert events[0]["agentloop.guardrail.detail"] == "in EUR please"
    detail = events[1]["agentloop.guardrail.detail"]
    assert detail.startswith("leaks ") and SECRET not in detail  # the plugin's Redactor
    assert span.attributes[BLOCKED_ATTRIBUTE] == "check"
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "GuardrailBlocked"


@STREAMS
def test_after_a_handoff_the_new_agent_span_gets_the_events(fake_server: FakeServer, stream: bool):
    @output_guardrail
    def polite(output):
        return Block("rude")

    billing = _agent(fake_server, stream=stream, name="billing", plugins=[], guardrails=[polite])
    triage = _agent(fake_server, stream=stream, name="triage", handoffs=[billing])
    fake_server.script(
        _calls(("transfer_to_agent", {"agent_name": "billing"}), stream=stream, prefix="t"),
        _text("go away", stream=stream),
    )
    assert isinstance(_run(triage, "refund?", stream=stream), GuardrailBlocked)
    spans = _spans()
    [root] = spans["invoke_agent triage"]
    [specialist] = spans["invoke_agent billing"]
    assert _short(specialist) == [("output", "polite", "block")]
    assert _events(root) == []
    assert specialist.attributes[BLOCKED_ATTRIBUTE] == "polite"
    assert root.attributes[BLOCKED_ATTRIBUTE] == "polite"  # the run's span says so too


def test_no_tracer_provider_no_events_and_the_run_is_unchanged(fake_server: FakeServer):
    @input_guardrail
    def topic(prompt):
        return Block("no")

    EXPORTER.clear()
    agent = _agent(fake_server, stream=False, plugins=[OtelPlugin()], guardrails=[topic])
    assert agent.run("x").output == "no"  # the global provider is not configured here
    assert EXPORTER.get_finished_spans() == ()
