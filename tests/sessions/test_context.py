"""Context that fits: trimming keeps tool calls with their results and the instructions."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop import Agent, hookimpl
from agentloop.sessions.context import estimate_tokens, trim_messages
from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response
from agentloop.tracing import TraceRecorder


@st.composite
def histories(draw: st.DrawFn) -> list[dict]:
    """Valid chat histories: instructions, turns with tool-call steps, stray system notes."""
    messages: list[dict] = [{"role": "system", "content": "Be brief."}]
    n = 0
    for _ in range(draw(st.integers(0, 6))):
        messages.append({"role": "user", "content": "u" * draw(st.integers(1, 80))})
        for _ in range(draw(st.integers(0, 3))):
            k = draw(st.integers(1, 3))
            ids = [f"c{n + i}" for i in range(k)]
            n += k
            calls = [
                {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                for i in ids
            ]
            messages.append({"role": "assistant", "content": None, "tool_calls": calls})
            for i in ids:
                messages.append(
                    {"role": "tool", "tool_call_id": i, "content": "r" * draw(st.integers(0, 60))}
                )
        if draw(st.booleans()):
            messages.append({"role": "assistant", "content": "a" * draw(st.integers(1, 80))})
        if draw(st.integers(0, 9)) == 0:
            messages.append({"role": "developer", "content": "note"})
    return messages


def _pairs_intact(messages: list[dict]) -> bool:
    """Every tool call has its results right after it, and every result follows its call."""
    open_ids: set[str] = set()
    for m in messages:
        if m["role"] == "tool":
            if m["tool_call_id"] not in open_ids:
                return False
            open_ids.discard(m["tool_call_id"])
            continue
        if open_ids:
            return False
        open_ids = {c["id"] for c in m.get("tool_calls") or ()}
    return not open_ids


@settings(max_examples=300, deadline=None)
@given(histories(), st.integers(0, 400))
def test_trimming_never_separates_a_tool_call_from_its_results(
    messages: list[dict], budget: int
) -> None:
    kept, dropped = trim_messages(messages, budget)
    assert _pairs_intact(kept)
    # nothing invented, order kept, nothing lost
    assert sorted(map(json.dumps, kept + dropped)) == sorted(map(json.dumps, messages))
    it = iter(messages)
    assert all(any(m == x for x in it) for m in kept)
    # instructions and the latest prompt are never dropped
    assert [m for m in kept if m["role"] in ("system", "developer")] == [
        m for m in messages if m["role"] in ("system", "developer")
    ]
    users = [m for m in messages if m["role"] == "user"]
    if users:
        assert users[-1] in kept
    # it fits, unless only protected messages are left to drop
    if dropped and estimate_tokens(kept) > budget:
        loose = [m for m in kept if m["role"] not in ("system", "developer")]
        last = max((i for i, m in enumerate(loose) if m["role"] == "user"), default=-1)
        assert last <= 0  # nothing droppable before the prompt is left
        assert len([m for m in loose[last + 1 :] if m["role"] != "tool"]) <= 1  # one step after it
    if estimate_tokens(messages) <= budget:
        assert dropped == []


def _long_history(turns: int) -> list[dict]:
    history: list[dict] = []
    for i in range(turns):
        history += [
            {"role": "user", "content": f"question {i} " + "x" * 200},
            {"role": "assistant", "content": f"answer {i} " + "y" * 200},
        ]
    return history


def test_a_long_history_is_trimmed_to_the_budget_and_the_transcript_keeps_everything() -> None:
    model = ScriptedModel([text_response("ok")])
    agent = Agent(model, instructions="Be brief.", max_context_tokens=400, load_plugins=False)
    result = agent.run("last question", history=_long_history(10))
    sent = model.requests[0]["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[-1] == {"role": "user", "content": "last question"}
    assert estimate_tokens(sent) <= 400 and len(sent) < 22
    assert sent[1]["role"] == "user"  # whole turns go
    assert len(result.messages) == 23  # the run's transcript is complete


def test_the_budget_comes_from_the_model_profile() -> None:
    from agentloop.messages import ModelProfile

    model = ScriptedModel([text_response("ok")], profile=ModelProfile(context_tokens=300))
    Agent(model, load_plugins=False).run("q", history=_long_history(10))
    assert len(model.requests[0]["messages"]) < 21
    small = ScriptedModel([text_response("ok")])
    Agent(small, load_plugins=False).run("q", history=_long_history(10))
    assert len(small.requests[0]["messages"]) == 21  # no budget, no trimming


def test_hook_agentloop_compact_history() -> None:
    seen: list[tuple[int, int]] = []

    class Compactor:
        @hookimpl
        def agentloop_compact_history(self, messages: list[dict], budget: int) -> str:
            seen.append((len(messages), budget))
            return "they talked about questions 0 to 7"

    model = ScriptedModel([text_response("ok")])
    agent = Agent(
        model,
        max_context_tokens=400,
        compact_history=True,
        plugins=[Compactor()],
        load_plugins=False,
    )
    agent.run("last question", history=_long_history(10))
    sent = model.requests[0]["messages"]
    assert seen and seen[0][1] == 400
    assert sent[0]["role"] == "system" and sent[0]["content"].endswith("questions 0 to 7")
    assert len(model.requests) == 1  # the plugin answered: no extra model call


def test_the_default_compaction_asks_the_model_once_per_change() -> None:
    from loop_support import add

    from agentloop.testing import FunctionModel

    def answer(request: dict) -> object:
        messages = request["messages"]
        if str(messages[0].get("content")).startswith("Summarize"):
            return text_response("SUMMARY: questions 0-7")
        if messages[-1]["role"] == "tool":
            return text_response("3")
        return tool_calls_response(tool_call("add", {"a": 1, "b": 2}, id="c1"))

    model = FunctionModel(answer)
    agent = Agent(
        model, tools=[add], max_context_tokens=500, compact_history=True, load_plugins=False
    )
    result = agent.run("add 1 and 2", history=_long_history(10))
    assert result.output == "3"
    summaries = [r for r in model.requests if "tools" not in r]
    calls = [r for r in model.requests if "tools" in r]
    assert 1 <= len(summaries) <= len(calls) == 2  # asked again only when more was left out
    assert "question 0" in summaries[0]["messages"][1]["content"]
    for request in calls:
        assert request["messages"][0]["content"].endswith("SUMMARY: questions 0-7")
        assert request["messages"][-1]["role"] in ("user", "tool")


def test_hook_agentloop_context_trimmed() -> None:
    calls: list[tuple[int, str | None, str]] = []

    class Watch:
        @hookimpl
        def agentloop_context_trimmed(
            self, dropped_messages: list[dict], summary: str | None, reason: str
        ) -> None:
            calls.append((len(dropped_messages), summary, reason))

    events: list = []
    model = ScriptedModel(
        [tool_calls_response(tool_call("add", {"a": 1, "b": 2}, id="c1")), text_response("3")]
    )
    from loop_support import add

    agent = Agent(
        model,
        tools=[add],
        max_context_tokens=400,
        plugins=[Watch(), TraceRecorder(events.append)],
        load_plugins=False,
    )
    agent.run("add 1 and 2", history=_long_history(10))
    # each change of what is left out is told once, with the newly left-out messages
    assert 1 <= len(calls) <= 2
    assert all(summary is None and "context budget of" in reason for _, summary, reason in calls)
    trimmed = [e for e in events if e.type == "context_trimmed"]
    assert [len(e.data["dropped_messages"]) for e in trimmed] == [n for n, _, _ in calls]
    assert trimmed[0].data["step"] == 1
    first = next(e for e in events if e.type == "model_request")
    assert len(first.data["messages"]) == 21 - calls[0][0]  # the log has what was sent


def test_max_context_tokens_must_be_a_positive_count() -> None:
    import pytest

    from agentloop import ConfigurationError

    with pytest.raises(ConfigurationError, match="max_context_tokens"):
        Agent(ScriptedModel([]), max_context_tokens=0, load_plugins=False)
