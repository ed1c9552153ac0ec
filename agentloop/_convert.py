"""Python type hints to JSON Schema fragments, and converters from JSON values back (internal).

:class:`SchemaBuilder` walks one type hint and returns a :class:`Node`: the
JSON Schema of the hint plus a converter that turns a JSON value that already
passed that schema into the Python value the hint promises (a ``date``, an
``Enum`` member, a dataclass instance, ...). A converter of ``None`` means the
JSON value already is the Python value, which keeps the common case free.

Classes (dataclasses, TypedDicts, NamedTuples) are inlined, except recursive
ones, which go to ``$defs`` and are referenced with ``$ref``. Anything the
builder cannot express raises :class:`~agentloop.errors.ToolDefinitionError`;
nothing silently becomes ``{"type": "object"}``.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import enum
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ForwardRef

from .errors import ToolDefinitionError

__all__ = [
    "ConversionError",
    "Convert",
    "Node",
    "SchemaBuilder",
    "allows_null",
    "describe",
    "nullable",
    "or_none",
]

Convert = Callable[[Any], Any]

_SEQUENCES: dict[Any, type] = {
    list: list,
    cabc.Sequence: list,
    cabc.MutableSequence: list,
    cabc.Iterable: list,
    cabc.Collection: list,
    set: set,
    cabc.Set: frozenset,
    cabc.MutableSet: set,
    frozenset: frozenset,
}
_MAPPINGS = (dict, cabc.Mapping, cabc.MutableMapping)
_SIMPLE: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    bool: {"type": "boolean"},
    None: {"type": "null"},
    type(None): {"type": "null"},
    Any: {},
    object: {},
}
_SCALAR_TYPES = ("string", "integer", "number", "boolean")
_HINTS = {
    bytes: "use str (for example base64 text) instead",
    bytearray: "use str (for example base64 text) instead",
    complex: "use two floats or a str instead",
}
_SUPPORTED = (
    "supported types are str, int, float, bool, None, Any, Literal, Enum, list/Sequence/set/"
    "tuple, dict[str, X], TypedDict, dataclass, NamedTuple, date/datetime/time, UUID, Path, "
    "Decimal and unions of these"
)


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


@dataclasses.dataclass(frozen=True, slots=True)
class Node:
    """The schema of one hint and how to convert a valid JSON value back.

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


