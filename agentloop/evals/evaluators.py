"""The built-in evaluators: deterministic checks of a run's facts, each a score in [0, 1].

Every evaluator takes the run's :class:`~agentloop.evals.facts.RunFacts` and the case (for
``expected`` and ``expected_tools``) and returns a :class:`Score`: a number in [0, 1], pass or
fail (``score >= threshold``), and a reason. A check that cannot be decided (``max_cost`` of a
run without a price) says *unknown* (``passed=None``), never pass.

Output: :class:`Equals`, :class:`Contains`, :class:`Regex`, :class:`JsonSchemaValid`.
Tools: :class:`ToolTrajectory` (``exact``, ``in_order``, ``any_order``), :class:`ToolArguments`
(``subset``, ``exact``). Limits: :class:`MaxToolCalls`, :class:`MaxModelCalls`,
:class:`MaxTokens`, :class:`MaxCost`, :class:`MaxDuration`. Composition: :class:`AllOf`,
:class:`AnyOf`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentloop.evals.facts import RunFacts

__all__ = [
    "AllOf",
    "AnyOf",
    "Contains",
    "Equals",
    "Evaluator",
    "JsonSchemaValid",
    "MaxCost",
    "MaxDuration",
    "MaxModelCalls",
    "MaxTokens",
    "MaxToolCalls",
    "Regex",
    "Score",
    "ToolArguments",
    "ToolTrajectory",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Score:
    """One evaluator's verdict on one run.

    Attributes:
        name: The evaluator's name.
        score: In [0, 1]; None when unknown.
        passed: True or False; None when unknown.
        reason: Why, in one line.
        deterministic: False for evaluators whose verdict may change between runs (LLM judge).
    """

    name: str
    score: float | None
    passed: bool | None
    reason: str = ""
    deterministic: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "score": None if self.score is None else round(self.score, 6),
            "passed": self.passed,
            "reason": self.reason,
            "deterministic": self.deterministic,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Score:
        """Read :meth:`to_dict`'s form back."""
        return cls(
            name=str(data["name"]),
            score=data.get("score"),
            passed=data.get("passed"),
            reason=str(data.get("reason") or ""),
            deterministic=bool(data.get("deterministic", True)),
        )


