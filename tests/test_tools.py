"""@tool and Tool: decorator forms, the definition, invoke, argument errors, context injection."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
import subprocess
import sys
import textwrap
from typing import Annotated, Any, Literal, NotRequired, TypedDict

import jsonschema
import pytest
import tools_support
from tools_support import check_every_schema, check_module_tools  # noqa: F401

from agentloop import (
    AgentloopError,
    RunContext,
    Tool,
    ToolArgumentError,
    ToolDefinitionError,
    tool,
)


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


@dataclasses.dataclass(frozen=True)
class Place:
    """Where.

    Attributes:
        city: City name.
        country: ISO country code.
    """

    city: str
    country: str = "FR"


@tool
def get_weather(city: str, days: int = 1, unit: Unit = Unit.C) -> dict[str, Any]:
    """Return the weather forecast.

    Uses the national service.

    Args:
        city: City name, e.g. "Paris".
        days: Number of days to forecast.
        unit: Temperature unit.
    """
    return {"city": city, "days": days, "unit": unit}


def _valid_schema(t: Tool) -> None:
    jsonschema.Draft202012Validator.check_schema(t.parameters)


# -- decorator forms ----------------------------------------------------------------------


def test_bare_decorator_builds_a_tool() -> None:
    assert isinstance(get_weather, Tool)
    assert get_weather.name == "get_weather"
    assert get_weather.description == "Return the weather forecast.\n\nUses the national service."
    assert get_weather("Oslo") == {"city": "Oslo", "days": 1, "unit": Unit.C}
    _valid_schema(get_weather)


def test_definition_is_the_exact_tools_entry() -> None:
    assert get_weather.definition == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Return the weather forecast.\n\nUses the national service.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": 'City name, e.g. "Paris".'},
                    "days": {
                        "type": "integer",
                        "description": "Number of days to forecast.",
                        "default": 1,
                    },
                    "unit": {
                        "type": "string",
                        "enum": ["celsius", "fahrenheit"],
                        "description": "Temperature unit.",
                        "default": "celsius",
                    },
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }


def test_decorator_with_options() -> None:
    @tool(
        name="lookup-v2",
        description="Look it up.",
        requires_approval=True,
        sequential=True,
        timeout=2.5,
        max_retries=1,
    )
    def lookup(q: str) -> str:
        return q

    assert lookup.name == "lookup-v2"
    assert lookup.description == "Look it up."
    assert (lookup.requires_approval, lookup.sequential) == (True, True)
    assert (lookup.timeout, lookup.max_retries) == (2.5, 1)
    assert lookup.invoke('{"q": "x"}') == "x"


def test_plain_call_on_bound_method_and_callable_object() -> None:
    class Store:
        def __init__(self) -> None:
            self.items = {"a": 1}

        def get(self, key: str) -> int | None:
            """Get an item.

            Args:
                key: The key.
            """
            return self.items.get(key)

    class Adder:
        """Add two numbers."""

        def __call__(self, a: int, b: int) -> int:
            return a + b

    store_get = tool(Store().get)
    assert store_get.name == "get"
    assert list(store_get.parameters["properties"]) == ["key"]
    assert store_get.invoke({"key": "a"}) == 1
    adder = tool(Adder(), name="add")
    assert adder.description == "Add two numbers."
    assert adder.invoke('{"a": 1, "b": 2}') == 3


def test_partial_hides_bound_parameters() -> None:
    def scale(factor: int, value: int) -> int:
        """Scale a value.

        Args:
            factor: The factor.
            value: The value.
        """
        return factor * value

    t = tool(functools.partial(scale, 3), name="triple")
    assert list(t.parameters["properties"]) == ["value"]
    assert t.invoke({"value": 2}) == 6


def test_tool_is_frozen_and_applying_twice_fails() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_weather.name = "x"  # type: ignore[misc]
    with pytest.raises(ToolDefinitionError, match="already a Tool"):
        tool(get_weather)


def test_positional_only_and_keyword_only_parameters() -> None:
    @tool
    def f(a: int, /, b: int = 2, *, c: int = 3) -> tuple[int, int, int]:
        return (a, b, c)

    assert f.invoke({"a": 1, "c": 5}) == (1, 2, 5)


def test_local_classes_resolve_under_future_annotations() -> None:
    @dataclasses.dataclass
    class Box:
        size: int

    @tool
    def measure(box: Box, boxes: list[Box] | None = None) -> int:
        return box.size + sum(b.size for b in boxes or [])

    assert measure.invoke({"box": {"size": 2}, "boxes": [{"size": 3}]}) == 5


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "dots.not.allowed", "é"])
def test_invalid_names_fail_at_decoration(name: str) -> None:
    with pytest.raises(ToolDefinitionError, match="name"):
        tool(name=name)(lambda: None)


def test_lambda_needs_a_name() -> None:
    with pytest.raises(ToolDefinitionError, match=r"@tool\(name=...\)"):
        tool(lambda: None)
    assert tool(lambda: 1, name="one").invoke("{}") == 1


# -- rejected definitions ----------------------------------------------------------------


def _star_args(*values: int) -> None: ...
def _star_kwargs(**values: int) -> None: ...
def _unannotated(x) -> None: ...  # type: ignore[no-untyped-def]  # noqa: ANN001


class Opaque:
    pass


def _unknown_class(x: Opaque) -> None: ...
def _two_contexts(a: RunContext, b: RunContext) -> None: ...
def _bad_doc(x: int) -> None:
    """Do.

    Args:
        x: An x.
        y: Not a parameter.
    """


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (_star_args, r"parameter 'values': \*values cannot be described"),
        (_star_kwargs, r"parameter 'values': \*\*values cannot be described"),
        (_unannotated, "parameter 'x': has no type hint"),
        (_unknown_class, "parameter 'x': type [a-z_.]*Opaque cannot be sent as JSON"),
        (_two_contexts, "only one parameter may take the RunContext"),
        (_bad_doc, "documents a parameter 'y' that the function does not have"),
    ],
)
def test_bad_definitions_name_function_parameter_and_fix(fn: Any, message: str) -> None:
    with pytest.raises(ToolDefinitionError, match=message) as info:
        tool(fn)
    assert fn.__name__ in str(info.value)


def test_method_decorated_in_its_class_body_points_to_the_bound_method() -> None:
    with pytest.raises(ToolDefinitionError, match=r"parameter 'self'.*tool\(instance\.method\)"):

        class Service:
            @tool
            def lookup(self, key: str) -> str:
                return key


def test_bad_option_values() -> None:
    with pytest.raises(ToolDefinitionError, match="timeout"):
        tool(timeout=0)(get_weather.fn)
    with pytest.raises(ToolDefinitionError, match="max_retries"):
        tool(max_retries=-1)(get_weather.fn)


# -- invoke: errors ----------------------------------------------------------------------

CALLS: list[Any] = []


@tool
def record(name: str, count: int, unit: Literal["a", "b"] = "a", place: Place | None = None) -> str:
    """Record a call.

    Args:
        name: A name.
        count: How many.
        unit: Which unit.
        place: Where.
    """
    CALLS.append((name, count, unit, place))
    return "ok"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"name": 1, "count": 1}', "$.name: expected string, got integer 1"),
        ('{"name": "x"}', "$: missing required property 'count'"),
        ('{"name": "x", "count": 1, "color": "red"}', "$: unexpected property 'color'"),
        ('{"name": "x", "count": 1, "unit": "c"}', '$.unit: "c" is not one of "a", "b"'),
        ('{"name": "x", "count": 1.5}', "$.count: expected integer, got number 1.5"),
        ('{"name": "x", "count": true}', "$.count: expected integer, got boolean true"),
        ('{"name": "x", "count": 1, "place": {"town": "y"}}', "$.place"),
        ('{"name": "x", "count": 1, "place": {"city": 3}}', "$.place.city: expected string"),
        ('{"name": "x", "count": ', "$: not valid JSON"),
        ("[1, 2]", "expected a JSON object of named arguments, got array"),
        ('"text"', "got string"),
        ("null", "got null"),
        ('{"name": "x", "count": NaN}', "$: not valid JSON"),
        ('{"name": "x"} trailing', "$: not valid JSON"),
        (b'{"name": "\xff"}', "$: not valid JSON"),
    ],
)
def test_invalid_arguments_raise_and_never_call(arguments: str | bytes, expected: str) -> None:
    CALLS.clear()
    with pytest.raises(ToolArgumentError) as info:
        record.invoke(arguments)
    assert expected in str(info.value)
    assert info.value.tool_name == "record"
    assert info.value.errors and all(line.startswith("$") for line in info.value.errors)
    assert CALLS == []


def test_every_violation_is_listed() -> None:
    with pytest.raises(ToolArgumentError) as info:
        record.invoke({"name": 1, "unit": "z", "extra": True})
    assert len(info.value.errors) == 4
    assert "4 problems" in str(info.value)


def test_empty_argument_text_means_no_arguments() -> None:
    @tool
    def ping() -> str:
        return "pong"

    assert ping.invoke("") == "pong"
    assert ping.invoke("  ") == "pong"
    assert ping.parameters == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def test_invoke_converts_values() -> None:
    CALLS.clear()
    record.invoke(b'{"name": "x", "count": 2.0, "place": {"city": "Lyon"}}')
    assert [("x", 2, "a", Place("Lyon"))] == CALLS
    assert type(CALLS[0][1]) is int


def test_function_exceptions_propagate_unchanged() -> None:
    @tool
    def boom() -> None:
        raise KeyError("inner")

    with pytest.raises(KeyError, match="inner"):
        boom.invoke("{}")


# -- defaults and strict mode -------------------------------------------------------------


def test_none_default() -> None:
    @tool
    def f(when: dt.date | None = None, n: int | None = 3) -> Any:
        return when, n

    props = f.parameters["properties"]
    assert props["when"] == {"type": ["string", "null"], "format": "date", "default": None}
    assert f.parameters["required"] == []
    assert f.invoke({}) == (None, 3)
    assert f.invoke({"when": None, "n": None}) == (None, None)
    assert f.invoke({"when": "2024-02-29"}) == (dt.date(2024, 2, 29), 3)


def test_strict_mode_schema_and_null_means_default() -> None:
    @tool(strict=True)
    def search(query: str, limit: int = 10, place: Place | None = None) -> Any:
        """Search.

        Args:
            query: Text.
            limit: Max results.
            place: Where.
        """
        return query, limit, place

    params = search.parameters
    assert search.definition["function"]["strict"] is True
    assert params["required"] == ["query", "limit", "place"]
    assert params["additionalProperties"] is False
    assert params["properties"]["limit"] == {
        "type": ["integer", "null"],
        "description": "Max results. (default: 10)",
    }
    place = params["properties"]["place"]["anyOf"][0]
    assert place["required"] == ["city", "country"]
    assert place["additionalProperties"] is False
    assert place["properties"]["country"]["type"] == ["string", "null"]
    _valid_schema(search)
    got = search.invoke({"query": "q", "limit": None, "place": {"city": "Nice", "country": None}})
    assert got == ("q", 10, Place("Nice", "FR"))
    with pytest.raises(ToolArgumentError, match="missing required property 'limit'"):
        search.invoke({"query": "q", "place": None})


def test_strict_rejects_free_form_dicts_with_the_fix() -> None:
    with pytest.raises(ToolDefinitionError, match="TypedDict or dataclass with fixed keys"):

        @tool(strict=True)
        def f(options: dict[str, int]) -> None: ...


def test_non_strict_definition_has_no_strict_key() -> None:
    assert "strict" not in get_weather.definition["function"]


# -- context injection ----------------------------------------------------------------------


def test_context_is_injected_and_hidden() -> None:
    @tool
    def whoami(ctx: RunContext, greeting: str = "hi") -> str:
        return f"{greeting} {ctx.run_id}"

    assert whoami.takes_context
    assert list(whoami.parameters["properties"]) == ["greeting"]
    ctx = RunContext(run_id="r1", agent=None)
    assert whoami.invoke("{}", context=ctx) == "hi r1"
    with pytest.raises(TypeError, match="context=ctx"):
        whoami.invoke("{}")
    with pytest.raises(ToolArgumentError, match="unexpected property 'ctx'"):
        whoami.invoke({"ctx": "x"}, context=ctx)


# -- hand-built tools ---------------------------------------------------------------------------


def test_tool_with_hand_written_parameters() -> None:
    t = Tool(
        name="echo",
        description="Echo.",
        parameters={"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
        fn=lambda **kw: kw,
    )
    assert t.invoke('{"x": 1}') == {"x": 1}
    with pytest.raises(ToolArgumentError, match=r"\$\.x"):
        t.invoke('{"x": "a"}')
    with pytest.raises(ToolDefinitionError, match="not a valid JSON Schema"):
        Tool(name="bad", parameters={"type": "object", "required": 3}, fn=print)


def test_replace_keeps_the_schema() -> None:
    renamed = dataclasses.replace(get_weather, name="weather2")
    assert renamed.invoke({"city": "x"})["city"] == "x"
    with pytest.raises(ToolDefinitionError):
        dataclasses.replace(get_weather, name="bad name")


def test_annotated_description_wins_over_docstring() -> None:
    @tool
    def f(x: Annotated[int, "From Annotated."], y: int = 0) -> None:
        """Do.

        Args:
            x: From the docstring.
        """

    assert f.parameters["properties"]["x"]["description"] == "From Annotated."
    assert f.undocumented_parameters == ("y",)


def test_results_are_json_for_the_model() -> None:
    value = get_weather.invoke('{"city": "Oslo", "unit": "fahrenheit"}')
    assert json.loads(get_weather.format_result(value)) == {
        "city": "Oslo",
        "days": 1,
        "unit": "fahrenheit",
    }


def test_module_level_tools_have_valid_schemas() -> None:
    check_module_tools(globals())


def test_hand_built_tool_may_take_the_context() -> None:
    t = Tool(
        name="ctx_echo",
        parameters={"type": "object", "properties": {}},
        fn=lambda context, **kw: context.run_id,
        takes_context=True,
    )
    assert t.invoke("{}", context=RunContext(run_id="r9", agent=None)) == "r9"


# -- error classes, validation against exactly .parameters, compiled once -------------------


def test_error_classes_sit_in_the_tree() -> None:
    assert issubclass(ToolArgumentError, AgentloopError) and issubclass(
        ToolArgumentError, ValueError
    )
    assert issubclass(ToolDefinitionError, AgentloopError)
    assert issubclass(ToolDefinitionError, TypeError)


@pytest.mark.parametrize(
    "arguments",
    [
        {"name": "x", "count": 1},
        {"name": "x", "count": 1, "unit": "b", "place": {"city": "Lyon"}},
        {"name": "x", "count": 1, "place": None},
        {"name": "x", "count": 1.0},
        {"name": 1, "count": 1},
        {"name": "x"},
        {"name": "x", "count": 1, "color": "red"},
        {"name": "x", "count": 1, "unit": "c"},
        {"name": "x", "count": 1, "place": {"city": "Lyon", "zip": 1}},
        {"name": "x", "count": 1, "place": {"country": "FR"}},
    ],
)
def test_invoke_accepts_exactly_what_parameters_accepts(arguments: dict[str, Any]) -> None:
    """``invoke`` agrees with an independent jsonschema check of ``.parameters``."""
    CALLS.clear()
    independent = jsonschema.Draft202012Validator(record.parameters).is_valid(arguments)
    if independent:
        assert record.invoke(arguments) == "ok"
        assert len(CALLS) == 1
    else:
        with pytest.raises(ToolArgumentError):
            record.invoke(json.dumps(arguments))
        assert CALLS == []


def test_invalid_arguments_never_start_an_async_tool() -> None:
    started: list[int] = []

    @tool
    async def fetch(url: str) -> str:
        started.append(1)
        return url

    for bad in ('{"url": 1}', "{}", '{"url": "x", "y": 2}', "not json", "[]"):
        with pytest.raises(ToolArgumentError, match=r"\$"):
            fetch.invoke(bad)
    assert started == []
    assert fetch.invoke('{"url": "u"}') == "u" and started == [1]


def test_schema_and_validator_are_built_once_at_decoration() -> None:
    before = len(tools_support.CHECKED)

    @tool
    def f(a: int, when: dt.date | Unit, place: Place | None = None) -> Any:
        return a, when, place

    built = len(tools_support.CHECKED) - before
    assert built >= 1
    assert tools_support.CHECKED[-1] is f.parameters  # the tool's validator checks .parameters
    for _ in range(3):
        assert f.invoke({"a": 1, "when": "celsius"}) == (1, Unit.C, None)
        assert f.invoke('{"a": 2, "when": "2024-01-02", "place": {"city": "Nice"}}') == (
            2,
            dt.date(2024, 1, 2),
            Place("Nice"),
        )
    assert len(tools_support.CHECKED) - before == built


# -- strict mode: OpenAI's rules hold at every level ----------------------------------------


def assert_openai_strict(schema: dict[str, Any], where: str = "$") -> None:
    """Every object: additionalProperties false and every property required; no free-form
    values; no keywords strict mode refuses (default, uniqueItems)."""
    assert set(schema) - {"description", "title"}, f"{where}: accepts anything"
    assert "default" not in schema and "uniqueItems" not in schema, where
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "object" in kinds or "properties" in schema:
        assert schema.get("additionalProperties") is False, where
        assert schema.get("required") == list(schema.get("properties", {})), where
    for name, sub in schema.get("properties", {}).items():
        assert_openai_strict(sub, f"{where}.{name}")
    if isinstance(schema.get("items"), dict):
        assert_openai_strict(schema["items"], f"{where}[]")
    for key in ("anyOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key, ())):
            assert_openai_strict(sub, f"{where}.{key}[{i}]")
    for name, sub in schema.get("$defs", {}).items():
        assert_openai_strict(sub, f"$defs.{name}")


class Filters(TypedDict):
    """Search filters.

    Attributes:
        tags: Tags to match.
        since: Earliest date.
    """

    tags: set[str]
    since: NotRequired[dt.date]


@dataclasses.dataclass
class Folder:
    name: str
    children: list[Folder] = dataclasses.field(default_factory=list)


@tool(strict=True)
def strict_search(
    query: str,
    filters: Filters,
    places: list[Place],
    root: Folder | None = None,
    unit: Unit = Unit.C,
    mode: Literal["fast", "slow"] = "fast",
    span: tuple[int, int] = (0, 10),
    limit: int | None = 10,
) -> Any:
    """Search.

    Args:
        query: Text.
        filters: Filters.
        places: Places.
        root: Folder tree.
        unit: Unit.
        mode: Mode.
        span: Range.
        limit: Max results.
    """
    return filters, places, root, unit, mode, span, limit


def test_strict_schema_follows_openai_rules_everywhere() -> None:
    params = strict_search.parameters
    assert strict_search.definition["function"]["strict"] is True
    assert_openai_strict(params)
    jsonschema.Draft202012Validator.check_schema(params)
    assert params["properties"]["filters"]["properties"]["since"]["type"] == ["string", "null"]
    got = strict_search.invoke(
        {
            "query": "q",
            "filters": {"tags": ["a"], "since": None},
            "places": [{"city": "Nice", "country": None}],
            "root": {"name": "r", "children": [{"name": "c", "children": None}]},
            "unit": None,
            "mode": None,
            "span": None,
            "limit": None,
        }
    )
    assert got == (
        {"tags": {"a"}},
        [Place("Nice")],
        Folder("r", [Folder("c")]),
        Unit.C,
        "fast",
        (0, 10),
        10,
    )
    with pytest.raises(
        ToolArgumentError, match=r"\$\.places\[0\]: missing required property 'country'"
    ):
        strict_search.invoke(
            {
                "query": "q",
                "filters": {"tags": [], "since": None},
                "places": [{"city": "Nice"}],
                "root": None,
                "unit": None,
                "mode": None,
                "span": None,
                "limit": None,
            }
        )


# -- imports --------------------------------------------------------------------------------


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_import_agentloop_is_light() -> None:
    out = _run(
        """
        import sys, agentloop
        heavy = [m for m in ("jsonschema", "pydantic", "docstring_parser", "agentloop.tools",
                             "requests", "sseclient", "asyncio", "concurrent.futures")
                 if m in sys.modules]
        print(heavy)
        """
    )
    assert out == "[]"


def test_defining_and_invoking_a_tool_never_imports_pydantic() -> None:
    out = _run(
        """
        import sys
        from agentloop import tool

        @tool
        def f(x: int, y: list[str] | None = None) -> int:
            return x

        f.invoke('{"x": 1}')
        f.format_result({"a": 1})
        print("pydantic" in sys.modules, "requests" in sys.modules)
        """
    )
    assert out == "False False"
