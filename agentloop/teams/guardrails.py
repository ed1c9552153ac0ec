"""Guardrails: checks at three points of a run, each answering a typed outcome.

The points are the **input** (before the first model call), each **tool call** (after its
arguments validated, before it runs) and the **output** (before the run ends). A check
answers one of four outcomes:

* :class:`Allow` (or None): go on.
* :class:`Block` ``(reason)``: input: the run ends with a refusal (``reason`` is its output,
  ``stop_reason`` ``"guardrail"``, no model call); tool: the tool does not run and the model
  gets ``reason`` as the call's result; output: :class:`~agentloop.GuardrailBlocked` with the
  partial result.
* :class:`Replace` ``(value)``: redaction. Input: ``value`` (text) replaces the prompt the
  model sees; tool: ``value`` (a dict, validated again) replaces the call's arguments; output:
  ``value`` replaces the answer the user sees. The run records *that* it happened, not the
  original.
* :class:`Retry` ``(feedback)``: output only: ``feedback`` is sent to the model as a user
  message and it answers again, at most ``output_retries`` times (then ``GuardrailBlocked``).
  At a tool call it is answered like a block, with ``feedback`` as the result.

Guardrails come from two places, checked in this order: ``Agent(guardrails=[...])`` objects
(:class:`Guardrail` subclasses, or functions wrapped by :func:`input_guardrail`,
:func:`tool_guardrail`, :func:`output_guardrail`), which follow the active agent through
handoffs, and plugins implementing ``agentloop_guard_input``, ``agentloop_guard_tool_call``
and ``agentloop_guard_output``, which apply to the whole run. The first outcome that is not
``Allow`` decides; the guardrails after it are not asked.
A guardrail that raises, or answers anything but an outcome or None, ends the run with
:class:`~agentloop.GuardrailError` naming it: a broken guardrail never lets a run through.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConfigurationError

if TYPE_CHECKING:
    from agentloop.context import RunContext
    from agentloop.messages import ToolCall
    from agentloop.tools import Tool

__all__ = [
    "POINTS",
    "Allow",
    "Block",
    "Guardrail",
    "Outcome",
    "Replace",
    "Retry",
    "check_guardrails",
    "input_guardrail",
    "outcome_name",
    "output_guardrail",
    "tool_guardrail",
]

POINTS = ("input", "tool_call", "output")
"""Where a run is checked: before the first model call, before each tool call, before the end."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Allow:
    """Go on (the same as answering None)."""


@dataclass(frozen=True, slots=True)
class Block:
    """Stop what is checked; ``reason`` is what the user (input, output) or model (tool) reads.

    Attributes:
        reason: Why, in one sentence.
    """

    reason: str


@dataclass(frozen=True, slots=True)
class Replace:
    """Go on with ``value`` instead of what was checked (redaction).

    Attributes:
        value: The new prompt text (input), arguments dict (tool call) or answer (output).
    """

    value: Any


@dataclass(frozen=True, slots=True)
class Retry:
    """Ask the model again (output), telling it ``feedback``.

    Attributes:
        feedback: What the model is told about its answer.
    """

    feedback: str


Outcome = Allow | Block | Replace | Retry
_OUTCOMES = (Allow, Block, Replace, Retry)


def outcome_name(outcome: Outcome) -> str:
    """``"allow"``, ``"block"``, ``"replace"`` or ``"retry"`` (as steps and traces record it)."""
    return type(outcome).__name__.lower()


_POINTS: dict[type, frozenset[str]] = {}


class Guardrail:
    """A guardrail object for ``Agent(guardrails=[...])``: override the points you check.

    Each method answers an :class:`Outcome` or None (allow). ``name`` names it in steps,
    traces and errors (default: the class name). ``parallel=True`` (input checks only) runs
    :meth:`check_input` next to the first model call instead of before it; a block then
    cancels that call (a stream is closed; a plain request's answer is dropped). A parallel
    check may only allow or block: the model already has the prompt.
    """

    name: str = ""
    parallel: bool = False

    def check_input(self, context: RunContext, text: str) -> Outcome | None:
        """Check the prompt (the last user message's text) before the first model call."""
        return None

    def check_tool_call(
        self, context: RunContext, call: ToolCall, tool: Tool, arguments: dict[str, Any]
    ) -> Outcome | None:
        """Check one tool call (its validated arguments) before it runs."""
        return None

    def check_output(self, context: RunContext, output: Any) -> Outcome | None:
        """Check the answer (text, or the parsed ``output_type`` value) before the run ends."""
        return None

    def points(self) -> frozenset[str]:
        """The points this guardrail checks (the methods its class overrides)."""
        own = type(self)
        found = _POINTS.get(own)
        if found is None:  # once per class: a run asks at every point
            found = _POINTS[own] = frozenset(
                point
                for point in POINTS
                if getattr(own, f"check_{point}") is not getattr(Guardrail, f"check_{point}")
            )
        return found

    @property
    def label(self) -> str:
        """The guardrail's name as recorded."""
        return self.name or type(self).__name__

    def __repr__(self) -> str:
        return f"<guardrail {self.label!r}: {', '.join(sorted(self.points())) or 'no points'}>"


