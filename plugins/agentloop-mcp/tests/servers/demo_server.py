"""A real MCP server for the tests, written with the SDK's own server API (``MCPServer``).

Run ``python demo_server.py`` for stdio, or ``python demo_server.py --http PORT``
for streamable HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated, Literal, TypedDict

from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Image
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

server = MCPServer("demo")


class Item(BaseModel):
    sku: str = Field(description="Stock keeping unit, e.g. KB-1")
    quantity: int = Field(ge=1, description="How many")


class Address(BaseModel):
    city: str
    country: Literal["FR", "DE", "US"]


class Forecast(TypedDict):
    city: str
    celsius: float
    conditions: list[str]


@server.tool()
def place_order(
    items: Annotated[list[Item], Field(min_length=1, description="The items")],
    ship_to: Address,
    note: str | None = None,
) -> str:
    """Place an order for some items, shipped to an address."""
    count = sum(item.quantity for item in items)
    return f"ordered {count} item(s) for {ship_to.city}, {ship_to.country}" + (
        f" ({note})" if note else ""
    )


@server.tool()
def fail(reason: str) -> str:
    """A tool that always fails with the given reason."""
    raise ToolError(f"refused: {reason}")


@server.tool()
async def slow(seconds: float) -> str:
    """Wait that many seconds, then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def forecast(city: str) -> Forecast:
    """The weather forecast of a city, as structured content."""
    return {"city": city, "celsius": 21.5, "conditions": ["sunny", "dry"]}


@server.tool()
def picture() -> Image:
    """A small PNG picture."""
    return Image(data=b"\x89PNG\r\n\x1a\n" + b"\0" * 92, format="png")


@server.tool()
def big(chars: int) -> str:
    """Return a text of that many characters."""
    return "x" * chars


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def crash() -> str:
    """Exit the server process in the middle of the call."""
    print("fatal: the demo server crashes on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
async def grow(ctx: Context) -> str:
    """Add the tool 'extra' and tell the client the tool list changed."""

    def extra() -> str:
        """A tool added at run time."""
        return "extra!"

    server.add_tool(extra)
    await ctx.notify_tools_changed()
    return "grown"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
