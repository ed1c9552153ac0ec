"""Edge cases of @tool: None defaults, context variants, recursion, NewType, nested metadata."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any, NewType, TypedDict

import pytest
from tools_support import check_every_schema, check_module_tools  # noqa: F401

from agentloop import RunContext, ToolArgumentError, ToolDefinitionError, tool
from agentloop.schema.build import type_adapter

UserId = NewType("UserId", int)


class Node(TypedDict):
    name: str
    children: list[Node]


@dataclasses.dataclass
class Author:
    name: str
    books: list[Book] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Book:
    title: str
    author: Author | None = None


@dataclasses.dataclass
class Described:
    count: Annotated[int, "How many."]
    when: Annotated[dt.date | None, "When it happened."] = None


CTX = RunContext(run_id="r", agent=None)


def test_implicit_optional_none_default_accepts_null() -> None:
    @tool
    def f(x: int = None) -> Any:  # type: ignore[assignment]
        return x

    assert f.parameters["properties"]["x"] == {"type": ["integer", "null"], "default": None}
    assert f.invoke({"x": None}) is None
    assert f.invoke({}) is None
    assert f.invoke({"x": 2}) == 2


def test_optional_context_may_be_left_out() -> None:
    @tool
    def f(x: int, ctx: RunContext | None = None) -> Any:
        return x, ctx

    assert f.takes_context
    assert f.invoke({"x": 1}) == (1, None)
    assert f.invoke({"x": 1}, context=CTX) == (1, CTX)


def test_positional_only_context() -> None:
    @tool
    def f(ctx: RunContext, x: int, /) -> Any:
        return ctx.run_id, x

    assert f.invoke({"x": 1}, context=CTX) == ("r", 1)


def test_annotated_context_is_detected() -> None:
    @tool
    def f(ctx: Annotated[RunContext, "the run"]) -> str:
        return ctx.run_id

    assert f.parameters["properties"] == {}
    assert f.invoke("{}", context=CTX) == "r"


def test_recursive_typeddict() -> None:
    adapter = type_adapter(Node)
    assert adapter.json_schema["$ref"] == "#/$defs/Node"
    value = {"name": "a", "children": [{"name": "b", "children": []}]}
    assert adapter.validate(value) == value
    with pytest.raises(ToolArgumentError, match=r"\$\.children\[0\]: missing required property"):
        adapter.validate({"name": "a", "children": [{"name": "b"}]})


def test_mutually_recursive_dataclasses_in_a_tool() -> None:
    @tool
    def catalog(author: Author, featured: Book | None = None) -> Any:
        return author, featured

    params = catalog.parameters
    assert set(params["$defs"]) == {"Author"}
    got = catalog.invoke(
        {
            "author": {"name": "A", "books": [{"title": "T", "author": {"name": "B"}}]},
            "featured": {"title": "F"},
        }
    )
    assert got == (Author("A", [Book("T", Author("B"))]), Book("F"))


def test_newtype_is_its_supertype() -> None:
    @tool
    def f(user: UserId) -> int:
        return user

    assert f.parameters["properties"]["user"] == {"type": "integer"}
    assert f.invoke({"user": 7}) == 7


def test_annotated_field_descriptions_in_dataclasses() -> None:
    schema = type_adapter(Described).json_schema
    assert schema["properties"]["count"] == {"type": "integer", "description": "How many."}
    assert schema["properties"]["when"]["description"] == "When it happened."
    assert schema["properties"]["when"]["type"] == ["string", "null"]


def test_invalid_date_inside_a_list_names_the_path() -> None:
    @tool
    def f(days: list[dt.date]) -> Any:
        return days

    with pytest.raises(ToolArgumentError) as info:
        f.invoke({"days": ["2024-01-01", "2024-02-30"]})
    assert info.value.errors == ('$.days[1]: "2024-02-30" is not a date like 2024-05-31',)


def test_union_error_is_readable() -> None:
    @tool
    def f(x: int | None) -> Any:
        return x

    with pytest.raises(ToolArgumentError) as info:
        f.invoke({"x": "a"})
    assert info.value.errors == ('$.x: expected integer or null, got string "a"',)


def test_error_lists_each_missing_property() -> None:
    @tool
    def f(a: int, b: str, c: bool) -> None: ...

    with pytest.raises(ToolArgumentError) as info:
        f.invoke("{}")
    assert info.value.errors == (
        "$: missing required property 'a'",
        "$: missing required property 'b'",
        "$: missing required property 'c'",
    )


def test_unresolvable_string_annotation_names_the_parameter() -> None:
    def f(x: Missing) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(
        ToolDefinitionError, match=r"parameter 'x'.*cannot resolve the annotation 'Missing'"
    ):
        tool(f)


def test_unsupported_field_type_names_the_field() -> None:
    @dataclasses.dataclass
    class Blob:
        data: bytes

    with pytest.raises(
        ToolDefinitionError, match=r"parameter 'b' -> field 'data' of Blob.*use str"
    ):

        @tool
        def f(b: Blob) -> None: ...


def test_strict_nested_lists_of_objects() -> None:
    @tool(strict=True)
    def f(books: list[Book]) -> Any:
        return books

    assert f.parameters["properties"]["books"]["items"] == {"$ref": "#/$defs/Book"}
    book = f.parameters["$defs"]["Book"]
    assert book["required"] == ["title", "author"]
    assert book["properties"]["author"]["anyOf"][0]["required"] == ["name", "books"]
    assert f.invoke({"books": [{"title": "T", "author": None}]}) == [Book("T")]


@dataclasses.dataclass
class Circle:
    radius: float
    label: str = "c"


@dataclasses.dataclass
class Square:
    side: float
    rotated: bool = False


def test_strict_union_of_objects_converts_with_nulls() -> None:
    @tool(strict=True)
    def area(shape: Circle | Square) -> Any:
        return shape

    assert area.invoke({"shape": {"radius": 1, "label": None}}) == Circle(1.0)
    assert area.invoke({"shape": {"side": 2, "rotated": None}}) == Square(2.0)


def test_union_of_objects_converts_to_the_right_class() -> None:
    adapter = type_adapter(list[Circle | Square | dt.date])
    got = adapter.validate([{"side": 1}, {"radius": 2}, "2024-01-01"])
    assert got == [Square(1.0), Circle(2.0), dt.date(2024, 1, 1)]


def test_typing_extensions_typeddict_and_type_alias() -> None:
    te = pytest.importorskip("typing_extensions")

    class Opts(te.TypedDict, total=False):
        depth: te.Required[int]
        label: str

    Ints = te.TypeAliasType("Ints", list[int])
    adapter = type_adapter(Opts, localns={"te": te})
    assert adapter.json_schema["required"] == ["depth"]
    assert adapter.validate({"depth": 1.0}) == {"depth": 1}
    assert type_adapter(Ints).json_schema == {"type": "array", "items": {"type": "integer"}}
    Loop = te.TypeAliasType("Loop", "list[Loop]")
    with pytest.raises(ToolDefinitionError, match="recursive aliases"):
        type_adapter(Loop, localns={"Loop": Loop})


def test_duplicate_json_keys_are_rejected_and_the_function_never_runs() -> None:
    from agentloop import ToolArgumentError, tool

    calls: list[int] = []

    @tool
    def put(a: int, b: int = 0) -> int:
        """Store.

        Args:
            a: A.
            b: B.
        """
        calls.append(a)
        return a

    import pytest

    with pytest.raises(ToolArgumentError, match="appears twice") as info:
        put.invoke('{"a": 1, "a": 2, "b": 1}')
    assert str(info.value).count("$") >= 1
    assert calls == []
    assert put.invoke('{"a": 1, "b": 2}') == 1
