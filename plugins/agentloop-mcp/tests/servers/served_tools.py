"""agentloop tools served over MCP by the tests (``agentloop mcp serve served_tools.py``)."""

from agentloop import ToolError, tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first integer.
        b: The second integer.
    """
    return a + b


@tool(requires_approval=True)
def wipe(confirm: bool) -> str:
    """Wipe everything (needs approval).

    Args:
        confirm: Must be true.
    """
    return "wiped"


@tool
def explode() -> str:
    """Always fails."""
    raise ToolError("kaboom")
