"""Guardrails over a real local HTTP server: each outcome at each point, streamed and not."""

from __future__ import annotations

import threading

import pytest
from teams_support import agent, calls, run, text

from agentloop import (
    Allow,
    Block,
    ConfigurationError,
    Guardrail,
    GuardrailBlocked,
    GuardrailError,
    Replace,
    Retry,
    RunError,
    hookimpl,
    input_guardrail,
    output_guardrail,
    tool,
    tool_guardrail,
)
from agentloop.tracing.recorder import TraceRecorder

STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])


@tool
def lookup(account: str) -> str:
    """Look an account up.

    Args:
        account: The account number.
    """
    return f"account {account}: 12 EUR"


def _guard_steps(result):
    return [
        (s.point, s.guardrail, s.outcome, s.detail) for s in result.steps if s.kind == "guardrail"
    ]


# -- input -------------------------------------------------------------------------------------


@STREAMS
def test_input_allow_and_replace(fake_server, stream):
    @input_guardrail
    def fine(prompt):
        return Allow()

    @input_guardrail
    def redact(prompt):
        return Replace(prompt.replace("4111-1111", "[card]"))

    events = []
    bot = agent(fake_server, guardrails=[fine, redact], plugins=[TraceRecorder(events.append)])
    fake_server.script(text("Noted.", stream=stream))
    result = run(bot, "my card is 4111-1111", stream=stream)
    assert result.output == "Noted."
    sent = fake_server.requests[0].json["messages"]
    assert sent[-1] == {"role": "user", "content": "my card is [card]"}
    assert _guard_steps(result) == [
        ("input", "fine", "allow", None),
        ("input", "redact", "replace", None),
    ]
    # the log records that it happened, never the original
    assert "4111" not in repr([e.to_dict() for e in events])
    assert [e.data["outcome"] for e in events if e.type == "guardrail"] == ["allow", "replace"]


@STREAMS
def test_input_block_refuses_without_a_model_call(fake_server, stream):
    @input_guardrail
    def topic(prompt):
        return Block("I only talk about billing.") if "weather" in prompt else None

    result = run(agent(fake_server, guardrails=[topic]), "the weather?", stream=stream)
    assert result.output == "I only talk about billing."
    assert result.stop_reason == "guardrail"
    assert fake_server.requests == []
    assert result.messages[-1] == {"role": "assistant", "content": "I only talk about billing."}


@STREAMS
def test_parallel_input_guardrail_block_cancels_the_first_call(fake_server, stream):
    from fakeserver import chunk, hang_reply, sse_reply

    gate = threading.Event()

    class Slow(Guardrail):
        parallel = True

        def check_input(self, context, text):
            gate.wait(5)
            return Block("blocked while the model ran")

    def reply(request):
        gate.set()  # the model call is under way: now the guardrail answers
        if not stream:
            return hang_reply(3)
        return sse_reply([chunk(content=f"w{i} ") for i in range(20)], delay=0.2)

    fake_server.script(reply)
    result = run(agent(fake_server, guardrails=[Slow()], tool_timeout=None), "x", stream=stream)
    assert result.output == "blocked while the model ran"
    assert result.stop_reason == "guardrail"
    assert [s.kind for s in result.steps] == ["guardrail"]
    assert not result.text.startswith("w")  # the model's cancelled text is not the answer


def test_parallel_input_guardrail_allows_and_the_answer_stands(fake_server):
    @input_guardrail(parallel=True)
    def quick(prompt):
        return None

    fake_server.script(text("hello", stream=True))
    result = run(agent(fake_server, guardrails=[quick]), "x", stream=True)
    assert result.output == "hello"
    assert _guard_steps(result) == [("input", "quick", "allow", None)]


def test_input_retry_is_a_guardrail_error(fake_server):
    @input_guardrail
    def again(prompt):
        return Retry("no")

    with pytest.raises(GuardrailError, match="'again' answered Retry at the input"):
        agent(fake_server, guardrails=[again]).run("x")


