"""The :class:`~agentloop.schema.build.FunctionSchema` of a hand-written ``parameters`` schema
(internal; used by :class:`agentloop.tools.Tool` when it is constructed directly).

The caller's dict is copied, never kept: later changes to it cannot alter what
the model is sent or what is validated. With ``strict=True`` the copy gets the
same strict rewrite as a function's schema (:mod:`agentloop.schema.strict`), or
is refused with the path of the part strict mode cannot express.
"""

from __future__ import annotations

import copy
from typing import Any

from agentloop.errors import ToolDefinitionError
from agentloop.schema.build import FunctionSchema, Param
from agentloop.schema.convert import allows_null
from agentloop.schema.strict import make_strict
from agentloop.schema.validate import check_schema, compile_validator, schema_problem

__all__ = ["handwritten_schema"]


def handwritten_schema(
    name: str, description: str, parameters: Any, *, strict: bool = False
) -> FunctionSchema:
    """Check, copy and (for ``strict``) rewrite a hand-written ``parameters`` schema.

    A root without ``"type"`` is accepted when it has ``"properties"`` (the copy
    says ``"type": "object"``). In strict mode a ``null`` for a property that was
    optional means "leave it out", as for functions: the function is not passed it.

    Raises:
        ToolDefinitionError: Not an object schema, not a valid JSON Schema, one that
            refers outside itself, loops, or has an exponential ``pattern``, or (strict)
            a part strict mode cannot express, named by its path.
    """
    owner = f"tool {name!r}"
    if not isinstance(parameters, dict) or parameters.get(
        "type", "object" if "properties" in parameters else None
    ) != ("object"):
        raise ToolDefinitionError(
            f'{owner}: parameters must be a JSON Schema object, e.g. {{"type": "object", '
            '"properties": {...}}'
        )
    schema = copy.deepcopy(parameters)
    schema.setdefault("type", "object")
    problem = check_schema(schema)
    if problem:
        raise ToolDefinitionError(f"{owner}: parameters is not a valid JSON Schema: {problem}")
    problem = schema_problem(schema)  # no network, no endless validation
    if problem:
        raise ToolDefinitionError(f"{owner}: parameters cannot be used as given: {problem}")
    if not strict:
        return FunctionSchema(
            name=name,
            description=description,
            parameters=schema,
            _validator=compile_validator(schema),
            _raw=True,
        )
    try:
        sent = make_strict(schema, missing_is_open=True)
        checked = make_strict(schema, for_model=False, missing_is_open=True)
    except ValueError as exc:
        raise ToolDefinitionError(f"{owner}: strict=True: {exc}") from exc
    required = set(schema.get("required", ()))
    params = tuple(
        Param(key, False, None, None, key not in required and not allows_null(sub))
        for key, sub in schema.get("properties", {}).items()
    )
    return FunctionSchema(
        name=name,
        description=description,
        parameters=sent,
        strict=True,
        _params=params,
        _validator=compile_validator(checked),
    )
