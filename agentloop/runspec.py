"""The run seam: :class:`RunSpec`, a frozen snapshot of what one run needs, and its :class:`RunLimits`.

:class:`~agentloop.Agent` builds a spec for every run (:meth:`Agent.spec`); the loop
(:func:`agentloop.loop.engine.run_events`), the async and batch drivers, and the coming
resume and handoff code take one. Nothing reaches into an agent's private state: a driver
that needs another model (a cancellable, rate-limited one) makes a changed copy with
:meth:`RunSpec.replace`. A handoff is "continue this transcript with another spec"; a
resume is "rebuild the transcript, then continue with the spec".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from agentloop.errors import ConfigurationError
from agentloop.pricing import check_max_cost

if TYPE_CHECKING:
    import pluggy

    from agentloop.pricing import Price
    from agentloop.protocols import Model
    from agentloop.tools import Tool

__all__ = ["DEFAULT_TOOL_TIMEOUT", "LIMIT_NAMES", "RunLimits", "RunSpec"]

DEFAULT_TOOL_TIMEOUT = 300.0
"""Seconds a tool call may take when neither the tool nor the agent says (``None`` opts out)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RunLimits:
    """The bounds of one run, checked when created (a bad value is a ConfigurationError).

    Like ``Agent(max_steps=..., ...)``, whose keyword arguments build one; pass
    ``Agent(limits=RunLimits(...))`` to share one set of limits between agents.

    Attributes:
        max_steps: Most model calls per run, then :class:`~agentloop.MaxStepsExceeded`.
        max_tokens_total: Token budget per run (None: no budget), then
            :class:`~agentloop.TokenBudgetExceeded`.
        max_tool_retries: Failed calls (errors and timeouts) each tool may have per run
            before :class:`~agentloop.ToolRetriesExceeded`; a tool's ``max_retries`` wins.
        output_retries: How often an answer failing ``output_type`` is sent back.
        max_repeated_calls: Identical calls (name and arguments, key order ignored) allowed
            per run before :class:`~agentloop.LoopDetected`; None disables the guard.
        max_tool_calls_per_turn: Most calls run from one model turn (None: no cap).
        tool_timeout: Default per-call timeout in seconds (a tool's ``timeout`` wins);
            None for no timeout.
        max_result_chars: Cap on each tool result sent to the model (None: no cap).
        max_parallel_tools: Most tool calls of a run running at once.
        max_context_tokens: The model's context window in tokens (None: the profile's);
            ``"auto"``: the profile's, and a request the server refuses as too long
            (:class:`~agentloop.ContextWindowExceeded`) is trimmed to the window it names
            and sent once more.
        max_cost: Money budget per run (None: no budget), checked before every model call
            from the prompt's estimate and the model's price, then
            :class:`~agentloop.CostBudgetExceeded` (see ``docs/cost.md``).
    """

    max_steps: int = 20
    max_tokens_total: int | None = None
    max_tool_retries: int = 3
    output_retries: int = 2
    max_repeated_calls: int | None = 3
    max_tool_calls_per_turn: int | None = 64
    tool_timeout: float | None = DEFAULT_TOOL_TIMEOUT
    max_result_chars: int | None = 20_000
    max_parallel_tools: int = 8
    max_context_tokens: int | Literal["auto"] | None = None
    max_cost: Decimal | None = None

    def __post_init__(self) -> None:
        if self.max_cost is not None:
            object.__setattr__(self, "max_cost", check_max_cost(self.max_cost))
        for name, least, optional in _COUNTS:
            if name == "max_context_tokens" and getattr(self, name) == "auto":
                continue
            _check_count(name, getattr(self, name), least, optional=optional)
        timeout = self.tool_timeout
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
        ):
            raise ConfigurationError(
                f"tool_timeout must be a positive number of seconds or None, got {timeout!r}"
            )

    def replace(self, **changes: Any) -> RunLimits:
        """A copy with ``changes`` (checked like a new one)."""
        return dataclasses.replace(self, **changes)

    def timeout_for(self, tool: Any) -> float | None:
        """The seconds a call of ``tool`` may take: its own ``timeout``, else ``tool_timeout``."""
        timeout = getattr(tool, "timeout", None)
        return timeout if timeout is not None else self.tool_timeout

    def retries_for(self, tool: Any) -> int:
        """The failed calls ``tool`` may have: its own ``max_retries``, else ``max_tool_retries``."""
        retries = getattr(tool, "max_retries", None)
        return retries if retries is not None else self.max_tool_retries


