"""Codebase explorer: answers questions about a folder of code with read-only file tools.

Run it::

    agentloop run examples/codebase_explorer.py 'Search the code for "def agentloop_call_tool"'
    python examples/codebase_explorer.py 'List the files in "plugins"'
    EXPLORE_ROOT=~/src/myproject python examples/codebase_explorer.py "Where is the config loaded?"

The folder is ``EXPLORE_ROOT`` (default: the ``agentloop`` package next to
this example). The ``agentloop-files`` plugin confines the tools
(``list_files``, ``read_file``, ``search_files``) to that folder and, without
``allow_write=True``, offers no way to change it.

On the offline model, quoted text in the question becomes the tool's
argument: ``Search the code for "def agentloop_call_tool"`` calls
``search_files(query="def agentloop_call_tool")`` and answers with the
matching ``path:line: text`` rows; ``Read "events.py"`` calls ``read_file``.
The offline model cannot read code and draw conclusions; a real model can
("How does the loop decide when to stop?"), chaining searches and reads.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from agentloop_files import FilesPlugin

from agentloop import Agent, RunFinished, ToolCallFinished

DEFAULT_PROMPT = 'Search the code for "def agentloop_call_tool"'
ROOT = Path(os.environ.get("EXPLORE_ROOT") or Path(__file__).resolve().parent.parent / "agentloop")

agent = Agent(
    model=os.environ.get("AGENTLOOP_MODEL", "offline"),
    name="explorer",
    instructions=(
        f"You answer questions about the code in the folder {ROOT.name!r}. Use search_files "
        "to find where things are defined or used, list_files to see the layout and "
        "read_file to read the relevant parts before you answer. Cite file paths and line "
        "numbers. Say so when the code does not answer the question."
    ),
    plugins=[FilesPlugin(ROOT)],
    max_steps=12,
)


def _short(text: str, limit: int = 160) -> str:
    flat = " | ".join(text.splitlines())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def main(argv: list[str]) -> int:
    """Answer the question in ``argv`` (or the default one), showing each tool call."""
    prompt = " ".join(argv) or DEFAULT_PROMPT
    for event in agent.stream(prompt):
        if isinstance(event, ToolCallFinished):
            content = _short(event.result.content)
            print(f"tool call: {event.call.name}({event.call.arguments}) -> {content}")
        elif isinstance(event, RunFinished):
            print(event.result.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
