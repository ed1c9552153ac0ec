"""JSON Schema fragments and converters from validated JSON values back to Python (internal).

A :class:`Node` is the JSON Schema of one type hint plus a converter that
turns a JSON value that already passed that schema into the Python value the
hint promises (a ``date``, an ``Enum`` member, a dataclass instance, ...). A
converter of ``None`` means the JSON value already is the Python value, which
keeps the common case free. :mod:`agentloop.schema.hints` builds the nodes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = [
    "BranchPicker",
    "ConversionError",
    "Convert",
    "Node",
    "allows_null",
    "call_cell",
    "describe",
    "fixed_tuple_converter",
    "items_converter",
    "literal_node",
    "mapping_converter",
    "nullable",
    "or_none",
    "tuple_converter",
]

Convert = Callable[[Any], Any]
_SCALAR_TYPES = ("string", "integer", "number", "boolean")


class ConversionError(Exception):
    """A JSON value passed the schema but could not become its Python value.

    Attributes:
        message: What went wrong, for the model.
        path: The JSON path of the value, outermost first.
    """

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def under(self, key: str | int) -> ConversionError:
        """Return the same error one level deeper (``key`` prepended to the path)."""
        return ConversionError(self.message, (key, *self.path))


class Node(NamedTuple):
    """The schema of one hint and how to convert a valid JSON value back.

    A NamedTuple rather than a frozen dataclass: one schema builds dozens of them,
    and a tuple is several times cheaper to create.

    Attributes:
        schema: The JSON Schema (never mutated after creation).
        convert: JSON value -> Python value, or None when no conversion is needed.
        description: Text from ``Annotated`` metadata, if any.
    """

    schema: dict[str, Any]
    convert: Convert | None = None
    description: str | None = None


def describe(schema: Mapping[str, Any], text: str | None) -> dict[str, Any]:
    """Return a copy of ``schema`` with ``text`` as its description (if any)."""
    out = dict(schema)
    if text:
        out["description"] = text
    return out


def nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``schema`` widened to also accept ``null`` (standard JSON Schema only)."""
    if allows_null(schema):
        return dict(schema)
    kind = schema.get("type")
    if "enum" in schema:
        out = dict(schema)
        out["enum"] = [*schema["enum"], None]
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list):
            out["type"] = [*kind, "null"]
        return out
    if kind in _SCALAR_TYPES and not {"$ref", "anyOf", "oneOf", "allOf", "const"} & set(schema):
        return {**schema, "type": [kind, "null"]}
    extra = {k: schema[k] for k in ("description", "default") if k in schema}
    inner = {k: v for k, v in schema.items() if k not in extra}
    if "anyOf" in inner and len(inner) == 1:
        return {"anyOf": [*inner["anyOf"], {"type": "null"}], **extra}
    return {"anyOf": [inner, {"type": "null"}], **extra}


def allows_null(schema: Mapping[str, Any]) -> bool:
    """Whether ``schema`` plainly accepts ``null`` (conservative: False when unsure)."""
    if not schema or set(schema) <= {"description", "default", "title"}:
        return True
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return "enum" not in schema or None in schema["enum"]
    return any(allows_null(s) for s in schema.get("anyOf", ()))


def call_cell(cell: list[Convert | None], value: Any) -> Any:
    conv = cell[0]
    return value if conv is None else conv(value)


def or_none(conv: Convert | None) -> Convert | None:
    """Return ``conv`` made to pass ``None`` through (None stays None)."""
    if conv is None:
        return None
    return lambda v: None if v is None else conv(v)


def literal_node(values: tuple[Any, ...]) -> Node:
    """Return the node of ``Literal[values]``: an ``enum``; converts back to the exact values.

    Raises:
        ValueError: A value is not a JSON scalar (nor an Enum member).
    """
    json_values = [v.value if isinstance(v, enum.Enum) else v for v in values]
    names = {_literal_type(v) for v in json_values}
    schema: dict[str, Any] = {"enum": json_values}
    if len(names) == 1:
        schema = {"type": names.pop(), "enum": json_values}
    needs = any(
        isinstance(v, enum.Enum) or _literal_type(v) in ("integer", "number") for v in values
    )
    if not needs:
        return Node(schema)
    table = {(type(j) is bool, j): v for j, v in zip(json_values, values, strict=True)}
    return Node(schema, lambda v: table.get((type(v) is bool, v), v))


def _literal_type(value: Any) -> str:
    """The JSON type of a ``Literal`` value; ValueError for values JSON cannot carry."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    raise ValueError(
        f"Literal value {value!r} is not a JSON scalar; use str, int, bool, None or Enum members"
    )


def items_converter(kind: type, conv: Convert | None) -> Convert:
    def convert(value: list[Any]) -> Any:
        if conv is None:
            return kind(value)
        out = []
        for i, item in enumerate(value):
            try:
                out.append(conv(item))
            except ConversionError as exc:
                raise exc.under(i) from None
        return out if kind is list else kind(out)

    return convert


def tuple_converter(conv: Convert | None) -> Convert:
    if conv is None:
        return tuple
    return lambda v: tuple(conv(v))


def fixed_tuple_converter(convs: list[Convert | None]) -> Convert:
    def convert(value: list[Any]) -> tuple[Any, ...]:
        out = []
        for i, (item, conv) in enumerate(zip(value, convs, strict=True)):
            try:
                out.append(item if conv is None else conv(item))
            except ConversionError as exc:
                raise exc.under(i) from None
        return tuple(out)

    return convert


def mapping_converter(key_conv: Convert | None, value_conv: Convert | None) -> Convert:
    def convert(value: dict[str, Any]) -> dict[Any, Any]:
        out = {}
        for key, item in value.items():
            try:
                k = key if key_conv is None else key_conv(key)
                out[k] = item if value_conv is None else value_conv(item)
            except ConversionError as exc:
                raise exc.under(key) from None
        return out

    return convert


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


# JSON Schema's type checks, for branches that are only {"type": ...}
_TYPE_ONLY: dict[Any, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


class BranchPicker:
    """Converts a union value with the first branch whose schema accepts it.

    The branch validators are compiled by :meth:`compile` once the whole schema
    (and its ``$defs``) is known, still at decoration time.
    """

    def __init__(self, nodes: list[Node]) -> None:
        self._nodes = nodes
        self._checks: list[Callable[[Any], bool]] = []

    def compile(
        self,
        defs: dict[str, dict[str, Any]],
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """Compile one validator per branch (``transform``: e.g. the strict rewrite)."""
        from agentloop.schema.validate import compile_validator

        checks = []
        for node in self._nodes:
            quick = _TYPE_ONLY.get(node.schema.get("type")) if len(node.schema) == 1 else None
            if quick is not None:  # {"type": "integer"}: no validator needed per value
                checks.append(quick)
                continue
            schema = {"$defs": defs, **node.schema} if defs else dict(node.schema)
            checks.append(compile_validator(transform(schema) if transform else schema).is_valid)
        self._checks = checks

    def convert(self, value: Any) -> Any:
        """Convert ``value`` with the first branch that accepts it."""
        for check, node in zip(self._checks, self._nodes, strict=True):
            if check(value):
                return value if node.convert is None else node.convert(value)
        return value
