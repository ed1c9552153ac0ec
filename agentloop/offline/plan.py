"""What the offline model says next: tool calls, an answer from tool results, or plain text.

The rules are listed in :mod:`agentloop.offline.model`; this module applies them to
validated wire-format messages and tools.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentloop.offline.args import Filled, fill
from agentloop.offline.followup import resolve_followup
from agentloop.offline.mathexpr import arithmetic_spans, read_arithmetic
from agentloop.offline.text import matches, split_parts, unreadable_numbers, words

__all__ = ["Reply", "decide", "message_text"]

#: A tool needs at least this score to be called under ``tool_choice="auto"``.
THRESHOLD = 1.0

_MATH = ("calculat", "comput", "evaluat", "math", "arithmet", "express", "calculator")
_SYNONYMS = (
    ("weath", "temperatur", "forecast", "rain", "sunny", "wind", "humid", "cold", "hot", "warm"),
    ("time", "clock", "date", "today", "now", "day", "hour", "tomorrow", "yesterday"),
    ("search", "look", "lookup", "web", "google", "query", "research"),
    ("convert", "conversion", "exchang", "currency"),
    ("add", "sum", "plus", "total"),
    ("multiply", "product", "times"),
    ("email", "mail", "send", "message"),
    ("file", "read", "open", "document"),
)
_NOISE = frozenset(
    words("return returns given value values result results string number object list function")
    + words("tool param parameter parameters args argument input output based specified provided")
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Reply:
    """The assistant turn the offline model will produce (before ``n``/``stop``/``max_tokens``).

    Attributes:
        content: The text (or JSON text), or None for a tool-call-only turn.
        calls: ``(name, arguments JSON)`` pairs, in order.
    """

    content: str | None
    calls: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class _Result:
    name: str
    arguments: Mapping[str, Any]
    content: str


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a wire message (text parts joined; anything else ignored)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping))
    return ""


def decide(
    messages: list[Mapping[str, Any]],
    *,
    tools: list[Mapping[str, Any]],
    tool_choice: Any,
    response_format: Mapping[str, Any] | None,
    parallel_tool_calls: bool = True,
) -> Reply:
    """Decide the next assistant turn from the conversation (deterministically).

    Args:
        messages: The validated conversation, in wire form.
        tools: The validated ``function`` definitions (``{"name", "description", "parameters"}``).
        tool_choice: ``"none"``, ``"auto"``, ``"required"`` or a named-function dict.
        response_format: The request's ``response_format``, or None.
        parallel_tool_calls: When false, at most one call is made per turn.

    Returns:
        The reply: tool calls, or text (JSON text under a JSON ``response_format``).
    """
    text, results = _current_turn(messages)
    # Under "auto" a number it cannot read is said, not guessed. A forced call is still made
    # (the request demands one), but its arguments never hold a misread number either.
    free = tool_choice is None or tool_choice == "auto"
    if tools and tool_choice != "none":
        # "and times 2?" applies to the previous result: planned as "84 * 2" (or declined)
        text, declined = resolve_followup(messages, text)
        if declined is not None and not results and free:
            return Reply(content=_formatted(declined, text, results, response_format))
    problems = _number_problems(text, tools) if tools and free and not results else []
    if problems:
        answer = (
            "I cannot read a number in your message, so I will not guess: "
            + "; ".join(problems)
            + "."
        )
        return Reply(content=_formatted(answer, text, results, response_format))
    if tools and tool_choice != "none":
        done = [(r.name, r.arguments) for r in results]
        calls = _choose_calls(text, tools, tool_choice, done)
        if calls:
            return Reply(content=None, calls=tuple(calls[:1] if not parallel_tool_calls else calls))
        missing = _missing_reply(text, tools) if free and not results else None
        if missing is not None:
            return Reply(content=_formatted(missing, text, results, response_format))
    answer = _answer(text, results, tools)
    return Reply(content=_formatted(answer, text, results, response_format))


def _missing_reply(text: str, tools: list[Mapping[str, Any]]) -> str | None:
    """What to say when the tool the message asks for needs a number it does not give."""
    fills = _Fills()
    tool, best = _best(text, tools, fills)
    missing = missing_numbers(tool, text, fills) if best >= THRESHOLD else []
    if not missing:
        return None
    names = ", ".join(repr(name) for name in missing)
    return (
        f"I cannot call {tool['name']}: your message gives no number for {names}, and I "
        "will not make one up. Say the number (e.g. 'add 2 and 3')."
    )


def _number_problems(text: str, tools: list[Mapping[str, Any]]) -> list[str]:
    """What keeps the numbers of ``text`` from being read, when a tool would get them.

    Arithmetic that holds an unreadable number (or a bare percentage) always counts;
    any unreadable number counts when a tool takes numbers.
    """
    problems = list(read_arithmetic(text).problems)
    if any(_takes_numbers(tool.get("parameters")) for tool in tools):
        problems += unreadable_numbers(text)
    return list(dict.fromkeys(problems))


def _takes_numbers(schema: Any) -> bool:
    """Whether a JSON schema has a number or integer anywhere in it."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            kind = node.get("type")
            kinds = kind if isinstance(kind, list) else [kind]
            if "number" in kinds or "integer" in kinds:
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _current_turn(messages: list[Mapping[str, Any]]) -> tuple[str, list[_Result]]:
    """The latest user text and the tool results that followed it."""
    start = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    if start >= 0:
        text = message_text(messages[start])
    else:
        text = next((message_text(m) for m in reversed(messages) if message_text(m)), "")
    calls: dict[str, tuple[str, Mapping[str, Any]]] = {}
    results: list[_Result] = []
    for message in messages[start + 1 :]:
        for call in message.get("tool_calls") or ():
            fn = call.get("function") or {}
            calls[str(call.get("id"))] = (str(fn.get("name") or ""), _loads(fn.get("arguments")))
        if message.get("role") == "tool":
            name, args = calls.get(str(message.get("tool_call_id")), (message.get("name"), {}))
            results.append(_Result(name=str(name or "tool"), arguments=args,
                                   content=message_text(message)))  # fmt: skip
    return text, results


