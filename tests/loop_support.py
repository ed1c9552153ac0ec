"""Tools and helpers shared by the loop, agent and hook tests (not a test module)."""

from __future__ import annotations

import threading
import time
from typing import Any

from agentloop import Agent, RunContext, tool
from agentloop.testing import ScriptedModel

CALLS: list[tuple[str, Any]] = []
_lock = threading.Lock()


def record(name: str, value: Any) -> None:
    with _lock:
        CALLS.append((name, value))


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    record("add", (a, b))
    return a + b


@tool
def boom(message: str) -> str:
    """Always fail.

    Args:
        message: The error message.
    """
    raise ValueError(message)


@tool
def sleepy(seconds: float, tag: str) -> str:
    """Sleep, then return the tag.

    Args:
        seconds: How long to sleep.
        tag: Returned as is.
    """
    time.sleep(seconds)
    record("sleepy", tag)
    return tag


@tool
def whoami(ctx: RunContext) -> str:
    """Return the run id and deps.

    Args:
        ctx: The run context (not shown to the model).
    """
    ctx.state["seen"] = ctx.state.get("seen", 0) + 1
    return f"{ctx.run_id}:{ctx.deps}:{ctx.state['seen']}"


def make_agent(script: list[Any], **kwargs: Any) -> tuple[Agent, ScriptedModel]:
    """Return an agent on a fresh scripted model (installed plugins not loaded)."""
    model = ScriptedModel(script)
    kwargs.setdefault("load_plugins", False)
    return Agent(model, **kwargs), model


def tool_messages(messages: Any) -> list[dict[str, Any]]:
    return [m for m in messages if m["role"] == "tool"]