# -- tool calls ---------------------------------------------------------------------------------


@STREAMS
def test_tool_block_sends_the_reason_to_the_model(fake_server, stream):
    @tool_guardrail
    def no_vip(call, arguments):
        return Block("VIP accounts are private") if arguments["account"] == "007" else Allow()

    fake_server.script(
        calls(("lookup", {"account": "007"}), stream=stream), text("Sorry.", stream=stream)
    )
    result = run(agent(fake_server, tools=[lookup], guardrails=[no_vip]), "x", stream=stream)
    assert result.output == "Sorry."
    (answer,) = [m for m in fake_server.requests[1].json["messages"] if m["role"] == "tool"]
    assert answer["content"] == "blocked by guardrail 'no_vip': VIP accounts are private"
    tool_step = next(s for s in result.steps if s.kind == "tool")
    assert tool_step.status == "denied"
    assert _guard_steps(result) == [("tool_call", "no_vip", "block", "VIP accounts are private")]


@STREAMS
def test_tool_replace_changes_the_arguments(fake_server, stream):
    @tool_guardrail
    def mask(call, arguments):
        return Replace({"account": "***"})

    fake_server.script(
        calls(("lookup", {"account": "123"}), stream=stream), text("ok", stream=stream)
    )
    result = run(agent(fake_server, tools=[lookup], guardrails=[mask]), "x", stream=stream)
    assert any(m.get("content") == "account ***: 12 EUR" for m in result.messages)
    assert _guard_steps(result) == [("tool_call", "mask", "replace", None)]


@STREAMS
def test_tool_retry_answers_the_call_with_the_feedback(fake_server, stream):
    @tool_guardrail
    def fmt(call, arguments):
        return Retry("use the 3-digit account number")

    fake_server.script(
        calls(("lookup", {"account": "1"}), stream=stream), text("ok", stream=stream)
    )
    result = run(agent(fake_server, tools=[lookup], guardrails=[fmt]), "x", stream=stream)
    (answer,) = [m for m in result.messages if m["role"] == "tool"]
    assert "use the 3-digit account number" in answer["content"]


def test_tool_replace_with_bad_arguments_is_a_guardrail_error(fake_server):
    @tool_guardrail
    def wrong(call, arguments):
        return Replace({"nope": 1})

    fake_server.script(calls(("lookup", {"account": "1"}), stream=False))
    with pytest.raises(GuardrailError, match="'wrong' replaced the arguments"):
        agent(fake_server, tools=[lookup], guardrails=[wrong]).run("x")


# -- output --------------------------------------------------------------------------------------


@STREAMS
def test_output_replace_is_what_the_user_sees(fake_server, stream):
    @output_guardrail
    def redact(output):
        return Replace(output.replace("secret-plan", "[redacted]"))

    fake_server.script(text("The secret-plan is ready.", stream=stream))
    result = run(agent(fake_server, guardrails=[redact]), "x", stream=stream)
    assert result.output == "The [redacted] is ready."
    assert result.messages[-1]["content"] == "The [redacted] is ready."
    assert _guard_steps(result) == [("output", "redact", "replace", None)]


@STREAMS
def test_output_block_is_a_typed_error_with_the_partial_result(fake_server, stream):
    @output_guardrail
    def no_promises(output):
        return Block("promises a refund") if "refund" in output else None

    fake_server.script(text("You get a refund.", stream=stream))
    with pytest.raises(GuardrailBlocked, match="'no_promises' blocked the answer") as info:
        run(agent(fake_server, guardrails=[no_promises]), "x", stream=stream)
    assert isinstance(info.value, RunError) and info.value.guardrail == "no_promises"
    assert info.value.result is not None and info.value.result.output is None
    assert [s.outcome for s in info.value.result.steps if s.kind == "guardrail"] == ["block"]


