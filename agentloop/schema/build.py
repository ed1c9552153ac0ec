"""Python callables and types to JSON Schema, and the model's JSON back to Python values.

:func:`function_schema` reads a function's signature, type hints and docstring
once and returns a :class:`FunctionSchema`: the ``parameters`` object for the
chat API's ``tools`` array, a compiled validator, and :meth:`FunctionSchema.bind`,
which turns validated JSON arguments into the ``(args, kwargs)`` of a call.
:func:`type_adapter` does the same for a single type (the agent's ``output_type``).

Everything here is pure (no I/O) and raises
:class:`~agentloop.errors.ToolDefinitionError` for definitions it cannot express.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import docstring_parser

from agentloop.context import RunContext
from agentloop.errors import ToolDefinitionError
from agentloop.schema.callables import (
    annotation_target,
    check_documented,
    doc_description,
    is_async,
    read_doc,
)
from agentloop.schema.classes import with_default
from agentloop.schema.constraints import annotated_default, apply, field_default, is_field_info
from agentloop.schema.convert import (
    ConversionError,
    Convert,
    allows_null,
    describe,
    nullable,
    or_none,
)
from agentloop.schema.hints import SchemaBuilder
from agentloop.schema.strict import make_strict
from agentloop.schema.validate import (
    compile_validator,
    decode_json,
    format_path,
    json_type,
    raise_errors,
    raise_invalid,
    schema_problem,
)

__all__ = ["FunctionSchema", "Param", "TypeAdapter", "function_schema", "type_adapter"]

_MISSING: Any = inspect.Parameter.empty


class Param(NamedTuple):  # not a frozen dataclass: cheaper to build, one per parameter
    """One parameter of a tool function as the call path sees it (shared with ``handwritten``)."""

    name: str
    positional: bool  # positional-only: passed in ``args``
    convert: Convert | None
    default: Any  # _MISSING when required
    null_means_default: bool
    is_context: bool = False
    fill: Callable[[], Any] | None = None  # the value when left out (a ``Field(...)`` default)


@dataclass
class _Collected:
    props: dict[str, Any] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)
    context: Param | None = None


@dataclass(frozen=True, kw_only=True)
class FunctionSchema:
    """Everything needed to describe a function to a model and call it from JSON.

    Attributes:
        name: The function's name (not validated here; :mod:`agentloop.tools` does that).
        description: Short and long description from the docstring.
        parameters: The JSON Schema object of the model-visible parameters.
        strict: Whether ``parameters`` follows OpenAI's strict structured-outputs rules.
        context_parameter: The parameter that receives the RunContext, or None.
        undocumented_parameters: Model-visible parameters with no description.
        is_async: Whether calling the function returns an awaitable.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool = False
    context_parameter: str | None = None
    undocumented_parameters: tuple[str, ...] = ()
    is_async: bool = False
    _params: tuple[Param, ...] = field(default=(), repr=False)
    _validator: Any = field(default=None, repr=False, compare=False)
    _raw: bool = field(default=False, repr=False)

    @property
    def takes_context(self) -> bool:
        """Whether the function receives the RunContext."""
        return self.context_parameter is not None

    def validate(self, arguments: str | bytes | Mapping[str, Any], *, owner: str) -> dict[str, Any]:
        """Decode and check the model's arguments against ``parameters``.

        In strict mode the check also applies the constraints strict mode cannot send
        (``maxLength``, ``uniqueItems``, ...), which ``parameters`` notes in descriptions.

        Args:
            arguments: Raw JSON text (empty text means ``{}``) or an already-decoded mapping.
            owner: How the error message names the tool (``tool 'x'``).

        Returns:
            The decoded arguments.

        Raises:
            ToolArgumentError: Malformed JSON, not an object, or schema violations.
        """
        if isinstance(arguments, (str, bytes, bytearray)):
            data = (
                decode_json(arguments, what="arguments", owner=owner) if arguments.strip() else {}
            )
        else:
            data = arguments
        if not isinstance(data, Mapping):
            line = f"$: expected a JSON object of named arguments, got {json_type(data)}"
            raise_errors((line,), what="arguments", owner=owner)
        if not isinstance(data, dict):
            data = dict(data)
        if not self._validator.is_valid(data):
            raise_invalid(self._validator, data, what="arguments", owner=owner)
        return data

    def bind(
        self, data: Mapping[str, Any], *, context: RunContext | None = None, owner: str = ""
    ) -> tuple[list[Any], dict[str, Any]]:
        """Convert validated arguments into the function's ``(args, kwargs)``.

        Raises:
            ToolArgumentError: A value passed the schema but could not be converted.
        """
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        if self._raw:
            return args, dict(data)
        for p in self._params:
            if p.is_context:
                value = _MISSING if context is None else context
            else:
                value = data.get(p.name, _MISSING)
            if value is None and p.null_means_default:
                value = _MISSING
            if value is _MISSING:
                if p.fill is not None:  # the signature's default is a FieldInfo: never pass it
                    value = p.fill()
                elif p.positional:
                    args.append(p.default)
                    continue
                else:
                    continue
            elif p.convert is not None:
                try:
                    value = p.convert(value)
                except ConversionError as exc:
                    path = format_path((p.name, *exc.path))
                    raise_errors((f"{path}: {exc.message}",), what="arguments", owner=owner)
            if p.positional:
                args.append(value)
            else:
                kwargs[p.name] = value
        return args, kwargs

    @property
    def requires_context(self) -> bool:
        """Whether the function has a RunContext parameter without a default."""
        return any(p.is_context and p.default is _MISSING for p in self._params)


