"""Context that fits: trim (or compact) a request's history to the model's token budget.

The budget is ``Agent(max_context_tokens=...)``, else the model profile's ``context_tokens``;
without either nothing is trimmed. Before each model request the built-in
:class:`ContextWindow` plugin estimates the request's size (about 4 characters per token, plus
the tool definitions and the reply's ``max_tokens``) and, when it is over the budget, leaves
out the oldest parts of the history, by these rules:

* system and developer messages (the instructions) are never left out;
* the latest user message (the prompt) and the newest step after it are never left out;
* an assistant message with tool calls and the ``tool`` results answering them go together;
* older conversation turns (a user message and everything up to the next one) go whole,
  oldest first; then the oldest steps of the current turn.

With ``Agent(compact_history=True)`` what is left out is replaced by one system message
holding a summary, written by the model or by a plugin's ``agentloop_compact_history``.
Only the request is changed: ``RunResult.messages`` and sessions keep the whole history. Each
change of what is left out is reported once through ``agentloop_context_trimmed`` (the run log
records it as a ``context_trimmed`` event).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agentloop.hookspecs import hookimpl
from agentloop.tokens import estimate_tokens, estimate_tools_tokens

__all__ = ["ContextWindow", "context_budget", "estimate_tokens", "trim_messages"]

PINNED_ROLES = ("system", "developer")
SUMMARY_PREFIX = "Summary of the earlier conversation (older messages were compacted): "
SUMMARY_INSTRUCTIONS = (
    "Summarize the conversation below for the assistant that continues it: keep every fact, "
    "number, name, decision, tool result and open question it will need; be concise."
)
_STATE = "agentloop.context"


def trim_messages(
    messages: Sequence[Mapping[str, Any]], budget: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Leave out the oldest history until ``messages`` fit ``budget`` (rules: module docstring).

    Args:
        messages: The request's messages (wire-format dicts), oldest first.
        budget: Tokens the messages may take (as :func:`estimate_tokens` counts).

    Returns:
        ``(kept, dropped)``, both in their original order. ``kept`` may still be over the
        budget when only protected messages are left.
    """
    sizes = [estimate_tokens([m]) for m in messages]
    total = sum(sizes)
    dropped: set[int] = set()
    for group in _droppable_groups(messages):
        if total <= budget:
            break
        dropped.update(group)
        total -= sum(sizes[i] for i in group)
    kept = [dict(m) for i, m in enumerate(messages) if i not in dropped]
    return kept, [dict(messages[i]) for i in sorted(dropped)]


def _droppable_groups(messages: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Index groups that may be left out, in the order to leave them out (oldest first)."""
    units = _units(messages)
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    older = [u for u in units if u[0] < last_user]
    current = [u for u in units if u[0] > last_user]
    turns: list[list[int]] = []
    for unit in older:  # whole turns: a user message starts a new one
        if not turns or messages[unit[0]].get("role") == "user":
            turns.append([])
        turns[-1].extend(unit)
    return turns + current[:-1]


def _units(messages: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Non-pinned messages in units: an assistant's tool calls with their results, or one message."""
    units: list[list[int]] = []
    open_calls: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role")
        if role in PINNED_ROLES:
            continue
        call_id = message.get("tool_call_id")
        if role == "tool" and units and call_id in open_calls:
            units[-1].append(i)
            open_calls.discard(call_id)
            continue
        units.append([i])
        calls = message.get("tool_calls") or () if role == "assistant" else ()
        open_calls = {str(c.get("id")) for c in calls if isinstance(c, Mapping)}
    return units


def context_budget(
    agent: Any, request: Mapping[str, Any], learned: int | None = None
) -> int | None:
    """Tokens the request's messages may take: the context window minus tools and the reply.

    ``learned`` is the window a server named when it refused a request as too long
    (``max_context_tokens="auto"``, set by the loop): it wins over any configured one.
    """
    window = learned or getattr(agent, "max_context_tokens", None)
    if window is None or window == "auto":
        window = getattr(
            getattr(getattr(agent, "model", None), "profile", None), "context_tokens", None
        )
    if window is None:
        return None
    reply = request.get("max_completion_tokens") or request.get("max_tokens") or 0
    tools = request.get("tools")
    fixed = estimate_tools_tokens(tools)
    return max(int(window) - int(reply) - fixed, 0)


class ContextWindow:
    """Built-in plugin: fit each request's messages into the agent's context budget."""

    @hookimpl
    def agentloop_model_request(self, context: Any, request: dict[str, Any]) -> None:
        """Trim (or compact) ``request["messages"]`` when it is over the budget."""
        budget = context_budget(context.agent, request, context.state.get(_STATE, {}).get("window"))
        messages = request.get("messages")
        if budget is None or not messages or estimate_tokens(messages) <= budget:
            return
        kept, dropped = trim_messages(messages, budget)
        if not dropped:
            return
        summary = None
        if getattr(context.agent, "compact_history", False):
            summary = self._summary(context, dropped, budget)
            if summary:
                head = next(
                    (i for i, m in enumerate(kept) if m.get("role") not in PINNED_ROLES), len(kept)
                )
                kept.insert(head, {"role": "system", "content": SUMMARY_PREFIX + summary})
        messages[:] = kept
        self._report(context, dropped, summary, budget)

    @hookimpl(trylast=True)
    def agentloop_compact_history(
        self, context: Any, messages: list[dict[str, Any]], budget: int
    ) -> str | None:
        """The default compaction: ask the run's model for a summary (one extra call)."""
        transcript = "\n".join(_line(m) for m in messages)
        response = context.agent.model.create(
            messages=[
                {"role": "system", "content": SUMMARY_INSTRUCTIONS},
                {"role": "user", "content": transcript},
            ]
        )
        return response.message.text or None

    @staticmethod
    def _summary(context: Any, dropped: list[dict[str, Any]], budget: int) -> str | None:
        """The summary of ``dropped``, asked for once per run and set of dropped messages."""
        state = context.state.setdefault(_STATE, {})
        if state.get("summarized") == len(dropped):
            return state.get("summary")  # type: ignore[no-any-return]
        summary = context.agent.hook.agentloop_compact_history(
            context=context, messages=dropped, budget=budget
        )
        state["summarized"], state["summary"] = len(dropped), summary
        return summary  # type: ignore[no-any-return]

    @staticmethod
    def _report(
        context: Any, dropped: list[dict[str, Any]], summary: str | None, budget: int
    ) -> None:
        """Tell ``agentloop_context_trimmed`` what is left out, once per change."""
        state = context.state.setdefault(_STATE, {})
        if state.get("reported") == len(dropped):
            return
        new = dropped[state.get("reported", 0) :]
        state["reported"] = len(dropped)
        action = "summarized" if summary else "left out"
        reason = (
            f"{len(dropped)} older message(s) {action} to fit the context budget of {budget} "
            "tokens (max_context_tokens)"
        )
        context.agent.hook.agentloop_context_trimmed(
            context=context, dropped_messages=new, summary=summary, reason=reason
        )


def _line(message: Mapping[str, Any]) -> str:
    """One message as a transcript line for the summarizer."""
    role = message.get("role")
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    calls = message.get("tool_calls") or ()
    if calls:
        names = ", ".join(
            f"{(c.get('function') or {}).get('name')}({(c.get('function') or {}).get('arguments')})"
            for c in calls
        )
        text = f"{text or ''} [calls: {names}]".strip()
    return f"{role}: {text}"
