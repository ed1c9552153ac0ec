"""Datasets: the cases an agent is evaluated on, read and checked against the shipped JSON Schema.

``Dataset.load("cases.jsonl")`` reads a file (see :mod:`agentloop.evals.reading` for the formats),
checks the dataset-level keys and then each case against ``dataset.schema.json`` with
``jsonschema``, builds every evaluator (an unknown one is an error naming its case and line),
and returns a frozen :class:`Dataset`. ``dataset.evaluate(agent)`` runs it (see
:mod:`agentloop.evals.runner`).

Which evaluators score a case: the dataset's ``evaluators``, then the case's own, then what its
expectations ask for and no chosen evaluator checks: ``equals`` for ``expected`` (unless an
output check, ``equals``/``contains``/``regex``/``json_schema``/``llm_judge``, is chosen);
``tool_trajectory`` for ``expected_tools``, plus ``tool_arguments`` when an expected call has
``arguments`` (unless either is chosen).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentloop.evals.custom import LLMJudge
from agentloop.evals.evaluators import (
    Contains,
    Equals,
    Evaluator,
    JsonSchemaValid,
    Regex,
    ToolArguments,
    ToolTrajectory,
)
from agentloop.evals.reading import DatasetError, RawDataset, read_file
from agentloop.evals.registry import build

if TYPE_CHECKING:
    from agentloop.evals.report import EvalReport

__all__ = ["Case", "Dataset", "DatasetError", "ExpectedCall", "ExpectedTools", "schema"]

SCHEMA_FILE = Path(__file__).with_name("dataset.schema.json")
_OUTPUT_CHECKS: set[type] = {Equals, Contains, Regex, JsonSchemaValid, LLMJudge}


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema of a dataset file (shipped as ``agentloop/evals/dataset.schema.json``)."""
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True, kw_only=True, slots=True)
class ExpectedCall:
    """One expected tool call: its name and, optionally, arguments it must carry."""

    name: str
    arguments: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ExpectedTools:
    """The tool calls a case expects, and how to compare them (``exact``/``in_order``/``any_order``)."""

    calls: tuple[ExpectedCall, ...] = ()
    mode: str = "in_order"


@dataclass(frozen=True, kw_only=True, slots=True)
class Case:
    """One case of a dataset.

    Attributes:
        id: Unique within the dataset.
        input: The prompt (text or messages).
        expected: The expected output, or None.
        expected_tools: The expected tool calls, or None.
        evaluators: What scores this case (the dataset's first).
        tags: Labels the summary groups by.
        metadata: Anything, kept in the report.
        deps: ``context.deps`` for the run.
        line: Where the case starts in its file (0 when built in Python).
    """

    id: str
    input: Any
    expected: Any = None
    expected_tools: ExpectedTools | None = None
    evaluators: tuple[Evaluator, ...] = ()
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    deps: Any = None
    line: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Dataset:
    """Cases and what scores them.

    Attributes:
        name: The dataset's name.
        cases: The cases, in file order.
        pricing: ``{"prompt", "completion"}`` money per million tokens (for ``max_cost``), or None.
        path: The file it was read from, or None.
        fingerprint: A hash of its content (a resumed evaluation must be of the same dataset).
    """

    name: str
    cases: tuple[Case, ...]
    pricing: Mapping[str, float] | None = None
    path: Path | None = None
    fingerprint: str = ""

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        """Read and check a dataset file.

        Raises:
            DatasetError: The file is malformed; the message names the line and the key.
        """
        file = Path(path)
        raw = read_file(file)
        return cls._build(raw, str(file), base=file.parent, path=file)

    @classmethod
    def from_cases(
        cls,
        cases: Iterable[Mapping[str, Any]],
        *,
        name: str = "dataset",
        evaluators: Sequence[Any] = (),
        pricing: Mapping[str, float] | None = None,
    ) -> Dataset:
        """Build a dataset in Python: cases as dicts of the file's keys (evaluators as objects too)."""
        settings: dict[str, Any] = {"name": name}
        if pricing is not None:
            settings["pricing"] = dict(pricing)
        raw = RawDataset(settings=settings, cases=[(0, dict(c)) for c in cases])
        text = json.dumps([raw.settings, raw.cases], sort_keys=True, default=repr)
        raw = RawDataset(settings=settings, cases=raw.cases, text=text)
        return cls._build(raw, name, base=Path.cwd(), path=None, extra=evaluators)

    @classmethod
    def _build(
        cls,
        raw: RawDataset,
        where: str,
        *,
        base: Path,
        path: Path | None,
        extra: Sequence[Any] = (),
    ) -> Dataset:
        _check(raw.settings, {**schema(), "required": []}, where, 0, "")
        shared = _evaluators([*raw.settings.get("evaluators", ()), *extra], where, 0, "", base)
        cases: list[Case] = []
        seen: dict[str, int] = {}
        for position, (line, value) in enumerate(raw.cases):
            label = f"cases[{position}]"
            _check(value, {"$ref": "#/$defs/case", "$defs": schema()["$defs"]}, where, line, label)
            case = _case(value, position, line, shared, where, base, label)
            if case.id in seen:
                raise DatasetError(
                    f"{_at(where, line)}: duplicate case id {case.id!r} (also case "
                    f"{seen[case.id] + 1}); every case needs its own id"
                )
            seen[case.id] = position
            cases.append(case)
        if not cases:
            raise DatasetError(f"{where}: the dataset has no cases")
        name = str(raw.settings.get("name") or (path.stem if path else "dataset"))
        digest = hashlib.sha256(raw.text.encode()).hexdigest()[:16]
        return cls(
            name=name,
            cases=tuple(cases),
            pricing=raw.settings.get("pricing"),
            path=path,
            fingerprint=digest,
        )

    def evaluate(self, agent: Any, **options: Any) -> EvalReport:
        """Run every case on ``agent`` and score it; see :func:`agentloop.evals.evaluate`."""
        from agentloop.evals.runner import evaluate

        return evaluate(self, agent, **options)


