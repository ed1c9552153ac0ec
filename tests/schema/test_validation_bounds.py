"""Validation stops collecting errors early: a million wrong values cost a bounded number of
error objects and message lines, whatever the schema shape (plain array, union, mapping)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from tools_support import check_every_schema  # noqa: F401

from agentloop import Tool, ToolArgumentError, tool
from agentloop.schema.validate import MAX_ERRORS, compile_validator

MILLION = ["x"] * 1_000_000


@tool
def take(
    numbers: list[int] | None = None,
    plain: list[int] | None = None,
    counts: dict[str, int] | None = None,
    name: str = "",
) -> None:
    """Take things.

    Args:
        numbers: Optional numbers (a union in the schema).
        plain: More numbers.
        counts: Counts by key.
        name: A name.
    """


PLAIN = Tool(
    name="plain",
    parameters={
        "type": "object",
        "properties": {"xs": {"type": "array", "items": {"type": "integer"}}},
    },
    fn=lambda **kw: kw,
)


def _error(t: Tool, arguments: dict[str, Any]) -> ToolArgumentError:
    with pytest.raises(ToolArgumentError) as info:
        t.invoke(arguments)
    return info.value


def test_a_million_wrong_items_give_a_bounded_list_of_errors() -> None:
    error = _error(PLAIN, {"xs": MILLION})
    assert len(error.errors) == MAX_ERRORS
    assert [line.split(":")[0] for line in error.errors[:3]] == ["$.xs[0]", "$.xs[1]", "$.xs[2]"]
    assert f"({MAX_ERRORS}+ problems)" in str(error)
    assert "The first ones are listed" in str(error)
    assert len(str(error)) < 3000


def test_union_branches_stop_collecting_early() -> None:
    schema = take.parameters
    (union_error,) = itertools.islice(
        compile_validator(schema).iter_errors({"numbers": MILLION}), 1
    )
    assert union_error.validator == "anyOf"
    assert 0 < len(union_error.context or ()) <= 2 * MAX_ERRORS
    assert len(union_error.message) < 200
    error = _error(take, {"numbers": MILLION})
    assert error.errors == ('$.numbers[0]: expected integer, got string "x"',)


def test_a_million_wrong_values_and_keys_are_bounded() -> None:
    counts = {str(i): "x" for i in range(200_000)}
    error = _error(take, {"counts": counts})
    assert error.errors == ('$.counts["0"]: expected integer, got string "x"',)
    extra = {f"k{i}": 1 for i in range(200_000)}
    error = _error(take, {"name": "a", **extra})
    (line,) = error.errors
    assert line.startswith("$: unexpected property 'k0', 'k1'")
    assert f"and {200_000 - MAX_ERRORS} more; allowed: counts, name, numbers, plain" in line
    assert len(line) < 1000


def test_a_huge_value_of_the_wrong_type_is_quoted_briefly() -> None:
    error = _error(take, {"name": MILLION})
    (line,) = error.errors
    assert line.startswith('$.name: expected string, got array ["x", "x"')
    assert len(line) < 200


UNIQUE = {"type": "array", "uniqueItems": True}


@pytest.mark.parametrize(
    "items",
    [
        [1, 1.0],
        [True, 1],
        [0, False],
        [None, False],
        [True, True],
        ["1", 1],
        [[1], [1.0]],
        [[True], [1]],
        [{"a": 1}, {"a": 1.0}],
        [{"a": [1]}, {"a": [2]}],
        [{"a": 1, "b": 2}, {"b": 2, "a": 1}],
    ],
    ids=repr,
)
def test_unique_items_means_what_jsonschema_means(items: list[Any]) -> None:
    import jsonschema

    expected = jsonschema.Draft202012Validator(UNIQUE).is_valid(items)
    assert compile_validator(UNIQUE).is_valid(items) is expected


def test_unique_items_of_mixed_types_is_one_pass() -> None:
    # jsonschema compares every pair of items that do not sort together (int and str):
    # 20,000 items would be 2e8 comparisons, minutes
    @tool
    def tag(labels: set[int | str]) -> int:
        """Tag.

        Args:
            labels: Labels.
        """
        return len(labels)

    mixed: list[Any] = [i if i % 2 else str(i) for i in range(20_000)]
    assert tag.invoke({"labels": mixed}) == 20_000
    error = _error(tag, {"labels": [*mixed, 7]})
    assert error.errors == ("$.labels: item 20000 (7) repeats an earlier item",)