def function_schema(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
    localns: Mapping[str, Any] | None = None,
) -> FunctionSchema:
    """Build the schema of ``fn`` from its signature, type hints and docstring.

    Args:
        fn: A function, method, ``functools.partial`` or callable object.
        name: The name to report (defaults to the function's ``__name__``).
        description: Overrides the docstring's description.
        strict: Produce a schema accepted by OpenAI's strict mode.
        localns: Extra names for resolving string annotations (the decorating scope).

    Raises:
        ToolDefinitionError: Naming the function, the parameter and the fix.
    """
    target = annotation_target(fn)
    name = name or str(getattr(target, "__name__", type(fn).__name__))
    owner = f"tool {name!r} (function {getattr(target, '__qualname__', name)})"
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"{owner}: cannot read its signature: {exc}") from exc
    doc = read_doc(fn, target, owner)
    globalns = getattr(target, "__globals__", {})
    builder = SchemaBuilder(owner=owner, globalns=globalns, localns=localns, strict=strict)
    found = _parameters(builder, signature, doc)
    check_documented(doc, signature, target, owner)
    parameters: dict[str, Any] = {"type": "object", "properties": found.props}
    parameters["required"] = found.required
    parameters["additionalProperties"] = False
    if builder.defs:
        parameters["$defs"] = builder.defs
    checked = parameters
    if strict:
        parameters, checked = _strict_or_fail(parameters, owner)
    _check_safe(checked, owner)
    builder.finish()
    return FunctionSchema(
        name=name,
        description=description if description is not None else doc_description(doc),
        parameters=parameters,
        strict=strict,
        context_parameter=found.context.name if found.context else None,
        undocumented_parameters=tuple(found.undocumented),
        is_async=is_async(fn),
        _params=tuple(found.params),
        _validator=compile_validator(checked),
    )


def _parameters(
    builder: SchemaBuilder, signature: inspect.Signature, doc: docstring_parser.Docstring
) -> _Collected:
    docs = {p.arg_name: p.description for p in doc.params if p.args and p.args[0] == "param"}
    out = _Collected()
    for p in signature.parameters.values():
        where = f"parameter {p.name!r}"
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            star = "*" if p.kind is p.VAR_POSITIONAL else "**"
            raise builder.fail(
                where,
                f"{star}{p.name} cannot be described to a model; declare each parameter "
                "by name with a type hint (or take a list/dict parameter)",
            )
        if p.annotation is _MISSING:
            raise builder.fail(where, _missing_hint(p.name, first=not out.params))
        positional = p.kind is p.POSITIONAL_ONLY
        hint = builder.resolve(p.annotation, where)
        if _is_context(hint):
            if out.context is not None:
                raise builder.fail(
                    where,
                    f"only one parameter may take the RunContext ({out.context.name!r} already does)",
                )
            out.context = Param(p.name, positional, None, p.default, False, is_context=True)
            out.params.append(out.context)
            continue
        node = builder.build(hint, where)
        convert, schema, text = node.convert, node.schema, node.description
        default, fill, recorded = p.default, None, True
        if is_field_info(default):
            found = field_default(default, where, builder.fail)
            schema = apply(schema, found.constraints, where, builder.fail)
            text = text or found.constraints.description
            default = _MISSING if found.required else found.default
            fill = found.factory or (None if found.required else functools.partial(_same, default))
            recorded = found.factory is None
        if default is _MISSING and fill is None:  # `x: Annotated[int, Field(default=1)]`
            inner = annotated_default(hint)
            if inner is not None:
                default = _MISSING if inner.factory else inner.default
                fill = inner.factory or functools.partial(_same, default)
                recorded = inner.factory is None
        if default is None and not allows_null(schema):  # `x: int = None` accepts null too
            convert, schema = or_none(convert), nullable(schema)
        text = text or docs.get(p.name)
        schema = describe(schema, text)
        if not text:
            out.undocumented.append(p.name)
        if default is _MISSING and fill is None:
            out.required.append(p.name)
        elif recorded:
            schema = with_default(schema, default)
        out.props[p.name] = schema
        optional = p.name not in out.required and builder.strict
        out.params.append(Param(p.name, positional, convert, default, optional, fill=fill))
    return out


