"""annotated-types constraints without pydantic: read by duck typing, mapped to JSON Schema,
enforced before the call; inexpressible ones are a ToolDefinitionError naming the parameter.

This module never imports pydantic: test_without_pydantic.py runs it in a subprocess in
which pydantic cannot be imported at all.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

import annotated_types as at
import pytest
from tools_support import check_every_schema  # noqa: F401

from agentloop import ToolArgumentError, ToolDefinitionError, tool
from agentloop.schema.build import type_adapter


def _id(value: Any) -> str:
    """A test id without memory addresses (they differ between xdist workers)."""
    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))


# hint, the keywords it adds, a JSON value it accepts, one it rejects
CONSTRAINED: list[tuple[Any, dict[str, Any], Any, Any]] = [
    (Annotated[int, at.Gt(10)], {"exclusiveMinimum": 10}, 11, 10),
    (Annotated[int, at.Ge(10)], {"minimum": 10}, 10, 9),
    (Annotated[float, at.Lt(1.5)], {"exclusiveMaximum": 1.5}, 1.4, 1.5),
    (Annotated[float, at.Le(1.5)], {"maximum": 1.5}, 1.5, 1.6),
    (Annotated[int, at.MultipleOf(3)], {"multipleOf": 3}, 9, 10),
    (Annotated[int, at.Interval(gt=0, le=5)], {"exclusiveMinimum": 0, "maximum": 5}, 5, 0),
    (Annotated[str, at.MinLen(2)], {"minLength": 2}, "ab", "a"),
    (Annotated[str, at.MaxLen(2)], {"maxLength": 2}, "ab", "abc"),
    (Annotated[str, at.Len(1, 2)], {"minLength": 1, "maxLength": 2}, "a", ""),
    (Annotated[list[int], at.Len(1, 2)], {"minItems": 1, "maxItems": 2}, [1], [1, 2, 3]),
    (Annotated[tuple[int, ...], at.MaxLen(1)], {"maxItems": 1}, [1], [1, 2]),
    (Annotated[set[int], at.MinLen(1)], {"minItems": 1, "uniqueItems": True}, [1], []),
    (Annotated[dict[str, int], at.MaxLen(1)], {"maxProperties": 1}, {"a": 1}, {"a": 1, "b": 2}),
    (Annotated[int, at.Gt(0)] | None, {"type": ["integer", "null"]}, None, 0),
    (Annotated[int | None, at.Gt(0)], {"exclusiveMinimum": 0}, None, -1),
    (Annotated[list[int], at.MinLen(1)] | None, {}, None, []),
    (list[Annotated[int, at.Ge(0)]], {}, [0, 1], [0, -1]),
    (Annotated[int, at.Gt(0), at.Gt(5)], {"exclusiveMinimum": 5}, 6, 5),  # the tighter wins
    (Annotated[int, at.Lt(9), at.Le(3)], {"exclusiveMaximum": 9, "maximum": 3}, 3, 4),
    (Annotated[int, at.MultipleOf(2), at.MultipleOf(3)], {"multipleOf": 2}, 6, 4),
    (Annotated[Any, at.MaxLen(1)], {"maxLength": 1, "maxItems": 1}, 5, "ab"),
    (Annotated[int | float, at.Ge(1)], {"minimum": 1}, 1.5, 0),
    (Annotated[float, at.Ge(0), at.doc("Non-negative.")], {"description": "Non-negative."}, 0, -1),
]


@pytest.mark.parametrize(("hint", "keywords", "good", "bad"), CONSTRAINED, ids=_id)
def test_constraint_is_in_the_schema_and_enforced(
    hint: Any, keywords: dict[str, Any], good: Any, bad: Any
) -> None:
    adapter = type_adapter(hint)
    assert keywords.items() <= adapter.json_schema.items()
    adapter.validate(good)
    with pytest.raises(ToolArgumentError):
        adapter.validate(bad)


def test_constraints_are_checked_before_the_function_runs() -> None:
    calls: list[tuple[int, str]] = []

    @tool
    def book(
        seats: Annotated[int, at.Interval(ge=1, le=8)], code: Annotated[str, at.Len(3, 3)]
    ) -> None:
        """Book seats.

        Args:
            seats: How many seats.
            code: The three-letter flight code.
        """
        calls.append((seats, code))

    props = book.parameters["properties"]
    assert props["seats"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 8,
        "description": "How many seats.",
    }
    assert props["code"]["minLength"] == props["code"]["maxLength"] == 3
    with pytest.raises(ToolArgumentError) as info:
        book.invoke({"seats": 9, "code": "ABCD"})
    assert [line.split(":")[0] for line in info.value.errors] == ["$.code", "$.seats"]
    book.invoke({"seats": 8, "code": "ABC"})
    assert calls == [(8, "ABC")]


REJECTED: list[tuple[Any, str]] = [
    (Annotated[int, at.Predicate(lambda v: v % 2 == 0)], r"Predicate\(func="),
    (Annotated[int, at.Not(lambda v: v == 3)], r"Not\(func="),
    (at.IsDigit[str], "Predicate"),
    (Annotated[dt.datetime, at.Timezone(None)], "Timezone"),
    (Annotated[dt.datetime, at.Timezone("UTC")], "Timezone"),
    (Annotated[str, at.Gt("a")], "applies to number values, but the value is sent as string"),
    (Annotated[dt.date, at.Ge(dt.date(2020, 1, 1))], "sent as string"),
    (Annotated[bool, at.Ge(0)], "sent as boolean"),
    (Annotated[int, at.MinLen(1)], "applies to array or object or string values"),
    (Annotated[int, at.Gt("1")], "is not a number"),
    (Annotated[float, at.Lt(float("inf"))], "not a finite number"),
    (Annotated[int, at.MultipleOf(0)], "finite number > 0"),
    (Annotated[str, at.MinLen(-1)], "not an int >= 0"),
]


@pytest.mark.parametrize(("hint", "message"), REJECTED, ids=_id)
def test_inexpressible_constraint_names_the_parameter(hint: Any, message: str) -> None:
    def f(amount: hint) -> None:  # type: ignore[valid-type]
        """F.

        Args:
            amount: Amount.
        """

    with pytest.raises(ToolDefinitionError, match=r"parameter 'amount': .*" + message):
        tool(f)


class Marker:
    """Another library's Annotated marker: not a constraint, ignored."""


