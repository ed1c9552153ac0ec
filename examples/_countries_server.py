"""The MCP server behind ``examples/mcp_countries.py``: country facts, written with the MCP SDK.

It is an ordinary stdio MCP server; any MCP client can use it::

    python examples/_countries_server.py
"""

from __future__ import annotations

from typing import TypedDict

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("countries")


class Facts(TypedDict):
    country: str
    capital: str
    population_millions: float
    currency: str


FACTS: dict[str, Facts] = {
    "france": {"country": "France", "capital": "Paris", "population_millions": 68.4,
               "currency": "EUR"},
    "japan": {"country": "Japan", "capital": "Tokyo", "population_millions": 124.0,
              "currency": "JPY"},
    "kenya": {"country": "Kenya", "capital": "Nairobi", "population_millions": 55.1,
              "currency": "KES"},
}  # fmt: skip


@server.tool()
def country_facts(country: str) -> Facts:
    """Capital, population and currency of a country, by its English name (e.g. "France")."""
    facts = FACTS.get(country.strip().lower())
    if facts is None:
        known = ", ".join(f["country"] for f in FACTS.values())
        raise ToolError(f"no facts about {country!r}; known countries: {known}")
    return facts


if __name__ == "__main__":
    server.run()
