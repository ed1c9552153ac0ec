"""The evaluation report: one :class:`CaseResult` per run, grouped into summaries; JSON in and out.

A case's score is the mean of its known evaluator scores (an errored case scores 0 on every
evaluator); it passes when no evaluator failed. The report's score is the mean case score.
Unknown verdicts (``max_cost`` without a price, the judge turned off) count neither way and are
counted as ``unknown``. With ``repeat`` > 1 each case has a :class:`CaseSpread`: mean, min, max
and standard deviation of its runs' scores.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentloop.evals.evaluators import Score

__all__ = ["REPORT_VERSION", "CaseResult", "CaseSpread", "EvalReport", "GroupStats", "summarize"]

REPORT_VERSION = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class CaseResult:
    """One run of one case, scored.

    Attributes:
        id: The case's id.
        repeat: Which of the case's runs this is (0-based).
        scores: Each evaluator's verdict.
        score: The mean of the known scores (0 when errored).
        passed: No evaluator failed and the run did not error.
        errored: The run raised (the error is in ``error``).
        error: ``{"type", "message"}``, or None.
        output: The run's output (JSON).
        run_id: The run's id (``agentloop view RUN_ID`` shows it).
        tokens: Total tokens.
        cost: Money, or None when unknown.
        duration: Seconds.
        model_calls: Model requests.
        tool_calls: The tools called, in order.
        stop_reason: Why the run stopped.
        faults: The chaos faults injected into this run.
        tags: The case's tags.
        input: The case's input.
        expected: The case's expected output.
        metadata: The case's metadata.
    """

    id: str
    repeat: int = 0
    scores: tuple[Score, ...] = ()
    score: float = 0.0
    passed: bool = False
    errored: bool = False
    error: Mapping[str, str] | None = None
    output: Any = None
    run_id: str = ""
    tokens: int = 0
    cost: float | None = None
    duration: float = 0.0
    model_calls: int = 0
    tool_calls: tuple[str, ...] = ()
    stop_reason: str = "stop"
    faults: tuple[Mapping[str, Any], ...] = ()
    tags: tuple[str, ...] = ()
    input: Any = None
    expected: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {}
        for name in self.__slots__:  # type: ignore[attr-defined]
            value = getattr(self, name)
            if name == "scores":
                value = [s.to_dict() for s in value]
            elif isinstance(value, tuple):
                value = [dict(v) if isinstance(v, Mapping) else v for v in value]
            elif isinstance(value, Mapping):
                value = dict(value)
            out[name] = value
        out["score"] = round(self.score, 6)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseResult:
        """Read :meth:`to_dict`'s form back."""
        values = {k: data[k] for k in cls.__slots__ if k in data}  # type: ignore[attr-defined]
        values["scores"] = tuple(Score.from_dict(s) for s in data.get("scores", ()))
        for name in ("tool_calls", "faults", "tags"):
            values[name] = tuple(data.get(name) or ())
        return cls(**values)


