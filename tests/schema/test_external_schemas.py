"""Schemas from outside (hand-written ``Tool`` schemas, output types, and the validators built
from any schema) validate with no network access and in bounded time (issue 19): a remote
``$ref`` is refused at definition and never fetched, a ``$ref`` loop and a pattern that
backtracks exponentially are refused naming the tool, and safe schemas still work.

The remote ``$ref`` points at a real HTTP server on 127.0.0.1 that records every request:
it must record none."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fakeserver import FakeServer, json_reply
from tools_support import check_every_schema  # noqa: F401

from agentloop import Tool, ToolDefinitionError, tool
from agentloop.schema.build import type_adapter
from agentloop.schema.validate import compile_validator


def _echo(**kwargs: Any) -> dict[str, Any]:
    return kwargs


def _with(sub: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"x": sub}, **extra}


@pytest.fixture
def remote(fake_server: FakeServer) -> str:
    """A URL serving a valid schema; any request to it is recorded."""
    fake_server.default = json_reply({"type": "string"})
    return f"{fake_server.url}/schema.json"


def test_remote_ref_in_a_hand_written_tool_is_refused_and_never_fetched(
    remote: str, fake_server: FakeServer
) -> None:
    for strict in (False, True):
        schema = _with({"$ref": remote}, additionalProperties=False)
        with pytest.raises(ToolDefinitionError, match=r"tool 'fetcher'.*does not point inside"):
            Tool(name="fetcher", parameters=schema, fn=_echo, strict=strict)
    nested = _with({"type": "array", "items": {"anyOf": [{"$ref": remote + "#/x"}]}})
    with pytest.raises(ToolDefinitionError, match=r"\$\.properties\.x\.items\.anyOf\[0\]"):
        Tool(name="fetcher", parameters=nested, fn=_echo)
    assert fake_server.requests == [] and fake_server.connections == 0


def test_a_validator_built_from_any_schema_never_fetches(
    remote: str, fake_server: FakeServer
) -> None:
    # the last line of defence: even a schema that skipped the definition checks
    validator = compile_validator(_with({"$ref": remote}))
    with pytest.raises(Exception, match="Unresolvable"):
        validator.is_valid({"x": "text"})
    assert fake_server.requests == [] and fake_server.connections == 0


LOOPS = [
    {"$ref": "#", "type": "object"},
    _with(
        {"$ref": "#/$defs/a"},
        **{"$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]}, "b": {"$ref": "#/$defs/a"}}},
    ),
    _with({"anyOf": [{"$ref": "#/properties/x"}, {"type": "null"}]}),
]


@pytest.mark.parametrize("schema", LOOPS, ids=["root", "defs", "self"])
def test_ref_loop_is_refused_with_a_clear_error(schema: dict[str, Any]) -> None:
    with pytest.raises(ToolDefinitionError, match=r"tool 'looper'.*\$ref loop") as caught:
        Tool(name="looper", parameters=schema, fn=_echo)
    assert "RecursionError" not in str(caught.value)


def test_recursive_schema_that_consumes_the_value_is_accepted() -> None:
    tree = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#"}},
        },
    }
    t = Tool(name="tree", parameters=tree, fn=_echo)
    assert t.invoke({"name": "a", "children": [{"name": "b", "children": []}]})["name"] == "a"


CATASTROPHIC = ["^(a+)+$", "^(\\w+\\s?)*$", "^(a|aa)+$", "(x+x+)+y", "^([a-z0-9]+\\.?)+$"]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_pattern_is_refused_before_any_call(pattern: str) -> None:
    with pytest.raises(ToolDefinitionError, match=r"tool 'slow'.*exponential time"):
        Tool(name="slow", parameters=_with({"type": "string", "pattern": pattern}), fn=_echo)
    with pytest.raises(ToolDefinitionError, match="patternProperties.*exponential"):
        Tool(
            name="slow", parameters={"type": "object", "patternProperties": {pattern: {}}}, fn=_echo
        )


SAFE = [
    ("^[a-z0-9]+(-[a-z0-9]+)*$", "draft-2020-12", "-x"),
    ("^(\\w+\\.)+\\w+$", "docs.example.com", "a..b"),
    ("^(foo|bar)+$", "foobarfoo", "fob"),
    ("^[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?$", "-1.5e3", "1e"),
    ("^(a{2})+$", "aaaa", "aaa"),
]


@pytest.mark.parametrize(("pattern", "good", "bad"), SAFE)
def test_linear_patterns_are_accepted_and_enforced(pattern: str, good: str, bad: str) -> None:
    t = Tool(name="fine", parameters=_with({"type": "string", "pattern": pattern}), fn=_echo)
    assert t.invoke({"x": good}) == {"x": good}
    with pytest.raises(Exception, match=r"\$\.x"):
        t.invoke({"x": bad})


def test_catastrophic_pattern_in_a_function_or_an_output_type_is_refused() -> None:
    pydantic = pytest.importorskip("pydantic")

    def f(code: Annotated[str, pydantic.Field(pattern="^(a+)+$")]) -> None:
        """F.

        Args:
            code: Code.
        """

    with pytest.raises(ToolDefinitionError, match=r"tool 'f'.*exponential time"):
        tool(f)

    class Answer(pydantic.BaseModel):
        code: str = pydantic.Field(pattern="^(a|ab)*$")

    with pytest.raises(ToolDefinitionError, match=r"type .*Answer.*exponential time"):
        type_adapter(Answer)


def test_bundled_meta_schema_refs_and_local_anchors_still_resolve() -> None:
    schema = _with(
        {"$ref": "#A"},
        **{"$defs": {"a": {"$anchor": "A", "type": "string"}}},
    )
    t = Tool(name="anchored", parameters=schema, fn=_echo)
    assert t.invoke({"x": "s"}) == {"x": "s"}
    meta = _with({"$ref": "https://json-schema.org/draft/2020-12/schema"})
    assert Tool(name="meta", parameters=meta, fn=_echo).invoke({"x": {"type": "string"}})
