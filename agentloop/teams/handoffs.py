"""Handoffs: an agent passes the run to a specialist, who answers the user itself.

``Agent(handoffs=[billing, handoff(refunds, history="last_user")])`` gives the model one
tool, :data:`TRANSFER_TOOL`, whose ``agent_name`` parameter is a JSON-schema ``enum`` of the
targets' names (their descriptions are in the tool's description). The call is validated
like any other, so an invented name is answered to the model as an error result. After the
turn that made the call, the run goes on with the target's spec (its instructions, tools,
model, settings, output type and guardrails) on the same transcript, seen through the
handoff's ``history`` filter:

* ``"full"`` (default): everything but the old instructions;
* ``"last_user"``: only the last user message before the transfer;
* a callable ``f(messages) -> messages`` over the non-system messages.

What stays the run's: its id, its limits (the first agent's; ``max_steps`` counts every
agent's model calls), its plugins (the first agent's: observers, policy hooks and plugin
guardrails see the whole run) and ``max_handoffs``.

Configuration, decided here: a target must be an ``Agent`` (or :func:`handoff` of one); one
agent's targets must have distinct names, and every agent reachable through handoffs must
have a name no other reachable agent has (the enum, the steps and the trace name agents).
Cycles (a specialist that can hand back to triage) are allowed: each is bounded at run time
by ``max_handoffs`` (:class:`~agentloop.HandoffLimitExceeded`) and by ping-pong detection
(A to B to A to B: :class:`~agentloop.HandoffLoopDetected`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConfigurationError
from agentloop.tools import Tool

if TYPE_CHECKING:
    from agentloop.context import RunContext

__all__ = [
    "DEFAULT_MAX_HANDOFFS",
    "HANDOFF_STATE",
    "TRANSFER_TOOL",
    "Handoff",
    "check_handoff_graph",
    "check_handoffs",
    "check_max_handoffs",
    "filter_history",
    "handoff",
    "transfer_tool",
]

TRANSFER_TOOL = "transfer_to_agent"
"""The name of the one tool through which a model hands the run to another agent."""

HANDOFF_STATE = "agentloop.handoff"
"""The ``context.state`` key where the transfer tool leaves the name of the agent asked for."""

DEFAULT_MAX_HANDOFFS = 5
"""Handoffs one run may make unless ``Agent(max_handoffs=...)`` says otherwise."""

_HISTORIES = ("full", "last_user")


@dataclass(frozen=True, kw_only=True, slots=True)
class Handoff:
    """One agent a run may be handed to, and how much of the transcript it sees.

    Attributes:
        agent: The target :class:`~agentloop.Agent`.
        history: ``"full"``, ``"last_user"`` or ``f(messages) -> messages``.
        description: What the model is told the agent is for (default: the agent's
            ``description``, else the first line of its instructions).
    """

    agent: Any
    history: str | Callable[[list[dict[str, Any]]], list[dict[str, Any]]] = "full"
    description: str | None = None

    @property
    def name(self) -> str:
        """The target agent's name (the value of the tool's enum)."""
        return str(self.agent.name)

    def about(self) -> str:
        """The target's description for the model (one line)."""
        text = self.description or getattr(self.agent, "description", None)
        if not text:
            text = (getattr(self.agent, "instructions", None) or "").strip().split("\n")[0]
        return text or f"the {self.name} agent"


def handoff(
    agent: Any,
    *,
    history: str | Callable[[list[dict[str, Any]]], list[dict[str, Any]]] = "full",
    description: str | None = None,
) -> Handoff:
    """A handoff to ``agent`` with a history filter (see the module docstring).

    Raises:
        ConfigurationError: ``agent`` is not an Agent, or ``history`` is not a known filter.
    """
    _check_agent(agent)
    if not callable(history) and history not in _HISTORIES:
        raise ConfigurationError(
            f"handoff({agent.name!r}, history={history!r}): history is 'full', 'last_user' or "
            "a function of the messages"
        )
    return Handoff(agent=agent, history=history, description=description)


def _is_agent(obj: Any) -> bool:
    # duck-typed (this layer does not import the agent): what a handoff uses of one
    return callable(getattr(obj, "spec", None)) and isinstance(getattr(obj, "name", None), str)