@dataclass(frozen=True, kw_only=True, slots=True)
class GroupStats:
    """A summary of some runs (all of them, one evaluator's, or one tag's).

    Attributes:
        name: ``all``, the evaluator's name or the tag.
        runs: How many runs it covers.
        mean: The mean score (None when every verdict was unknown).
        pass_rate: The share of known verdicts that passed (None when none was known).
        unknown: Verdicts that were unknown.
        tokens: Tokens of those runs.
        cost: Their cost, or None when some run had none.
        seconds: Their summed duration.
    """

    name: str
    runs: int
    mean: float | None
    pass_rate: float | None
    unknown: int = 0
    tokens: int = 0
    cost: float | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "runs": self.runs,
            "mean": _round(self.mean),
            "pass_rate": _round(self.pass_rate),
            "unknown": self.unknown,
            "tokens": self.tokens,
            "cost": _round(self.cost),
            "seconds": round(self.seconds, 4),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class CaseSpread:
    """How a case's repeated runs spread (``repeat`` > 1)."""

    id: str
    runs: int
    mean: float
    min: float
    max: float
    stdev: float
    pass_rate: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {k: _round(getattr(self, k)) if k != "id" else self.id for k in self.__slots__}  # type: ignore[attr-defined]


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalReport:
    """Everything an evaluation found.

    Attributes:
        dataset: ``{"name", "path", "fingerprint", "cases"}``.
        target: What was evaluated (the TARGET, or the agent's name).
        model: The agent's model.
        repeat: Runs per case.
        chaos: The chaos settings (``faults``, ``seed``, ``rate``), or None.
        seconds: Wall-clock time of the evaluation.
        overall: The summary of every run.
        evaluators: One summary per evaluator.
        tags: One summary per tag.
        cases: Every run, in dataset order.
        spread: Per case, with ``repeat`` > 1.
        deterministic: Whether every evaluator used is deterministic (no LLM judge).
    """

    dataset: Mapping[str, Any]
    target: str
    model: str
    repeat: int
    chaos: Mapping[str, Any] | None
    seconds: float
    overall: GroupStats
    evaluators: tuple[GroupStats, ...]
    tags: tuple[GroupStats, ...]
    cases: tuple[CaseResult, ...]
    spread: tuple[CaseSpread, ...] = ()
    deterministic: bool = True

    @property
    def score(self) -> float:
        """The mean case score (0..1)."""
        return self.overall.mean or 0.0

    @property
    def failures(self) -> list[CaseResult]:
        """The runs that did not pass (errored ones included)."""
        return [c for c in self.cases if not c.passed]

    @property
    def errored(self) -> list[CaseResult]:
        """The runs whose agent raised."""
        return [c for c in self.cases if c.errored]

    def assert_score(self, minimum: float = 1.0) -> None:
        """For pytest: raise AssertionError naming the failing cases when the score is below."""
        if self.score < minimum:
            names = ", ".join(f"{c.id}: {_why(c)}" for c in self.failures[:10])
            raise AssertionError(f"eval score {self.score:.3f} < {minimum}; failing: {names}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (what ``-o report.json`` writes)."""
        return {
            "agentloop_eval": REPORT_VERSION,
            "dataset": dict(self.dataset),
            "target": self.target,
            "model": self.model,
            "repeat": self.repeat,
            "chaos": dict(self.chaos) if self.chaos else None,
            "seconds": round(self.seconds, 4),
            "deterministic": self.deterministic,
            "summary": self.overall.to_dict(),
            "evaluators": [g.to_dict() for g in self.evaluators],
            "tags": [g.to_dict() for g in self.tags],
            "spread": [s.to_dict() for s in self.spread],
            "cases": [c.to_dict() for c in self.cases],
        }

    def save(self, path: str | Path) -> Path:
        """Write the JSON report; return its path."""
        file = Path(path)
        file.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n", "utf-8")
        return file

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalReport:
        """Read a JSON report back (the summaries are recomputed from its cases)."""
        cases = tuple(CaseResult.from_dict(c) for c in data.get("cases", ()))
        overall, by_evaluator, by_tag, spread = summarize(cases)
        return cls(
            dataset=data.get("dataset") or {},
            target=str(data.get("target") or ""),
            model=str(data.get("model") or ""),
            repeat=int(data.get("repeat") or 1),
            chaos=data.get("chaos"),
            seconds=float(data.get("seconds") or 0.0),
            overall=overall,
            evaluators=by_evaluator,
            tags=by_tag,
            cases=cases,
            spread=spread,
            deterministic=bool(data.get("deterministic", True)),
        )


def summarize(
    cases: Iterable[CaseResult],
) -> tuple[GroupStats, tuple[GroupStats, ...], tuple[GroupStats, ...], tuple[CaseSpread, ...]]:
    """The overall, per-evaluator, per-tag summaries and the per-case spread of ``cases``."""
    cases = list(cases)
    overall = _group("all", cases, [(c.score, c.passed) for c in cases])
    names = list(dict.fromkeys(s.name for c in cases for s in c.scores))
    by_evaluator = []
    for name in names:
        runs = [(c, s) for c in cases for s in c.scores if s.name == name]
        verdicts = [(s.score, s.passed) for _, s in runs]
        by_evaluator.append(_group(name, [c for c, _ in runs], verdicts))
    tags = list(dict.fromkeys(t for c in cases for t in c.tags))
    by_tag = [
        _group(
            t,
            [c for c in cases if t in c.tags],
            [(c.score, c.passed) for c in cases if t in c.tags],
        )
        for t in tags
    ]
    return overall, tuple(by_evaluator), tuple(by_tag), _spread(cases)


def _group(name: str, cases: list[CaseResult], verdicts: list[tuple[Any, Any]]) -> GroupStats:
    known = [(s, p) for s, p in verdicts if s is not None and p is not None]
    costs = [c.cost for c in cases]
    return GroupStats(
        name=name,
        runs=len(cases),
        mean=statistics.fmean(s for s, _ in known) if known else None,
        pass_rate=sum(1 for _, p in known if p) / len(known) if known else None,
        unknown=len(verdicts) - len(known),
        tokens=sum(c.tokens for c in cases),
        cost=None
        if not costs or any(c is None for c in costs)
        else sum(c for c in costs if c is not None),
        seconds=sum(c.duration for c in cases),
    )


def _spread(cases: list[CaseResult]) -> tuple[CaseSpread, ...]:
    by_id: dict[str, list[CaseResult]] = {}
    for case in cases:
        by_id.setdefault(case.id, []).append(case)
    if all(len(runs) < 2 for runs in by_id.values()):
        return ()
    out = []
    for case_id, runs in by_id.items():
        scores = [r.score for r in runs]
        out.append(
            CaseSpread(
                id=case_id,
                runs=len(runs),
                mean=statistics.fmean(scores),
                min=min(scores),
                max=max(scores),
                stdev=statistics.pstdev(scores),
                pass_rate=sum(r.passed for r in runs) / len(runs),
            )
        )
    return tuple(out)


def _why(case: CaseResult) -> str:
    if case.errored and case.error:
        return f"errored ({case.error.get('type')})"
    failed = [s.name for s in case.scores if s.passed is False]
    return "failed " + ", ".join(failed)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
