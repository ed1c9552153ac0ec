"""The run seam: RunSpec and RunLimits, frozen and public, and the names they replaced."""

from __future__ import annotations

import dataclasses
import warnings

import pytest
from loop_support import make_agent

from agentloop import Agent, ConfigurationError, RunLimits, RunSpec
from agentloop.testing import ScriptedModel


def test_run_limits_check_themselves() -> None:
    assert RunLimits().max_steps == 20 and RunLimits().tool_timeout == 300.0
    for bad in (
        {"max_steps": 0},
        {"max_steps": True},
        {"max_tool_retries": -1},
        {"tool_timeout": 0},
        {"tool_timeout": "5"},
        {"max_result_chars": 0},
        {"max_parallel_tools": None},
    ):
        with pytest.raises(ConfigurationError, match=next(iter(bad))):
            RunLimits(**bad)  # type: ignore[arg-type]
    assert RunLimits(max_tokens_total=None, max_repeated_calls=None).max_repeated_calls is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        RunLimits().max_steps = 3  # type: ignore[misc]


def test_agent_keywords_and_limits_give_the_same_limits() -> None:
    by_keywords = Agent(ScriptedModel([]), load_plugins=False, max_steps=5, tool_timeout=None)
    by_limits = Agent(
        ScriptedModel([]), load_plugins=False, limits=RunLimits(max_steps=5, tool_timeout=None)
    )
    assert by_keywords.limits == by_limits.limits
    assert by_keywords.max_steps == 5 and by_keywords.tool_timeout is None


def test_limits_and_a_limit_keyword_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="either limits=RunLimits"):
        Agent(ScriptedModel([]), load_plugins=False, limits=RunLimits(), max_steps=3)


def test_setting_a_limit_on_the_agent_replaces_the_limits_checked() -> None:
    agent, _ = make_agent([])
    before = agent.limits
    agent.max_steps = 7
    assert agent.limits.max_steps == 7 and before.max_steps == 20
    with pytest.raises(ConfigurationError, match="max_steps"):
        agent.max_steps = 0


def test_the_spec_is_a_frozen_snapshot_of_the_agent() -> None:
    agent, model = make_agent(["hi"], instructions="be brief", max_steps=4)
    spec = agent.spec()
    assert isinstance(spec, RunSpec)
    assert (spec.model, spec.instructions, spec.limits.max_steps, spec.agent) == (
        model,
        "be brief",
        4,
        agent,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.model = None  # type: ignore[misc]
    agent.instructions = "changed"
    assert spec.instructions == "be brief" and agent.spec().instructions == "changed"


def test_a_changed_spec_runs_with_its_own_model() -> None:
    agent, original = make_agent(["from the agent's model"])
    other = ScriptedModel(["from the spec's model"])
    events = list(agent.events("x", spec=agent.spec().replace(model=other)))
    assert events[-1].result.output == "from the spec's model"
    assert original.requests == [] and len(other.requests) == 1


def test_the_context_shows_the_agent_and_the_spec() -> None:
    seen = []
    from agentloop import RunContext, tool

    @tool
    def probe(context: RunContext) -> str:
        """Look."""
        seen.append(context)
        return "ok"

    from agentloop.testing import tool_call, tool_calls_response

    agent, _ = make_agent([tool_calls_response(tool_call("probe")), "done"], tools=[probe])
    agent.run("x")
    assert seen[0].agent is agent and seen[0].spec.limits == agent.limits


def test_old_import_paths_still_work_and_warn() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from agentloop.arguments import initial_messages  # type: ignore[attr-defined]
        from agentloop.batch.aio import arun  # type: ignore[attr-defined]
    from agentloop import agent_options, aio

    assert initial_messages is agent_options.initial_messages and arun is aio.arun
    assert [w.category for w in caught] == [DeprecationWarning, DeprecationWarning]
