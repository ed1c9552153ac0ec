"""Table-driven tests of type hint -> JSON Schema -> Python value (agentloop.schema.build)."""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import datetime as dt
import decimal
import enum
import json
import pathlib
import typing
import uuid
from typing import Annotated, Any, Literal, NamedTuple, NotRequired, Optional, TypedDict, Union

import jsonschema
import pytest
from tools_support import check_every_schema  # noqa: F401

from agentloop import Tool, ToolArgumentError, ToolDefinitionError, tool
from agentloop.schema.build import type_adapter


class Color(enum.Enum):
    """A color."""

    RED = "red"
    GREEN = "green"


class Size(enum.IntEnum):
    S = 1
    M = 2


class Mode(enum.StrEnum):
    FAST = "fast"
    SLOW = "slow"


@dataclasses.dataclass
class Point:
    """A point on the plane.

    Attributes:
        x: Horizontal position.
        y: Vertical position.
    """

    x: float
    y: float = 0.0


@dataclasses.dataclass
class Segment:
    start: Point
    end: Point
    label: str | None = None
    tags: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Tree:
    value: int
    children: list[Tree] = dataclasses.field(default_factory=list)


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


class Options(TypedDict, total=False):
    verbose: bool
    level: int


class Pair(NamedTuple):
    left: str
    right: int = 0