def _loads(arguments: Any) -> Mapping[str, Any]:
    try:
        value = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        return {}
    return value if isinstance(value, Mapping) else {}


def _choose_calls(
    text: str,
    tools: list[Mapping[str, Any]],
    tool_choice: Any,
    done: list[tuple[str, Mapping[str, Any]]],
) -> list[tuple[str, str]]:
    """The calls to make now; a planned call whose result is already in this turn is skipped.

    The plan depends only on the user's text, so each planned call is made at
    most once per turn (no loops), and with ``parallel_tool_calls=False`` the
    calls are made one per step.
    """
    fills = _Fills()
    by_name = {str(t["name"]): t for t in tools}
    if isinstance(tool_choice, Mapping):
        name = str(tool_choice["function"]["name"])
        return [(name, fills.arguments(by_name[name], text))]
    planned = [(n, a) for n, a in plan_calls(text, tools, fills) if (n, json.loads(a)) not in done]
    if planned or tool_choice != "required":
        return planned
    best = max(tools, key=lambda t: score(t, text))  # first tool wins ties
    return [(str(best["name"]), fills.arguments(best, text))]


class _Fills:
    """The ``fill`` of each (tool, text) one request asks about, computed once.

    Planning asks about the same tool and text several times: whether a part,
    and whether the whole message, fills the tool's required arguments, then
    the arguments themselves. Lives for one request (keys are tool ids).
    """

    def __init__(self) -> None:
        self._done: dict[tuple[int, str], Filled] = {}

    def filled(self, tool: Mapping[str, Any], text: str) -> Filled:
        key = (id(tool), text)
        if key not in self._done:
            self._done[key] = fill(tool.get("parameters"), text, vocabulary=_vocabulary(tool))
        return self._done[key]

    def arguments(self, tool: Mapping[str, Any], text: str) -> str:
        """The call's arguments JSON."""
        value = self.filled(tool, text).value
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def complete(self, tool: Mapping[str, Any], text: str) -> bool:
        """Whether the text fills every required argument (false when none is required)."""
        required = set((tool.get("parameters") or {}).get("required") or ())
        return bool(required) and required <= self.filled(tool, text).from_text

    def fillable(self, tool: Mapping[str, Any], text: str) -> bool:
        """Whether the text fills every required argument (true when none is required)."""
        required = (tool.get("parameters") or {}).get("required") or ()
        return not required or self.complete(tool, text)


def plan_calls(text: str, tools: list[Mapping[str, Any]], fills: _Fills) -> list[tuple[str, str]]:
    """The calls a message asks for: one per part that maps to a tool, else the best tool.

    A part with no tool words of its own reuses the previous part's tool when
    both parts fill every required argument from their own text (``weather in
    Paris and London``). When a part leaves a required argument of its tool
    unfilled that the whole message fills (``the price is 80; apply a 25%
    discount``), or fewer than two calls result, the whole message is one request.
    """
    parts = split_parts(text)
    if len(parts) > 1:
        calls = _calls_per_part(parts, text, tools, fills)
        if len(calls) > 1:
            return calls
    tool, whole = _best(text, tools, fills)
    if whole < THRESHOLD or missing_numbers(tool, text, fills):
        return []  # a number the message does not give is never made up
    return [(str(tool["name"]), fills.arguments(tool, text))]


def missing_numbers(tool: Mapping[str, Any], text: str, fills: _Fills) -> list[str]:
    """The required number parameters of ``tool`` that ``text`` gives no number for."""
    params = tool.get("parameters") or {}
    props = params.get("properties") or {}
    have = fills.filled(tool, text).from_text
    return [
        str(name)
        for name in params.get("required") or ()
        if name not in have
        and isinstance(props.get(name), Mapping)
        and _takes_numbers({"type": props[name].get("type")})
        and "enum" not in props[name]
    ]


