"""Walk Python type hints and build their JSON Schema :class:`~agentloop.schema.convert.Node` (internal).

:class:`SchemaBuilder` handles one tool or adapter. Classes (dataclasses,
TypedDicts, NamedTuples) are inlined, except recursive ones, which go to
``$defs`` and are referenced with ``$ref``. Anything the builder cannot
express raises :class:`~agentloop.errors.ToolDefinitionError`; nothing
silently becomes ``{"type": "object"}``.
"""

from __future__ import annotations

import collections.abc as cabc
import enum
import functools
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any, ForwardRef

from agentloop.errors import ToolDefinitionError
from agentloop.schema import classes as _classes
from agentloop.schema import constraints as _constraints
from agentloop.schema.convert import (
    BranchPicker,
    Convert,
    Node,
    call_cell,
    fixed_tuple_converter,
    items_converter,
    literal_node,
    mapping_converter,
    nullable,
    or_none,
    tuple_converter,
)
from agentloop.schema.strict import make_strict

__all__ = ["SchemaBuilder"]


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
        # not copied: a function's own globals are read, never written, by eval()
        self.globalns = globalns if isinstance(globalns, dict) else dict(globalns or {})
        self.localns = dict(localns or {})
        self.strict = strict
        self.defs: dict[str, dict[str, Any]] = {}
        self._pickers: list[BranchPicker] = []
        self._aliases: set[Any] = set()
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
        try:
            simple = _SIMPLE.get(tp)
        except TypeError:  # Annotated with unhashable metadata (a plain dataclass instance)
            simple = None
        if simple is not None:
            return Node(simple)
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            return self._annotated(tp, where)
        if origin in (typing.Union, types.UnionType):
            return self._union(typing.get_args(tp), where)
        if origin is typing.Literal:
            try:
                return literal_node(typing.get_args(tp))
            except ValueError as exc:
                raise self.fail(where, str(exc)) from exc
        if origin is not None:
            return self._generic(tp, origin, where)
        if hasattr(tp, "__supertype__"):  # NewType
            return self.build(tp.__supertype__, where)
        if type(tp).__name__ == "TypeAliasType":  # `type X = ...` (or typing_extensions')
            return self._alias(tp, where)
        if isinstance(tp, typing.TypeVar):
            raise self.fail(where, f"type variable {tp} has no schema; use a concrete type")
        if isinstance(tp, type):
            return self._class(tp, where)
        raise self.unsupported(tp, where)

    def finish(self) -> None:
        """Compile what needs the complete schema (union branch checks); call once at the end."""
        transform = (
            functools.partial(make_strict, root_object=False, for_model=False)
            if self.strict
            else None
        )
        for picker in self._pickers:
            picker.compile(self.defs, transform)

    def resolve(self, tp: Any, where: str) -> Any:
        """Evaluate a string or ``ForwardRef`` hint in the builder's namespaces."""
        if isinstance(tp, ForwardRef):
            tp = tp.__forward_arg__
        if not isinstance(tp, str):
            return tp
        try:
            return eval(_compiled(tp), self.globalns, self.localns)  # noqa: S307 - developer's own annotation
        except Exception as exc:
            raise self.fail(
                where,
                f"cannot resolve the annotation {tp!r} ({type(exc).__name__}: {exc}); define "
                "or import the name at module level, not only under `if TYPE_CHECKING:`",
            ) from exc

    def _alias(self, alias: Any, where: str) -> Node:
        if alias in self._aliases:
            raise self.fail(
                where,
                f"the type alias {alias.__name__} refers to itself; recursive aliases are not "
                "supported, use a recursive dataclass or TypedDict instead",
            )
        self._aliases.add(alias)
        try:
            return self.build(alias.__value__, where)
        finally:
            self._aliases.discard(alias)

    # -- wrappers and unions ------------------------------------------------------------

    def _annotated(self, tp: Any, where: str) -> Node:
        inner, *meta = typing.get_args(tp)
        node = self.build(inner, where)
        found = _constraints.read(meta, where, self.fail)
        schema = _constraints.apply(node.schema, found, where, self.fail) if found else node.schema
        return Node(schema, node.convert, found.description or node.description)

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
        picker = BranchPicker(nodes)
        self._pickers.append(picker)
        return Node(schema, picker.convert)

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
        return Node(schema, items_converter(kind, conv))

    def _tuple(self, args: tuple[Any, ...], where: str) -> Node:
        if len(args) == 2 and args[1] is Ellipsis:
            node = self._sequence(list, args[0], where)
            return Node(node.schema, tuple_converter(node.convert))
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
        return Node(schema, fixed_tuple_converter([n.convert for n in nodes]))

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
        return Node(schema, mapping_converter(key_conv, value.convert))

    # -- classes ----------------------------------------------------------------------

    def _class(self, cls: type, where: str) -> Node:
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
            return Node({"$ref": f"#/$defs/{ref_name}"}, lambda v: call_cell(ref_cell, v))
        name = self._def_name(cls)
        cell: list[Convert | None] = [None]
        self._active[cls] = (name, cell)
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


@functools.lru_cache(maxsize=512)
def _compiled(annotation: str) -> types.CodeType:
    """The compiled form of a string annotation (the same few recur across tools)."""
    return compile(annotation, "<annotation>", "eval")


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return (
            tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
        )
    return repr(tp)
