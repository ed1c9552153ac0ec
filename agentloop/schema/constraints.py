"""Constraints from ``Annotated`` metadata and pydantic ``Field(...)`` as JSON Schema keywords
(internal; used by :mod:`agentloop.schema.hints`, :mod:`agentloop.schema.build` and
:mod:`agentloop.schema.classes`).

Neither pydantic nor annotated-types is imported. Their metadata objects are
read by the attribute names both packages use (``gt``, ``ge``, ``lt``, ``le``,
``multiple_of``, ``min_length``, ``max_length``, ``pattern``): ``Gt(10)``,
``Interval(...)``, ``Len(...)``, ``StringConstraints(...)``, the ``metadata``
list of a pydantic ``FieldInfo`` and pydantic v1's ``FieldInfo`` attributes all
read the same way. An object of either package that carries anything else (a
``Predicate``, a ``Timezone``, ``to_upper=True``, an ``AfterValidator``) cannot
be checked by a JSON Schema, so it is a :class:`~agentloop.errors.ToolDefinitionError`
instead of a silently dropped rule. Metadata of other libraries is ignored.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "Constraints",
    "FieldDefault",
    "annotated_default",
    "apply",
    "field_default",
    "is_field_info",
    "read",
]

Fail = Callable[[str, str], Exception]

_BOUNDS = {
    "gt": "exclusiveMinimum",
    "ge": "minimum",
    "lt": "exclusiveMaximum",
    "le": "maximum",
    "multiple_of": "multipleOf",
}
# attribute -> (bound, keywords per JSON type); min_items/max_items/unique_items are pydantic v1's
_LENGTHS = {"min_length": "min", "max_length": "max", "min_items": "min", "max_items": "max"}
_LENGTH_KEYWORDS = {
    "string": {"min": "minLength", "max": "maxLength"},
    "array": {"min": "minItems", "max": "maxItems"},
    "object": {"min": "minProperties", "max": "maxProperties"},
}
_OTHER = ("pattern", "regex", "unique_items", "ascii_only")
_KNOWN = frozenset({*_BOUNDS, *_LENGTHS, *_OTHER})
# Options that only make validation more lenient or pick a union branch: the schema is at
# least as strict without them, so they are accepted and have no keyword.
_LENIENT = frozenset(
    {
        "strict",
        "allow_inf_nan",
        "coerce_numbers_to_str",
        "union_mode",
        "fail_fast",
        "discriminator",
        "tag",
        "unit",
        "custom_error_type",
        "custom_error_message",
        "custom_error_context",
    }
)
_FAMILIES = ("annotated_types", "pydantic", "pydantic_core")
_OUTPUT_ONLY = ("pydantic.functional_serializers",)  # serializers never see the model's input
_TIGHTER = {
    "minimum": max,
    "exclusiveMinimum": max,
    "maximum": min,
    "exclusiveMaximum": min,
    **{kw: (max if b == "min" else min) for m in _LENGTH_KEYWORDS.values() for b, kw in m.items()},
}
_ASCII = r"^[\x00-\x7F]*$"


@dataclasses.dataclass
class Constraints:
    """What ``Annotated`` metadata (or a ``Field``) says about a value.

    Attributes:
        rules: ``(attribute, value)`` pairs such as ``("gt", 10)``, in order.
        keywords: Annotation keywords copied as is (``title``, ``examples``, ...).
        description: The last description found, if any.
    """

    rules: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    keywords: dict[str, Any] = dataclasses.field(default_factory=dict)
    description: str | None = None

    def __bool__(self) -> bool:
        return bool(self.rules or self.keywords)


@dataclasses.dataclass(frozen=True)
class FieldDefault:
    """A pydantic ``Field(...)`` used as a parameter's (or field's) default.

    Attributes:
        required: ``Field(...)`` or ``Field()`` with no default.
        default: The real default value (meaningless when required or ``factory`` is set).
        factory: ``default_factory``, called for each call that leaves the value out.
        constraints: Its constraints, keywords and description.
    """

    required: bool
    default: Any
    factory: Callable[[], Any] | None
    constraints: Constraints


def is_field_info(value: Any) -> bool:
    """Whether ``value`` looks like a pydantic ``FieldInfo`` (duck typing; v1 and v2)."""
    return hasattr(value, "default_factory") and any(
        k.__name__ == "FieldInfo" for k in type(value).__mro__
    )


def read(
    items: Iterable[Any], where: str, fail: Fail, into: Constraints | None = None
) -> Constraints:
    """Collect the constraints of ``Annotated`` metadata ``items``.

    Raises:
        ToolDefinitionError: (from ``fail``) metadata of pydantic/annotated-types that a
            JSON Schema cannot check, or a malformed bound.
    """
    out = into if into is not None else Constraints()
    for item in items:
        if item is None:  # conint() and friends leave None in their metadata
            continue
        if isinstance(item, str):
            out.description = item
        elif isinstance(getattr(item, "documentation", None), str):  # Doc / annotated_types.doc
            out.description = item.documentation
        elif is_field_info(item):
            _field_info(item, where, fail, out)
        elif _family(item):
            _family_item(item, where, fail, out)
        elif getattr(type(item), "__is_annotated_types_grouped_metadata__", False):
            read(iter(item), where, fail, out)
        else:  # another library's marker: use only what it says in annotated-types terms
            out.rules.extend((k, v) for k in _KNOWN if (v := getattr(item, k, None)) is not None)
    return out


def field_default(info: Any, where: str, fail: Fail) -> FieldDefault:
    """Read a pydantic ``Field(...)`` given as a default value.

    Raises:
        ToolDefinitionError: (from ``fail``) as :func:`read`.
    """
    out = Constraints()
    _field_info(info, where, fail, out)
    factory = getattr(info, "default_factory", None)
    is_required = getattr(info, "is_required", None)
    required = is_required() if callable(is_required) else info.default is Ellipsis
    return FieldDefault(required=required, default=info.default, factory=factory, constraints=out)


def annotated_default(hint: Any) -> FieldDefault | None:
    """The default that ``Field(default=...)`` metadata of ``Annotated`` gives, or None.

    As pydantic: several ``Field`` objects merge and the last that sets a default (or a
    ``default_factory``) wins; a default after ``=`` wins over all of them, so callers
    use this only when the parameter or field has none. The constraints are left
    empty: :func:`read` collects them with the rest of the metadata.
    """
    if typing.get_origin(hint) is not typing.Annotated:
        return None
    found = None
    for item in hint.__metadata__:
        if is_field_info(item) and not _undefined(item):
            found = item
    if found is None:
        return None
    factory = found.default_factory
    return FieldDefault(
        required=False, default=found.default, factory=factory, constraints=Constraints()
    )


def _field_info(info: Any, where: str, fail: Fail, out: Constraints) -> None:
    name = type(info).__name__
    for alias in ("alias", "validation_alias"):
        if getattr(info, alias, None) is not None:
            raise fail(
                where,
                f"{name}({alias}=...) is not supported for tools; name the parameter or "
                "field what the model should send",
            )
    if getattr(info, "default_factory_takes_data", False):
        raise fail(where, "a default_factory that takes the validated data is not supported")
    if isinstance(info.description, str):
        out.description = info.description
    if getattr(info, "title", None):
        out.keywords["title"] = info.title
    if getattr(info, "examples", None):
        out.keywords["examples"] = list(info.examples)
    if getattr(info, "deprecated", None):
        out.keywords["deprecated"] = True
    extra = getattr(info, "json_schema_extra", None) or getattr(info, "extra", None)
    if callable(extra):
        raise fail(where, f"{name}(json_schema_extra=<function>) is not supported; pass a dict")
    if isinstance(extra, Mapping):
        out.keywords.update(extra)
    out.rules.extend((k, v) for k in _KNOWN if (v := getattr(info, k, None)) is not None)
    read(getattr(info, "metadata", None) or (), where, fail, out)


def _undefined(info: Any) -> bool:
    default = info.default
    return (
        default is Ellipsis or type(default).__name__ == "PydanticUndefinedType"
    ) and info.default_factory is None


def _family(item: Any) -> bool:
    module = type(item).__module__ or ""
    return module.partition(".")[0] in _FAMILIES and not module.startswith(_OUTPUT_ONLY)


def _attributes(item: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(item):
        return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    if hasattr(item, "__dict__"):
        return {k: v for k, v in vars(item).items() if not k.startswith("_")}
    slots = (s for k in type(item).__mro__ for s in getattr(k, "__slots__", ()))
    return {s: getattr(item, s, None) for s in slots if not s.startswith("_")}


def _family_item(item: Any, where: str, fail: Fail, out: Constraints) -> None:
    usable, odd = False, ""
    for key, value in _attributes(item).items():
        if key in _KNOWN or key in _LENIENT:
            usable = True  # Interval() with every bound None is usable, and says nothing
            if key in _KNOWN and value is not None:
                out.rules.append((key, value))
        elif value is not None and value is not False:
            odd = f"{type(item).__name__}({key}={value!r})"
    if odd or not usable:
        raise fail(
            where,
            f"{odd or repr(item)} cannot be expressed in JSON Schema, so the model's value "
            "could not be checked before the call; check it inside the tool (raise ToolError) "
            "or remove it",
        )


def apply(schema: Mapping[str, Any], found: Constraints, where: str, fail: Fail) -> dict[str, Any]:
    """Return a copy of ``schema`` with ``found``'s rules as JSON Schema keywords.

    Raises:
        ToolDefinitionError: (from ``fail``) a rule does not apply to the schema's type
            (``Gt`` on a string, ``MaxLen`` on an int, a bound on a date), or a bad value.
    """
    out = dict(schema)
    kinds = _types(schema)
    for key, value in found.rules:
        if key in _BOUNDS:
            _number(out, kinds, key, value, where, fail)
        elif key in _LENGTHS:
            _length(out, kinds, key, value, where, fail)
        elif key in ("pattern", "regex", "ascii_only"):
            if key == "ascii_only" and value is not True:
                continue
            _pattern(out, kinds, _ASCII if key == "ascii_only" else value, where, fail)
        elif key == "unique_items" and value is True:
            _check(kinds, {"array"}, "unique_items", where, fail)
            out["uniqueItems"] = True
    out.update(found.keywords)
    return out


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    """The JSON types ``schema`` accepts (``integer`` counts as ``number``); None: unknown."""
    kind = schema.get("type")
    if isinstance(kind, str):
        kinds = {kind}
    elif isinstance(kind, list):
        kinds = set(kind)
    elif "anyOf" in schema or "oneOf" in schema:
        kinds = set()
        for branch in schema.get("anyOf") or schema.get("oneOf") or ():
            sub = _types(branch)
            if sub is None:
                return None
            kinds |= sub
    else:
        return None
    return {"number" if k == "integer" else k for k in kinds}


def _check(kinds: set[str] | None, allowed: set[str], rule: str, where: str, fail: Fail) -> None:
    if kinds is not None and not (kinds - {"null"}) <= allowed:
        shown = " or ".join(sorted(kinds))
        raise fail(
            where,
            f"the constraint {rule} applies to {' or '.join(sorted(allowed))} values, but the "
            f"value is sent as {shown}; JSON Schema cannot check it, so check it inside the tool",
        )


def _number(
    out: dict[str, Any], kinds: set[str] | None, key: str, value: Any, where: str, fail: Fail
) -> None:
    _check(kinds, {"number"}, f"{key}={value!r}", where, fail)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(where, f"{key}={value!r} is not a number")
    number = value if isinstance(value, (int, float)) else float(value)
    if not math.isfinite(number) or (key == "multiple_of" and not number > 0):
        raise fail(
            where, f"{key}={value!r} is not a finite number{' > 0' * (key == 'multiple_of')}"
        )
    _merge(out, _BOUNDS[key], number)


def _length(
    out: dict[str, Any], kinds: set[str] | None, key: str, value: Any, where: str, fail: Fail
) -> None:
    _check(kinds, set(_LENGTH_KEYWORDS), f"{key}={value!r}", where, fail)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail(where, f"{key}={value!r} is not an int >= 0")
    for kind, keywords in _LENGTH_KEYWORDS.items():
        if kinds is None or kind in kinds:
            _merge(out, keywords[_LENGTHS[key]], value)


def _pattern(
    out: dict[str, Any], kinds: set[str] | None, value: Any, where: str, fail: Fail
) -> None:
    _check(kinds, {"string"}, "pattern", where, fail)
    text = getattr(value, "pattern", value)  # a compiled re.Pattern
    if not isinstance(text, str):
        raise fail(where, f"pattern={value!r} is not a str")
    try:
        re.compile(text)
    except re.error as exc:
        raise fail(where, f"pattern {text!r} is not a valid regular expression: {exc}") from exc
    _merge(out, "pattern", text)


def _merge(out: dict[str, Any], keyword: str, value: Any) -> None:
    """Set ``keyword``; when it is already set, keep the tighter bound (or require both)."""
    if keyword not in out or out[keyword] == value:
        out[keyword] = value
    elif keyword in _TIGHTER:
        out[keyword] = _TIGHTER[keyword](out[keyword], value)
    else:  # a second pattern or multipleOf: both must hold
        out["allOf"] = [*out.get("allOf", ()), {keyword: value}]