class SchemaBuilder:
    """Builds :class:`Node` objects for the hints of one tool or adapter.

    Args:
        owner: How error messages name the thing being defined, e.g. ``tool 'x'``.
        globalns: Globals for evaluating string annotations.
        localns: Extra names (the decorating scope's locals) for string annotations.
        strict: Strict mode: ``null`` for an optional field means "use the default".
    """

    def __init__(
        self,
        *,
        owner: str,
        globalns: Mapping[str, Any] | None = None,
        localns: Mapping[str, Any] | None = None,
        strict: bool = False,
    ) -> None:
        self.owner = owner
        self.globalns = dict(globalns or {})
        self.localns = dict(localns or {})
        self.strict = strict
        self.defs: dict[str, dict[str, Any]] = {}
        self._active: dict[Any, tuple[str, list[Convert | None]]] = {}
        self._recursive: set[Any] = set()
        self._cache: dict[Any, Node] = {}

    # -- errors -----------------------------------------------------------------------

    def fail(self, where: str, message: str) -> ToolDefinitionError:
        """Return a ToolDefinitionError naming the owner, the place and the fix."""
        return ToolDefinitionError(f"{self.owner}: {where}: {message}")

    def unsupported(self, tp: Any, where: str) -> ToolDefinitionError:
        """Return the error for a hint that has no JSON Schema equivalent."""
        hint = _HINTS.get(tp, _SUPPORTED)
        return self.fail(where, f"type {_type_name(tp)} cannot be sent as JSON; {hint}")

    # -- entry point ------------------------------------------------------------------

    def build(self, tp: Any, where: str) -> Node:
        """Return the node for hint ``tp``; ``where`` names it in error messages.

        Raises:
            ToolDefinitionError: The hint cannot be expressed in JSON Schema.
        """
        tp = self.resolve(tp, where)
        if tp in _SIMPLE:
            return Node(_SIMPLE[tp])
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            return self._annotated(tp, where)
        if origin in (typing.Union, types.UnionType):
            return self._union(typing.get_args(tp), where)
        if origin is typing.Literal:
            return _literal(typing.get_args(tp))
        if origin is not None:
            return self._generic(tp, origin, where)
        if hasattr(tp, "__supertype__"):  # NewType
            return self.build(tp.__supertype__, where)
        if isinstance(tp, typing.TypeVar):
            raise self.fail(where, f"type variable {tp} has no schema; use a concrete type")
        if isinstance(tp, type):
            return self._class(tp, where)
        raise self.unsupported(tp, where)

    def resolve(self, tp: Any, where: str) -> Any:
        """Evaluate a string or ``ForwardRef`` hint in the builder's namespaces."""
        if isinstance(tp, ForwardRef):
            tp = tp.__forward_arg__
        if not isinstance(tp, str):
            return tp
        try:
            return eval(tp, self.globalns, self.localns)  # noqa: S307 - developer's own annotation
        except Exception as exc:
            raise self.fail(
                where,
                f"cannot resolve the annotation {tp!r} ({type(exc).__name__}: {exc}); define "
                "or import the name at module level, not only under `if TYPE_CHECKING:`",
            ) from exc

    # -- wrappers and unions ------------------------------------------------------------

    def _annotated(self, tp: Any, where: str) -> Node:
        inner, *meta = typing.get_args(tp)
        node = self.build(inner, where)
        text = node.description
        for item in meta:
            if isinstance(item, str):
                text = item
            elif isinstance(getattr(item, "documentation", None), str):  # typing_extensions.Doc
                text = item.documentation
        return Node(node.schema, node.convert, text)

    def _union(self, args: tuple[Any, ...], where: str) -> Node:
        has_none = type(None) in args
        rest = [a for a in args if a is not type(None)]
        if has_none and len(rest) == 1:
            node = self.build(rest[0], where)
            return Node(nullable(node.schema), or_none(node.convert), node.description)
        nodes = [self.build(a, where) for a in rest]
        if has_none:
            nodes.append(Node({"type": "null"}))
        kinds = [n.schema.get("type") for n in nodes]
        if all(
            isinstance(k, str) and len(n.schema) == 1 for k, n in zip(kinds, nodes, strict=True)
        ):
            schema: dict[str, Any] = {"type": kinds}
        else:
            schema = {"anyOf": [n.schema for n in nodes]}
        if all(n.convert is None for n in nodes):
            return Node(schema)
        return Node(schema, _BranchPicker(nodes, self.defs).convert)

    # -- generics ---------------------------------------------------------------------

    def _generic(self, tp: Any, origin: Any, where: str) -> Node:
        args = typing.get_args(tp)
        if origin in (typing.Required, typing.NotRequired, typing.ClassVar, typing.Final):
            return self.build(args[0], where)
        if origin in _SEQUENCES:
            return self._sequence(_SEQUENCES[origin], args[0] if args else Any, where)
        if origin is tuple:
            return self._tuple(args, where)
        if origin in _MAPPINGS:
            return self._mapping(args or (str, Any), where)
        if hasattr(origin, "__value__"):  # a generic `type X[T] = ...` alias
            raise self.fail(where, f"generic alias {tp} is not supported; use its expansion")
        raise self.unsupported(tp, where)

    def _sequence(self, kind: type, item: Any, where: str) -> Node:
        node = self.build(item, f"{where} (items)")
        schema: dict[str, Any] = {"type": "array", "items": node.schema}
        if kind is not list:
            schema["uniqueItems"] = True
        conv = node.convert
        if conv is None and kind is list:
            return Node(schema)
        return Node(schema, _items(kind, conv))

    def _tuple(self, args: tuple[Any, ...], where: str) -> Node:
        if len(args) == 2 and args[1] is Ellipsis:
            node = self._sequence(list, args[0], where)
            return Node(node.schema, _then_tuple(node.convert))
        if args == ((),):
            args = ()
        nodes = [self.build(a, f"{where} (item {i})") for i, a in enumerate(args)]
        schema = {
            "type": "array",
            "prefixItems": [n.schema for n in nodes],
            "items": False,
            "minItems": len(nodes),
            "maxItems": len(nodes),
        }
        return Node(schema, _fixed_tuple([n.convert for n in nodes]))

    def _mapping(self, args: tuple[Any, ...], where: str) -> Node:
        key_tp = self.resolve(args[0], where)
        value = self.build(args[1], f"{where} (values)")
        schema: dict[str, Any] = {"type": "object", "additionalProperties": value.schema}
        key_conv: Convert | None = None
        if key_tp is int:
            schema["propertyNames"] = {"pattern": r"^-?[0-9]+$"}
            key_conv = int
        elif key_tp not in (str, Any):
            key = self.build(key_tp, f"{where} (keys)")
            if key.schema.get("type") != "string" or "enum" not in key.schema:
                raise self.fail(
                    where,
                    f"dict keys of type {_type_name(key_tp)} cannot be JSON object keys; "
                    "use str, int, a string Literal or a string Enum",
                )
            schema["propertyNames"] = {"enum": key.schema["enum"]}
            key_conv = key.convert
        if value.convert is None and key_conv is None:
            return Node(schema)
        return Node(schema, _mapping_conv(key_conv, value.convert))

    # -- classes ----------------------------------------------------------------------

    def _class(self, cls: type, where: str) -> Node:
        from . import _classes

        simple = _classes.scalar_node(cls)
        if simple is not None:
            return simple
        if issubclass(cls, enum.Enum):
            return _classes.enum_node(self, cls, where)
        if cls in _SEQUENCES:
            return self._sequence(_SEQUENCES[cls], Any, where)
        if cls is tuple:
            return self._sequence(tuple, Any, where)
        if cls in _MAPPINGS:
            return self._mapping((str, Any), where)
        kind = _classes.structured_kind(cls)
        if kind is None:
            raise self.unsupported(cls, where)
        return self._structured(cls, kind, where)

    def _structured(self, cls: type, kind: str, where: str) -> Node:
        if cls in self._cache:
            return self._cache[cls]
        if cls in self._active:
            ref_name, ref_cell = self._active[cls]
            self._recursive.add(cls)
            return Node({"$ref": f"#/$defs/{ref_name}"}, lambda v: _call_cell(ref_cell, v))
        name = self._def_name(cls)
        cell: list[Convert | None] = [None]
        self._active[cls] = (name, cell)
        from . import _classes

        try:
            node = _classes.structured_node(self, cls, kind, where)
        finally:
            del self._active[cls]
        cell[0] = node.convert
        if cls in self._recursive:
            self.defs[name] = node.schema
            node = Node({"$ref": f"#/$defs/{name}"}, node.convert)
        self._cache[cls] = node
        return node

    def _def_name(self, cls: type) -> str:
        base = cls.__name__
        taken = set(self.defs) | {n for n, _ in self._active.values()}
        name, i = base, 2
        while name in taken:
            name, i = f"{base}{i}", i + 1
        return name

    def class_hints(self, cls: type, where: str) -> dict[str, Any]:
        """Return the resolved type hints of ``cls`` (with ``Annotated`` kept)."""
        localns = {**self.localns, cls.__name__: cls}
        try:
            return typing.get_type_hints(cls, localns=localns, include_extras=True)
        except Exception as exc:
            module = sys.modules.get(cls.__module__)
            raise self.fail(
                where,
                f"cannot resolve the annotations of {cls.__qualname__} "
                f"({type(exc).__name__}: {exc}); define the names it uses at module level"
                f"{' of ' + module.__name__ if module else ''}",
            ) from exc