class Bound:
    """Another library's object shaped like annotated-types' Ge: read by its attribute."""

    ge = 2


class FieldInfo:
    """A stand-in with the shape of pydantic's FieldInfo (duck typing, no pydantic)."""

    def __init__(self, default: Any, *, description: str, metadata: list[Any]) -> None:
        self.default = default
        self.default_factory = None
        self.description = description
        self.metadata = metadata

    def is_required(self) -> bool:
        return self.default is Ellipsis


def test_foreign_metadata_is_read_by_shape() -> None:
    received: list[Any] = []

    @tool
    def f(
        a: Annotated[int, Marker(), Bound(), "A."],
        b: int = FieldInfo(..., description="B.", metadata=[at.Lt(5)]),  # type: ignore[assignment]
        c: int = FieldInfo(3, description="C.", metadata=[at.Ge(0)]),  # type: ignore[assignment]
    ) -> None:
        received.append((a, b, c))

    props = f.parameters["properties"]
    assert props["a"] == {"type": "integer", "minimum": 2, "description": "A."}
    assert props["b"] == {"type": "integer", "exclusiveMaximum": 5, "description": "B."}
    assert props["c"] == {"type": "integer", "minimum": 0, "description": "C.", "default": 3}
    assert f.parameters["required"] == ["a", "b"]
    f.invoke({"a": 2, "b": 4})
    assert received == [(2, 4, 3)]
    with pytest.raises(ToolArgumentError):
        f.invoke({"a": 2, "b": 5})


def test_strict_mode_keeps_what_it_can_send_and_enforces_the_rest() -> None:
    @tool(strict=True)
    def f(
        code: Annotated[str, at.Len(2, 3)],
        tags: Annotated[set[str], at.MaxLen(2)],
        n: Annotated[int, at.Gt(0)] = 1,
    ) -> str:
        """F.

        Args:
            code: A code.
            tags: Labels.
            n: A count.
        """
        return code

    props = f.parameters["properties"]
    assert props["code"] == {
        "type": "string",
        "description": "A code. (minLength: 2, maxLength: 3)",
    }
    assert props["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "maxItems": 2,
        "description": "Labels. (uniqueItems: true)",
    }
    assert props["n"]["exclusiveMinimum"] == 0
    assert "(default: 1)" in props["n"]["description"]
    assert f.invoke({"code": "AB", "tags": ["x"], "n": None}) == "AB"
    for bad in ({"code": "A"}, {"code": "ABCD"}, {"tags": ["x", "x"]}, {"n": 0}):
        with pytest.raises(ToolArgumentError):
            f.invoke({"code": "AB", "tags": [], "n": None, **bad})