UUID_TEXT = "123e4567-e89b-12d3-a456-426614174000"
DECIMAL = {"type": ["number", "string"], "pattern": r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"}

# hint, expected schema, a JSON value, the Python value it converts to
SUPPORTED: list[tuple[Any, dict[str, Any], Any, Any]] = [
    (str, {"type": "string"}, "hi", "hi"),
    (int, {"type": "integer"}, 3, 3),
    (int, {"type": "integer"}, 3.0, 3),
    (float, {"type": "number"}, 2, 2.0),
    (bool, {"type": "boolean"}, True, True),
    (None, {"type": "null"}, None, None),
    (type(None), {"type": "null"}, None, None),
    (Any, {}, {"a": [1]}, {"a": [1]}),
    (int | None, {"type": ["integer", "null"]}, None, None),
    (Optional[int], {"type": ["integer", "null"]}, 4, 4),  # noqa: UP045 - the old spelling is tested
    (Union[int, str], {"type": ["integer", "string"]}, "x", "x"),  # noqa: UP007
    (int | str, {"type": ["integer", "string"]}, 5, 5),
    (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}, "b", "b"),
    (Literal[1, 2], {"type": "integer", "enum": [1, 2]}, 2.0, 2),
    (Literal[True], {"type": "boolean", "enum": [True]}, True, True),
    (Literal["a", 1, None], {"enum": ["a", 1, None]}, 1, 1),
    (Literal["a"] | None, {"type": ["string", "null"], "enum": ["a", None]}, None, None),
    (
        Color,
        {"type": "string", "enum": ["red", "green"], "description": "A color."},
        "red",
        Color.RED,
    ),
    (Size, {"type": "integer", "enum": [1, 2]}, 2, Size.M),
    (Mode, {"type": "string", "enum": ["fast", "slow"]}, "slow", Mode.SLOW),
    (list[int], {"type": "array", "items": {"type": "integer"}}, [1, 2], [1, 2]),
    (typing.List[str], {"type": "array", "items": {"type": "string"}}, ["a"], ["a"]),  # noqa: UP006
    (cabc.Sequence[str], {"type": "array", "items": {"type": "string"}}, ["a"], ["a"]),
    (list, {"type": "array", "items": {}}, [1, "a"], [1, "a"]),
    (
        set[str],
        {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        ["a", "b"],
        {"a", "b"},
    ),
    (
        frozenset[int],
        {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
        [1],
        frozenset({1}),
    ),
    (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}, [1, 2], (1, 2)),
    (
        tuple[str, int],
        {
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": "integer"}],
            "items": False,
            "minItems": 2,
            "maxItems": 2,
        },
        ["a", 1],
        ("a", 1),
    ),
    (
        dict[str, int],
        {"type": "object", "additionalProperties": {"type": "integer"}},
        {"a": 1},
        {"a": 1},
    ),
    (dict, {"type": "object", "additionalProperties": {}}, {"a": None}, {"a": None}),
    (
        dict[int, str],
        {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "propertyNames": {"pattern": "^-?[0-9]+$"},
        },
        {"1": "a"},
        {1: "a"},
    ),
    (
        dict[Color, int],
        {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "propertyNames": {"enum": ["red", "green"]},
        },
        {"red": 1},
        {Color.RED: 1},
    ),
    (dt.date, {"type": "string", "format": "date"}, "2024-05-31", dt.date(2024, 5, 31)),
    (
        dt.datetime,
        {"type": "string", "format": "date-time"},
        "2024-05-31T14:30:00Z",
        dt.datetime(2024, 5, 31, 14, 30, tzinfo=dt.UTC),
    ),
    (dt.time, {"type": "string", "format": "time"}, "14:30:00", dt.time(14, 30)),
    (uuid.UUID, {"type": "string", "format": "uuid"}, UUID_TEXT, uuid.UUID(UUID_TEXT)),
    (pathlib.Path, {"type": "string"}, "/tmp/x", pathlib.Path("/tmp/x")),
    (decimal.Decimal, DECIMAL, "1.10", decimal.Decimal("1.10")),
    (decimal.Decimal, DECIMAL, 0.1, decimal.Decimal("0.1")),
    (decimal.Decimal, DECIMAL, "-2.5e3", decimal.Decimal("-2.5e3")),
    (Annotated[str, "A city name"], {"type": "string", "description": "A city name"}, "x", "x"),
    (
        Point,
        {
            "type": "object",
            "properties": {
                "x": {"type": "number", "description": "Horizontal position."},
                "y": {"type": "number", "description": "Vertical position.", "default": 0.0},
            },
            "required": ["x"],
            "additionalProperties": False,
            "description": "A point on the plane.",
        },
        {"x": 1},
        Point(1.0, 0.0),
    ),
    (
        Movie,
        {
            "type": "object",
            "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
            "required": ["title"],
            "additionalProperties": False,
        },
        {"title": "Up"},
        {"title": "Up"},
    ),
    (
        Options,
        {
            "type": "object",
            "properties": {"verbose": {"type": "boolean"}, "level": {"type": "integer"}},
            "required": [],
            "additionalProperties": False,
        },
        {"level": 2.0},
        {"level": 2},
    ),
    (
        Pair,
        {
            "type": "object",
            "properties": {"left": {"type": "string"}, "right": {"type": "integer", "default": 0}},
            "required": ["left"],
            "additionalProperties": False,
        },
        {"left": "a"},
        Pair("a", 0),
    ),
]


# hint, substring expected in the ToolDefinitionError message
REJECTED: list[tuple[Any, str]] = [
    (bytes, "use str"),
    (complex, "cannot be sent as JSON"),
    (type("Custom", (), {}), "supported types are"),
    (typing.Callable[[int], int], "cannot be sent as JSON"),
    (typing.TypeVar("T"), "type variable"),
    (dict[float, int], "dict keys"),
    (enum.Enum("Weird", {"A": (1, 2)}), "only str, int and float"),
    (enum.Enum("Empty", {}), "has no members"),
    ("NoSuchName", "cannot resolve"),
    (list[bytes], "use str"),
    (Literal[b"raw"], "not a JSON scalar"),
    (tuple[int, bytes], "use str"),
    (dict[str, complex], "cannot be sent as JSON"),
]


@pytest.mark.parametrize(("hint", "schema", "value", "expected"), SUPPORTED, ids=lambda r: None)
def test_supported_type(hint: Any, schema: dict[str, Any], value: Any, expected: Any) -> None:
    adapter = type_adapter(hint)
    assert adapter.json_schema == schema
    jsonschema.Draft202012Validator.check_schema(adapter.json_schema)
    result = adapter.validate(value)
    assert result == expected
    assert type(result) is type(expected)


def _tool_taking(hint: Any) -> Tool:
    """A tool whose one parameter ``x`` is annotated ``hint`` (the annotation is an object)."""

    def takes(x):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202
        return x

    takes.__annotations__ = {"x": hint}
    return tool(takes)


@pytest.mark.parametrize(("hint", "schema", "value", "expected"), SUPPORTED, ids=lambda r: None)
def test_supported_type_through_tool(
    hint: Any, schema: dict[str, Any], value: Any, expected: Any
) -> None:
    """The same table through the public API: ``.parameters`` out, ``invoke`` converts back."""
    t = _tool_taking(hint)
    assert t.parameters["properties"]["x"] == schema
    assert t.parameters["required"] == ["x"]
    assert t.definition["function"]["parameters"] is t.parameters
    jsonschema.Draft202012Validator.check_schema(t.parameters)
    for arguments in ({"x": value}, json.dumps({"x": value})):
        result = t.invoke(arguments)
        assert result == expected
        assert type(result) is type(expected)


@pytest.mark.parametrize(("hint", "message"), REJECTED, ids=[repr(r[0]) for r in REJECTED])
def test_rejected_type_through_tool(hint: Any, message: str) -> None:
    with pytest.raises(ToolDefinitionError, match=message) as info:
        _tool_taking(hint)
    assert "tool 'takes'" in str(info.value)
    assert "parameter 'x'" in str(info.value)


def test_nested_dataclass_converts_to_instances() -> None:
    adapter = type_adapter(Segment)
    value = adapter.validate({"start": {"x": 1, "y": 2}, "end": {"x": 3}, "tags": ["a"]})
    assert value == Segment(Point(1.0, 2.0), Point(3.0), None, ["a"])
    assert adapter.json_schema["required"] == ["start", "end"]
    assert "default" not in adapter.json_schema["properties"]["tags"]  # default_factory


def test_recursive_dataclass_uses_defs_and_ref() -> None:
    adapter = type_adapter(Tree)
    schema = adapter.json_schema
    assert schema["$ref"] == "#/$defs/Tree"
    assert schema["$defs"]["Tree"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}
    jsonschema.Draft202012Validator.check_schema(schema)
    tree = adapter.validate({"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]})
    assert tree == Tree(1, [Tree(2, [Tree(3)])])
    with pytest.raises(ToolArgumentError, match=r"\$\.children\[0\]\.value"):
        adapter.validate({"value": 1, "children": [{"value": "x"}]})


def test_union_with_conversions_picks_the_matching_branch() -> None:
    adapter = type_adapter(dt.date | int | Color)
    assert adapter.validate("2024-01-02") == dt.date(2024, 1, 2)
    assert adapter.validate(3) == 3
    assert adapter.validate("red") is Color.RED


def test_string_annotation() -> None:
    adapter = type_adapter("list[Point]", localns={"Point": Point})
    assert adapter.validate([{"x": 1}]) == [Point(1.0)]


@pytest.mark.parametrize(("hint", "message"), REJECTED, ids=[repr(r[0]) for r in REJECTED])
def test_rejected_type(hint: Any, message: str) -> None:
    with pytest.raises(ToolDefinitionError, match=message):
        type_adapter(hint)


def test_validate_lists_every_violation_with_path() -> None:
    adapter = type_adapter(Segment)
    with pytest.raises(ToolArgumentError) as info:
        adapter.validate({"start": {"x": "a"}, "end": {}, "extra": 1})
    errors = info.value.errors
    assert any(e.startswith("$.start.x: expected number") for e in errors)
    assert any(e.startswith("$.end: missing required property 'x'") for e in errors)
    assert any(e.startswith("$: unexpected property 'extra'") for e in errors)


def test_validate_json() -> None:
    adapter = type_adapter(Point)
    assert adapter.validate_json('{"x": 2}') == Point(2.0)
    with pytest.raises(ToolArgumentError, match="not valid JSON"):
        adapter.validate_json("{x: 2}")


def test_dataclass_post_init_error_becomes_argument_error() -> None:
    @dataclasses.dataclass
    class Positive:
        n: int

        def __post_init__(self) -> None:
            if self.n <= 0:
                raise ValueError("n must be positive")

    adapter = type_adapter(Positive)
    with pytest.raises(ToolArgumentError, match="n must be positive"):
        adapter.validate({"n": -1})


def test_strict_adapter_makes_optional_fields_nullable() -> None:
    adapter = type_adapter(Point, strict=True)
    schema = adapter.json_schema
    assert schema["required"] == ["x", "y"]
    assert schema["properties"]["y"]["type"] == ["number", "null"]
    assert "default" not in schema["properties"]["y"]
    assert "(default: 0.0)" in schema["properties"]["y"]["description"]
    assert adapter.validate({"x": 1, "y": None}) == Point(1.0, 0.0)


@pytest.mark.parametrize("hint", [dict[str, int], Any, list[Any]])
def test_strict_rejects_free_form_values(hint: Any) -> None:
    with pytest.raises(ToolDefinitionError, match="strict"):
        type_adapter(hint, strict=True)