# -- converters -------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return (
            tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
        )
    return repr(tp)


def _call_cell(cell: list[Convert | None], value: Any) -> Any:
    conv = cell[0]
    return value if conv is None else conv(value)


def or_none(conv: Convert | None) -> Convert | None:
    """Return ``conv`` made to pass ``None`` through (None stays None)."""
    if conv is None:
        return None
    return lambda v: None if v is None else conv(v)


def _literal(values: tuple[Any, ...]) -> Node:
    json_values = [v.value if isinstance(v, enum.Enum) else v for v in values]
    names = {_json_type(v) for v in json_values}
    schema: dict[str, Any] = {"enum": json_values}
    if len(names) == 1:
        schema = {"type": names.pop(), "enum": json_values}
    needs = any(isinstance(v, enum.Enum) or _json_type(v) in ("integer", "number") for v in values)
    if not needs:
        return Node(schema)
    table = {(type(j) is bool, j): v for j, v in zip(json_values, values, strict=True)}
    return Node(schema, lambda v: table.get((type(v) is bool, v), v))


def _json_type(value: Any) -> str:
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
    raise ToolDefinitionError(
        f"Literal value {value!r} is not a JSON scalar; use str, int, bool, None or Enum members"
    )


def _items(kind: type, conv: Convert | None) -> Convert:
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


def _then_tuple(conv: Convert | None) -> Convert:
    if conv is None:
        return tuple
    return lambda v: tuple(conv(v))


def _fixed_tuple(convs: list[Convert | None]) -> Convert:
    def convert(value: list[Any]) -> tuple[Any, ...]:
        out = []
        for i, (item, conv) in enumerate(zip(value, convs, strict=True)):
            try:
                out.append(item if conv is None else conv(item))
            except ConversionError as exc:
                raise exc.under(i) from None
        return tuple(out)

    return convert


def _mapping_conv(key_conv: Convert | None, value_conv: Convert | None) -> Convert:
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


class _BranchPicker:
    """Converts a union value with the first branch whose schema accepts it."""

    def __init__(self, nodes: list[Node], defs: dict[str, dict[str, Any]]) -> None:
        self._nodes = nodes
        self._defs = defs  # filled in completely by the time the first value arrives
        self._checks: list[Callable[[Any], bool]] | None = None

    def convert(self, value: Any) -> Any:
        if self._checks is None:
            from ._validate import compile_validator

            self._checks = [
                compile_validator({"$defs": self._defs, **n.schema}).is_valid for n in self._nodes
            ]
        for check, node in zip(self._checks, self._nodes, strict=True):
            if check(value):
                return value if node.convert is None else node.convert(value)
        return value
