"""Rewrite a JSON Schema to follow OpenAI's strict structured-outputs rules (internal).

The rules: every object lists all its properties in ``required`` and has
``additionalProperties: false``; optional properties become nullable instead
(a ``null`` then means "use the default", see :meth:`FunctionSchema.bind`);
every schema names its type, so free-form values (``Any``, ``dict[str, X]``)
cannot be expressed and are rejected with the fix; ``oneOf`` (pydantic's
discriminated unions) becomes ``anyOf``, a one-branch ``allOf`` is merged into
its parent, and ``not``, ``if``/``then``/``else`` and several-branch ``allOf``
are rejected.

Keywords strict mode does not accept (``default``, ``uniqueItems``,
``minLength``, ``maxLength``, ...) are left out of the schema sent to the
model and noted in the description instead, so the model still learns them;
with ``for_model=False`` they are kept, which gives the schema agentloop
validates the model's arguments against.
"""

from __future__ import annotations

import json
from typing import Any

from agentloop.schema.convert import nullable

__all__ = ["make_strict"]

_CHILD_LISTS = ("anyOf", "oneOf", "prefixItems")
# Not accepted by strict mode; noted in the description instead (and enforced locally).
_NOTED = (
    "default",
    "minLength",
    "maxLength",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "minContains",
    "maxContains",
)
_DROPPED = ("discriminator",)  # OpenAPI's union hint: meaningless once oneOf is anyOf
_REFUSED = ("not", "if", "then", "else", "patternProperties", "unevaluatedProperties")


def make_strict(
    schema: dict[str, Any], *, root_object: bool = True, for_model: bool = True
) -> dict[str, Any]:
    """Return a strict copy of ``schema`` (the input is not modified).

    Args:
        schema: A schema as produced by :mod:`agentloop.schema.build`, a pydantic model's,
            or a hand-written one.
        root_object: Require the root to be an object (true for tool parameters); a root
            with ``properties`` and no ``type`` counts as one.
        for_model: Leave out (and note in descriptions) the keywords strict mode rejects;
            False keeps them, for validating the model's answer locally.

    Raises:
        ValueError: A part of the schema cannot be made strict; the message names its path.
    """
    if root_object and schema.get("type", "object" if "properties" in schema else None) != (
        "object"
    ):
        raise ValueError("the root of a strict schema must be an object")
    return _strict(schema, "$", for_model)


def _where(path: str) -> str:
    return "the value" if path == "$" else repr(path)


def _strict(schema: dict[str, Any], path: str, for_model: bool) -> dict[str, Any]:
    if not {k for k in schema if k not in ("description", "title", "default", "examples")}:
        raise ValueError(
            f"{_where(path)} accepts any JSON value (Any/object), which strict mode cannot "
            "express; give it a concrete type, or use strict=False"
        )
    for key in _REFUSED:
        if key in schema:
            raise ValueError(f"{_where(path)} uses {key!r}, which strict mode cannot express")
    out = _merge_all_of(schema, path)
    if "oneOf" in out:
        out["anyOf"] = [*out.pop("oneOf"), *out.get("anyOf", ())]
    for key in _DROPPED:
        out.pop(key, None)
    if for_model:
        _note(out)
    if out.get("type") == "object" or "properties" in out:
        _object(out, path, for_model)
    if isinstance(out.get("items"), dict):
        out["items"] = _strict(out["items"], f"{path}[]", for_model)
    for key in _CHILD_LISTS:
        if key in out:
            out[key] = [_strict(s, path, for_model) for s in out[key]]
    if "$defs" in out:
        out["$defs"] = {k: _strict(v, f"$defs.{k}", for_model) for k, v in out["$defs"].items()}
    return out


def _merge_all_of(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """Return a copy of ``schema`` with a one-branch ``allOf`` merged into it."""
    out = dict(schema)
    parts = out.pop("allOf", None)
    if parts is None:
        return out
    if len(parts) != 1 or set(parts[0]) & (set(out) - {"description", "title"}):
        raise ValueError(
            f"{_where(path)} combines schemas with 'allOf', which strict mode cannot express; "
            "write the combined schema out, or use strict=False"
        )
    return {**parts[0], **out}


def _note(out: dict[str, Any]) -> None:
    notes = [
        f"{key}: {json.dumps(out.pop(key), ensure_ascii=False)}" for key in _NOTED if key in out
    ]
    if notes:
        out["description"] = f"{out.get('description', '')} ({', '.join(notes)})".strip()


def _object(out: dict[str, Any], path: str, for_model: bool) -> None:
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
        child = _strict(sub, f"{path}.{name}" if path != "$" else name, for_model)
        new_props[name] = child if name in required else nullable(child)
    out["type"] = "object"
    out["properties"] = new_props
    out["required"] = list(new_props)
    out["additionalProperties"] = False