@STREAMS
def test_output_retry_asks_the_model_again_bounded(fake_server, stream):
    @output_guardrail
    def polite(output):
        return None if output.startswith("Please") else Retry("Start with 'Please'.")

    fake_server.script(text("Pay now.", stream=stream), text("Please pay.", stream=stream))
    result = run(agent(fake_server, guardrails=[polite]), "x", stream=stream)
    assert result.output == "Please pay."
    assert fake_server.requests[1].json["messages"][-1] == {
        "role": "user",
        "content": "Start with 'Please'.",
    }
    fake_server.script(*(text("No.", stream=stream) for _ in range(2)))
    with pytest.raises(GuardrailBlocked, match="output_retries=1"):
        run(agent(fake_server, guardrails=[polite], output_retries=1), "x", stream=stream)


# -- failures and configuration -----------------------------------------------------------------


@STREAMS
def test_a_guardrail_that_raises_ends_the_run_naming_it(fake_server, stream):
    @output_guardrail
    def flaky(output):
        raise ValueError("classifier down")

    fake_server.script(text("hi", stream=stream))
    with pytest.raises(GuardrailError, match="guardrail 'flaky' failed at the output check"):
        run(agent(fake_server, guardrails=[flaky]), "x", stream=stream)

    @input_guardrail
    def odd(prompt):
        return "yes"

    with pytest.raises(GuardrailError, match="'odd' answered 'yes'"):
        agent(fake_server, guardrails=[odd]).run("x")


def test_bad_guardrail_configuration():
    from agentloop import Agent

    with pytest.raises(ConfigurationError, match="takes Guardrail objects"):
        Agent(guardrails=[lambda text: None])
    with pytest.raises(ConfigurationError, match="checks nothing"):
        Agent(guardrails=[Guardrail()])
    with pytest.raises(ConfigurationError, match="only input guardrails can run in parallel"):
        output_guardrail(lambda o: None, parallel=True)


# -- the hooks -------------------------------------------------------------------------------------


class Policy:
    """A plugin guardrail at every point."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def agentloop_guard_input(self, context, text):
        self.seen.append(("input", text))
        return Replace(text.upper())

    @hookimpl
    def agentloop_guard_tool_call(self, context, call, tool, arguments):
        self.seen.append(("tool_call", arguments))
        return Block("no lookups today")

    @hookimpl
    def agentloop_guard_output(self, context, output):
        self.seen.append(("output", output))
        return Replace(output + "!")


def test_hook_agentloop_guard_input(fake_server):
    policy = Policy()
    fake_server.script(text("done", stream=False))
    agent(fake_server, plugins=[policy]).run("quiet")
    assert fake_server.requests[0].json["messages"][-1]["content"] == "QUIET"
    assert policy.seen[0] == ("input", "quiet")


def test_hook_agentloop_guard_tool_call(fake_server):
    policy = Policy()
    fake_server.script(calls(("lookup", {"account": "1"}), stream=True), text("ok", stream=True))
    result = run(agent(fake_server, tools=[lookup], plugins=[policy]), "x", stream=True)
    assert ("tool_call", {"account": "1"}) in policy.seen
    (answer,) = [m for m in result.messages if m["role"] == "tool"]
    assert "no lookups today" in answer["content"]
    assert any(s.guardrail and s.point == "tool_call" for s in result.steps)


def test_hook_agentloop_guard_output(fake_server):
    policy = Policy()
    fake_server.script(text("done", stream=False))
    result = agent(fake_server, plugins=[policy]).run("x")
    assert result.output == "done!"
    assert ("output", "done") in policy.seen


def test_guardrails_follow_the_active_agent_through_a_handoff(fake_server):
    from teams_support import transfer

    @output_guardrail
    def signed(output):
        return Replace(output + " -- billing")

    billing = agent(fake_server, name="billing", guardrails=[signed])
    triage = agent(fake_server, name="triage", handoffs=[billing])
    fake_server.script(transfer("billing", stream=False), text("Paid.", stream=False))
    result = triage.run("x")
    assert result.output == "Paid. -- billing"
    assert [(s.agent, s.outcome) for s in result.steps if s.kind == "guardrail"] == [
        ("billing", "replace")
    ]
