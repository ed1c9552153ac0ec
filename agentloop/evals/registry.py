"""Evaluators by name: how a dataset's ``{"type": "contains", "value": "84"}`` becomes an object.

An entry is a type name (``"equals"``) or an object with ``type``, optional ``name`` and
``threshold``, and the type's own options. ``python`` takes ``function`` (``file.py:name``,
relative to the dataset's folder, or ``module:name``); ``all_of``/``any_of`` take
``evaluators``, a list of entries.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agentloop.evals import evaluators as ev
from agentloop.evals.custom import FunctionEvaluator, LLMJudge, load_function

__all__ = ["BUILTIN", "build"]

BUILTIN: Mapping[str, type[ev.Evaluator]] = {
    cls.type_name: cls
    for cls in (
        ev.Equals,
        ev.Contains,
        ev.Regex,
        ev.JsonSchemaValid,
        ev.ToolTrajectory,
        ev.ToolArguments,
        ev.MaxToolCalls,
        ev.MaxModelCalls,
        ev.MaxTokens,
        ev.MaxCost,
        ev.MaxDuration,
        ev.AllOf,
        ev.AnyOf,
        LLMJudge,
        FunctionEvaluator,
    )
}


def build(spec: Any, *, base: Path | None = None) -> ev.Evaluator:
    """The evaluator an entry describes (an :class:`Evaluator` or a function is taken as is).

    Raises:
        ValueError: Unknown type (with the close names), or bad options (naming the option).
    """
    if isinstance(spec, ev.Evaluator):
        return spec
    if callable(spec):
        return FunctionEvaluator(spec)
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("type"), str):
        raise ValueError(f"an evaluator is a type name or an object with 'type', got {spec!r}")
    options = {k: v for k, v in spec.items() if k != "type"}
    kind = spec["type"].replace("-", "_")
    if kind == "json_schema_valid":
        kind = "json_schema"
    cls = BUILTIN.get(kind)
    if cls is None:
        close = difflib.get_close_matches(kind, BUILTIN, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown evaluator {spec['type']!r}{hint} (known: {', '.join(sorted(BUILTIN))})"
        )
    if cls is FunctionEvaluator:
        function = options.pop("function", None)
        if not isinstance(function, str):
            raise ValueError(
                "a 'python' evaluator needs 'function': 'file.py:name' or 'module:name'"
            )
        loaded: Callable[..., Any] = load_function(function, base)
        if isinstance(loaded, FunctionEvaluator):
            options.setdefault("name", loaded.name)
            loaded = loaded.function
        return _construct(cls, "python", loaded, options)
    if cls in (ev.AllOf, ev.AnyOf):
        parts = options.pop("evaluators", None)
        if not isinstance(parts, list):
            raise ValueError(f"{kind} needs 'evaluators': a list of evaluators")
        return _construct(cls, kind, [build(p, base=base) for p in parts], options)
    return _construct(cls, kind, None, options)


def _construct(cls: Any, kind: str, first: Any, options: dict[str, Any]) -> ev.Evaluator:
    try:
        made: ev.Evaluator = cls(**options) if first is None else cls(first, **options)
    except TypeError as exc:
        message = str(exc).split(".__init__() ")[-1].replace("__init__() ", "")
        raise ValueError(f"evaluator {kind!r}: {message}") from None
    return made
