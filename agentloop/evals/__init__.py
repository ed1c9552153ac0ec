"""Evaluating agents: datasets of cases, deterministic evaluators, chaos, reports, comparisons.

::

    from agentloop.evals import Dataset

    report = Dataset.load("cases.jsonl").evaluate(agent)
    report.assert_score(0.9)          # in pytest

* :mod:`~agentloop.evals.dataset`: the dataset file (JSON, JSONL, YAML with PyYAML) and its
  JSON Schema;
* :mod:`~agentloop.evals.evaluators` and :mod:`~agentloop.evals.custom`: the evaluators,
  ``@evaluator`` and the LLM judge;
* :mod:`~agentloop.evals.facts`: what evaluators read, from a live, logged or replayed run;
* :mod:`~agentloop.evals.chaos`: seeded fault injection at the tool runner and model;
* :mod:`~agentloop.evals.runner`: running a dataset on the batch engine;
* :mod:`~agentloop.evals.report`, :mod:`~agentloop.evals.compare`, :mod:`~agentloop.evals.page`:
  the report, comparing two, and its HTML page.

Nothing here is imported by ``import agentloop``.
"""

from __future__ import annotations

from agentloop.evals.chaos import FAULTS, Chaos, Fault
from agentloop.evals.compare import Comparison, compare, load_report
from agentloop.evals.custom import FunctionEvaluator, LLMJudge, evaluator
from agentloop.evals.dataset import Case, Dataset, DatasetError, ExpectedCall, ExpectedTools
from agentloop.evals.evaluators import (
    AllOf,
    AnyOf,
    Contains,
    Equals,
    Evaluator,
    JsonSchemaValid,
    MaxCost,
    MaxDuration,
    MaxModelCalls,
    MaxTokens,
    MaxToolCalls,
    Regex,
    Score,
    ToolArguments,
    ToolTrajectory,
)
from agentloop.evals.facts import RunFacts, ToolCallFact, from_events, from_log, from_result
from agentloop.evals.report import CaseResult, CaseSpread, EvalReport, GroupStats
from agentloop.evals.runner import evaluate, score_case

__all__ = [
    "FAULTS",
    "AllOf",
    "AnyOf",
    "Case",
    "CaseResult",
    "CaseSpread",
    "Chaos",
    "Comparison",
    "Contains",
    "Dataset",
    "DatasetError",
    "Equals",
    "EvalReport",
    "Evaluator",
    "ExpectedCall",
    "ExpectedTools",
    "Fault",
    "FunctionEvaluator",
    "GroupStats",
    "JsonSchemaValid",
    "LLMJudge",
    "MaxCost",
    "MaxDuration",
    "MaxModelCalls",
    "MaxTokens",
    "MaxToolCalls",
    "Regex",
    "RunFacts",
    "Score",
    "ToolArguments",
    "ToolCallFact",
    "ToolTrajectory",
    "compare",
    "evaluate",
    "evaluator",
    "from_events",
    "from_log",
    "from_result",
    "load_report",
    "score_case",
]
