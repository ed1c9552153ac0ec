"""Handoffs over a real local HTTP server: the enum-validated transfer, the switch, the limits."""

from __future__ import annotations

import asyncio
import json

import pytest
from teams_support import agent, run, text, transfer

from agentloop import (
    Agent,
    ConfigurationError,
    HandoffLimitExceeded,
    HandoffLoopDetected,
    InMemorySession,
    RunError,
    StepFinished,
    handoff,
    hookimpl,
)
from agentloop.tracing.recorder import TraceRecorder

STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])


def _team(server, **triage_kwargs):
    billing = agent(server, name="billing", instructions="You handle billing.",
                    description="Charges, invoices and payment methods.")  # fmt: skip
    refunds = agent(server, name="refunds", instructions="You handle refunds.",
                    model_settings={"temperature": 0.1})  # fmt: skip
    triage = agent(server, name="triage", instructions="Route the user.",
                   handoffs=[billing, refunds], **triage_kwargs)  # fmt: skip
    return triage, billing, refunds


@STREAMS
def test_triage_hands_off_by_an_enum_validated_call_and_the_specialist_answers(fake_server, stream):
    triage, _, _ = _team(fake_server)
    fake_server.script(
        transfer("accounting", stream=stream, prefix="bad"),  # invented: rejected to the model
        transfer("refunds", stream=stream),
        text("Your refund is on its way.", stream=stream),
    )
    events = []
    triage.plugin_manager.register(TraceRecorder(events.append))
    result = run(triage, "Refund my order", stream=stream)
    assert result.output == "Your refund is on its way."
    assert result.agent == "refunds"
    assert len(fake_server.requests) == 3  # no model call of the handoff's own
    first = fake_server.requests[0].json
    (tool,) = first["tools"]
    params = tool["function"]["parameters"]["properties"]["agent_name"]
    assert params["enum"] == ["billing", "refunds"]
    assert "Charges, invoices and payment methods." in tool["function"]["description"]
    assert "You handle refunds." in tool["function"]["description"]
    second = fake_server.requests[1].json["messages"]
    rejected = next(m for m in second if m["role"] == "tool")
    assert "is not one of" in rejected["content"] and "accounting" in rejected["content"]
    third = fake_server.requests[2].json
    # the specialist's instructions, settings and (no) tools from the next call on
    assert third["messages"][0] == {"role": "system", "content": "You handle refunds."}
    assert all(m.get("content") != "Route the user." for m in third["messages"])
    assert third["temperature"] == 0.1 and "tools" not in third
    assert any(m.get("content") == "Refund my order" for m in third["messages"])
    kinds = [s.kind for s in result.steps]
    assert kinds == ["model", "tool", "model", "tool", "handoff", "model"]
    step = result.steps[4]
    assert (step.from_agent, step.agent, step.call_id) == ("triage", "refunds", "t0")
    # the trace records the switch
    (switch,) = [e for e in events if e.type == "handoff"]
    assert (switch.data["from_agent"], switch.data["to_agent"]) == ("triage", "refunds")
    # the whole transcript stays in the result (with the first agent's instructions)
    assert result.messages[0]["content"] == "Route the user."


def test_history_last_user_shows_the_specialist_only_the_last_question(fake_server):
    billing = agent(fake_server, name="billing", instructions="Billing.")
    triage = agent(fake_server, name="triage", handoffs=[handoff(billing, history="last_user")])
    fake_server.script(transfer("billing", stream=False), text("Paid.", stream=False))
    result = triage.run("Was I charged?", history=[{"role": "user", "content": "hi"},
                                                   {"role": "assistant", "content": "hello"}])  # fmt: skip
    assert result.output == "Paid."
    assert fake_server.requests[1].json["messages"] == [
        {"role": "system", "content": "Billing."},
        {"role": "user", "content": "Was I charged?"},
    ]


def test_a_history_function_filters_what_the_specialist_sees(fake_server):
    seen = []

    def only_users(messages):
        seen.append([m["role"] for m in messages])
        return [m for m in messages if m["role"] == "user"]

    billing = agent(fake_server, name="billing")
    triage = agent(fake_server, name="triage", handoffs=[handoff(billing, history=only_users)])
    fake_server.script(transfer("billing", stream=False), text("ok", stream=False))
    assert triage.run("q").output == "ok"
    assert seen == [["user", "assistant", "tool"]]
    assert fake_server.requests[1].json["messages"] == [{"role": "user", "content": "q"}]


def test_the_specialist_tools_run_after_the_switch(fake_server):
    from teams_support import calls

    def refund(order: str) -> str:
        """Refund an order.

        Args:
            order: The order id.
        """
        return f"refunded {order}"

    refunds = agent(fake_server, name="refunds", tools=[refund])
    triage = agent(fake_server, name="triage", handoffs=[refunds])
    fake_server.script(
        transfer("refunds", stream=False),
        calls(("refund", {"order": "A1"}), stream=False),
        text("Done.", stream=False),
    )
    result = triage.run("refund A1")
    assert result.output == "Done."
    names = [t["function"]["name"] for t in fake_server.requests[1].json["tools"]]
    assert names == ["refund"]
    assert any(m.get("content") == "refunded A1" for m in result.messages)


