"""Two agents: an assistant that hands arithmetic to a math specialist agent used as a tool.

Run it::

    agentloop run examples/two_agents.py "What is 12 * (3 + 4)?"
    python examples/two_agents.py "What is 2**16 - 1?"

``math_agent`` has the ``calculate`` tool and instructions to show its
working. ``agent`` (the one the CLI runs) has no calculator of its own: it
gets ``math_agent.as_tool(...)``, a tool named ``math_expert`` whose single
``prompt`` argument starts a complete run of the math agent, whose final
answer becomes the tool result. The sub-run gets the caller's ``deps``, has
its own step limit and transcript, and its tool calls are not part of the
outer run's transcript (a small plugin on the math agent reports them on
stderr).

On the offline model the assistant calls ``math_expert`` with the
expression from the question, the math agent calls
``calculate(expression="12 * (3 + 4)")`` and the answer is passed back up:
``The result of math_expert is The result of calculate is 84.``. The
offline model is a rule-based stand-in, hence the mechanical wording; a real
model writes a proper sentence and can split a word problem into several
questions for the expert.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from agentloop import Agent, RunFinished, ToolCallFinished, hookimpl

DEFAULT_PROMPT = "What is 12 * (3 + 4)?"
MODEL = os.environ.get("AGENTLOOP_MODEL", "offline")


class ShowInnerCalls:
    """Plugin for the math agent: reports each of its tool calls on stderr, indented."""

    @hookimpl
    def agentloop_stream_event(self, event: Any) -> None:
        """Report finished tool calls of the inner run."""
        if isinstance(event, ToolCallFinished):
            call, result = event.call, event.result
            print(
                f"    math agent: {call.name}({call.arguments}) -> {result.content}",
                file=sys.stderr,
            )


math_agent = Agent(
    model=MODEL,
    name="math",
    instructions=(
        "You are a math specialist. Work out the answer with the calculate tool (one "
        "call per expression), then reply with the result and the expression you used."
    ),
    tools=["calculate"],  # offered by the installed agentloop-calculator plugin
    plugins=[ShowInnerCalls()],
    max_steps=8,
)

agent = Agent(
    model=MODEL,
    name="assistant",
    instructions=(
        "You are a helpful assistant. You cannot do arithmetic yourself: for anything "
        "numeric, ask the math_expert tool, giving it the complete question, then answer "
        "the user in one or two sentences."
    ),
    tools=[
        math_agent.as_tool(
            name="math_expert",
            description="Ask a math specialist to calculate something exactly. Give the "
            "full question or expression.",
        )
    ],
    max_steps=8,
)


def main(argv: list[str]) -> int:
    """Answer the question in ``argv`` (or the default one), showing both agents' tool calls."""
    prompt = " ".join(argv) or DEFAULT_PROMPT
    for event in agent.stream(prompt):
        if isinstance(event, ToolCallFinished):
            print(f"tool call: {event.call.name}({event.call.arguments}) -> {event.result.content}")
        elif isinstance(event, RunFinished):
            print(event.result.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
