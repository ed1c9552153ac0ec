"""Rewrite a JSON Schema to follow OpenAI's strict structured-outputs rules (internal).

The rules: every object lists all its properties in ``required`` and has
``additionalProperties: false``; optional properties become nullable instead
(a ``null`` then means "use the default", see :meth:`FunctionSchema.bind`);
every schema names its type, so free-form values (``Any``, ``dict[str, X]``)
cannot be expressed and are rejected with the fix (an open map is never closed
silently: in a hand-written schema an object that says ``additionalProperties: true``,
or does not say ``false``, is refused too); ``oneOf`` (pydantic's
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
from typing import Any, NamedTuple

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
    schema: dict[str, Any],
    *,
    root_object: bool = True,
    for_model: bool = True,
    missing_is_open: bool = False,
) -> dict[str, Any]:
    """Return a strict copy of ``schema`` (the input is not modified).

    Args:
        schema: A schema as produced by :mod:`agentloop.schema.build`, a pydantic model's,
            or a hand-written one.
        root_object: Require the root to be an object (true for tool parameters); a root
            with ``properties`` and no ``type`` counts as one.
        for_model: Leave out (and note in descriptions) the keywords strict mode rejects;
            False keeps them, for validating the model's answer locally.
        missing_is_open: An object without ``additionalProperties`` accepts other keys (JSON
            Schema's rule: true for a hand-written schema, which is then refused instead of
            silently closed); False closes it (schemas agentloop or pydantic built, whose
            classes ignore or refuse other keys anyway).

    Raises:
        ValueError: A part of the schema cannot be made strict; the message names its path.
    """
    if root_object and schema.get("type", "object" if "properties" in schema else None) != (
        "object"
    ):
        raise ValueError("the root of a strict schema must be an object")
    return _strict(schema, "$", _Options(for_model, missing_is_open))


def _where(path: str) -> str:
    return "the value" if path == "$" else repr(path)


class _Options(NamedTuple):
    for_model: bool
    missing_is_open: bool


def _strict(schema: dict[str, Any], path: str, options: _Options) -> dict[str, Any]:
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
    if options.for_model:
        _note(out)
    if _is_object(out):
        _object(out, path, options)
    if isinstance(out.get("items"), dict):
        out["items"] = _strict(out["items"], f"{path}[]", options)
    for key in _CHILD_LISTS:
        if key in out:
            out[key] = [_strict(s, path, options) for s in out[key]]
    for key in ("$defs", "definitions"):
        if isinstance(out.get(key), dict):
            out[key] = {k: _strict(v, f"{key}.{k}", options) for k, v in out[key].items()}
    return out


def _is_object(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return (
        kind == "object"
        or (isinstance(kind, list) and "object" in kind)
        or "properties" in schema
        or (kind is None and "additionalProperties" in schema)
    )


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


_FIX = "use a TypedDict or dataclass with fixed keys, a list of key/value objects, or strict=False"


def _object(out: dict[str, Any], path: str, options: _Options) -> None:
    """Make an object strict; refuse one that accepts keys beyond its ``properties``.

    An open map is never closed silently: the model could then send none of the keys
    the tool means to accept, and its meaning would change without a word.
    """
    extra = out.get("additionalProperties")
    props = out.get("properties", {})
    if extra is not False and ("properties" not in out or isinstance(extra, dict)):
        raise ValueError(
            f"{_where(path)} is a mapping with free-form keys, which strict mode cannot express "
            f"(OpenAI requires additionalProperties: false); {_FIX}"
        )
    if extra is True or (extra is None and options.missing_is_open):
        said = "says additionalProperties: true" if extra else "does not say additionalProperties"
        raise ValueError(
            f"{_where(path)} {said}, so it accepts keys beyond its properties, which strict "
            'mode cannot express; add "additionalProperties": false if only the listed '
            f"properties are meant, or {_FIX}"
        )
    required = set(out.get("required", ()))
    new_props = {}
    for name, sub in props.items():
        child = _strict(sub, f"{path}.{name}" if path != "$" else name, options)
        new_props[name] = child if name in required else nullable(child)
    kind = out.get("type")
    out["type"] = kind if isinstance(kind, list) else "object"
    out["properties"] = new_props
    out["required"] = list(new_props)
    out["additionalProperties"] = False