def _same(value: Any) -> Any:
    return value


def _missing_hint(name: str, *, first: bool) -> str:
    if first and name in ("self", "cls"):
        return (
            "has no type hint; this looks like a method decorated in its class body, so "
            "apply tool() to the bound method instead: `tool(instance.method)`"
        )
    return "has no type hint; add one, e.g. `def f(city: str)`"


def _is_context(hint: Any) -> bool:
    if isinstance(hint, type):  # the common case, without the typing introspection
        return issubclass(hint, RunContext)
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0] if len(args) == 1 else None
    return isinstance(hint, type) and issubclass(hint, RunContext)


def _strict_or_fail(
    schema: dict[str, Any], owner: str, *, root_object: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the strict schema for the model and the one to validate against (with the
    constraints strict mode cannot send)."""
    try:
        return (
            make_strict(schema, root_object=root_object),
            make_strict(schema, root_object=root_object, for_model=False),
        )
    except ValueError as exc:
        raise ToolDefinitionError(f"{owner}: strict=True: {exc}") from exc


def _check_safe(schema: dict[str, Any], owner: str) -> None:
    """Refuse a schema (a pydantic model's, a ``Field`` pattern) whose validation could
    loop or backtrack without end."""
    problem = schema_problem(schema)
    if problem:
        raise ToolDefinitionError(f"{owner}: {problem}")


@dataclass(frozen=True, kw_only=True)
class TypeAdapter:
    """A JSON Schema for one Python type, and validation + conversion of JSON values.

    Attributes:
        type: The Python type.
        json_schema: A standalone JSON Schema (with ``$defs`` when needed).
        strict: Whether ``json_schema`` follows OpenAI's strict rules.
    """

    type: Any
    json_schema: dict[str, Any]
    strict: bool = False
    _convert: Convert | None = field(default=None, repr=False)
    _validator: Any = field(default=None, repr=False, compare=False)
    _owner: str = field(default="output", repr=False)

    def validate(self, data: Any) -> Any:
        """Check decoded JSON ``data`` against ``json_schema`` and convert it to ``type``.

        Raises:
            ToolArgumentError: Listing every violation with its JSON path.
        """
        if not self._validator.is_valid(data):
            raise_invalid(self._validator, data, what="value", owner=self._owner)
        if self._convert is None:
            return data
        try:
            return self._convert(data)
        except ConversionError as exc:
            raise_errors(
                (f"{format_path(exc.path)}: {exc.message}",), what="value", owner=self._owner
            )

    def validate_json(self, text: str | bytes) -> Any:
        """Decode JSON ``text``, then :meth:`validate` it.

        Raises:
            ToolArgumentError: Malformed JSON or a schema violation.
        """
        return self.validate(decode_json(text, what="value", owner=self._owner))


def type_adapter(
    tp: Any, *, strict: bool = False, localns: Mapping[str, Any] | None = None
) -> TypeAdapter:
    """Return a :class:`TypeAdapter` for ``tp`` (a dataclass, TypedDict, list[int], ...).

    Args:
        tp: Any type :func:`function_schema` supports for a parameter.
        strict: Make the schema follow OpenAI's strict structured-outputs rules.
        localns: Extra names for resolving string annotations.

    Raises:
        ToolDefinitionError: The type cannot be expressed in JSON Schema.
    """
    owner = f"type {getattr(tp, '__qualname__', repr(tp))}"
    module = sys.modules.get(getattr(tp, "__module__", None) or "")
    globalns = vars(module) if module is not None else {}
    builder = SchemaBuilder(owner=owner, globalns=globalns, localns=localns, strict=strict)
    node = builder.build(tp, "the type")
    schema = describe(node.schema, node.description)
    if builder.defs:
        schema["$defs"] = builder.defs
    checked = schema
    if strict:
        schema, checked = _strict_or_fail(schema, owner, root_object=False)
    _check_safe(checked, owner)
    builder.finish()
    return TypeAdapter(
        type=tp,
        json_schema=schema,
        strict=strict,
        _convert=node.convert,
        _validator=compile_validator(checked),
        _owner=owner,
    )
