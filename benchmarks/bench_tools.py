"""Benchmark @tool: decoration, invoke and format_result of a 10-parameter tool.

Each row compares agentloop with the least work that does the same job by hand:

- decoration vs ``inspect.signature`` + ``typing.get_type_hints`` + building a
  jsonschema validator for an already-written schema;
- ``invoke`` vs ``json.loads`` + a bare (pre-built) jsonschema ``is_valid`` +
  calling the function directly (no conversion of dates/enums/dataclasses);
- ``format_result`` vs ``json.dumps``.

Usage: ``python benchmarks/bench_tools.py [--quick]``; ``benchmarks/run.py`` calls ``main``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import inspect
import json
import sys
import timeit
import typing
from collections.abc import Callable
from typing import Any, Literal

import jsonschema

from agentloop import Tool, tool

Row = tuple[str, float, float, str]


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


@dataclasses.dataclass
class Place:
    city: str
    country: str = "FR"


def create_event(
    title: str,
    day: dt.date,
    start: int,
    duration: float = 1.0,
    attendees: list[str] | None = None,
    priority: Priority = Priority.LOW,
    place: Place | None = None,
    tags: dict[str, str] | None = None,
    kind: Literal["meeting", "call", "other"] = "meeting",
    private: bool = False,
) -> dict[str, Any]:
    """Create a calendar event.

    Args:
        title: Short title.
        day: The day of the event.
        start: Start hour, 0-23.
        duration: Length in hours.
        attendees: E-mail addresses.
        priority: How important it is.
        place: Where it happens.
        tags: Free-form labels.
        kind: What sort of event.
        private: Hide it from others.
    """
    return {"title": title, "day": day, "start": start}


ARGUMENTS = json.dumps(
    {
        "title": "Planning",
        "day": "2024-05-31",
        "start": 9,
        "duration": 1.5,
        "attendees": ["a@example.com", "b@example.com"],
        "priority": "high",
        "place": {"city": "Paris"},
        "tags": {"team": "core"},
        "kind": "call",
        "private": False,
    }
)
# A hand-written schema as an MCP server sends it: patterns, a nested object, a $ref.
SEARCH_SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "minLength": 1},
        "repo": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"},
        "slug": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
        "filters": {"$ref": "#/$defs/Filters"},
    },
    "required": ["query", "repo"],
    "$defs": {
        "Filters": {
            "type": "object",
            "properties": {"lang": {"type": "string"}, "stars": {"type": "integer"}},
        }
    },
}
SEARCH_ARGUMENTS = json.dumps(
    {
        "query": "json schema",
        "repo": "python-jsonschema/jsonschema",
        "slug": "draft-2020-12-support",
        "filters": {"lang": "python", "stars": 100},
    }
)
RESULT = {"id": 123, "title": "Planning", "attendees": ["a@example.com", "b@example.com"]}


def _best(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call: the best of 5 repeats (the least disturbed by other processes)."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def _decorate_by_hand(schema: dict[str, Any]) -> None:
    inspect.signature(create_event)
    typing.get_type_hints(create_event)
    jsonschema.Draft202012Validator(schema)


def main(quick: bool = False) -> list[Row]:
    """Run the benchmarks and return ``(name, agentloop_s, baseline_s, baseline_name)`` rows."""
    scale = 1 if quick else 10
    t: Tool = tool(create_event)
    schema = t.parameters
    validator = jsonschema.Draft202012Validator(schema)
    decoded = json.loads(ARGUMENTS)
    assert t.invoke(ARGUMENTS)["day"] == dt.date(2024, 5, 31)

    def bare_invoke() -> Any:
        data = json.loads(ARGUMENTS)
        if not validator.is_valid(data):
            raise ValueError
        return create_event(**data)

    def bare_invoke_dict() -> Any:
        if not validator.is_valid(decoded):
            raise ValueError
        return create_event(**decoded)

    search = Tool(name="search", parameters=SEARCH_SCHEMA, fn=lambda **kw: kw)
    search_validator = jsonschema.Draft202012Validator(SEARCH_SCHEMA)

    def bare_search() -> Any:
        data = json.loads(SEARCH_ARGUMENTS)
        if not search_validator.is_valid(data):
            raise ValueError
        return data

    rows: list[Row] = [
        (
            "tools: @tool decoration (10 params)",
            _best(lambda: tool(create_event), 20 * scale),
            _best(lambda: _decorate_by_hand(schema), 20 * scale),
            "signature+get_type_hints+validator",
        ),
        (
            "tools: invoke JSON text (10 params)",
            _best(lambda: t.invoke(ARGUMENTS), 200 * scale),
            _best(bare_invoke, 200 * scale),
            "json.loads+jsonschema.is_valid+call",
        ),
        (
            "tools: invoke decoded dict (10 params)",
            _best(lambda: t.invoke(decoded), 200 * scale),
            _best(bare_invoke_dict, 200 * scale),
            "jsonschema.is_valid+call",
        ),
        (
            "tools: invoke hand-written schema (MCP-like)",
            _best(lambda: search.invoke(SEARCH_ARGUMENTS), 200 * scale),
            _best(bare_search, 200 * scale),
            "json.loads+jsonschema.is_valid",
        ),
        (
            "tools: format_result(dict)",
            _best(lambda: t.format_result(RESULT), 2000 * scale),
            _best(lambda: json.dumps(RESULT, separators=(",", ":")), 2000 * scale),
            "json.dumps",
        ),
    ]
    return rows


def _print(rows: list[Row]) -> None:
    print(f"{'benchmark':<42} {'agentloop':>12} {'baseline':>12} {'ratio':>7}  baseline")
    for name, ours, base, base_name in rows:
        print(
            f"{name:<42} {ours * 1e6:>10.1f}us {base * 1e6:>10.1f}us {ours / base:>7.2f}  {base_name}"
        )


if __name__ == "__main__":
    _print(main(quick="--quick" in sys.argv[1:]))
