"""Tool.format_result and async tools."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import decimal
import enum
import pathlib
import threading
import uuid
from typing import Any, NamedTuple

import pytest
from tools_support import check_every_schema, check_module_tools  # noqa: F401

from agentloop import Tool, ToolError, tool


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Item:
    name: str
    when: dt.date
    tags: set[str] = dataclasses.field(default_factory=set)


class Pair(NamedTuple):
    a: int
    b: str


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain text", "plain text"),
        ("", ""),
        (None, ""),
        (3, "3"),
        (1.5, "1.5"),
        (True, "true"),
        ({"a": [1, None], "é": "ü"}, '{"a":[1,null],"é":"ü"}'),
        ([1, "x"], '[1,"x"]'),
        ((1, 2), "[1,2]"),
        (Color.RED, '"red"'),
        (dt.date(2024, 1, 2), '"2024-01-02"'),
        (dt.datetime(2024, 1, 2, 3, 4, 5), '"2024-01-02T03:04:05"'),
        (dt.time(3, 4), '"03:04:00"'),
        (decimal.Decimal("1.10"), '"1.10"'),
        (uuid.UUID(int=1), '"00000000-0000-0000-0000-000000000001"'),
        (pathlib.PurePosixPath("/a/b"), '"/a/b"'),
        (
            Item("x", dt.date(2024, 1, 2), {"b", "a"}),
            '{"name":"x","when":"2024-01-02","tags":["a","b"]}',
        ),
        (Pair(1, "x"), '{"a":1,"b":"x"}'),
        ({Color.RED: 1, 2: "two"}, '{"red":1,"2":"two"}'),
        (float("nan"), '"NaN"'),
        ([float("inf")], '["Infinity"]'),
    ],
)
def test_format_result(value: Any, text: str) -> None:
    assert Tool.format_result(value) == text


@pytest.mark.parametrize("value", [b"bytes", bytearray(b"x"), {"nested": b"x"}, object()])
def test_format_result_refuses_values_without_json_form(value: Any) -> None:
    with pytest.raises(ToolError, match="cannot be sent to the model"):
        Tool.format_result(value)


def test_format_result_of_pydantic_model() -> None:
    pydantic = pytest.importorskip("pydantic")

    class M(pydantic.BaseModel):
        when: dt.date

    assert Tool.format_result(M(when=dt.date(2024, 1, 2))) == '{"when":"2024-01-02"}'


@tool
async def slow_add(a: int, b: int) -> int:
    """Add after a pause.

    Args:
        a: First.
        b: Second.
    """
    await asyncio.sleep(0)
    return a + b


def test_async_tool_runs_to_completion() -> None:
    assert slow_add.function_schema is not None and slow_add.function_schema.is_async
    assert slow_add.invoke('{"a": 1, "b": 2}') == 3


def test_async_tool_from_a_thread_without_loop() -> None:
    out: list[int] = []
    thread = threading.Thread(target=lambda: out.append(slow_add.invoke({"a": 2, "b": 2})))
    thread.start()
    thread.join()
    assert out == [4]


def test_async_tool_inside_a_running_loop_uses_a_worker_thread() -> None:
    async def main() -> int:
        return slow_add.invoke({"a": 3, "b": 4})

    assert asyncio.run(main()) == 7


def test_ainvoke_awaits_in_the_current_loop() -> None:
    @tool
    def sync_tool(x: int) -> int:
        return x

    async def main() -> tuple[int, int]:
        return await slow_add.ainvoke({"a": 1, "b": 1}), await sync_tool.ainvoke({"x": 5})

    assert asyncio.run(main()) == (2, 5)


def test_calling_an_async_tool_directly_returns_a_coroutine() -> None:
    coro = slow_add(1, 1)
    assert asyncio.run(coro) == 2


def test_module_level_tools_have_valid_schemas() -> None:
    check_module_tools(globals())
