"""Handoffs in the run loop: after a turn that called the transfer tool, go on as its target.

The run keeps its id, transcript, limits, usage, steps and plugins (the first agent's
manager: every observer sees the whole run); it takes the target's spec for everything
else (model, instructions, tools, settings, output type, guardrails, its own handoffs),
from the next model call on. The target sees the transcript through the handoff's history
filter; ``RunResult.messages`` keeps all of it. See :mod:`agentloop.teams.handoffs`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConfigurationError, HandoffLimitExceeded, HandoffLoopDetected
from agentloop.events import StepFinished
from agentloop.plugins.manager import collect_tools
from agentloop.result import Step
from agentloop.teams.handoffs import HANDOFF_STATE, TRANSFER_TOOL, filter_history, transfer_tool

if TYPE_CHECKING:
    from agentloop.events import RunEvent
    from agentloop.runspec import RunSpec
    from agentloop.tools import Tool

__all__ = ["Handoffs", "tools_of"]


def tools_of(spec: RunSpec) -> dict[str, Tool]:
    """The tools a run of ``spec`` offers: the agent's, and the transfer tool of its handoffs.

    Raises:
        ConfigurationError: One of the agent's tools is named like the transfer tool.
    """
    tools = collect_tools(spec)
    if spec.handoffs:
        if TRANSFER_TOOL in tools:
            raise ConfigurationError(
                f"agent {spec.name!r} has a tool named {TRANSFER_TOOL!r} and handoffs; that name "
                "is the handoff tool's: rename the tool"
            )
        tools[TRANSFER_TOOL] = transfer_tool(spec.handoffs)
    return tools


class Handoffs:
    """The handoffs of one run: who is active, how often the run was handed on."""

    def __init__(self, run: Any) -> None:
        self.run: Any = run  # the RunState (not imported: it imports this module)
        self.chain = [run.spec.name]
        self.limit = run.spec.max_handoffs
        self.hooked = bool(run.hook.agentloop_handoff.get_hookimpls())

    def switch_if_asked(self) -> Iterator[RunEvent]:
        """After a tool turn: hand the run to the agent the transfer tool was asked for."""
        run = self.run
        name = run.context.state.pop(HANDOFF_STATE, None)
        if name is None:
            return
        source = run.spec
        item = next((h for h in source.handoffs if h.name == name), None)
        if item is None:  # pragma: no cover - the enum keeps the tool to these names
            return
        started_at, started = time.time(), time.perf_counter()
        if len(self.chain) - 1 >= self.limit:
            raise HandoffLimitExceeded(
                f"agent {source.name!r} asked to hand off to {name!r}, but the run already "
                f"handed off {self.limit} times (max_handoffs={self.limit}): "
                f"{' -> '.join(self.chain)}"
            )
        self.chain.append(name)
        chain = self.chain
        if len(chain) >= 4 and chain[-1] == chain[-3] and chain[-2] == chain[-4]:
            raise HandoffLoopDetected(
                f"agents {chain[-2]!r} and {chain[-1]!r} keep handing the run to each other: "
                f"{' -> '.join(chain)}; give one of them the answer, or their instructions "
                "a clearer split"
            )
        target = item.agent.spec()
        tools = tools_of(target)
        messages = run.context.messages
        kept = filter_history(item, list(messages))
        prefix = [{"role": "system", "content": target.instructions}] if target.instructions else []
        cut = len(messages)
        run.use_spec(
            target.replace(plugin_manager=source.plugin_manager, limits=source.limits),
            tools,
            view=lambda current: [*(dict(m) for m in prefix), *kept, *current[cut:]],
        )
        call_id = _transfer_call_id(messages)
        step = Step(
            kind="handoff",
            index=run.context.step,
            started_at=started_at,
            duration=time.perf_counter() - started,
            call_id=call_id,
            from_agent=source.name,
            agent=target.name,
        )
        run.steps.append(step)
        if self.hooked:
            run.hook.agentloop_handoff(
                context=run.context, from_agent=source.name, to_agent=target.name
            )
        yield run.emit(StepFinished(step=step, kind="handoff"))


def _transfer_call_id(messages: Any) -> str | None:
    for message in reversed(messages):
        if message.get("role") == "tool" and message.get("name") == TRANSFER_TOOL:
            return message.get("tool_call_id")  # type: ignore[no-any-return]
        if message.get("role") == "assistant":
            for call in message.get("tool_calls") or ():
                if (call.get("function") or {}).get("name") == TRANSFER_TOOL:
                    return call.get("id")  # type: ignore[no-any-return]
    return None