def _calls_per_part(
    parts: list[str], text: str, tools: list[Mapping[str, Any]], fills: _Fills
) -> list[tuple[str, str]]:
    """One call per part that maps to a tool; none when a part is only a piece of one request."""
    calls: list[tuple[str, str]] = []
    previous: tuple[Mapping[str, Any], str] | None = None
    for part in parts:
        tool, part_score = _best(part, tools, fills)
        if part_score >= THRESHOLD:
            if not fills.complete(tool, part) and fills.complete(tool, text):
                return []
            if missing_numbers(tool, part, fills):
                return []  # the part is not a request of its own: read the whole message
            previous = (tool, part)
            calls.append((str(tool["name"]), fills.arguments(tool, part)))
        elif previous and fills.complete(previous[0], part) and fills.complete(*previous):
            calls.append((str(previous[0]["name"]), fills.arguments(previous[0], part)))
    return list(dict.fromkeys(calls))


def _best(
    text: str, tools: list[Mapping[str, Any]], fills: _Fills
) -> tuple[Mapping[str, Any], float]:
    """The best-scoring tool; on a tie, the first whose required arguments the text fills.

    (``What tables are there?`` matches ``describe_table`` and ``list_tables``
    equally; only ``list_tables`` can be called with what the message says.)
    """
    scored = [(score(t, text), -i) for i, t in enumerate(tools)]
    best_score, neg_index = max(scored)
    tied = [tools[-n] for s, n in sorted(scored, reverse=True) if s == best_score]
    if len(tied) > 1 and best_score >= THRESHOLD:
        return next((t for t in tied if fills.fillable(t, text)), tied[0]), best_score
    return tools[-neg_index], best_score


def score(tool: Mapping[str, Any], text: str) -> float:
    """How well a tool matches a message.

    Each tool word (name words weigh 3, description words 1, parameter names
    and descriptions 0.5) counts its weight times the best matching message
    word's weight: 1 for a word of the message, 0.5 for a synonym of one, and 1
    for the arithmetic words a message with an arithmetic expression implies.
    """
    message = _message_weights(text)
    total = 0.0
    for word, weight in _tool_weights(tool).items():
        best = message.get(word) or max(
            (w for m, w in message.items() if matches(word, m)), default=0.0
        )
        total += weight * best
    return total


@functools.lru_cache(maxsize=256)
def _message_weights(text: str) -> dict[str, float]:
    """Message words with their weights (cached: every tool is scored against each part)."""
    weights = dict.fromkeys(words(text), 1.0)
    for group in _SYNONYMS:
        if any(matches(w, g) for w in list(weights) for g in group):
            for g in group:
                weights.setdefault(g, 0.5)
    if arithmetic_spans(text):
        weights.update(dict.fromkeys(_MATH, 1.0))
    return weights


def _tool_weights(tool: Mapping[str, Any]) -> dict[str, float]:
    weights: dict[str, float] = {}

    def add(text: str, weight: float) -> None:
        for word in words(text):
            if word not in _NOISE and not word.isdigit():
                weights[word] = max(weights.get(word, 0.0), weight)

    params = tool.get("parameters") or {}
    for name, prop in (params.get("properties") or {}).items():
        add(name, 0.5)
        add(str(prop.get("description") or "") if isinstance(prop, Mapping) else "", 0.5)
    add(str(tool.get("description") or ""), 1.0)
    add(str(tool["name"]), 3.0)
    return weights


def _vocabulary(tool: Mapping[str, Any]) -> list[str]:
    return [*words(str(tool["name"])), *words(str(tool.get("description") or ""))]


def _answer(text: str, results: list[_Result], tools: list[Mapping[str, Any]]) -> str:
    if len(results) == 1:
        result = results[0]
        content = result.content.strip()
        if not content:
            return f"{result.name} returned nothing."
        if "\n" in content or len(content) > 200:
            return f"{result.name} returned:\n{content}"
        return f"The result of {result.name} is {content.rstrip('.')}."
    if results:
        lines = [f"- {r.name}({_brief(r.arguments)}): {r.content.strip() or '(nothing)'}"
                 for r in results]  # fmt: skip
        return "Here are the results:\n" + "\n".join(lines)
    reply = (
        "This is the offline model, a deterministic rule-based stand-in with no language "
        f'model behind it, so it cannot really answer. It read your message as: "{text.strip()}".'
    )
    if tools:
        names = ", ".join(str(t["name"]) for t in tools)
        reply += f" None of the available tools ({names}) matched it."
    return reply


def _brief(arguments: Mapping[str, Any]) -> str:
    return ", ".join(v if isinstance(v, str) else json.dumps(v) for v in arguments.values())


def _formatted(
    answer: str, text: str, results: list[_Result], response_format: Mapping[str, Any] | None
) -> str:
    kind = (response_format or {}).get("type")
    if kind == "json_schema":
        spec = response_format["json_schema"]  # type: ignore[index]
        source = "\n".join([text, *(r.content for r in results)])
        value = fill(spec.get("schema") or {"type": "object"}, source).value
        return json.dumps(value, ensure_ascii=False)
    if kind == "json_object":
        return json.dumps({"answer": answer}, ensure_ascii=False)
    return answer
