"""JSON Schema helpers for the offline model: references, examples, validation.

:func:`example` builds a valid instance of a schema from the schema alone
(``const``, a valid ``default``, ``examples``, the first ``enum`` value, or a
minimal value honouring bounds, lengths, formats and simple patterns);
:func:`is_valid` checks an instance with ``jsonschema``, through agentloop's registry
that never fetches a ``$ref`` (schemas reach ``agentloop serve`` from any client).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["example", "is_valid", "merge_all", "resolve", "type_of", "with_defs"]

_EXAMPLE_STRINGS = {
    "date": "2000-01-01",
    "date-time": "2000-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "127.0.0.1",
    "hostname": "example.com",
}


def is_valid(schema: Mapping[str, Any], instance: Any) -> bool:
    """Whether ``instance`` validates against ``schema`` (formats checked where possible)."""
    from jsonschema import validators

    from agentloop.schema.external import REGISTRY

    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        checker = cls(schema, format_checker=cls.FORMAT_CHECKER, registry=REGISTRY)
        return bool(checker.is_valid(instance))
    except Exception:  # an unusable schema: nothing can be checked against it
        return False


def example(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Any:
    """Return a valid example of ``schema`` built from the schema alone (deterministic).

    Uses ``const``, a valid ``default``, ``examples``, the first ``enum`` value, or
    a minimal value of the type that honours the bounds and formats.
    """
    root = schema if root is None else root
    schema = resolve(schema, root)
    for key in ("const", "default"):
        if key in schema and (key == "const" or is_valid(with_defs(schema, root), schema[key])):
            return copy.deepcopy(schema[key])
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return copy.deepcopy(schema["examples"][0])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return copy.deepcopy(schema["enum"][0])
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            branches = [b for b in schema[key] if type_of(resolve(b, root)) != "null"]
            return example((branches or schema[key])[0], root)
    if isinstance(schema.get("allOf"), list):
        return example(merge_all(schema, root), root)
    return _example_of_type(schema, type_of(schema), root)


def _example_of_type(schema: Mapping[str, Any], kind: str | None, root: Mapping[str, Any]) -> Any:
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties") or {}
        return {n: example(props[n], root) for n in schema.get("required") or () if n in props}
    if kind == "array":
        prefix = [example(s, root) for s in schema.get("prefixItems") or ()]
        items = schema.get("items")
        while len(prefix) < int(schema.get("minItems") or 0) and isinstance(items, Mapping):
            prefix.append(example(items, root))
        return prefix
    if kind == "string":
        text = _EXAMPLE_STRINGS.get(str(schema.get("format")), "example")
        text = text.ljust(int(schema.get("minLength") or 0), "x")
        text = text[: schema["maxLength"]] if "maxLength" in schema else text
        if isinstance(schema.get("pattern"), str):
            return _pattern_example(schema, text)
        return text
    if kind in ("integer", "number"):
        return _clamp(0, schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return {}


def _pattern_example(schema: Mapping[str, Any], text: str) -> str:
    """A few simple strings tried against ``pattern`` (codes, ids, digits); else ``text``."""
    tries = [text, *(c * n for n in range(1, 13) for c in ("0", "a", "A", "a0", "A0"))]
    return next((t for t in tries if is_valid(schema, t)), text)


def _clamp(number: float, schema: Mapping[str, Any], *, integer: bool) -> float | int:
    low = schema.get("minimum")
    if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], (int, float)):
        low = schema["exclusiveMinimum"] + (1 if integer else 0.5)
    high = schema.get("maximum")
    if "exclusiveMaximum" in schema and isinstance(schema["exclusiveMaximum"], (int, float)):
        high = schema["exclusiveMaximum"] - (1 if integer else 0.5)
    if low is not None and number < low:
        number = low
    if high is not None and number > high:
        number = high
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0 and number % step:
        number = (number // step + 1) * step
    return int(number) if integer else number


def resolve(schema: Any, root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local ``$ref`` pointers (``#/$defs/X``); siblings of ``$ref`` are kept."""
    seen = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 32:
        target: Any = root
        for part in schema["$ref"].lstrip("#").split("/"):
            if part:
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
        schema = {**{k: v for k, v in schema.items() if k != "$ref"}, **target}
        seen += 1
    return schema if isinstance(schema, Mapping) else {}


def merge_all(schema: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema.get("allOf") or ():
        part = resolve(part, root)
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def type_of(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        rest = [k for k in kind if k != "null"]
        return rest[0] if rest else "null"
    return kind if isinstance(kind, str) else None


def with_defs(schema: Any, root: Mapping[str, Any]) -> Mapping[str, Any]:
    """A sub-schema that can still resolve the root's ``$defs`` when validated alone."""
    schema = resolve(schema, root)
    defs = {k: root[k] for k in ("$defs", "definitions") if k in root}
    return {**defs, **schema}