class Evaluator:
    """Base of every evaluator: a name, a threshold, and :meth:`evaluate`.

    Args:
        name: Shown in reports (default: the evaluator's type).
        threshold: The score at which a run passes (default 1.0: only a perfect score).
    """

    type_name = "evaluator"
    deterministic = True

    def __init__(self, *, name: str | None = None, threshold: float = 1.0) -> None:
        self.name = name or self.type_name
        self.threshold = threshold

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        """Score one run of ``case``."""
        raise NotImplementedError

    def score(self, value: float, reason: str) -> Score:
        """A known score, passed when it reaches the threshold."""
        value = min(1.0, max(0.0, float(value)))
        return Score(
            name=self.name,
            score=value,
            passed=value >= self.threshold,
            reason=reason,
            deterministic=self.deterministic,
        )

    def unknown(self, reason: str) -> Score:
        """An undecidable check: neither pass nor fail."""
        return Score(
            name=self.name, score=None, passed=None, reason=reason, deterministic=self.deterministic
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _expected(value: Any, case: Any, who: str) -> Any:
    if value is not None:
        return value
    expected = getattr(case, "expected", None)
    if expected is None:
        raise ValueError(f"{who} needs a 'value', or the case's 'expected'")
    return expected


class Equals(Evaluator):
    """The output equals ``value`` (default: the case's ``expected``); 1 or 0.

    Args:
        value: The expected output (text, or a JSON value for structured outputs).
        ignore_case: Compare texts case-insensitively.
        strip: Ignore leading and trailing whitespace of texts (default True).
    """

    type_name = "equals"

    def __init__(
        self, value: Any = None, *, ignore_case: bool = False, strip: bool = True, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.value, self.ignore_case, self.strip = value, ignore_case, strip

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        want = _expected(self.value, case, "equals")
        got = facts.output
        if isinstance(want, str):
            got, want = self._norm(facts.text), self._norm(want)
        if got == want:
            return self.score(1.0, "the output equals the expected value")
        return self.score(0.0, f"expected {_short(want)}, got {_short(got)}")

    def _norm(self, text: str) -> str:
        text = text.strip() if self.strip else text
        return text.casefold() if self.ignore_case else text


class Contains(Evaluator):
    """The output contains ``value`` (a text, or several: the share found is the score).

    Args:
        value: A text or a list of texts (default: the case's ``expected``).
        ignore_case: Search case-insensitively.
    """

    type_name = "contains"

    def __init__(self, value: Any = None, *, ignore_case: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        self.value, self.ignore_case = value, ignore_case

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        want = _expected(self.value, case, "contains")
        needles = [str(w) for w in (want if isinstance(want, list) else [want])]
        text = facts.text.casefold() if self.ignore_case else facts.text
        found = [n for n in needles if (n.casefold() if self.ignore_case else n) in text]
        missing = [n for n in needles if n not in found]
        reason = "found every expected text" if not missing else f"missing {_short(missing)}"
        return self.score(len(found) / len(needles) if needles else 1.0, reason)


class Regex(Evaluator):
    """The output matches a regular expression (``re.search``); 1 or 0.

    Args:
        pattern: The expression.
        ignore_case: Match case-insensitively.
    """

    type_name = "regex"

    def __init__(self, pattern: str, *, ignore_case: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        try:
            self.pattern = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        except re.error as exc:
            raise ValueError(f"regex {pattern!r} does not compile: {exc}") from None

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        if self.pattern.search(facts.text):
            return self.score(1.0, f"the output matches /{self.pattern.pattern}/")
        return self.score(0.0, f"{_short(facts.text)} does not match /{self.pattern.pattern}/")


class JsonSchemaValid(Evaluator):
    """The output (a JSON value, or text holding JSON) is valid against ``schema``; 1 or 0."""

    type_name = "json_schema"

    def __init__(self, schema: Mapping[str, Any], **kw: Any) -> None:
        super().__init__(**kw)
        import jsonschema

        from agentloop.schema.external import REGISTRY, schema_problem

        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"json_schema: the schema is invalid: {exc.message}") from None
        except RecursionError:
            raise ValueError("json_schema: the schema is nested too deeply; use $defs") from None
        # a dataset's schema is from outside: no $ref is fetched, no pattern may backtrack
        problem = schema_problem(schema)
        if problem is not None:
            raise ValueError(f"json_schema: the schema cannot be used: {problem}")
        self.validator = jsonschema.Draft202012Validator(schema, registry=REGISTRY)

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        value = facts.output
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return self.score(0.0, f"the output is not JSON: {_short(value)}")
        error = next(iter(self.validator.iter_errors(value)), None)
        if error is None:
            return self.score(1.0, "the output is valid against the schema")
        where = "/".join(str(p) for p in error.absolute_path) or "the output"
        return self.score(0.0, f"{where}: {error.message}")


TRAJECTORY_MODES = ("exact", "in_order", "any_order")
ARGUMENT_MODES = ("subset", "exact")


class ToolTrajectory(Evaluator):
    """The tools called against the case's ``expected_tools``, by name.

    * ``exact``: the same calls in the same order and nothing else; the score is the share of
      positions that agree (of the longer list).
    * ``in_order``: the expected calls happen in that order, other calls in between allowed;
      the score is the longest in-order match over the expected count.
    * ``any_order``: every expected call happens, in any order; the score is the share found.

    Args:
        mode: One of the above (default: the case's ``expected_tools`` mode).
    """

    type_name = "tool_trajectory"

    def __init__(self, mode: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        if mode is not None and mode not in TRAJECTORY_MODES:
            raise ValueError(
                f"tool_trajectory mode must be one of {TRAJECTORY_MODES}, got {mode!r}"
            )
        self.mode = mode

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        expected = getattr(case, "expected_tools", None)
        if expected is None:
            return self.unknown("the case has no expected_tools")
        mode = self.mode or expected.mode
        want, got = [c.name for c in expected.calls], list(facts.tool_names)
        if mode == "exact":
            longest = max(len(want), len(got))
            value = (
                sum(a == b for a, b in zip(want, got, strict=False)) / longest if longest else 1.0
            )
            value = 1.0 if want == got else min(value, 0.999)
        elif mode == "in_order":
            value = _lcs(want, got) / len(want) if want else 1.0
        else:
            found = sum((Counter(want) & Counter(got)).values())
            value = found / len(want) if want else 1.0
        return self.score(value, f"{mode}: expected {want}, called {got}")


class ToolArguments(Evaluator):
    """Each expected call with ``arguments`` has an actual call of that tool with those arguments.

    ``subset``: the call's arguments hold the expected ones (nested objects compared the same
    way); ``exact``: they are equal. The score is the share of expected calls matched. Actual
    calls are matched in order, each at most once.

    Args:
        mode: ``subset`` (default) or ``exact``.
    """

    type_name = "tool_arguments"

    def __init__(self, mode: str = "subset", **kw: Any) -> None:
        super().__init__(**kw)
        if mode not in ARGUMENT_MODES:
            raise ValueError(f"tool_arguments mode must be one of {ARGUMENT_MODES}, got {mode!r}")
        self.mode = mode

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        expected = getattr(case, "expected_tools", None)
        wanted = [c for c in (expected.calls if expected else ()) if c.arguments is not None]
        if not wanted:
            return self.unknown("no expected tool call has arguments")
        used: set[int] = set()
        missed = []
        for call in wanted:
            index = next(
                (
                    i
                    for i, got in enumerate(facts.tool_calls)
                    if i not in used and got.name == call.name and self._match(call, got.arguments)
                ),
                None,
            )
            if index is None:
                missed.append(f"{call.name}({_short(call.arguments)})")
            else:
                used.add(index)
        reason = "every expected call's arguments matched" if not missed else f"no call {missed}"
        return self.score((len(wanted) - len(missed)) / len(wanted), f"{self.mode}: {reason}")

    def _match(self, call: Any, got: Mapping[str, Any] | None) -> bool:
        if got is None:
            return False
        return got == call.arguments if self.mode == "exact" else _subset(call.arguments, got)


class _Limit(Evaluator):
    """A run's number against a maximum: 1 within it, else ``max / actual``."""

    what = ""

    def __init__(self, max: float, **kw: Any) -> None:  # noqa: A002 - the dataset's key
        super().__init__(**kw)
        if isinstance(max, bool) or not isinstance(max, (int, float)) or max < 0:
            raise ValueError(f"{self.type_name}: 'max' must be a number >= 0, got {max!r}")
        self.max = max

    def measure(self, facts: RunFacts) -> float | None:
        raise NotImplementedError

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        value = self.measure(facts)
        if value is None:
            return self.unknown(f"unknown: the run has no {self.what}")
        reason = f"{self.what} {_num(value)} (max {_num(self.max)})"
        if value <= self.max:
            return self.score(1.0, reason)
        return Score(
            name=self.name,
            score=self.max / value if value else 0.0,
            passed=False,
            reason=reason,
            deterministic=self.deterministic,
        )


class MaxToolCalls(_Limit):
    """At most ``max`` tool calls."""

    type_name, what = "max_tool_calls", "tool calls"

    def measure(self, facts: RunFacts) -> float | None:
        return len(facts.tool_calls)


class MaxModelCalls(_Limit):
    """At most ``max`` model requests."""

    type_name, what = "max_model_calls", "model calls"

    def measure(self, facts: RunFacts) -> float | None:
        return facts.model_calls


class MaxTokens(_Limit):
    """At most ``max`` tokens (total, summed over the run)."""

    type_name, what = "max_tokens", "tokens"

    def measure(self, facts: RunFacts) -> float | None:
        return facts.total_tokens


class MaxCost(_Limit):
    """At most ``max`` cost; *unknown* when the run has no cost (give the dataset ``pricing``)."""

    type_name, what = "max_cost", "cost (give the dataset a 'pricing')"

    def measure(self, facts: RunFacts) -> float | None:
        return facts.cost


class MaxDuration(_Limit):
    """At most ``max`` seconds (wall clock: not deterministic on a loaded machine)."""

    type_name, what = "max_duration", "duration"

    def measure(self, facts: RunFacts) -> float | None:
        return facts.duration


class _Combined(Evaluator):
    def __init__(self, evaluators: Sequence[Evaluator], **kw: Any) -> None:
        super().__init__(**kw)
        if not evaluators:
            raise ValueError(f"{self.type_name} needs at least one evaluator")
        self.evaluators = list(evaluators)
        self.deterministic = all(e.deterministic for e in self.evaluators)

    def parts(self, facts: RunFacts, case: Any) -> tuple[list[Score], str]:
        scores = [e.evaluate(facts, case) for e in self.evaluators]
        reason = "; ".join(
            f"{s.name}: {'unknown' if s.score is None else _num(s.score)}" for s in scores
        )
        return [s for s in scores if s.score is not None], reason


class AllOf(_Combined):
    """Every part passes; the score is the lowest part's (unknown parts are left out)."""

    type_name = "all_of"

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        known, reason = self.parts(facts, case)
        if not known:
            return self.unknown(reason)
        value = min(s.score for s in known if s.score is not None)
        passed = all(s.passed for s in known)
        return Score(name=self.name, score=value, passed=passed, reason=reason,
                     deterministic=self.deterministic)  # fmt: skip


class AnyOf(_Combined):
    """Some part passes; the score is the highest part's (unknown parts are left out)."""

    type_name = "any_of"

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        known, reason = self.parts(facts, case)
        if not known:
            return self.unknown(reason)
        value = max(s.score for s in known if s.score is not None)
        passed = any(s.passed for s in known)
        return Score(name=self.name, score=value, passed=passed, reason=reason,
                     deterministic=self.deterministic)  # fmt: skip


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    """The length of the longest common subsequence."""
    row = [0] * (len(b) + 1)
    for x in a:
        previous = 0
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], previous + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def _subset(want: Any, got: Any) -> bool:
    """``want`` is contained in ``got``: objects key by key (recursively), others equal."""
    if isinstance(want, Mapping):
        return isinstance(got, Mapping) and all(
            k in got and _subset(v, got[k]) for k, v in want.items()
        )
    return bool(want == got)


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 3] + "..."
