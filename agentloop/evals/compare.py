"""Two reports side by side: what improved and what regressed, case by case; the text tables.

:func:`compare` matches cases by id (a repeated case by the mean of its runs). A case
*regressed* when it passed before and fails now, or its score dropped by more than
``tolerance``; it *improved* the other way round; cases only in one report are ``added`` or
``removed``. :func:`format_summary` and :func:`format_comparison` are what ``agentloop eval``
prints.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentloop.errors import ConfigurationError
from agentloop.evals.report import CaseResult, EvalReport, GroupStats

__all__ = [
    "CaseChange",
    "Comparison",
    "compare",
    "format_comparison",
    "format_summary",
    "load_report",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class CaseChange:
    """One case in two reports.

    Attributes:
        id: The case's id.
        change: ``improved``, ``regressed``, ``same``, ``added`` or ``removed``.
        before: Its score in the first report (None: not there).
        after: Its score in the second report (None: not there).
        passed_before: Whether it passed in the first report.
        passed_after: Whether it passes in the second.
    """

    id: str
    change: str
    before: float | None
    after: float | None
    passed_before: bool | None
    passed_after: bool | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Comparison:
    """Every case's change, and the two overall scores."""

    cases: tuple[CaseChange, ...]
    score_before: float
    score_after: float

    def of(self, change: str) -> list[str]:
        """The ids of the cases with this change."""
        return [c.id for c in self.cases if c.change == change]

    @property
    def regressed(self) -> list[str]:
        """The ids of the cases that got worse."""
        return self.of("regressed")

    @property
    def improved(self) -> list[str]:
        """The ids of the cases that got better."""
        return self.of("improved")


def load_report(path: str | Path) -> EvalReport:
    """Read a JSON report written by ``agentloop eval -o``.

    Raises:
        ConfigurationError: No such file, not JSON, or not an eval report.
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"no report file {file}") from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{file} is not a JSON eval report: {exc}") from None
    if not is_report(data):
        raise ConfigurationError(f"{file} is not an agentloop eval report (agentloop eval -o)")
    return EvalReport.from_dict(data)


def is_report(data: Any) -> bool:
    """Whether a decoded JSON value is an eval report."""
    return isinstance(data, dict) and "agentloop_eval" in data and "cases" in data


def compare(before: EvalReport, after: EvalReport, *, tolerance: float = 1e-9) -> Comparison:
    """Each case's change from ``before`` to ``after``."""
    a, b = _by_id(before.cases), _by_id(after.cases)
    changes = []
    for case_id in [*a, *(k for k in b if k not in a)]:
        old, new = a.get(case_id), b.get(case_id)
        if old is None or new is None:
            kind = "added" if old is None else "removed"
        elif (old[1] and not new[1]) or new[0] < old[0] - tolerance:
            kind = "regressed"
        elif (new[1] and not old[1]) or new[0] > old[0] + tolerance:
            kind = "improved"
        else:
            kind = "same"
        changes.append(
            CaseChange(
                id=case_id,
                change=kind,
                before=old[0] if old else None,
                after=new[0] if new else None,
                passed_before=old[1] if old else None,
                passed_after=new[1] if new else None,
            )
        )
    return Comparison(cases=tuple(changes), score_before=before.score, score_after=after.score)


def _by_id(cases: Iterable[CaseResult]) -> dict[str, tuple[float, bool]]:
    runs: dict[str, list[CaseResult]] = {}
    for case in cases:
        runs.setdefault(case.id, []).append(case)
    return {
        k: (sum(r.score for r in v) / len(v), all(r.passed for r in v)) for k, v in runs.items()
    }


def format_summary(report: EvalReport) -> str:
    """The summary table: overall, per evaluator, per tag (score, pass rate, tokens, cost, time)."""
    rows: list[Sequence[str]] = [("", "runs", "score", "pass", "unknown", "tokens", "cost", "time")]
    rows.append(_row(report.overall))
    rows += [_row(g, "evaluator ") for g in report.evaluators]
    rows += [_row(g, "tag ") for g in report.tags]
    lines = _table(rows)
    errored = len(report.errored)
    lines.append(
        f"{report.overall.runs} runs of {report.dataset.get('cases')} cases: "
        f"{report.overall.runs - len(report.failures)} passed, "
        f"{len(report.failures) - errored} failed, {errored} errored; score {report.score:.3f}"
        + ("" if report.deterministic else " (includes non-deterministic LLM-judge scores)")
    )
    if report.spread:
        worst = sorted(report.spread, key=lambda s: -s.stdev)[:5]
        lines.append(
            "spread over repeats (most variable first): "
            + ", ".join(
                f"{s.id} {s.mean:.2f}±{s.stdev:.2f} [{s.min:.2f}..{s.max:.2f}]" for s in worst
            )
        )
    for case in report.failures[:20]:
        lines.append(f"  {'ERROR' if case.errored else 'FAIL '} {case.id}: {_why(case)}")
    return "\n".join(lines)


def format_comparison(result: Comparison) -> str:
    """One line per changed case, then the counts."""
    lines = []
    for c in result.cases:
        if c.change == "same":
            continue
        lines.append(f"{c.change:<9} {c.id}: {_score(c.before)} -> {_score(c.after)}")
    counts = {k: len(result.of(k)) for k in ("improved", "regressed", "same", "added", "removed")}
    lines.append(
        f"score {result.score_before:.3f} -> {result.score_after:.3f}; "
        + ", ".join(f"{n} {k}" for k, n in counts.items() if n or k in ("improved", "regressed"))
    )
    return "\n".join(lines)


def _row(group: GroupStats, prefix: str = "") -> Sequence[str]:
    return (
        prefix + group.name,
        str(group.runs),
        _score(group.mean),
        "-" if group.pass_rate is None else f"{group.pass_rate:.0%}",
        str(group.unknown),
        f"{group.tokens:,}",
        "unknown" if group.cost is None else f"{group.cost:.4f}",
        f"{group.seconds:.2f}s",
    )


def _table(rows: list[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _why(case: CaseResult) -> str:
    if case.errored and case.error:
        return f"{case.error.get('type')}: {str(case.error.get('message'))[:160]}"
    failed = [f"{s.name} ({s.reason[:100]})" for s in case.scores if s.passed is False]
    return "; ".join(failed)
