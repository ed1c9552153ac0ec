"""Rewrite a JSON Schema to follow OpenAI's strict structured-outputs rules (internal).

The rules: every object lists all its properties in ``required`` and has
``additionalProperties: false``; optional properties become nullable instead
(a ``null`` then means "use the default", see :meth:`FunctionSchema.bind`);
every schema names its type, so free-form values (``Any``, ``dict[str, X]``)
cannot be expressed and are rejected with the fix. Keywords strict mode does
not accept (``default``, ``uniqueItems``) are dropped; a default is kept in the
description so the model still learns it.
"""

from __future__ import annotations

import json
from typing import Any

from agentloop.schema.convert import nullable

__all__ = ["make_strict"]

_CHILD_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_DROP = ("default", "uniqueItems")


def make_strict(schema: dict[str, Any], *, root_object: bool = True) -> dict[str, Any]:
    """Return a strict copy of ``schema`` (the input is not modified).

    Args:
        schema: A schema as produced by :mod:`agentloop.schema.build` (or a pydantic model's).
        root_object: Require the root to be an object (true for tool parameters).

    Raises:
        ValueError: A part of the schema cannot be made strict; the message names it.
    """
    if root_object and schema.get("type") != "object":
        raise ValueError("the root of a strict schema must be an object")
    return _strict(schema, "$")


def _where(path: str) -> str:
    return "the value" if path == "$" else repr(path)


def _strict(schema: dict[str, Any], path: str) -> dict[str, Any]:
    if not {k for k in schema if k not in ("description", "title", "default")}:
        raise ValueError(
            f"{_where(path)} accepts any JSON value (Any/object), which strict mode cannot "
            "express; give it a concrete type, or use strict=False"
        )
    out = {k: v for k, v in schema.items() if k not in _DROP}
    if "default" in schema:
        note = f"(default: {json.dumps(schema['default'], ensure_ascii=False)})"
        out["description"] = f"{schema.get('description', '')} {note}".strip()
    if out.get("type") == "object" or "properties" in out:
        _object(out, path)
    if isinstance(out.get("items"), dict):
        out["items"] = _strict(out["items"], f"{path}[]")
    for key in _CHILD_LISTS:
        if key in out:
            out[key] = [_strict(s, path) for s in out[key]]
    if "$defs" in out:
        out["$defs"] = {k: _strict(v, f"$defs.{k}") for k, v in out["$defs"].items()}
    return out


def _object(out: dict[str, Any], path: str) -> None:
    extra = out.get("additionalProperties", True)
    props = out.get("properties", {})
    if extra is not False and ("properties" not in out or extra is not True):
        raise ValueError(
            f"{_where(path)} is a mapping with free-form keys, which strict mode cannot express "
            "(OpenAI requires additionalProperties: false); use a TypedDict or dataclass with "
            "fixed keys, a list of key/value objects, or strict=False"
        )
    required = set(out.get("required", ()))
    new_props = {}
    for name, sub in props.items():
        child = _strict(sub, f"{path}.{name}" if path != "$" else name)
        new_props[name] = child if name in required else nullable(child)
    out["properties"] = new_props
    out["required"] = list(new_props)
    out["additionalProperties"] = False
