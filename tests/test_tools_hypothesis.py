"""Property-based tests: values of a type, sent as the model would send them (JSON), validate
against the generated schema and convert back to equal Python values."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import uuid
from typing import Any, Literal, NamedTuple, NotRequired, TypedDict

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tools_support import check_every_schema, check_module_tools  # noqa: F401

from agentloop import Tool, tool
from agentloop.schema.build import type_adapter
from agentloop.tools import to_jsonable


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Shade(enum.StrEnum):
    LIGHT = "light"
    DARK = "dark"


@dataclasses.dataclass
class Inner:
    label: str
    level: Level = Level.LOW


@dataclasses.dataclass
class Outer:
    items: list[Inner]
    when: dt.date | None = None
    pair: tuple[int, str] = (0, "")


class Record(TypedDict):
    id: uuid.UUID
    score: float
    note: NotRequired[str]


class Span(NamedTuple):
    start: dt.time
    end: dt.time


HINTS: list[Any] = [
    str,
    int,
    float,
    bool,
    int | None,
    int | str,
    Literal["a", "b", 3],
    Level,
    Shade,
    list[int],
    set[str],
    frozenset[int],
    tuple[int, ...],
    tuple[str, bool, float],
    dict[str, list[int]],
    dict[int, str],
    dt.date,
    dt.datetime,
    dt.time,
    uuid.UUID,
    decimal.Decimal,
    Inner,
    Outer,
    Record,
    Span,
    list[Outer] | None,
]


def _finite(value: Any) -> bool:
    """Hypothesis also makes NaN/infinite floats and decimals; JSON cannot carry them."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, decimal.Decimal):
        return value.is_finite()
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_finite(v) for v in value)
    if dataclasses.is_dataclass(value):
        return all(_finite(getattr(value, f.name)) for f in dataclasses.fields(value))
    return True


_ADAPTERS: dict[Any, Any] = {}


def _as_model_sends(value: Any) -> Any:
    return json.loads(json.dumps(to_jsonable(value)))


@pytest.mark.parametrize("hint", HINTS, ids=repr)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip(hint: Any, data: st.DataObject) -> None:
    adapter = _ADAPTERS.get(hint) or _ADAPTERS.setdefault(hint, type_adapter(hint))
    value = data.draw(st.from_type(hint).filter(_finite))
    sent = _as_model_sends(value)
    jsonschema.validate(sent, adapter.json_schema, cls=jsonschema.Draft202012Validator)
    assert adapter.validate(sent) == value


@dataclasses.dataclass
class Args:
    a: int
    b: str
    c: float
    d: bool
    e: list[str]
    f: dict[str, int]
    g: dt.date
    h: Level
    i: Inner | None
    j: tuple[int, int]


def ten(
    a: int,
    b: str,
    c: float,
    d: bool,
    e: list[str],
    f: dict[str, int],
    g: dt.date,
    h: Level,
    i: Inner | None,
    j: tuple[int, int],
) -> Args:
    return Args(a, b, c, d, e, f, g, h, i, j)


TEN: Tool = tool(ten)


@settings(max_examples=100, deadline=None)
@given(args=st.from_type(Args).filter(_finite))
def test_invoke_round_trip(args: Args) -> None:
    text = json.dumps(to_jsonable(args))
    assert TEN.invoke(text) == args


@settings(max_examples=100, deadline=None)
@given(junk=st.dictionaries(st.text(max_size=5), st.none() | st.integers() | st.text(max_size=5)))
def test_random_objects_never_crash(junk: dict[str, Any]) -> None:
    from agentloop import ToolArgumentError

    try:
        TEN.invoke(junk)
    except ToolArgumentError as exc:
        assert exc.errors and all(line.startswith("$") for line in exc.errors)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=30))
def test_random_text_is_rejected_cleanly(text: str) -> None:
    from agentloop import ToolArgumentError

    with pytest.raises(ToolArgumentError):
        TEN.invoke(text or "x")


def test_module_level_tools_have_valid_schemas() -> None:
    check_module_tools(globals())
