"""pydantic's ``Field``, constrained types and metadata reach the schema and are enforced
before the function runs; what a schema cannot express is a ToolDefinitionError.

pydantic is in the ``test`` extra, so this module fails loudly without it. The
annotated-types cases (which need no pydantic) are in test_constraints_annotated.py, and
test_without_pydantic.py runs those with pydantic made unimportable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Annotated, Any

import annotated_types as at
import pydantic
import pytest
from pydantic import Field
from pydantic.fields import FieldInfo
from tools_support import check_every_schema  # noqa: F401

from agentloop import ToolArgumentError, ToolDefinitionError, tool
from agentloop.schema.build import type_adapter


def _id(value: Any) -> str:
    """A test id without memory addresses (they differ between xdist workers)."""
    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))


# hint, the keywords it adds, a JSON value it accepts, one it rejects
CONSTRAINED: list[tuple[Any, dict[str, Any], Any, Any]] = [
    (Annotated[int, Field(gt=10, le=100)], {"exclusiveMinimum": 10, "maximum": 100}, 100, 101),
    (pydantic.PositiveInt, {"exclusiveMinimum": 0}, 1, 0),
    (pydantic.NonNegativeFloat, {"minimum": 0}, 0.0, -0.5),
    (pydantic.conint(ge=1, multiple_of=2), {"minimum": 1, "multipleOf": 2}, 4, 3),
    (pydantic.confloat(lt=1), {"exclusiveMaximum": 1}, 0.5, 1),
    (pydantic.conlist(int, min_length=1), {"minItems": 1}, [1], []),
    (
        Annotated[str, Field(max_length=5, pattern=r"^[a-z]+$")],
        {"maxLength": 5, "pattern": r"^[a-z]+$"},
        "abc",
        "abcdef",
    ),
    (Annotated[str, Field(pattern=r"^[a-z]+$")], {"pattern": r"^[a-z]+$"}, "abc", "ABC"),
    (pydantic.constr(min_length=2, pattern="x"), {"minLength": 2, "pattern": "x"}, "xx", "x"),
    (Annotated[str, pydantic.StringConstraints(max_length=2)], {"maxLength": 2}, "ab", "abc"),
    (Annotated[str, pydantic.StringConstraints(ascii_only=True)], {}, "abc", "é"),
    (pydantic.StrictInt, {}, 3, "3"),
    (pydantic.FiniteFloat, {}, 1.5, "x"),
    (Annotated[str, Field(pattern="a"), Field(pattern="b")], {"pattern": "a"}, "ab", "a"),
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


def _tool_with(default: Any, hint: Any = int) -> Any:
    def f(x: hint = default) -> Any:  # type: ignore[valid-type]
        return x

    return tool(f)


def test_field_as_default_is_required_with_description_and_constraints() -> None:
    calls: list[Any] = []

    @tool
    def f(
        x: int = Field(..., gt=10, description="More than ten."),
        y: float = Field(default=5.0, ge=0),
        tags: list[str] = Field(default_factory=list, max_length=2),  # noqa: B008
    ) -> None:
        calls.append((x, y, tags))

    props = f.parameters["properties"]
    assert f.parameters["required"] == ["x"]
    assert props["x"] == {
        "type": "integer",
        "exclusiveMinimum": 10,
        "description": "More than ten.",
    }
    assert props["y"] == {"type": "number", "minimum": 0, "default": 5.0}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "maxItems": 2}
    assert f.undocumented_parameters == ("y", "tags")
    f.invoke({"x": 11})
    f.invoke('{"x": 12, "y": 1.5, "tags": ["a"]}')
    assert calls == [(11, 5.0, []), (12, 1.5, ["a"])]
    assert not any(isinstance(v, FieldInfo) for call in calls for v in call)
    for bad in ({}, {"x": 10}, {"x": 11, "y": -1}, {"x": 11, "tags": ["a", "b", "c"]}):
        with pytest.raises(ToolArgumentError):
            f.invoke(bad)
    assert len(calls) == 2


def test_default_factory_is_called_for_each_call() -> None:
    @tool
    def f(items: list[int] = Field(default_factory=list), /) -> list[int]:  # noqa: B008
        """F.

        Args:
            items: Items.
        """
        items.append(1)
        return items

    assert "default" not in f.parameters["properties"]["items"]
    assert f.invoke({}) == [1]
    assert f.invoke({}) == [1]


def test_strict_optional_field_default_gets_the_real_default_for_null() -> None:
    @tool(strict=True)
    def f(x: int = Field(default=3, lt=5, description="X.")) -> int:
        return x

    assert f.parameters["required"] == ["x"]
    assert f.parameters["properties"]["x"]["type"] == ["integer", "null"]
    assert f.invoke({"x": None}) == 3
    assert f.invoke({"x": 4}) == 4
    with pytest.raises(ToolArgumentError):
        f.invoke({"x": 5})


def test_field_default_none_makes_the_parameter_nullable() -> None:
    t = _tool_with(Field(default=None, description="X."))
    assert t.parameters["properties"]["x"]["type"] == ["integer", "null"]
    assert t.invoke({}) is None
    assert t.invoke({"x": None}) is None


def test_field_description_inside_annotated_counts() -> None:
    @tool
    def f(x: Annotated[int, Field(description="From Field.", ge=0)], y: int) -> None:
        """F.

        Args:
            y: From the docstring.
        """

    assert f.parameters["properties"]["x"] == {
        "type": "integer",
        "minimum": 0,
        "description": "From Field.",
    }
    assert f.undocumented_parameters == ()


def test_field_title_examples_deprecated_and_schema_extra() -> None:
    t = _tool_with(
        Field(title="X", examples=[1, 2], deprecated=True, json_schema_extra={"x-unit": "m"})
    )
    assert t.parameters["properties"]["x"] == {
        "type": "integer",
        "title": "X",
        "examples": [1, 2],
        "deprecated": True,
        "x-unit": "m",
    }


@pydantic.dataclasses.dataclass
class Order:
    quantity: int = Field(gt=0, description="How many.")
    note: str = Field(default="", max_length=3)
    tags: list[str] = Field(default_factory=list)


@dataclasses.dataclass
class Plain:
    size: int = Field(default=2, le=9)  # type: ignore[assignment]


def test_field_defaults_of_dataclass_fields() -> None:
    @tool
    def f(order: Order, plain: Plain) -> tuple[Order, Plain]:
        """F.

        Args:
            order: The order.
            plain: A plain dataclass.
        """
        return order, plain

    order = f.parameters["properties"]["order"]
    assert order["required"] == ["quantity"]
    assert order["properties"]["quantity"] == {
        "type": "integer",
        "exclusiveMinimum": 0,
        "description": "How many.",
    }
    assert order["properties"]["note"] == {"type": "string", "maxLength": 3, "default": ""}
    got, plain = f.invoke({"order": {"quantity": 2}, "plain": {}})
    assert (got, plain) == (Order(quantity=2, note="", tags=[]), Plain(size=2))
    with pytest.raises(ToolArgumentError, match=r"\$\.order\.quantity"):
        f.invoke({"order": {"quantity": 0}, "plain": {"size": 1}})
    with pytest.raises(ToolArgumentError, match=r"\$\.plain\.size"):
        f.invoke({"order": {"quantity": 1}, "plain": {"size": 10}})


def _must_not_run(value: Any) -> Any:
    raise AssertionError("never called")


REJECTED: list[tuple[Any, str]] = [
    (Annotated[int, Field(pattern="x")], "pattern applies to string values"),
    (Annotated[str, Field(pattern="(")], "not a valid regular expression"),
    (pydantic.constr(to_upper=True), r"StringConstraints\(to_upper=True\)"),
    (pydantic.constr(strip_whitespace=True), "strip_whitespace"),
    (pydantic.condecimal(max_digits=3), "max_digits"),
    (Annotated[int, pydantic.AfterValidator(_must_not_run)], r"AfterValidator\(func="),
    (Annotated[int, pydantic.BeforeValidator(_must_not_run)], "BeforeValidator"),
    (Annotated[int, Field(alias="y")], r"alias=\.\.\.\) is not supported"),
    (Annotated[int, Field(json_schema_extra=lambda s: None)], "json_schema_extra=<function>"),
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


def test_inexpressible_constraint_in_a_field_default_names_the_parameter() -> None:
    with pytest.raises(ToolDefinitionError, match=r"parameter 'x': .*Predicate"):
        _tool_with(_field_with(at.Predicate(bool)))


def _field_with(*metadata: Any) -> Any:
    info = Field(default=1)
    info.metadata.extend(metadata)
    return info


def test_inexpressible_constraint_in_a_dataclass_field_names_the_field() -> None:
    @dataclasses.dataclass
    class Bad:
        when: Annotated[dt.datetime, at.Timezone(...)]

    def f(bad: Bad) -> None:
        """F.

        Args:
            bad: Bad.
        """

    with pytest.raises(ToolDefinitionError, match=r"field 'when' of Bad: .*Timezone"):
        tool(f)


def test_lenient_and_output_only_metadata_is_accepted() -> None:
    @tool
    def f(
        x: Annotated[int, pydantic.Strict(), pydantic.PlainSerializer(str), "X."],
        y: Annotated[float, pydantic.AllowInfNan(False), at.Unit("m"), "Y."],
    ) -> None:
        pass

    assert f.parameters["properties"]["x"] == {"type": "integer", "description": "X."}
    assert f.parameters["properties"]["y"] == {"type": "number", "description": "Y."}


def test_strict_mode_notes_what_it_cannot_send_and_still_enforces_it() -> None:
    @tool(strict=True)
    def f(
        code: Annotated[str, Field(min_length=2, max_length=3, pattern="^[A-Z]+$")],
        n: Annotated[int, Field(gt=0)],
    ) -> str:
        """F.

        Args:
            code: A code.
            n: A count.
        """
        return code

    code = f.parameters["properties"]["code"]
    assert code == {
        "type": "string",
        "pattern": "^[A-Z]+$",
        "description": "A code. (minLength: 2, maxLength: 3)",
    }
    assert f.parameters["properties"]["n"]["exclusiveMinimum"] == 0
    assert f.invoke({"code": "AB", "n": 1}) == "AB"
    for bad in ("A", "ABCD", "ab"):
        with pytest.raises(ToolArgumentError, match=re.escape("$.code")):
            f.invoke({"code": bad, "n": 1})
