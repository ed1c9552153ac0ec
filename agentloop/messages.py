"""Plain data shared by every layer: messages, tool calls, usage, responses, stream events.

Everything here is a frozen keyword-only dataclass. The chat API's wire
format (dicts) appears only in the ``to_dict``/``from_dict`` pairs, which the
HTTP boundary and the transcript use.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

__all__ = [
    "ChatResponse",
    "Choice",
    "Message",
    "ModelProfile",
    "ToolCall",
    "ToolResult",
    "Usage",
    "normalize_finish_reason",
    "plain_json",
    "unique_call_ids",
    "depth_exceeds",
]

Role = Literal["system", "developer", "user", "assistant", "tool"]
ROLES: tuple[str, ...] = get_args(Role)
ToolStatus = Literal["ok", "error", "denied", "answered", "timeout", "cancelled", "deferred"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCall:
    """One tool call requested by the model.

    Attributes:
        id: The call id; unique within its assistant message (synthesized when
            the server sent none or a duplicate).
        name: The tool name.
        arguments: The raw JSON text of the arguments, exactly as the model sent it.
        extra_content: Provider data to echo back unchanged (Gemini thought
            signatures), or None.
    """

    id: str
    name: str
    arguments: str = "{}"
    extra_content: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form used inside an assistant message's ``tool_calls``."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }
        if self.extra_content is not None:
            out["extra_content"] = plain_json(self.extra_content)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        """Build a call from its wire form (tolerates missing pieces)."""
        fn = data.get("function") or {}
        return cls(
            id=str(data.get("id") or ""),
            name=str(fn.get("name") or ""),
            arguments=arguments_text(fn.get("arguments")) or "{}",
            extra_content=data.get("extra_content"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Message:
    """One chat message in any role.

    Attributes:
        role: ``system``, ``developer``, ``user``, ``assistant`` or ``tool``.
        content: Text, a list of content parts, or None (assistant tool-call turns).
        tool_calls: The assistant's tool calls, in order.
        tool_call_id: For ``tool`` messages: the id of the call answered.
        name: For ``tool`` messages: the tool's name (Gemini requires it).
        refusal: A structured-output refusal, when the model sent one.
        extra_content: Provider data to echo back unchanged, or None.
    """

    role: Role
    content: str | list[Any] | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    refusal: str | None = None
    extra_content: Mapping[str, Any] | None = None

    @property
    def text(self) -> str:
        """The content as plain text (text parts joined; None as ``""``)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(str(p.get("text", "")) for p in self.content if isinstance(p, Mapping))

    def to_dict(self) -> dict[str, Any]:
        """Return the chat API's wire form; unset optional fields are left out."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        if self.refusal is not None:
            out["refusal"] = self.refusal
        if self.extra_content is not None:
            out["extra_content"] = plain_json(self.extra_content)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Build a message from its wire form.

        Raises:
            ValueError: ``data`` has no valid ``role``.
        """
        role = data.get("role")
        if role not in ROLES:
            raise ValueError(
                f"message has role {role!r}; expected one of system, developer, user, "
                "assistant, tool"
            )
        calls = tuple(ToolCall.from_dict(c) for c in data.get("tool_calls") or ())
        return cls(
            role=role,
            content=data.get("content"),
            tool_calls=calls,
            tool_call_id=data.get("tool_call_id"),
            name=data.get("name"),
            refusal=data.get("refusal"),
            extra_content=data.get("extra_content"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Usage:
    """Token counts and cost of one model call, or summed over a run.

    Attributes:
        prompt_tokens: Input tokens.
        completion_tokens: Output tokens (including reasoning where the server counts it).
        total_tokens: As reported by the server (trusted over the sum).
        reasoning_tokens: Reasoning tokens when reported, else None.
        requests: How many model calls this usage covers.
        cost: What the calls cost, in the currency of the provider's figure or the price table
            (US dollars for OpenRouter and LiteLLM), or None when unknown (never 0 for
            unknown). Summed over a run only while every call's cost is known: one call
            of unknown cost makes the sum None, since a partial sum is not the cost (each
            step's usage keeps its own). See ``docs/cost.md``.
        cached_tokens: Prompt tokens served from the provider's cache, when reported.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int | None = None
    requests: int = 1
    cost: Decimal | None = None
    cached_tokens: int | None = None

    def __add__(self, other: Usage) -> Usage:
        reasoning = None
        if self.reasoning_tokens is not None or other.reasoning_tokens is not None:
            reasoning = (self.reasoning_tokens or 0) + (other.reasoning_tokens or 0)
        cached = None
        if self.cached_tokens is not None or other.cached_tokens is not None:
            cached = (self.cached_tokens or 0) + (other.cached_tokens or 0)
        # a usage of no requests (a run's start) adds nothing, not an unknown cost
        if not self.requests:
            cost = other.cost
        elif not other.requests:
            cost = self.cost
        elif self.cost is None or other.cost is None:
            cost = None
        else:
            cost = self.cost + other.cost
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            reasoning_tokens=reasoning,
            requests=self.requests + other.requests,
            cost=cost,
            cached_tokens=cached,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form (``completion_tokens_details`` only when reasoning is known,
        ``prompt_tokens_details`` when cached tokens are, ``cost`` (a number, as OpenRouter
        sends it) when the cost is)."""
        out: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.reasoning_tokens is not None:
            out["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        if self.cached_tokens is not None:
            out["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        if self.cost is not None:
            out["cost"] = float(self.cost)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Usage | None:
        """Parse a wire ``usage`` object; None or a non-object gives None.

        ``cost`` is the provider's own figure (OpenRouter sends one in every usage object);
        a missing, negative or non-numeric one is unknown (None).
        """
        if not isinstance(data, Mapping):
            return None
        prompt = to_int(data.get("prompt_tokens"))
        completion = to_int(data.get("completion_tokens"))
        total = to_int(data.get("total_tokens")) or prompt + completion
        details = data.get("completion_tokens_details")
        reasoning = None
        if isinstance(details, Mapping) and details.get("reasoning_tokens") is not None:
            reasoning = to_int(details.get("reasoning_tokens"))
        cached = None
        prompt_details = data.get("prompt_tokens_details")
        if isinstance(prompt_details, Mapping) and prompt_details.get("cached_tokens") is not None:
            cached = to_int(prompt_details.get("cached_tokens"))
        cost = data.get("cost")
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=total,
            reasoning_tokens=reasoning,
            cost=None if cost is None else to_cost(cost),
            cached_tokens=cached,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Choice:
    """One choice of a response (``n`` > 1 gives several)."""

    index: int = 0
    message: Message
    finish_reason: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatResponse:
    """A complete chat-completions response.

    Attributes:
        id: The response id ("" when the server sent none).
        model: The model that answered.
        created: Unix time of creation.
        choices: Every choice, in order; ``message`` and ``finish_reason`` are the first one's.
        usage: Token counts, or None when the server sent none.
        raw: The decoded response body (for streams: the equivalent assembled body).
    """

    id: str = ""
    model: str = ""
    created: int = 0
    choices: tuple[Choice, ...]
    usage: Usage | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> Message:
        """The first choice's message."""
        return self.choices[0].message

    @property
    def finish_reason(self) -> str | None:
        """The first choice's normalized finish reason."""
        return self.choices[0].finish_reason

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The first choice's tool calls: whether the model wants tools is decided here."""
        return self.choices[0].message.tool_calls


def normalize_finish_reason(value: Any) -> str | None:
    """Lower-case a finish reason and map provider spellings to the OpenAI set.

    Args:
        value: What the server sent (``"STOP"``, ``"MAX_TOKENS"``, None, ...).

    Returns:
        One of ``stop``, ``length``, ``tool_calls``, ``content_filter``,
        ``function_call``, another lower-cased string, or None.
    """
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    return _FINISH_ALIASES.get(text, text)


_FINISH_ALIASES = {
    "max_tokens": "length",
    "model_length": "length",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
    "tool_use": "tool_calls",
    "function_calls": "tool_calls",
    "safety": "content_filter",
    "recitation": "content_filter",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolResult:
    """The outcome of one tool call, as sent back to the model.

    Attributes:
        call_id: The id of the call answered.
        name: The tool's name.
        content: The text the model sees.
        is_error: Whether the call failed (bad arguments, exception, denial, timeout).
        status: ``ok``, ``error``, ``denied``, ``answered`` (a hook answered
            without running the tool), ``timeout``, ``cancelled``, or ``deferred`` (awaiting
            an approval decided later: the call stays unanswered and the run ends).
        value: The Python value the tool returned (not sent; None on error).
    """

    call_id: str
    name: str
    content: str
    is_error: bool = False
    status: ToolStatus = "ok"
    value: Any = None

    def to_message(self) -> Message:
        """Return the ``tool`` message that answers the call."""
        return Message(role="tool", content=self.content, tool_call_id=self.call_id, name=self.name)


# -- stream events -------------------------------------------------------------------------


# -- the model interface the loop talks to --------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelProfile:
    """What a model endpoint supports; the loop and providers adapt requests to it.

    Attributes:
        supports_json_schema: ``response_format`` of type ``json_schema`` is accepted.
        supports_strict: ``strict: true`` on tools and json_schema is accepted.
        supports_parallel_tool_calls: ``parallel_tool_calls`` may be sent.
        context_tokens: The context window in tokens, when known: the default of
            ``Agent(max_context_tokens=...)`` (older history is trimmed to fit).
        supports_file_parts: ``{"type": "file"}`` content parts (PDF attachments) are
            accepted; images (``image_url`` parts) need no flag.
    """

    supports_json_schema: bool = True
    supports_strict: bool = True
    supports_parallel_tool_calls: bool = True
    context_tokens: int | None = None
    supports_file_parts: bool = False


def unique_call_ids(calls: Sequence[ToolCall], prefix: str = "call") -> tuple[ToolCall, ...]:
    """Give every call a unique id: the one place a missing or repeated id is repaired.

    Ids are kept as received when present and unique. A missing id becomes
    ``{prefix}_{position}``; a repeated one gets ``_{position}`` appended (then ``_``
    until unique). Each call can then be answered exactly once.

    Args:
        calls: One assistant message's tool calls, in order.
        prefix: The start of a synthesized id.

    Returns:
        The calls, the same objects where nothing changed.
    """
    if all(c.id for c in calls) and len({c.id for c in calls}) == len(calls):
        return tuple(calls)
    used: set[str] = set()
    out = []
    for pos, call in enumerate(calls):
        final = call.id or f"{prefix}_{pos}"
        if final in used:
            final = f"{final}_{pos}"
            while final in used:
                final += "_"
        used.add(final)
        out.append(call if final == call.id else dataclasses.replace(call, id=final))
    return tuple(out)


def arguments_text(value: Any) -> str:
    """Tool-call arguments as JSON text: text as is, None as ``""``, decoded JSON re-encoded."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def to_int(value: Any) -> int:
    """``value`` as an int; anything unusable as 0."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def to_cost(value: Any) -> Decimal | None:
    """``value`` (a number or a numeric string, e.g. a cost header) as a Decimal, or None when
    it is not a finite number >= 0 (an unusable figure is an unknown cost, never 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        cost = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return None
    return cost if cost.is_finite() and cost >= 0 else None


def plain_json(value: Any) -> Any:
    """Deep-copy mappings and sequences into plain dicts and lists (the wire form).

    Args:
        value: Provider data such as ``extra_content`` (possibly read-only mappings).

    Returns:
        The same data made of dicts, lists and scalars only.
    """
    if isinstance(value, Mapping):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    return value


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests dicts and lists deeper than ``limit`` levels.

    Iterative, so it never recurses however deep the value is: every bound on the nesting
    of JSON from a model, a server or a client (tool arguments, response bodies, SSE data,
    ``agentloop serve`` requests) is this one check.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
