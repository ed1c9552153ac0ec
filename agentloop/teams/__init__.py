"""Agents that work together: handoffs between agents, and guardrails on a run.

See ``docs/teams.md`` and ``docs/guardrails.md``.
"""

from __future__ import annotations

from agentloop.teams.guardrails import (
    Allow,
    Block,
    Guardrail,
    Outcome,
    Replace,
    Retry,
    input_guardrail,
    output_guardrail,
    tool_guardrail,
)
from agentloop.teams.handoffs import TRANSFER_TOOL, Handoff, handoff

__all__ = [
    "TRANSFER_TOOL",
    "Allow",
    "Block",
    "Guardrail",
    "Handoff",
    "Outcome",
    "Replace",
    "Retry",
    "handoff",
    "input_guardrail",
    "output_guardrail",
    "tool_guardrail",
]