# name, least value, whether None is allowed (None means "no limit")
_COUNTS: tuple[tuple[str, int, bool], ...] = (
    ("max_steps", 1, False),
    ("max_tokens_total", 1, True),
    ("max_tool_retries", 0, False),
    ("output_retries", 0, False),
    ("max_repeated_calls", 1, True),
    ("max_tool_calls_per_turn", 1, True),
    ("max_result_chars", 1, True),
    ("max_parallel_tools", 1, False),
    ("max_context_tokens", 1, True),
)
LIMIT_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RunLimits))
"""The keyword arguments of ``Agent(...)`` that are fields of :class:`RunLimits`."""


def _check_count(name: str, value: Any, least: int, *, optional: bool) -> None:
    """Raise ConfigurationError unless ``value`` is an int >= ``least`` (or None if optional)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        allowed = " or None" if optional else ""
        raise ConfigurationError(f"{name} must be an integer >= {least}{allowed}, got {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class RunSpec:
    """What one run needs, frozen: model, tools, limits, hooks, instructions and settings.

    Built by :meth:`agentloop.Agent.spec`; read by the loop and every driver of runs.

    Attributes:
        model: The model the run talks to (``create``/``stream``).
        plugin_manager: The agent's pluggy manager (its hooks and tools).
        limits: The run's bounds.
        instructions: The system message, or None.
        name: The agent's name.
        tools: The agent's own tools (plugins may add more when the run starts).
        tool_selection: Tool names chosen in ``tools=[...]`` and their options (or None).
        tool_choice: The wire form of ``tool_choice`` for the first request.
        reset_tool_choice: Send ``auto`` after a forced tool call.
        model_settings: Extra request fields (``temperature``, ...).
        output_spec: How the final answer is parsed (``agentloop.loop.output.OutputSpec``) or None.
        stream_mode: None: ``run`` does not stream, ``stream`` does; True/False: both do / do not.
        compact_history: Summarize the history left out of the context window.
        agent: The object the run's :class:`~agentloop.RunContext` shows as ``context.agent``
            and that ``agentloop_tools(agent)`` is given (the :class:`~agentloop.Agent`).
        handoffs: The agents this one may hand the run to
            (:class:`~agentloop.teams.Handoff`; see ``docs/teams.md``).
        max_handoffs: Most handoffs per run, then :class:`~agentloop.HandoffLimitExceeded`.
        guardrails: The agent's :class:`~agentloop.Guardrail` objects (``docs/guardrails.md``).
        price: The price of ``model`` (:class:`~agentloop.Price`) for calls whose provider
            reports no cost, and for ``limits.max_cost``; None: unknown.
    """

    model: Model
    plugin_manager: pluggy.PluginManager
    limits: RunLimits = field(default_factory=RunLimits)
    instructions: str | None = None
    name: str = "agent"
    tools: tuple[Tool, ...] = ()
    tool_selection: Any = None
    tool_choice: str | Mapping[str, Any] | None = "auto"
    reset_tool_choice: bool = True
    model_settings: Mapping[str, Any] = field(default_factory=dict)
    output_spec: Any = None
    stream_mode: bool | None = None
    compact_history: bool = False
    agent: Any = None
    handoffs: tuple[Any, ...] = ()
    max_handoffs: int = 5
    guardrails: tuple[Any, ...] = ()
    price: Price | None = None

    @property
    def hook(self) -> Any:
        """``plugin_manager.hook``: the relay that calls every plugin's implementations."""
        return self.plugin_manager.hook

    def replace(self, **changes: Any) -> RunSpec:
        """A copy with ``changes``, e.g. ``spec.replace(model=wrapped)`` for a driver's model."""
        return dataclasses.replace(self, **changes)
