"""Hand-written ``Tool(parameters=...)``: copied, checked, and given the strict rewrite (or
refused with the path) when ``strict=True``; oneOf becomes anyOf in strict mode.

Runs without pydantic too (see tests/schema/test_without_pydantic.py)."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from tools_support import check_every_schema  # noqa: F401

from agentloop import Tool, ToolArgumentError, ToolDefinitionError

SEARCH = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "minLength": 1, "description": "What to find."},
        "limit": {"type": "integer", "minimum": 1, "default": 10},
        "filters": {
            "type": "object",
            "properties": {"lang": {"type": "string"}},
        },
    },
    "required": ["query"],
}


def _echo(**kwargs: Any) -> dict[str, Any]:
    return kwargs


def _closed(schema: Any) -> Any:
    """A copy of ``schema`` whose objects with properties say additionalProperties: false
    (strict mode refuses an object that does not: it would accept other keys)."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


def test_parameters_are_copied_not_kept_by_reference() -> None:
    given = copy.deepcopy(SEARCH)
    t = Tool(name="search", description="Search.", parameters=given, fn=_echo)
    assert t.parameters == SEARCH and t.parameters is not given
    given["properties"]["query"]["type"] = "integer"
    given["required"].append("limit")
    assert t.definition["function"]["parameters"] == SEARCH
    assert t.invoke({"query": "x"}) == {"query": "x"}


def test_strict_rewrite_is_applied_and_the_caller_dict_is_untouched() -> None:
    given = _closed(SEARCH)
    t = Tool(name="search", description="Search.", parameters=given, fn=_echo, strict=True)
    assert given == _closed(SEARCH)
    sent = t.definition["function"]
    assert sent["strict"] is True
    params = sent["parameters"]
    assert params["additionalProperties"] is False
    assert params["required"] == ["query", "limit", "filters"]
    assert params["properties"]["query"] == {
        "type": "string",
        "description": "What to find. (minLength: 1)",
    }
    assert params["properties"]["limit"] == {
        "type": ["integer", "null"],
        "minimum": 1,
        "description": "(default: 10)",
    }
    nested = params["properties"]["filters"]["anyOf"][0]
    assert nested["additionalProperties"] is False and nested["required"] == ["lang"]
    jsonschema.Draft202012Validator.check_schema(params)
    # null for an optional property means "leave it out"; minLength is still enforced
    assert t.invoke({"query": "x", "limit": None, "filters": None}) == {"query": "x"}
    assert t.invoke({"query": "x", "limit": 3, "filters": {"lang": None}}) == {
        "query": "x",
        "limit": 3,
        "filters": {"lang": None},
    }
    with pytest.raises(ToolArgumentError, match=r"\$\.query"):
        t.invoke({"query": "", "limit": None, "filters": None})
    with pytest.raises(ToolArgumentError, match="unexpected property 'other'"):
        t.invoke({"query": "x", "limit": None, "filters": None, "other": 1})


def test_root_without_type_is_accepted_when_it_has_properties() -> None:
    given = {"properties": {"x": {"type": "integer"}}, "required": ["x"]}
    given["additionalProperties"] = False
    for strict in (False, True):
        t = Tool(name="t", parameters=given, fn=_echo, strict=strict)
        assert t.parameters["type"] == "object"
        assert t.invoke({"x": 1}) == {"x": 1}
    assert "type" not in given


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"type": "object", "additionalProperties": {"type": "string"}}, "the value is a mapping"),
        (
            {"type": "object", "properties": {"tags": {"type": "object"}}},
            "'tags' is a mapping with free-form keys",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {}}}}},
            "'a.b' accepts any JSON value",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "array", "items": {"not": {}}}}},
            "'a\\[\\]' uses 'not'",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"allOf": [{"type": "string"}, {"minLength": 1}]}},
            },
            "'a' combines schemas with 'allOf'",
        ),
    ],
)
def test_strict_refuses_what_it_cannot_express_naming_the_path(
    parameters: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolDefinitionError, match=r"tool 't': strict=True: " + message):
        Tool(name="t", parameters=_closed(parameters), fn=_echo, strict=True)
    Tool(name="t", parameters=parameters, fn=_echo)  # fine without strict


@pytest.mark.parametrize(
    "parameters",
    [[], {"type": "array", "items": {}}, {"type": "string"}, {"required": ["x"]}],
    ids=repr,
)
def test_root_must_be_an_object_schema(parameters: Any) -> None:
    with pytest.raises(ToolDefinitionError, match="parameters must be a JSON Schema object"):
        Tool(name="t", parameters=parameters, fn=_echo)


def test_invalid_json_schema_is_refused() -> None:
    with pytest.raises(ToolDefinitionError, match="not a valid JSON Schema"):
        Tool(name="t", parameters={"type": "object", "properties": {"x": {"type": 3}}}, fn=_echo)


SHAPES = {
    "type": "object",
    "properties": {
        "shape": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}},
                    "required": ["kind", "r"],
                },
                {
                    "type": "object",
                    "properties": {"kind": {"const": "square"}, "side": {"type": "number"}},
                    "required": ["kind", "side"],
                },
            ],
            "discriminator": {"propertyName": "kind"},
        }
    },
    "required": ["shape"],
}


def _keys(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        return set(schema) | {k for v in schema.values() for k in _keys(v)}
    if isinstance(schema, list):
        return {k for v in schema for k in _keys(v)}
    return set()


def test_strict_turns_one_of_into_any_of() -> None:
    t = Tool(name="t", parameters=_closed(SHAPES), fn=_echo, strict=True)
    shape = t.parameters["properties"]["shape"]
    assert "oneOf" not in _keys(t.parameters) and "discriminator" not in _keys(t.parameters)
    assert [b["required"] for b in shape["anyOf"]] == [["kind", "r"], ["kind", "side"]]
    assert t.invoke({"shape": {"kind": "square", "side": 2}})["shape"]["side"] == 2
    with pytest.raises(ToolArgumentError):
        t.invoke({"shape": {"kind": "square", "r": 2}})
    assert "oneOf" in Tool(name="t", parameters=SHAPES, fn=_echo).parameters["properties"]["shape"]
