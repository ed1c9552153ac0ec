"""Evaluators written by the user: ``@evaluator`` functions and the LLM judge.

A Python evaluator is a function of the run's facts (and, if it takes two arguments, the
case) returning a bool, a number in [0, 1], a ``(score, reason)`` pair or a
:class:`~agentloop.evals.Score`::

    @evaluator
    def short(facts):
        return len(facts.text) < 80

The LLM judge asks an agentloop model to grade the output against a rubric. It is the one
evaluator that is not deterministic (its scores say so), and it is off unless a judge model is
given (``judge=`` in Python, ``--judge MODEL`` on the command line).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, overload

from agentloop.evals.evaluators import Evaluator, Score
from agentloop.evals.facts import RunFacts

__all__ = ["FunctionEvaluator", "LLMJudge", "evaluator", "load_function"]


class FunctionEvaluator(Evaluator):
    """A Python function as an evaluator (see :func:`evaluator`).

    Args:
        function: ``fn(facts)`` or ``fn(facts, case)``.
        name: Shown in reports (default: the function's name).
        threshold: The score at which a run passes.
        deterministic: Whether the function gives the same verdict for the same run.
    """

    type_name = "python"

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        threshold: float = 1.0,
        deterministic: bool = True,
    ) -> None:
        super().__init__(name=name or getattr(function, "__name__", "python"), threshold=threshold)
        self.function = function
        self.deterministic = deterministic
        self._takes_case = _positional_count(function) >= 2

    def __call__(self, facts: RunFacts, case: Any = None) -> Any:
        """Call the function itself."""
        return self.function(facts, case) if self._takes_case else self.function(facts)

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        try:
            value = self(facts, case)
        except Exception as exc:  # the user's evaluator failed: a failing score that says so
            return self.score(0.0, f"the evaluator raised {type(exc).__name__}: {exc}")
        if isinstance(value, Score):
            return Score(
                name=self.name,
                score=value.score,
                passed=value.passed,
                reason=value.reason,
                deterministic=self.deterministic,
            )
        reason = ""
        if isinstance(value, tuple) and len(value) == 2:
            value, reason = value
        if value is None:
            return self.unknown(str(reason or "the evaluator returned None"))
        if isinstance(value, bool):
            return self.score(1.0 if value else 0.0, str(reason or ("true" if value else "false")))
        if isinstance(value, (int, float)):
            return self.score(float(value), str(reason or f"{float(value):g}"))
        return self.score(0.0, f"the evaluator returned {type(value).__name__}, not a score")


@overload
def evaluator(function: Callable[..., Any], /) -> FunctionEvaluator: ...


@overload
def evaluator(
    *, name: str | None = None, threshold: float = 1.0, deterministic: bool = True
) -> Callable[[Callable[..., Any]], FunctionEvaluator]: ...


def evaluator(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    threshold: float = 1.0,
    deterministic: bool = True,
) -> Any:
    """Make a function an evaluator: ``@evaluator`` or ``@evaluator(name=..., threshold=...)``.

    The decorated object is still callable as the function was.
    """

    def wrap(fn: Callable[..., Any]) -> FunctionEvaluator:
        return FunctionEvaluator(fn, name=name, threshold=threshold, deterministic=deterministic)

    return wrap(function) if function is not None else wrap


_JUDGE_SYSTEM = (
    "You grade an AI assistant's answer against a rubric. Reply with one JSON object and "
    'nothing else: {"score": <a number from 0 to 1>, "reason": "<one sentence>"}.'
)


class LLMJudge(Evaluator):
    """Ask a model to grade the output against ``rubric``: NOT deterministic.

    Args:
        rubric: What a good answer is.
        model: An agentloop model (``create(messages=...)``) or a model string; None leaves
            the judge off (its score is unknown) until the evaluation gives one.
        threshold: The score at which a run passes (default 0.5).
    """

    type_name = "llm_judge"
    deterministic = False

    def __init__(self, rubric: str, *, model: Any = None, threshold: float = 0.5, **kw: Any):
        super().__init__(threshold=threshold, **kw)
        if not isinstance(rubric, str) or not rubric.strip():
            raise ValueError("llm_judge needs a non-empty 'rubric'")
        self.rubric = rubric
        self.model = model

    def evaluate(self, facts: RunFacts, case: Any) -> Score:
        if self.model is None:
            return self.unknown("the LLM judge is off: give a judge model (--judge MODEL)")
        model = self.model
        if isinstance(model, str):
            from agentloop.providers.registry import resolve_model

            model = self.model = resolve_model(model)
        question = getattr(case, "input", None)
        parts = [f"Rubric: {self.rubric}", f"Question: {json.dumps(question, ensure_ascii=False)}"]
        if getattr(case, "expected", None) is not None:
            parts.append(f"Reference answer: {json.dumps(case.expected, ensure_ascii=False)}")
        parts.append(f"Answer to grade: {facts.text}")
        messages = [
            {"role": "system", "content": _JUDGE_SYSTEM},
            {"role": "user", "content": "\n".join(parts)},
        ]
        try:
            text = model.create(messages=messages).message.text
        except Exception as exc:  # the judge's model failed: unknown, not a verdict
            return self.unknown(f"the judge's model failed: {type(exc).__name__}: {exc}")
        return self._verdict(text)

    def _verdict(self, text: str) -> Score:
        match = re.search(r"\{.*\}", text, re.DOTALL)
        try:
            data = json.loads(match.group(0)) if match else {}
            value = float(data["score"])
        except (ValueError, TypeError, KeyError, AttributeError):
            return self.unknown(f"the judge did not answer with a score: {text[:120]!r}")
        reason = data.get("reason") if isinstance(data, dict) else None
        return self.score(value, f"judge: {str(reason or '')[:300]}")


def load_function(spec: str, base: Path | None = None) -> Callable[..., Any]:
    """The function ``path/to/file.py:name`` (relative to ``base``) or ``package.module:name``.

    Raises:
        ValueError: The spec is malformed, or the file, module or name is missing.
    """
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise ValueError(f"'function' must be 'file.py:name' or 'module:name', got {spec!r}")
    if where.endswith(".py"):
        path = Path(where) if base is None or Path(where).is_absolute() else base / where
        if not path.is_file():
            raise ValueError(f"no file {path} (for function {spec!r})")
        module_name = f"agentloop_eval_{abs(hash(str(path.resolve())))}"
        module = sys.modules.get(module_name)
        if module is None:
            loader = importlib.util.spec_from_file_location(module_name, path)
            if loader is None or loader.loader is None:
                raise ValueError(f"cannot import {path}")
            module = importlib.util.module_from_spec(loader)
            sys.modules[module_name] = module
            loader.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise ValueError(f"cannot import {where!r} (for function {spec!r}): {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"{where} has no function {name!r}")
    return function  # type: ignore[no-any-return]


def _positional_count(function: Callable[..., Any]) -> int:
    target = function.function if isinstance(function, FunctionEvaluator) else function
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return 2
    return sum(1 for p in params if p.kind in kinds)
