"""What the installed distribution offers by name: the ``shell`` toolset (``run_command``).

Choosing it is the opt-in: ``Agent(tools=["shell"])`` or ``agentloop run -T shell``
gives the agent ``run_command``, and every call still needs approval.
"""

from __future__ import annotations

from typing import Any

from agentloop import Tool, ToolOption, Toolset, hookimpl


def build(**options: Any) -> list[Tool]:
    """Build an enabled ``run_command`` with these settings."""
    from . import ShellPlugin

    return [ShellPlugin(enabled=True, **options).run_command]


SHELL = Toolset(
    name="shell",
    description="Run a command (no shell, cleaned environment); every call needs approval.",
    build=build,
    options={
        "timeout": ToolOption(type=float, help="seconds before the process group is killed"),
        "max_output": ToolOption(type=int, help="bytes of output kept"),
        "cwd": ToolOption(type=str, help="working directory of commands"),
    },
    tools=("run_command",),
)


@hookimpl
def agentloop_register_tools() -> list[Any]:
    """Offer the ``shell`` toolset by name."""
    return [SHELL]
