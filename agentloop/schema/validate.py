"""jsonschema glue: compiled validators, decoding the model's JSON, and error messages the
model can act on (internal).

This is the only module that imports :mod:`jsonschema`; it is loaded when the
first tool is defined, never by ``import agentloop``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NoReturn

import jsonschema
import jsonschema.validators
from jsonschema.exceptions import ValidationError

from agentloop.errors import ToolArgumentError
from agentloop.messages import depth_exceeds
from agentloop.schema.external import REGISTRY, schema_problem

__all__ = [
    "check_schema",
    "compile_validator",
    "decode_json",
    "describe_error",
    "format_path",
    "json_type",
    "raise_errors",
    "raise_invalid",
    "schema_problem",
]

FORMATS = jsonschema.FormatChecker(formats=())
_FORMAT_HELP = {
    "date": "a date like 2024-05-31",
    "date-time": "an ISO 8601 date-time like 2024-05-31T14:30:00Z",
    "time": "a time like 14:30:00",
    "uuid": "a UUID like 123e4567-e89b-12d3-a456-426614174000",
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def _format(name: str, parse: Any) -> None:
    @FORMATS.checks(name, raises=(ValueError, TypeError))
    def check(value: object) -> bool:
        if isinstance(value, str):
            parse(value)
        return True


_format("date", dt.date.fromisoformat)
_format("date-time", dt.datetime.fromisoformat)
_format("time", dt.time.fromisoformat)
_format("uuid", uuid.UUID)


MAX_ERRORS = 20
"""Violations collected per check: enough to fix a call, and a bound on the work (a
million-element array of the wrong type must not build a million messages)."""


_BASE = jsonschema.Draft202012Validator
_Errors = Iterator[ValidationError]


def _branch_errors(validator: Any, instance: Any, schema: Any, index: int) -> list[Any]:
    return list(
        itertools.islice(validator.descend(instance, schema, schema_path=index), MAX_ERRORS)
    )


def _any_of(validator: Any, any_of: list[Any], instance: Any, schema: Any) -> _Errors:
    # jsonschema's anyOf lists every error of every branch, even to answer is_valid()
    context: list[ValidationError] = []
    for index, subschema in enumerate(any_of):
        errors = _branch_errors(validator, instance, subschema, index)
        if not errors:
            return
        context.extend(errors)
    yield ValidationError(
        f"{_short(instance)} matches none of the allowed schemas", context=context
    )


def _one_of(validator: Any, one_of: list[Any], instance: Any, schema: Any) -> _Errors:
    context: list[ValidationError] = []
    branches = enumerate(one_of)
    for index, subschema in branches:
        errors = _branch_errors(validator, instance, subschema, index)
        if not errors:
            break
        context.extend(errors)
    else:
        yield ValidationError(
            f"{_short(instance)} matches none of the allowed schemas", context=context
        )
        return
    if any(validator.evolve(schema=sub).is_valid(instance) for _, sub in branches):
        yield ValidationError(f"{_short(instance)} matches more than one of the allowed schemas")


def _type(validator: Any, types: Any, instance: Any, schema: Any) -> _Errors:
    # the same check, without repr() of the whole (maybe huge) instance in the message
    kinds = [types] if isinstance(types, str) else types
    if not any(validator.is_type(instance, kind) for kind in kinds):
        yield ValidationError(f"{_short(instance)} is not of type {' or '.join(kinds)}")


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> _Errors:
    # lazily and in the object's order: jsonschema first sorts every extra key (and names
    # them all in one message)
    if not validator.is_type(instance, "object") or extra is True:
        return
    known = schema.get("properties", {})
    patterns = "|".join(schema.get("patternProperties", {}))
    keys = (k for k in instance if k not in known and not (patterns and re.search(patterns, k)))
    if validator.is_type(extra, "object"):
        for key in keys:
            yield from validator.descend(instance[key], extra, path=key)
        return
    first = list(itertools.islice(keys, MAX_ERRORS + 1))
    if first:
        shown = ", ".join(map(repr, first[:MAX_ERRORS])) + (
            ", ..." if len(first) > MAX_ERRORS else ""
        )
        yield ValidationError(f"Additional properties are not allowed ({shown})")


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> _Errors:
    # one pass with a set: jsonschema compares every pair when items do not sort together
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[Any] = set()
    for index, item in enumerate(instance):
        key = _identity(item)
        if key in seen:
            yield ValidationError(f"item {index} ({_short(item)}) repeats an earlier item")
            return
        seen.add(key)


def _identity(value: Any) -> Any:
    """A hashable key equal for JSON-equal values (1 == 1.0, but True != 1)."""
    if isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value  # a str never equals a number, and neither equals the tuples below
    if isinstance(value, list):
        return ("array", tuple(_identity(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _identity(v)) for k, v in value.items()))
    return ("literal", value)  # true, false, null


_Validator = jsonschema.validators.extend(
    _BASE,
    {
        "anyOf": _any_of,
        "oneOf": _one_of,
        "type": _type,
        "additionalProperties": _additional_properties,
        "uniqueItems": _unique_items,
    },
)


def compile_validator(schema: Mapping[str, Any]) -> jsonschema.Draft202012Validator:
    """Return a Draft 2020-12 validator for ``schema`` that also checks our formats, and
    whose ``anyOf``/``oneOf`` stop collecting a branch's errors at :data:`MAX_ERRORS`."""
    # the registry resolves no remote $ref: jsonschema's default would fetch it over HTTP
    return _Validator(schema, format_checker=FORMATS, registry=REGISTRY)  # type: ignore[no-any-return]


