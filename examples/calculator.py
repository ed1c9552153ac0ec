"""Calculator agent: answers arithmetic questions by calling the ``calculate`` tool.

Run it::

    agentloop run examples/calculator.py "What is 12 * (3 + 4)?"
    python examples/calculator.py "What is 12 * (3 + 4)?"

On the offline model (the default when no model is configured) the agent
calls ``calculate(expression="12 * (3 + 4)")`` and answers
``The result of calculate is 84.``. The offline model is a rule-based
stand-in: it finds the arithmetic expression in your message and passes it
on, so it handles "What is 2**10?" or "Compute (1 + 2) * 3, then 10 / 4", but
not word problems. A real model (``AGENTLOOP_MODEL=openai:gpt-4o-mini``, or
``--model`` with the CLI) also turns word problems into expressions and
answers in a sentence.

The ``calculate`` tool comes from the ``agentloop-calculator`` plugin, which
offers it by name: ``tools=["calculate"]`` asks for it (and for nothing else
the installed plugins offer). The same agent without a file:
``agentloop run -T calculate "What is 12 * (3 + 4)?"``.
"""

from __future__ import annotations

import os
import sys

from agentloop import Agent, RunFinished, ToolCallFinished

DEFAULT_PROMPT = "What is 12 * (3 + 4)?"

agent = Agent(
    model=os.environ.get("AGENTLOOP_MODEL", "offline"),
    name="calculator",
    instructions=(
        "You are a careful calculator. For every computation, call the calculate tool "
        "with a plain arithmetic expression; never do arithmetic in your head. "
        "Answer with the result and, for word problems, one sentence of explanation."
    ),
    tools=["calculate"],  # offered by the installed agentloop-calculator plugin
)


def main(argv: list[str]) -> int:
    """Answer the question in ``argv`` (or the default one), showing each tool call."""
    prompt = " ".join(argv) or DEFAULT_PROMPT
    for event in agent.stream(prompt):
        if isinstance(event, ToolCallFinished):
            print(f"tool call: {event.call.name}({event.call.arguments}) -> {event.result.content}")
        elif isinstance(event, RunFinished):
            print(event.result.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
