"""Schemas and converters for classes: scalars, enums, dataclasses, TypedDicts, NamedTuples,
pydantic models (internal; used by :mod:`agentloop.schema.hints` and :mod:`agentloop.schema.build`).

pydantic is never imported here: a class is treated as a pydantic model when it
has ``model_json_schema`` and ``model_validate`` (duck typing), so pydantic
stays optional.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import functools
import pathlib
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from agentloop.schema.constraints import annotated_default, apply, field_default, is_field_info
from agentloop.schema.convert import ConversionError, Convert, Node, allows_null, describe
from agentloop.schema.fielddocs import class_description, field_docs
from agentloop.schema.jsonable import to_jsonable


class SchemaBuilder(Protocol):
    """What this module needs of :class:`agentloop.schema.hints.SchemaBuilder` (no import cycle)."""

    strict: bool
    defs: dict[str, dict[str, Any]]

    def build(self, tp: Any, where: str) -> Node: ...

    def class_hints(self, cls: type, where: str) -> dict[str, Any]: ...

    def fail(self, where: str, message: str) -> Exception: ...


__all__ = ["enum_node", "scalar_node", "structured_kind", "structured_node"]

_DECIMAL_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"


def _to_int(value: Any) -> Any:
    return int(value) if type(value) is float else value


def _to_float(value: Any) -> Any:
    return float(value) if type(value) is int else value


def _parsing(parse: Callable[[Any], Any], what: str) -> Convert:
    def convert(value: Any) -> Any:
        try:
            return parse(value)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ConversionError(f"{value!r} is not a valid {what} ({exc})") from None

    return convert


def _decimal(value: Any) -> decimal.Decimal:
    # repr() of a float is its shortest round-trip form, so 0.1 becomes Decimal("0.1").
    return decimal.Decimal(repr(value) if isinstance(value, float) else str(value))


_SCALARS: dict[type, Node] = {
    int: Node({"type": "integer"}, _to_int),
    float: Node({"type": "number"}, _to_float),
    dt.datetime: Node(
        {"type": "string", "format": "date-time"},
        _parsing(dt.datetime.fromisoformat, "ISO 8601 date-time"),
    ),
    dt.date: Node({"type": "string", "format": "date"}, _parsing(dt.date.fromisoformat, "date")),
    dt.time: Node({"type": "string", "format": "time"}, _parsing(dt.time.fromisoformat, "time")),
    uuid.UUID: Node({"type": "string", "format": "uuid"}, _parsing(uuid.UUID, "UUID")),
    decimal.Decimal: Node(
        {"type": ["number", "string"], "pattern": _DECIMAL_PATTERN},
        _parsing(_decimal, "decimal number"),
    ),
}


def scalar_node(cls: type) -> Node | None:
    """Return the node of a scalar class (int, float, date, UUID, Path, ...), else None."""
    node = _SCALARS.get(cls)
    if node is not None:
        return node
    if issubclass(cls, pathlib.PurePath):
        return Node({"type": "string"}, cls)
    return None


def enum_node(builder: SchemaBuilder, cls: type[enum.Enum], where: str) -> Node:
    """Return the node of an Enum class: its values as ``enum``; converts back to members."""
    members = list(cls)
    if not members:
        raise builder.fail(where, f"Enum {cls.__qualname__} has no members")
    values = [m.value for m in members]
    kinds = set()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise builder.fail(
                where,
                f"Enum {cls.__qualname__} has the value {value!r}; only str, int and float "
                "values can be sent as JSON",
            )
        kinds.add("string" if isinstance(value, str) else "number")
    if kinds == {"number"} and all(isinstance(v, int) for v in values):
        kinds = {"integer"}
    schema: dict[str, Any] = {"type": kinds.pop() if len(kinds) == 1 else sorted(kinds)}
    schema["enum"] = values
    schema = describe(schema, class_description(cls))

    def convert(value: Any) -> enum.Enum:
        try:
            return cls(value)
        except ValueError as exc:
            raise ConversionError(str(exc)) from None

    return Node(schema, convert)


def structured_kind(cls: type) -> str | None:
    """Return ``typeddict``, ``namedtuple``, ``dataclass``, ``pydantic`` or None."""
    if typing.is_typeddict(cls) or (  # typing_extensions' TypedDict is another class on 3.11
        issubclass(cls, dict) and hasattr(cls, "__required_keys__") and hasattr(cls, "__total__")
    ):
        return "typeddict"
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return "namedtuple"
    if dataclasses.is_dataclass(cls):
        return "dataclass"
    if callable(getattr(cls, "model_json_schema", None)) and callable(
        getattr(cls, "model_validate", None)
    ):
        return "pydantic"
    return None


def structured_node(builder: SchemaBuilder, cls: type, kind: str, where: str) -> Node:
    """Return the node of a dataclass, TypedDict, NamedTuple or pydantic model."""
    if kind == "pydantic":
        return _pydantic_node(builder, cls, where)
    hints = builder.class_hints(cls, where)
    docs = field_docs(cls)
    props: dict[str, Any] = {}
    convs: dict[str, Convert | None] = {}
    fills: dict[str, Callable[[], Any]] = {}
    required: list[str] = []
    for name, (is_required, default) in _fields(cls, kind, hints).items():
        place = f"{where} -> field {name!r} of {cls.__name__}"
        node = builder.build(hints.get(name, Any), place)
        schema, text = node.schema, node.description
        if is_field_info(default):  # `x: int = Field(gt=0)` (pydantic dataclasses)
            found = field_default(default, place, builder.fail)
            schema = apply(schema, found.constraints, place, builder.fail)
            text = text or found.constraints.description
            is_required = found.required
            default = dataclasses.MISSING if found.required or found.factory else found.default
            if not found.required:
                fills[name] = found.factory or functools.partial(_same, found.default)
        elif default is dataclasses.MISSING and is_required:
            inner = annotated_default(hints.get(name))  # `x: Annotated[int, Field(default=1)]`
            if inner is not None:
                is_required = False
                default = dataclasses.MISSING if inner.factory else inner.default
                fills[name] = inner.factory or functools.partial(_same, inner.default)
        schema = describe(schema, text or docs.get(name))
        if default is not dataclasses.MISSING:
            schema = with_default(schema, default)
        props[name] = schema
        convs[name] = node.convert
        if is_required:
            required.append(name)
    schema = {"type": "object", "properties": props, "required": required}
    schema["additionalProperties"] = False
    schema = describe(schema, class_description(cls))
    optional = frozenset(props) - set(required)
    build = dict if kind == "typeddict" else cls
    strict_optional = optional if builder.strict else frozenset()
    return Node(schema, object_converter(build, convs, strict_optional, fills))


def _same(value: Any) -> Any:
    return value


def _fields(cls: Any, kind: str, hints: dict[str, Any]) -> dict[str, tuple[bool, Any]]:
    """Return ``{field: (is_required, default or MISSING)}`` in declaration order."""
    if kind == "typeddict":
        # String annotations (``from __future__ import annotations``) hide NotRequired
        # from the class's __required_keys__, so the resolved hint decides.
        required_keys = set(getattr(cls, "__required_keys__", hints))
        marks = {typing.Required: True, typing.NotRequired: False}
        return {
            name: (marks.get(typing.get_origin(hint), name in required_keys), dataclasses.MISSING)
            for name, hint in hints.items()
        }
    if kind == "namedtuple":
        defaults = getattr(cls, "_field_defaults", {})
        return {
            name: (name not in defaults, defaults.get(name, dataclasses.MISSING))
            for name in cls._fields
        }
    fields = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        has_default = f.default is not dataclasses.MISSING
        has_factory = f.default_factory is not dataclasses.MISSING
        fields[f.name] = (not (has_default or has_factory), f.default)
    return fields


def with_default(schema: dict[str, Any], default: Any) -> dict[str, Any]:
    """Return ``schema`` with ``default`` recorded, when the default is JSON-expressible."""
    try:
        value = to_jsonable(default)
    except (TypeError, ValueError):
        return schema
    return {**schema, "default": value}


def object_converter(
    build: Callable[..., Any],
    convs: dict[str, Convert | None],
    null_means_default: frozenset[str],
    fills: Mapping[str, Callable[[], Any]] | None = None,
) -> Convert:
    """Return a converter from a validated JSON object to ``build(**converted_fields)``.

    Args:
        build: The class (or ``dict``) to call with the converted fields.
        convs: Per-field converter (None: keep the JSON value).
        null_means_default: Fields for which ``null`` means "leave out, use the default"
            (strict mode's optional fields).
        fills: Per-field default makers for fields left out whose class default is a
            pydantic ``FieldInfo`` (so the class never receives one).
    """
    fills = fills or {}

    def convert(value: dict[str, Any]) -> Any:
        kwargs = {}
        for key, item in value.items():
            if item is None and key in null_means_default:
                continue
            conv = convs.get(key)
            if conv is None:
                kwargs[key] = item
                continue
            try:
                kwargs[key] = conv(item)
            except ConversionError as exc:
                raise exc.under(key) from None
        for key, make in fills.items():
            if key not in kwargs:
                kwargs[key] = make()
        try:
            return build(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ConversionError(f"{getattr(build, '__name__', build)}: {exc}") from None

    return convert


def _pydantic_node(builder: SchemaBuilder, cls: Any, where: str) -> Node:
    try:
        schema = dict(cls.model_json_schema())
    except Exception as exc:
        raise builder.fail(where, f"{cls.__name__}.model_json_schema() failed: {exc}") from exc
    defs = schema.pop("$defs", {})
    for name, sub in defs.items():
        if name in builder.defs and builder.defs[name] != sub:
            raise builder.fail(where, f"two different types are both named {name!r} in $defs")
        builder.defs[name] = sub
    strict, model_schema = builder.strict, dict(schema)

    def convert(value: Any) -> Any:
        if strict:  # strict mode's null for an optional field means "use the default"
            value = _without_default_nulls(value, model_schema, defs)
        try:
            return cls.model_validate(value)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise ConversionError(str(exc)) from None

    return Node(schema, convert)


def _without_default_nulls(value: Any, schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    """Drop the ``null`` of each optional field whose (non-strict) schema does not accept null,
    following ``$ref``, ``items`` and the union branch whose ``const`` fields match."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        schema = defs.get(ref.removeprefix("#/$defs/"), {})
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_without_default_nulls(v, schema["items"], defs) for v in value]
    if not isinstance(value, dict):
        return value
    for branch in schema.get("anyOf", ()) or schema.get("oneOf", ()):
        if _matches_consts(value, branch, defs):
            return _without_default_nulls(value, branch, defs)
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return value
    required = set(schema.get("required", ()))
    return {
        key: _without_default_nulls(item, props.get(key, {}), defs)
        for key, item in value.items()
        if not (item is None and key not in required and not allows_null(props.get(key, {})))
    }


def _matches_consts(
    value: dict[str, Any], branch: Mapping[str, Any], defs: Mapping[str, Any]
) -> bool:
    ref = branch.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        branch = defs.get(ref.removeprefix("#/$defs/"), {})
    props = branch.get("properties")
    if not isinstance(props, Mapping):
        return False
    consts = {k: p["const"] for k, p in props.items() if isinstance(p, Mapping) and "const" in p}
    return all(value.get(k) == v for k, v in consts.items())
