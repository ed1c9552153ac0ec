"""Strict mode cannot express an open map, so it refuses one at definition time naming its
path and the fix, and never silently closes it (issue 19): in hand-written ``Tool`` schemas
(``additionalProperties`` a schema, true, or not said) and in ``@tool`` functions taking
``dict[str, X]``. Without strict the open map stays open."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from tools_support import check_every_schema  # noqa: F401

from agentloop import Tool, ToolDefinitionError, tool

FIX = r".*a list of key/value objects, or strict=False"


def _echo(**kwargs: Any) -> dict[str, Any]:
    return kwargs


def _object(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "additionalProperties": False}


OPEN: list[tuple[dict[str, Any], str]] = [
    (  # a nullable map: the type is a list, the map was passed on open
        _object(m={"type": ["object", "null"], "additionalProperties": {"type": "string"}}),
        "'m' is a mapping with free-form keys",
    ),
    (  # true beside properties: was silently closed
        _object(
            m={
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "additionalProperties": True,
            }
        ),
        "'m' says additionalProperties: true",
    ),
    (  # not said beside properties means open in JSON Schema: was silently closed
        _object(filters={"type": "object", "properties": {"lang": {"type": "string"}}}),
        "'filters' does not say additionalProperties",
    ),
    (
        {"type": "object", "properties": {"a": {"type": "string"}}},
        "the value does not say additionalProperties",
    ),
    (  # under definitions (draft 7's $defs): was never looked at
        {
            **_object(m={"$ref": "#/definitions/M"}),
            "definitions": {"M": {"type": "object", "additionalProperties": {"type": "string"}}},
        },
        "'definitions.M' is a mapping with free-form keys",
    ),
    (
        {
            **_object(m={"$ref": "#/$defs/M"}),
            "$defs": {"M": {"type": "object", "additionalProperties": {"type": "integer"}}},
        },
        "'\\$defs.M' is a mapping with free-form keys",
    ),
    (
        _object(items={"type": "array", "items": {"type": "object", "additionalProperties": True}}),
        "'items\\[\\]' is a mapping with free-form keys",
    ),
]


@pytest.mark.parametrize(("parameters", "message"), OPEN, ids=lambda v: str(v)[:60])
def test_strict_hand_written_open_map_is_refused_with_path_and_fix(
    parameters: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolDefinitionError, match=r"tool 't': strict=True: " + message + FIX):
        Tool(name="t", parameters=parameters, fn=_echo, strict=True)
    t = Tool(name="t", parameters=parameters, fn=_echo)  # without strict: kept as written
    assert t.parameters == parameters


def test_strict_hand_written_closed_object_is_accepted() -> None:
    t = Tool(name="t", parameters=_object(a={"type": "string"}), fn=_echo, strict=True)
    assert t.parameters["additionalProperties"] is False
    assert t.invoke({"a": None}) == {}


@dataclasses.dataclass
class Labels:
    values: dict[str, str]


def _with_map(tags: dict[str, int]) -> None:
    """F.

    Args:
        tags: Tags.
    """


def _with_optional_map(tags: dict[str, int] | None = None) -> None:
    """F.

    Args:
        tags: Tags.
    """


def _with_nested_map(labels: Labels) -> None:
    """F.

    Args:
        labels: Labels.
    """


@pytest.mark.parametrize(
    ("fn", "path"),
    [(_with_map, "'tags'"), (_with_optional_map, "'tags'"), (_with_nested_map, "'labels.values'")],
)
def test_strict_function_with_a_dict_parameter_is_refused(fn: Any, path: str) -> None:
    with pytest.raises(ToolDefinitionError, match=path + " is a mapping with free-form keys" + FIX):
        tool(fn, strict=True)
    open_map = tool(fn).parameters  # without strict: an open map, as the type says
    assert "additionalProperties" in str(open_map)


def test_strict_pydantic_model_that_allows_extra_keys_is_refused() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Loose(pydantic.BaseModel, extra="allow"):
        name: str

    class Plain(pydantic.BaseModel):  # extra keys ignored: closing it changes nothing
        name: str

    def take(loose: Loose) -> None:
        """F.

        Args:
            loose: L.
        """

    def take_plain(plain: Plain) -> None:
        """F.

        Args:
            plain: P.
        """

    with pytest.raises(ToolDefinitionError, match="says additionalProperties: true" + FIX):
        tool(take, strict=True)
    assert (
        tool(take_plain, strict=True).parameters["properties"]["plain"]["additionalProperties"]
        is False
    )
