"""Every built-in evaluator, on facts that pass and facts that fail."""

from __future__ import annotations

import pytest

from agentloop.evals import (
    AllOf,
    AnyOf,
    Contains,
    Dataset,
    Equals,
    JsonSchemaValid,
    LLMJudge,
    MaxCost,
    MaxDuration,
    MaxModelCalls,
    MaxTokens,
    MaxToolCalls,
    Regex,
    RunFacts,
    ToolArguments,
    ToolCallFact,
    ToolTrajectory,
    evaluator,
)
from agentloop.testing import FunctionModel

CASE = Dataset.from_cases(
    [
        {
            "id": "c",
            "input": "What is 2**10?",
            "expected": "1024",
            "expected_tools": [{"name": "calculate", "arguments": {"expression": "2**10"}}, "log"],
        }
    ]
).cases[0]


def call(name: str, **arguments: object) -> ToolCallFact:
    return ToolCallFact(name=name, arguments=arguments)


FACTS = RunFacts(
    output="The answer is 1024.",
    tool_calls=(call("calculate", expression="2**10", precise=True), call("log")),
    model_calls=2,
    total_tokens=600,
    duration=0.5,
)


@pytest.mark.parametrize(
    "good, bad",
    [
        (Equals("The answer is 1024."), Equals("1024")),
        (Contains(["1024", "answer"]), Contains("1025")),
        (Regex(r"\b1024\b"), Regex(r"^\d+$")),
        (ToolTrajectory("exact"), ToolTrajectory("exact")),
        (ToolArguments("subset"), ToolArguments("exact")),
        (MaxToolCalls(2), MaxToolCalls(1)),
        (MaxModelCalls(2), MaxModelCalls(1)),
        (MaxTokens(600), MaxTokens(100)),
        (MaxDuration(5), MaxDuration(0.1)),
    ],
)
def test_each_evaluator_passes_and_fails(good, bad) -> None:
    assert good.evaluate(FACTS, CASE).passed is True
    facts = FACTS
    if isinstance(bad, ToolTrajectory):
        facts = RunFacts(output=FACTS.output, tool_calls=(call("log"), call("calculate")))
    verdict = bad.evaluate(facts, CASE)
    assert verdict.passed is False and 0 <= verdict.score < 1, verdict


def test_trajectory_modes_score_partially() -> None:
    facts = RunFacts(tool_calls=(call("log"), call("x"), call("calculate")))
    assert ToolTrajectory("any_order").evaluate(facts, CASE).score == 1.0
    assert ToolTrajectory("in_order").evaluate(facts, CASE).score == 0.5
    assert ToolTrajectory("exact").evaluate(facts, CASE).score == pytest.approx(0.0)
    assert ToolTrajectory("in_order").evaluate(FACTS, CASE).passed


def test_json_schema_valid() -> None:
    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    assert JsonSchemaValid(schema).evaluate(RunFacts(output='{"n": 3}'), CASE).passed
    assert not JsonSchemaValid(schema).evaluate(RunFacts(output={"n": "3"}), CASE).passed
    assert not JsonSchemaValid(schema).evaluate(RunFacts(output="not json"), CASE).passed


def test_max_cost_is_unknown_without_a_price() -> None:
    verdict = MaxCost(1.0).evaluate(FACTS, CASE)
    assert verdict.passed is None and verdict.score is None and "unknown" in verdict.reason
    priced = RunFacts(cost=0.5)
    assert MaxCost(1.0).evaluate(priced, CASE).passed is True
    assert MaxCost(0.1).evaluate(priced, CASE).passed is False


def test_composition() -> None:
    assert not AllOf([Contains("1024"), Contains("nope")]).evaluate(FACTS, CASE).passed
    assert AnyOf([Contains("1024"), Contains("nope")]).evaluate(FACTS, CASE).passed


def test_python_evaluator() -> None:
    @evaluator
    def short(facts):
        return len(facts.text) < 30

    @evaluator(threshold=0.5)
    def half(facts, case):
        return 0.4 if case.expected == "1024" else 1.0, "graded"

    assert short(FACTS) is True
    assert short.evaluate(FACTS, CASE).passed is True
    assert short.evaluate(RunFacts(output="x" * 40), CASE).passed is False
    verdict = half.evaluate(FACTS, CASE)
    assert verdict.passed is False and verdict.reason == "graded"


def test_llm_judge_is_off_by_default_and_not_deterministic() -> None:
    judge = LLMJudge("The answer gives the number.")
    verdict = judge.evaluate(FACTS, CASE)
    assert verdict.passed is None and verdict.deterministic is False
    judge.model = FunctionModel(lambda request: '{"score": 0.9, "reason": "fine"}')
    assert judge.evaluate(FACTS, CASE).passed is True
    judge.model = FunctionModel(lambda request: '{"score": 0.1, "reason": "wrong"}')
    assert judge.evaluate(FACTS, CASE).passed is False