class _FunctionGuardrail(Guardrail):
    """A guardrail made from one function (see :func:`input_guardrail` and its siblings)."""

    def __init__(self, fn: Callable[..., Any], point: str, name: str | None, parallel: bool):
        if not callable(fn):
            raise ConfigurationError(f"a {point} guardrail must be a function, got {fn!r}")
        if parallel and point != "input":
            raise ConfigurationError(
                f"guardrail {name or fn.__name__!r}: only input guardrails can run in parallel"
            )
        self.fn = fn
        self.point = point
        self.name = str(name or getattr(fn, "__name__", type(fn).__name__))
        self.parallel = parallel
        self._context = "context" in inspect.signature(fn).parameters

    def points(self) -> frozenset[str]:
        return frozenset((self.point,))

    def _call(self, context: RunContext, *args: Any) -> Any:
        return self.fn(*args, context=context) if self._context else self.fn(*args)

    def check_input(self, context: RunContext, text: str) -> Outcome | None:
        return self._call(context, text) if self.point == "input" else None  # type: ignore[no-any-return]

    def check_tool_call(
        self, context: RunContext, call: ToolCall, tool: Tool, arguments: dict[str, Any]
    ) -> Outcome | None:
        if self.point != "tool_call":
            return None
        return self._call(context, call, arguments)  # type: ignore[no-any-return]

    def check_output(self, context: RunContext, output: Any) -> Outcome | None:
        return self._call(context, output) if self.point == "output" else None  # type: ignore[no-any-return]


def _decorator(point: str) -> Callable[..., Any]:
    def make(
        fn: Callable[..., Any] | None = None, *, name: str | None = None, parallel: bool = False
    ) -> Any:
        if fn is None:
            return lambda f: _FunctionGuardrail(f, point, name, parallel)
        return _FunctionGuardrail(fn, point, name, parallel)

    make.__name__ = f"{point}_guardrail"
    return make


input_guardrail = _decorator("input")
input_guardrail.__doc__ = """Make an input guardrail from ``fn(text)`` (or ``fn(text, context=...)``).

``@input_guardrail`` or ``@input_guardrail(name=..., parallel=True)``; ``fn`` answers an
outcome or None.
"""
tool_guardrail = _decorator("tool_call")
tool_guardrail.__doc__ = (
    """Make a tool-call guardrail from ``fn(call, arguments)`` (``context=`` optional)."""
)
output_guardrail = _decorator("output")
output_guardrail.__doc__ = (
    """Make an output guardrail from ``fn(output)`` (``context=`` optional)."""
)


def check_guardrails(items: Any) -> tuple[Guardrail, ...]:
    """``Agent(guardrails=...)`` checked: Guardrail objects only, each checking some point.

    Raises:
        ConfigurationError: An item is not a :class:`Guardrail` or checks no point.
    """
    if items is None:
        return ()
    if isinstance(items, Guardrail):
        items = [items]
    out: list[Guardrail] = []
    for item in items:
        if not isinstance(item, Guardrail):
            raise ConfigurationError(
                f"guardrails=[...] takes Guardrail objects (subclass agentloop.Guardrail, or "
                f"wrap a function with @input_guardrail, @tool_guardrail or @output_guardrail); "
                f"got {item!r}"
            )
        if not item.points():
            raise ConfigurationError(
                f"guardrail {item.label!r} checks nothing: override check_input, "
                "check_tool_call or check_output"
            )
        out.append(item)
    return tuple(out)


def as_outcome(value: Any, label: str) -> Outcome:
    """``value`` as an outcome (None is Allow); anything else is the guardrail's fault."""
    if value is None:
        return Allow()
    if isinstance(value, _OUTCOMES):
        return value
    from agentloop.errors import GuardrailError

    raise GuardrailError(
        f"guardrail {label!r} answered {value!r}; a guardrail answers Allow(), Block(reason), "
        "Replace(value), Retry(feedback) or None",
        guardrail=label,
    )
