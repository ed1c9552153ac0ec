"""What the installed distribution offers by name: the ``sqlite`` toolset.

``Agent(tools=["sqlite"], tool_options={"sqlite": {"database": "shop.db"}})``
or ``agentloop run -T sqlite --tool-option sqlite.database=shop.db`` gives the
agent ``list_tables``, ``describe_table`` and ``query`` on that database, read-only.
"""

from __future__ import annotations

from typing import Any

from agentloop import Tool, ToolOption, Toolset, hookimpl


def build(database: str, **options: Any) -> list[Tool]:
    """Build the SQL tools on ``database``."""
    from . import SQLitePlugin

    return list(SQLitePlugin(database, **options).tools)


SQLITE = Toolset(
    name="sqlite",
    description="Read-only SQL on one SQLite database (list tables, describe, query).",
    build=build,
    options={
        "database": ToolOption(type=str, help="path of the SQLite file", required=True),
        "max_rows": ToolOption(type=int, help="most rows a query returns"),
        "timeout": ToolOption(type=float, help="seconds a statement may run"),
        "max_cell_chars": ToolOption(type=int, help="longer values are shortened"),
    },
    tools=("list_tables", "describe_table", "query"),
)


@hookimpl
def agentloop_register_tools() -> list[Any]:
    """Offer the ``sqlite`` toolset by name."""
    return [SQLITE]
