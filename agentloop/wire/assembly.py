"""Assembling chat-completion messages from chunks and bodies (internal).

The pieces :class:`~agentloop.streaming.ChatStream` and :func:`parse_response`
share: per-choice state, the tool-call merge rules (by
``index``, else the indexless fallback; ``id``/``name`` set once;
``arguments`` concatenated), id synthesis (``call_<pos>``, ``<id>_<pos>``)
and finish-reason normalization (tool calls present means ``tool_calls``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentloop.deltas import ToolCallDelta
from agentloop.errors import APIStatusError
from agentloop.messages import (
    ROLES,
    ChatResponse,
    Choice,
    Message,
    ToolCall,
    Usage,
    arguments_text,
    normalize_finish_reason,
    to_int,
    unique_call_ids,
)
from agentloop.wire.errors import error_detail, error_message, make_status_error, status_from_error

__all__ = [
    "ChoiceState",
    "call_entries",
    "deep_merge",
    "final_finish",
    "parse_response",
    "text_of",
    "to_str",
]

_FUNCTION_CALL_SLOT = -1  # the deprecated ``function_call`` delta gets its own slot


class _Call:
    """One tool call being assembled."""

    __slots__ = ("args", "extra", "has_index", "id", "name", "pos")

    def __init__(self, *, has_index: bool, pos: int) -> None:
        self.pos = pos
        self.id = ""
        self.name = ""
        self.args: list[str] = []
        self.extra: dict[str, Any] | None = None
        self.has_index = has_index

    def args_complete(self) -> bool:
        try:
            json.loads("".join(self.args))
        except ValueError:
            return False
        return True


REASONING_FIELDS = ("reasoning_content", "reasoning")
"""Where servers put a reasoning model's thinking: DeepSeek's name, then vLLM's (and OpenRouter's)."""


class ChoiceState:
    """Everything assembled so far for one choice."""

    __slots__ = (
        "by_index", "calls", "extra", "finish", "index", "reasoning", "refusal", "role", "text",
    )  # fmt: skip

    def __init__(self, index: int) -> None:
        self.index = index
        self.role = "assistant"
        self.text: list[str] = []
        self.refusal: list[str] | None = None
        self.calls: list[_Call] = []
        self.by_index: dict[int, _Call] = {}
        self.finish: str | None = None
        self.extra: dict[str, Any] | None = None
        self.reasoning: dict[str, list[str]] | None = None

    def add_reasoning(self, delta: Mapping[str, Any]) -> None:
        """Collect a delta's reasoning pieces, under the field name the server used."""
        for name in REASONING_FIELDS:
            piece = delta.get(name)
            if piece and isinstance(piece, str):
                if self.reasoning is None:
                    self.reasoning = {}
                self.reasoning.setdefault(name, []).append(piece)

    def merge_call(self, entry: Mapping[str, Any]) -> ToolCallDelta | None:
        """Merge one ``delta.tool_calls`` entry; return the event for it, if any."""
        fn = entry.get("function")
        fn = fn if isinstance(fn, Mapping) else {}
        new_id = to_str(entry.get("id"))
        new_name = to_str(fn.get("name"))
        call = self._slot(entry.get("index"), new_id, new_name)
        set_id = set_name = None
        if new_id and not call.id:
            call.id = set_id = new_id
        if new_name and not call.name:
            call.name = set_name = new_name
        fragment = arguments_text(fn.get("arguments"))
        if fragment:
            call.args.append(fragment)
        if isinstance(entry.get("extra_content"), Mapping):
            call.extra = deep_merge(call.extra, entry["extra_content"])
        if set_id is None and set_name is None and not fragment:
            return None
        return ToolCallDelta(
            index=call.pos,
            id=set_id,
            name=set_name,
            arguments_delta=fragment,
            choice_index=self.index,
        )

    def _slot(self, index: Any, new_id: str, new_name: str) -> _Call:
        if isinstance(index, int) and not isinstance(index, bool):
            call = self.by_index.get(index)
            if call is not None and not _starts_new_call(call, new_id, new_name):
                return call
            call = _Call(has_index=True, pos=len(self.calls))
            self.by_index[index] = call
            self.calls.append(call)
            return call
        last = self.calls[-1] if self.calls else None
        if (
            last is not None
            and not last.has_index
            and (not new_id or not last.id or new_id == last.id)
            and not (new_name and last.name and last.args_complete())
        ):
            return last
        call = _Call(has_index=False, pos=len(self.calls))
        self.calls.append(call)
        return call

    def message(self) -> Message:
        """Build the final message (ids synthesized, content normalized)."""
        calls = _finalize_calls([(c.id, c.name, "".join(c.args), c.extra) for c in self.calls])
        refusal = "".join(self.refusal or ()) or None
        return Message(
            role=self.role,  # type: ignore[arg-type]
            content=_content("".join(self.text), bool(calls)),
            tool_calls=calls,
            refusal=refusal,
            extra_content=self.extra,
        )


def _starts_new_call(call: _Call, new_id: str, new_name: str) -> bool:
    # Ollama reuses index 0 for parallel calls and tells them apart only by id.
    return bool(new_id and call.id and new_id != call.id and new_name and call.args_complete())


