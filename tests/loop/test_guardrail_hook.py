"""``agentloop_guardrail``: one call per guardrail answer, through a real local HTTP server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fakeserver import FakeServer, Reply, chunk, completion, json_reply, sse_reply, tool_call_chunk

from agentloop import (
    Agent,
    Allow,
    Block,
    Replace,
    Retry,
    StepFinished,
    hookimpl,
    input_guardrail,
    output_guardrail,
    tool,
    tool_guardrail,
)

STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])


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


def _calls(*pairs: tuple[str, dict[str, Any]], stream: bool) -> Reply:
    if stream:
        parts = [
            tool_call_chunk(f"c{i}", name, json.dumps(args), index=i)
            for i, (name, args) in enumerate(pairs)
        ]
        return sse_reply([*parts, chunk(finish="tool_calls")])
    wire = [
        {"id": f"c{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
        for i, (n, a) in enumerate(pairs)
    ]
    return json_reply(completion(None, tool_calls=wire, finish="tool_calls"))


class Seen:
    """Records each guardrail answer the hook gets, and what the run had emitted by then."""

    def __init__(self) -> None:
        self.steps: list[Any] = []
        self.emitted: list[int] = []  # guardrail StepFinished events emitted before each call
        self._events = 0

    @hookimpl
    def agentloop_guardrail(self, context: Any, step: Any) -> None:
        self.steps.append(step)
        self.emitted.append(self._events)

    def count(self, event: Any) -> None:
        if isinstance(event, StepFinished) and event.kind == "guardrail":
            self._events += 1


def _run(agent: Agent, prompt: str, seen: Seen, *, stream: bool) -> Any:
    if not stream:
        return agent.run(prompt)
    final = None
    for event in agent.stream(prompt):
        seen.count(event)
        final = getattr(event, "result", final)
    return final


@STREAMS
def test_hook_agentloop_guardrail(fake_server: FakeServer, stream: bool) -> None:
    @input_guardrail
    def redact(prompt):
        return Replace(prompt.replace("4111", "[card]"))

    @tool_guardrail
    def no_vip(call, arguments):
        return Block("VIP accounts are private") if arguments["account"] == "007" else Allow()

    answers = iter([Retry("say it in EUR"), Allow()])

    @output_guardrail
    def currency(output):
        return next(answers)

    seen = Seen()
    agent = Agent(
        "local:fake-model", base_url=fake_server.base_url, api_key="sk-test",
        tools=[lookup], guardrails=[redact, no_vip, currency], plugins=[seen],
        load_plugins=False, stream=stream,
    )  # fmt: skip
    fake_server.script(
        _calls(("lookup", {"account": "1"}), ("lookup", {"account": "007"}), stream=stream),
        _text("12", stream=stream),
        _text("12 EUR", stream=stream),
    )
    result = _run(agent, "card 4111: balance of 1 and 007?", seen, stream=stream)
    assert result.output == "12 EUR"
    recorded = [s for s in result.steps if s.kind == "guardrail"]
    # every answer once, in order, the very Step objects the result keeps
    assert seen.steps == recorded
    assert [(s.point, s.guardrail, s.outcome, s.detail, s.call_id) for s in seen.steps] == [
        ("input", "redact", "replace", None, None),
        ("tool_call", "no_vip", "allow", None, "c0"),
        ("tool_call", "no_vip", "block", "VIP accounts are private", "c1"),
        ("output", "currency", "retry", "say it in EUR", None),
        ("output", "currency", "allow", None, None),
    ]
    if stream:  # called just before each answer's StepFinished event
        assert seen.emitted == [0, 1, 2, 3, 4]


def test_the_hook_is_not_called_in_a_run_without_guardrails(fake_server: FakeServer) -> None:
    seen = Seen()
    agent = Agent(
        "local:fake-model", base_url=fake_server.base_url, api_key="sk-test",
        plugins=[seen], load_plugins=False,
    )  # fmt: skip
    fake_server.script(_text("hi", stream=False))
    assert agent.run("hi").output == "hi"
    assert seen.steps == []
    # implementing it is no stream observer: the run builds no events for this agent
    assert agent.plugin_manager.hook.agentloop_stream_event.get_hookimpls() == []


def test_a_plugin_guardrail_is_seen_too_and_a_raising_observer_ends_the_run(
    fake_server: FakeServer,
) -> None:
    class Topic:
        @hookimpl
        def agentloop_guard_input(self, context, text):
            return Block("billing only") if "weather" in text else None

    class Broken:
        @hookimpl
        def agentloop_guardrail(self, context, step):
            raise RuntimeError("observer down")

    seen = Seen()
    agent = Agent(
        "local:fake-model", base_url=fake_server.base_url, api_key="sk-test",
        plugins=[Topic(), seen], load_plugins=False,
    )  # fmt: skip
    result = agent.run("weather?")
    assert result.stop_reason == "guardrail" and fake_server.requests == []
    assert [(s.point, s.outcome, s.detail) for s in seen.steps] == [
        ("input", "block", "billing only")
    ]
    assert "Topic" in seen.steps[0].guardrail
    broken = Agent(
        "local:fake-model", base_url=fake_server.base_url, api_key="sk-test",
        plugins=[Topic(), Broken()], load_plugins=False,
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="observer down"):  # as from any hook
        broken.run("weather?")
