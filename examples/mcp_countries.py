"""An agent that uses the tools of an MCP server it starts itself.

Run it::

    agentloop run examples/mcp_countries.py 'What is the capital of "Japan"?'
    python examples/mcp_countries.py 'What is the capital of "Japan"?'

The agent starts ``examples/_countries_server.py`` (an MCP server written with
the official ``mcp`` SDK) as a subprocess on its first run, speaks MCP with it
over stdio, and offers the server's ``country_facts`` tool to the model with
the server's own input schema. The server stops when the agent is closed
(``with agent:``) or the process exits. Needs ``pip install agentloop-mcp``.

On the offline model (the default) the agent calls
``country_facts(country="Japan")`` and shows the facts; a real model
(``AGENTLOOP_MODEL=openai:gpt-4o-mini``) answers in a sentence.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from agentloop_mcp import MCPServer

from agentloop import Agent, RunFinished, ToolCallFinished

DEFAULT_PROMPT = 'What is the capital of "Japan"?'

countries = MCPServer.stdio(
    sys.executable,
    args=[str(Path(__file__).resolve().parent / "_countries_server.py")],
    name="countries",
    timeout=20,
)

agent = Agent(
    model=os.environ.get("AGENTLOOP_MODEL", "offline"),
    name="geographer",
    instructions="Answer questions about countries with the country_facts tool; be brief.",
    plugins=[countries],
)


def main(argv: list[str]) -> int:
    """Answer the question in ``argv`` (or the default one), showing each tool call."""
    prompt = " ".join(argv) or DEFAULT_PROMPT
    with agent:  # stops the MCP server at the end
        for event in agent.stream(prompt):
            if isinstance(event, ToolCallFinished):
                print(
                    f"tool call: {event.call.name}({event.call.arguments}) -> {event.result.content}"
                )
            elif isinstance(event, RunFinished):
                print(event.result.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
