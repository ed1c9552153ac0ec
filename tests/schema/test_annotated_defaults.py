"""A default inside ``Annotated[..., Field(default=...)]`` is the default, as in pydantic:
several ``Field``s merge their constraints, the last default wins, and a default after ``=``
wins over one inside ``Field`` (issue 19). Each case is checked against pydantic itself."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import pytest
from tools_support import check_every_schema  # noqa: F401

pydantic = pytest.importorskip("pydantic")
Field = pydantic.Field

from agentloop import ToolArgumentError, tool  # noqa: E402


def _order(
    quantity: Annotated[int, Field(default=1, ge=0)],
    size: Annotated[int, Field(ge=1), Field(le=9, description="Size.")] = 5,
    count: Annotated[int, Field(default=1, ge=0)] = 7,
    level: Annotated[int, Field(default=1), Field(default=2)] = Field(le=3),
    *,
    tags: Annotated[list[str], Field(default_factory=list, max_length=2)],
) -> tuple[int, int, int, int, list[str]]:
    """Order.

    Args:
        quantity: How many.
        count: Count.
        level: Level.
        tags: Tags.
    """
    return quantity, size, count, level, tags


def _pydantic_view() -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The same parameters as a pydantic model: its schema and its defaults."""

    class Same(pydantic.BaseModel):
        quantity: Annotated[int, Field(default=1, ge=0)]
        size: Annotated[int, Field(ge=1), Field(le=9, description="Size.")] = 5
        count: Annotated[int, Field(default=1, ge=0)] = 7
        level: Annotated[int, Field(default=1), Field(default=2)] = Field(le=3)
        tags: Annotated[list[str], Field(default_factory=list, max_length=2)]

    made = Same()
    return Same.model_json_schema()["properties"], (
        made.quantity,
        made.size,
        made.count,
        made.level,
        made.tags,
    )


def test_annotated_field_defaults_behave_as_in_pydantic() -> None:
    t = tool(_order)
    props = t.parameters["properties"]
    theirs, defaults = _pydantic_view()
    assert t.parameters["required"] == []
    for name in ("quantity", "size", "count", "level"):
        mine = {k: v for k, v in props[name].items() if k != "description"}
        assert mine == {k: v for k, v in theirs[name].items() if k not in ("title", "description")}
    assert props["quantity"] == {
        "type": "integer",
        "minimum": 0,
        "description": "How many.",
        "default": 1,
    }
    assert props["size"]["minimum"] == 1 and props["size"]["maximum"] == 9  # two Fields merged
    assert props["count"]["default"] == 7  # the default after `=` wins
    assert props["level"] == {
        "type": "integer",
        "maximum": 3,
        "description": "Level.",
        "default": 2,
    }
    assert "default" not in props["tags"] and props["tags"]["maxItems"] == 2
    assert t.invoke({}) == defaults == (1, 5, 7, 2, [])
    assert t.invoke({"quantity": 4, "tags": ["a"]}) == (4, 5, 7, 2, ["a"])
    first, second = t.invoke({}), t.invoke({})
    assert first[4] is not second[4]  # the factory runs per call
    with pytest.raises(ToolArgumentError) as caught:
        t.invoke({"quantity": -1, "size": 10, "level": 4})
    assert {line.split(":")[0] for line in caught.value.errors} == {
        "$.quantity",
        "$.size",
        "$.level",
    }


def test_annotated_field_default_in_strict_mode_means_null_uses_it() -> None:
    t = tool(_order, strict=True)
    assert t.parameters["required"] == ["quantity", "size", "count", "level", "tags"]
    nulls = dict.fromkeys(t.parameters["required"])
    assert t.invoke(nulls) == (1, 5, 7, 2, [])


@dataclasses.dataclass
class Line:
    item: str
    quantity: Annotated[int, Field(default=1, ge=0)]
    note: Annotated[str, Field(default_factory=lambda: "none")]


def test_annotated_field_default_of_a_dataclass_field() -> None:
    @tool
    def add(line: Line) -> Line:
        """Add a line.

        Args:
            line: The line.
        """
        return line

    schema = add.parameters["properties"]["line"]
    assert schema["required"] == ["item"]
    assert schema["properties"]["quantity"] == {"type": "integer", "minimum": 0, "default": 1}
    assert add.invoke({"line": {"item": "x"}}) == Line(item="x", quantity=1, note="none")
    with pytest.raises(ToolArgumentError, match=r"\$\.line\.quantity"):
        add.invoke({"line": {"item": "x", "quantity": -1}})