# -- non-streamed bodies ------------------------------------------------------------------


def parse_response(body: Mapping[str, Any]) -> ChatResponse:
    """Parse a non-streamed ``chat.completion`` body into a :class:`ChatResponse`.

    ``finish_reason`` is normalized (tool calls present means ``tool_calls``),
    missing or duplicated tool-call ids are synthesized, ``content`` null or
    ``""`` is tolerated, and ``extra_content`` is kept.

    Args:
        body: The decoded JSON body.

    Returns:
        The response; ``.raw`` is ``body`` itself.

    Raises:
        APIStatusError: The body is an error object (an error inside an HTTP
            200), or has no choices; the subclass follows the error's code.
    """
    if isinstance(body, list) or (isinstance(body, Mapping) and body.get("error")):
        detail = error_detail(body)
        raise make_status_error(status_from_error(detail) or 200, body, prefix="200 body: ")
    raw_choices = body.get("choices") if isinstance(body, Mapping) else None
    if not isinstance(raw_choices, list) or not raw_choices:
        raise APIStatusError(
            "the server's response has no choices (not a chat.completion body): "
            f"{error_message(body)[:200]}",
            status_code=200,
            body=body,
        )
    choices = tuple(
        _parse_choice(c if isinstance(c, Mapping) else {}, pos) for pos, c in enumerate(raw_choices)
    )
    return ChatResponse(
        id=to_str(body.get("id")),
        model=to_str(body.get("model")),
        created=to_int(body.get("created")),
        choices=choices,
        usage=Usage.from_dict(body.get("usage")),
        raw=body,
    )


def _parse_choice(choice: Mapping[str, Any], pos: int) -> Choice:
    msg = choice.get("message") or choice.get("delta") or {}
    if not isinstance(msg, Mapping):
        msg = {}
    entries = msg.get("tool_calls")
    raw_calls = [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []
    if not raw_calls and isinstance(msg.get("function_call"), Mapping):
        raw_calls = [{"function": msg["function_call"]}]
    calls = _finalize_calls(
        [
            (
                to_str(c.get("id")),
                to_str((c.get("function") or {}).get("name")),
                arguments_text((c.get("function") or {}).get("arguments")),
                c.get("extra_content") if isinstance(c.get("extra_content"), Mapping) else None,
            )
            for c in raw_calls
        ]
    )
    refusal = msg.get("refusal")
    content = msg.get("content")
    if isinstance(content, list):
        refusal = refusal or "".join(
            str(p.get("refusal", ""))
            for p in content
            if isinstance(p, Mapping) and p.get("type") == "refusal"
        )
    role = msg.get("role") if msg.get("role") in ROLES else "assistant"
    index = choice.get("index")
    finish = choice.get("finish_reason")
    return Choice(
        index=index if isinstance(index, int) and not isinstance(index, bool) else pos,
        message=Message(
            role=role,  # type: ignore[arg-type]
            content=_content(text_of(content), bool(calls)),
            tool_calls=calls,
            refusal=refusal if isinstance(refusal, str) and refusal else None,
            extra_content=msg.get("extra_content")
            if isinstance(msg.get("extra_content"), Mapping)
            else None,
        ),
        finish_reason=final_finish(finish if isinstance(finish, str) else None, bool(calls)),
    )


# -- helpers ----------------------------------------------------------------------------


def call_entries(delta: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return a delta's tool-call entries (a legacy ``function_call`` becomes one)."""
    entries = delta.get("tool_calls")
    if isinstance(entries, list):
        return [e for e in entries if isinstance(e, Mapping)]
    fc = delta.get("function_call")
    if isinstance(fc, Mapping):
        return [{"index": _FUNCTION_CALL_SLOT, "function": fc}]
    return []


def _finalize_calls(
    calls: list[tuple[str, str, str, Mapping[str, Any] | None]],
) -> tuple[ToolCall, ...]:
    made = [
        ToolCall(id=call_id, name=name, arguments=args or "{}", extra_content=extra)
        for call_id, name, args, extra in calls
    ]
    return unique_call_ids(made)


def final_finish(raw: str | None, has_calls: bool) -> str:
    """Normalize a finish reason; tool calls present (or not) decide ``tool_calls``/``stop``."""
    reason = normalize_finish_reason(raw)
    if has_calls and reason in (None, "stop", "function_call"):
        return "tool_calls"
    if not has_calls and reason in (None, "tool_calls", "function_call"):
        return "stop"
    return reason or "stop"


def _content(text: str, has_calls: bool) -> str | None:
    if text:
        return text
    return None if has_calls else ""


def text_of(content: Any) -> str:
    """Return text content, joining the text parts of a content-part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, Mapping) and p.get("type", "text") == "text"
        )
    return ""


def deep_merge(base: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``new`` into a copy of ``base``, recursing into nested dicts (later keys win)."""
    out = dict(base or {})
    for key, value in new.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = deep_merge(old, value)
        else:
            out[key] = value
    return out


def to_str(value: Any) -> str:
    """``value`` as a string; None as ``""``."""
    return value if isinstance(value, str) else "" if value is None else str(value)