def check_schema(schema: Mapping[str, Any]) -> str | None:
    """Check ``schema`` against the Draft 2020-12 meta-schema; return the problem or None.

    :func:`schema_problem` then says whether validating with it is safe.
    """
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"{exc.message} at {format_path(exc.absolute_path)}"
    except RecursionError:
        return "the schema is nested too deeply to check; flatten it (use $defs)"
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON; send a number or a string")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would silently keep the last value; the model must say what it means
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects accepted in the model's JSON (then an error for it)."""


def decode_json(text: str | bytes | bytearray, *, what: str, owner: str) -> Any:
    """Decode the model's JSON text; raise ToolArgumentError (for the model) when malformed.

    Args:
        text: The raw JSON text.
        what: What the text is, for the message (``arguments``, ``output``).
        owner: Who receives it, for the message (``tool 'x'``).
    """
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=_reject_duplicate_keys
        )
        if not depth_exceeds(value, MAX_JSON_DEPTH):
            return value
        problem = f"nested deeper than {MAX_JSON_DEPTH} levels"
    except (ValueError, UnicodeDecodeError) as exc:
        problem = str(exc)
    except RecursionError:  # deeper than the decoder's own stack allows
        problem = f"nested deeper than {MAX_JSON_DEPTH} levels"
    raw = text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")
    snippet = raw if len(raw) <= 200 else raw[:200] + "..."
    if problem.startswith("nested deeper"):
        line = f"$: the JSON is {problem}; send flatter data. Received: {snippet!r}"
    else:
        line = (
            f"$: not valid JSON ({problem}); send exactly one JSON object with no surrounding "
            f"text. Received: {snippet!r}"
        )
    raise_errors((line,), what=what, owner=owner)


def _name_of(owner: str) -> str:
    match = re.search(r"'([^']*)'", owner)
    return match.group(1) if match else owner


def format_path(path: Iterable[Any]) -> str:
    """Return a JSON path like ``$.items[2].name`` (``$`` is the whole value)."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def json_type(value: Any) -> str:
    """Return the JSON type name of a decoded value."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = json.dumps(_clip(value, 3), ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _clip(value: Any, depth: int) -> Any:
    """A small stand-in of ``value`` to preview (a huge array is not encoded whole)."""
    if isinstance(value, list):
        return [_clip(v, depth - 1) for v in value[:8]] if depth else []
    if isinstance(value, dict):
        items = itertools.islice(value.items(), 8)
        return {str(k): _clip(v, depth - 1) for k, v in items} if depth else {}
    if isinstance(value, str) and len(value) > 80:
        return value[:80]
    return value