def test_max_handoffs_ends_the_run_with_a_typed_error_and_the_partial_result(fake_server):
    a = agent(fake_server, name="a")
    b = agent(fake_server, name="b", handoffs=[a])
    c = agent(fake_server, name="c", handoffs=[b])
    a.handoffs = (handoff(c),)  # a cycle a -> c -> b -> a, allowed, bounded at run time
    root = agent(fake_server, name="root", handoffs=[a], max_handoffs=2)
    fake_server.script(transfer("a", stream=False), transfer("c", stream=False),
                       transfer("b", stream=False))  # fmt: skip
    with pytest.raises(HandoffLimitExceeded, match="max_handoffs=2") as info:
        root.run("go")
    assert isinstance(info.value, RunError)
    assert info.value.result is not None
    assert [s.agent for s in info.value.result.steps if s.kind == "handoff"] == ["a", "c"]
    assert info.value.result.stop_reason == "error"


def test_ping_pong_between_two_agents_is_detected(fake_server):
    a = agent(fake_server, name="a")
    b = agent(fake_server, name="b", handoffs=[a])
    a.handoffs = (handoff(b),)
    fake_server.script(*(transfer(n, stream=False, prefix=f"p{i}")
                         for i, n in enumerate(["b", "a", "b", "a"])))  # fmt: skip
    with pytest.raises(HandoffLoopDetected, match="'a' and 'b' keep handing") as info:
        a.run("go")
    assert info.value.result is not None
    assert len(fake_server.requests) == 3


def test_bad_configuration_is_a_clear_error(fake_server):
    billing = agent(fake_server, name="billing")
    with pytest.raises(ConfigurationError, match="must be an Agent"):
        Agent(handoffs=[lambda: None])
    with pytest.raises(ConfigurationError, match="must be an Agent"):
        handoff("billing")
    with pytest.raises(ConfigurationError, match="two handoff targets named 'billing'"):
        Agent(handoffs=[billing, agent(fake_server, name="billing")])
    with pytest.raises(ConfigurationError, match="history is"):
        handoff(billing, history="everything")
    with pytest.raises(ConfigurationError, match="max_handoffs"):
        Agent(handoffs=[billing], max_handoffs=-1)
    # two different agents with one name anywhere in the team
    other = agent(fake_server, name="triage")
    refunds = agent(fake_server, name="refunds", handoffs=[other])
    triage = agent(fake_server, name="triage", handoffs=[billing, refunds])
    with pytest.raises(ConfigurationError, match="two different agents are named 'triage'"):
        triage.run("x")
    assert fake_server.requests == []


def test_a_history_function_that_raises_names_the_handoff(fake_server):
    def broken(messages):
        raise KeyError("role")

    billing = agent(fake_server, name="billing")
    triage = agent(fake_server, name="triage", handoffs=[handoff(billing, history=broken)])
    fake_server.script(transfer("billing", stream=False))
    with pytest.raises(ConfigurationError, match="history filter of the handoff to 'billing'"):
        triage.run("x")


def test_hook_agentloop_handoff(fake_server):
    seen = []

    class Watch:
        @hookimpl
        def agentloop_handoff(self, context, from_agent, to_agent):
            seen.append((from_agent, to_agent, context.agent.name))

    triage, _, _ = _team(fake_server, plugins=[Watch()])
    fake_server.script(transfer("billing", stream=False), text("ok", stream=False))
    triage.run("x")
    assert seen == [("triage", "billing", "billing")]


@STREAMS
def test_stream_events_show_the_switch(fake_server, stream):
    triage, _, _ = _team(fake_server)
    fake_server.script(transfer("billing", stream=stream), text("Paid.", stream=stream))
    kinds = [e.kind for e in triage.stream("x") if isinstance(e, StepFinished)]
    assert kinds == ["model", "tool", "handoff", "model"]


def test_async_batch_and_session_runs_hand_off(fake_server):
    triage, _, _ = _team(fake_server)
    fake_server.script(transfer("billing", stream=False), text("async", stream=False))
    result = asyncio.run(triage.arun("x"))
    assert (result.output, result.agent) == ("async", "billing")
    fake_server.script(transfer("billing", stream=False), text("batched", stream=False))
    (item,) = triage.batch(["x"], workers=1)
    assert item.error is None and item.result.output == "batched"
    assert item.result.agent == "billing"
    session = InMemorySession()
    fake_server.script(transfer("refunds", stream=False), text("first", stream=False))
    assert triage.run("one", session=session).agent == "refunds"
    fake_server.script(text("second", stream=False))
    assert triage.run("two", session=session).output == "second"
    sent = fake_server.requests[-1].json["messages"]
    assert [m.get("content") for m in sent if m["role"] == "user"] == ["one", "two"]
    assert json.dumps(sent).count("transfer_to_agent") >= 1  # the stored run kept the transfer