def _case(
    value: Mapping[str, Any],
    position: int,
    line: int,
    shared: list[Evaluator],
    where: str,
    base: Path,
    label: str,
) -> Case:
    expected_tools = _expected_tools(value.get("expected_tools"))
    own = _evaluators(value.get("evaluators", ()), where, line, f"{label}.", base)
    evaluators = [*shared, *own]
    evaluators += _defaults(value, expected_tools, evaluators)
    return Case(
        id=str(value.get("id", f"case-{position + 1}")),
        input=value["input"],
        expected=value.get("expected"),
        expected_tools=expected_tools,
        evaluators=tuple(evaluators),
        tags=tuple(value.get("tags", ())),
        metadata=dict(value.get("metadata") or {}),
        deps=value.get("deps"),
        line=line,
    )


def _defaults(
    value: Mapping[str, Any], tools: ExpectedTools | None, chosen: list[Evaluator]
) -> list[Evaluator]:
    """The checks a case's expectations ask for that no chosen evaluator makes."""
    out: list[Evaluator] = []
    kinds = {type(e) for e in chosen}
    if value.get("expected") is not None and not kinds & _OUTPUT_CHECKS:
        out.append(Equals())
    if tools is not None and not kinds & {ToolTrajectory, ToolArguments}:
        out.append(ToolTrajectory())
        if any(c.arguments is not None for c in tools.calls):
            out.append(ToolArguments())
    return out


def _expected_tools(value: Any) -> ExpectedTools | None:
    if value is None:
        return None
    mode = "in_order"
    if isinstance(value, Mapping):
        mode, value = str(value.get("mode", mode)), value["calls"]
    calls = tuple(ExpectedCall(name=c) if isinstance(c, str) else ExpectedCall(**c) for c in value)
    return ExpectedTools(calls=calls, mode=mode)


def _evaluators(
    specs: Iterable[Any], where: str, line: int, prefix: str, base: Path
) -> list[Evaluator]:
    out = []
    for n, spec in enumerate(specs):
        try:
            out.append(build(spec, base=base))
        except ValueError as exc:
            raise DatasetError(f"{_at(where, line)}: {prefix}evaluators[{n}]: {exc}") from None
    names = [e.name for e in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DatasetError(
            f"{_at(where, line)}: {prefix}evaluators: the name {twice[0]!r} is used twice; "
            "give one of them a 'name'"
        )
    return out


def _check(value: Any, subschema: Mapping[str, Any], where: str, line: int, label: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(subschema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    key = f"{label}{path}".lstrip(".") or "the dataset"
    message = error.message if len(error.message) < 200 else error.message[:200] + "..."
    raise DatasetError(f"{_at(where, line)}: {key}: {message}")


def _at(where: str, line: int) -> str:
    return f"{where} line {line}" if line else where