def _types(schema: Any) -> list[str]:
    if not isinstance(schema, Mapping):
        return []
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return list(kind)
    if "enum" in schema:
        return ["one of " + ", ".join(_short(v) for v in schema["enum"])]
    return []


def describe_error(error: ValidationError) -> str:
    """Return one line for one violation: ``<path>: <what is wrong and what is expected>``."""
    path = format_path(error.absolute_path)
    kind, inst, arg = error.validator, error.instance, error.validator_value
    if kind == "required":
        missing = error.message.removesuffix(" is a required property")  # the name's repr
        return f"{path}: missing required property {missing}"
    if kind == "additionalProperties" and isinstance(inst, dict):
        allowed = sorted(error.schema.get("properties", {}))
        known = set(allowed)
        extra = [k for k in inst if k not in known]
        shown = ", ".join(map(repr, sorted(extra[:MAX_ERRORS])))
        more = f" and {len(extra) - MAX_ERRORS} more" if len(extra) > MAX_ERRORS else ""
        hint = (
            f"; allowed: {', '.join(allowed)}" if allowed else "; this object takes no properties"
        )
        return f"{path}: unexpected property {shown}{more}{hint}"
    if kind == "type":
        want = " or ".join([arg] if isinstance(arg, str) else arg)
        return f"{path}: expected {want}, got {json_type(inst)} {_short(inst)}"
    if kind == "enum":
        return f"{path}: {_short(inst)} is not one of {', '.join(_short(v) for v in arg)}"
    if kind == "format":
        return f"{path}: {_short(inst)} is not {_FORMAT_HELP.get(arg, 'a valid ' + str(arg))}"
    if kind in ("anyOf", "oneOf") and error.context is not None:
        return _describe_union(path, error)
    return f"{path}: {error.message}"


def _describe_union(path: str, error: ValidationError) -> str:
    branches = error.validator_value
    wanted = [t for b in branches for t in _types(b)]
    top = [e for e in error.context or () if not e.relative_path]
    if len(top) == len(error.context or ()) and wanted:
        return f"{path}: expected {' or '.join(wanted)}, got {json_type(error.instance)} " + _short(
            error.instance
        )
    deeper = sorted(error.context or (), key=lambda e: -len(e.relative_path))
    return describe_error(deeper[0]) if deeper else f"{path}: {error.message}"


def raise_invalid(
    validator: jsonschema.Draft202012Validator, instance: Any, *, what: str, owner: str
) -> NoReturn:
    """Raise ToolArgumentError listing the violations of ``instance``, each with its path.

    At most :data:`MAX_ERRORS` are collected (the message says when there are more).
    """
    found = list(itertools.islice(validator.iter_errors(instance), MAX_ERRORS + 1))
    errors = sorted(found[:MAX_ERRORS], key=_path_order)
    lines = tuple(dict.fromkeys(describe_error(e) for e in errors))
    raise_errors(lines, what=what, owner=owner, more=len(found) > MAX_ERRORS)


def _path_order(error: ValidationError) -> list[tuple[int, int, str]]:
    return [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path]


def raise_errors(lines: tuple[str, ...], *, what: str, owner: str, more: bool = False) -> NoReturn:
    """Raise ToolArgumentError for the given violation lines (``more``: others not listed)."""
    count = f"{len(lines)}{'+' if more else ''} problem{'s' if len(lines) != 1 or more else ''}"
    listed = "the first ones are listed; fix them" if more else "fix every problem listed"
    message = (
        f"invalid {what} for {owner} ({count}):\n"
        + "\n".join(f"- {line}" for line in lines)
        + f"\n{listed[0].upper()}{listed[1:]} and call again."
    )
    raise ToolArgumentError(message, tool_name=_name_of(owner), errors=lines)