def _check_agent(obj: Any) -> None:
    if not _is_agent(obj):
        raise ConfigurationError(
            f"a handoff target must be an Agent (or handoff(agent, ...)), got "
            f"{type(obj).__name__} {obj!r:.80}"
        )


def check_handoffs(items: Iterable[Any] | None, owner: str) -> tuple[Handoff, ...]:
    """``Agent(handoffs=...)`` as :class:`Handoff` objects, checked.

    Raises:
        ConfigurationError: An item is not an Agent or a Handoff, or two share a name.
    """
    if items is None:
        return ()
    out: list[Handoff] = []
    for item in items:
        if not isinstance(item, Handoff):
            _check_agent(item)
            item = Handoff(agent=item)
        out.append(item)
    seen: dict[str, Handoff] = {}
    for item in out:
        if item.name in seen:
            raise ConfigurationError(
                f"agent {owner!r} has two handoff targets named {item.name!r}; give each "
                "agent its own name (Agent(name=...))"
            )
        seen[item.name] = item
    return tuple(out)


def check_handoff_graph(root: Any) -> None:
    """Check that every agent reachable from ``root`` through handoffs has its own name.

    Raises:
        ConfigurationError: Two different agents share a name.
    """
    named: dict[str, Any] = {root.name: root}
    todo = [root]
    seen = {id(root)}
    while todo:
        agent = todo.pop()
        for item in getattr(agent, "handoffs", ()):
            target = item.agent
            other = named.setdefault(target.name, target)
            if other is not target:
                raise ConfigurationError(
                    f"two different agents are named {target.name!r} among {root.name!r} and "
                    "the agents it can hand off to; give each its own name (Agent(name=...))"
                )
            if id(target) not in seen:
                seen.add(id(target))
                todo.append(target)


def transfer_tool(handoffs: Sequence[Handoff]) -> Tool:
    """The one tool whose ``agent_name`` enum lists ``handoffs``; calling it asks for a switch.

    The switch happens after the turn (see :mod:`agentloop.loop.handoffs`); a second
    transfer in the same turn is answered with an error.
    """
    names = [h.name for h in handoffs]
    listing = "\n".join(f"- {h.name}: {h.about()}" for h in handoffs)

    def transfer(agent_name: str, context: RunContext) -> str:
        asked = context.state.setdefault(HANDOFF_STATE, agent_name)
        if asked != agent_name:
            return f"error: this turn already transferred to {asked!r}; one transfer per turn"
        return f"Transferred to {agent_name}; that agent answers from here on."

    return Tool(
        name=TRANSFER_TOOL,
        description=(
            "Hand the conversation to another agent, who answers the user from here on. "
            f"Agents:\n{listing}"
        ),
        parameters={
            "type": "object",
            "properties": {
                "agent_name": {
                    "type": "string",
                    "enum": names,
                    "description": "The agent to hand the conversation to.",
                }
            },
            "required": ["agent_name"],
            "additionalProperties": False,
        },
        fn=transfer,
        takes_context=True,
        sequential=True,
    )


def filter_history(item: Handoff, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The non-system ``messages`` the target sees, through ``item.history``.

    Raises:
        ConfigurationError: A history function failed or returned something else than a list
            of message dicts (the function's fault, named).
    """
    rest = [m for m in messages if m.get("role") not in ("system", "developer")]
    history = item.history
    if history == "full":
        return rest
    if history == "last_user":
        last = next((m for m in reversed(rest) if m.get("role") == "user"), None)
        return [last] if last is not None else []
    assert callable(history)  # checked by handoff()
    try:
        kept = history([dict(m) for m in rest])
    except Exception as exc:
        raise ConfigurationError(
            f"the history filter of the handoff to {item.name!r} raised {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(kept, list) or not all(isinstance(m, dict) for m in kept):
        raise ConfigurationError(
            f"the history filter of the handoff to {item.name!r} must return a list of "
            f"message dicts, got {type(kept).__name__}"
        )
    return kept


def check_max_handoffs(value: Any) -> int:
    """``max_handoffs`` checked: an integer >= 0.

    Raises:
        ConfigurationError: It is not.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"max_handoffs must be an integer >= 0, got {value!r}")
    return value
