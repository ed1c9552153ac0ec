"""Request and response quirks decided by a provider's profile (internal; docs/providers.md).

What a tool-call-only assistant turn carries as ``content`` (``null`` or
``""``), how a server says it rejected that, which requests a server cannot
stream, and the key hint an authentication failure gets. Used by
:class:`agentloop.providers.registry.ChatModel`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from agentloop.deltas import StreamEvent, ToolCallDelta
from agentloop.errors import APIStatusError
from agentloop.messages import ChatResponse
from agentloop.streaming import DONE, ChatStream
from agentloop.wire.assembly import REASONING_FIELDS
from agentloop.wire.build import completion_as_chunk
from agentloop.wire.errors import is_request_validation_error

if TYPE_CHECKING:
    from agentloop.protocols import ChatStreamLike
    from agentloop.providers.specs import ProviderSpec

__all__ = [
    "REASONING_KEY",
    "AdaptedStream",
    "adapt_messages",
    "empty_tool_content",
    "enforce_tool_choice",
    "first_call_only",
    "not_a_later_call",
    "reasoning_of",
    "with_reasoning",
    "fix_messages",
    "key_hint",
    "rejects_tool_call_content",
    "replay_as_stream",
    "response_fix",
    "streams_badly",
]

# What a server says when it will not take the content of a message: a validation error
# that names ``content`` (or Gemini's ``parts``), or the message itself (``messages.3``).
_NAMES_CONTENT = re.compile(r"(?i)\bcontent\b|\bparts?\b|messages?[\s.\[\]'\",()-]*\d")


REASONING_KEY = "agentloop_reasoning"
"""Where a response's reasoning waits in ``extra_content`` until it is echoed (internal)."""


def enforce_tool_choice(spec: ProviderSpec, params: dict[str, Any]) -> dict[str, Any]:
    """Enforce the tool choices the server accepts but ignores (``params`` is changed).

    ``none`` sends no tools at all; a named tool narrows ``tools`` to that one tool (and
    sends ``required`` in its place when the server obeys that but not a name). The
    choice is enforced the same way when the server rejects ``tool_choice`` outright.
    ``required`` cannot be enforced by the request alone: where it is ignored or refused it
    is sent as ``auto`` (docs/probe.md). Where ``auto`` itself is refused (vLLM started
    without ``--enable-auto-tool-choice``: no choice counts as ``auto`` there), a request
    that leaves the choice to the model is sent without tools; forced choices still go out.
    """
    choice = params.get("tool_choice")
    ignored = spec.unenforced_tool_choices
    rejected = "tool_choice" in spec.rejected_params
    if not (ignored or rejected) or not params.get("tools"):
        return params
    if choice in (None, "auto") and "auto" in ignored:
        for key in ("tools", "tool_choice", "parallel_tool_calls"):
            params.pop(key, None)
    elif choice is None:
        return params
    elif choice == "none" and ("none" in ignored or rejected):
        for key in ("tools", "tool_choice", "parallel_tool_calls"):
            params.pop(key, None)
    elif isinstance(choice, Mapping) and ("named" in ignored or rejected):
        name = (choice.get("function") or {}).get("name")
        narrowed = [t for t in params["tools"] if (t.get("function") or {}).get("name") == name]
        if narrowed:
            params["tools"] = narrowed
            params["tool_choice"] = "required" if "required" not in ignored else "auto"
    elif choice == "required" and "required" in ignored:
        params["tool_choice"] = "auto"  # what the server does with it anyway
    return params


def adapt_messages(spec: ProviderSpec, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rewrite messages for the profile in one pass (the input is not changed).

    Typed content flattened (``string_content_only``), system messages merged into the
    first (``merge_system``), ``content`` left out of tool-call-only turns
    (``omit_tool_call_content``), and the reasoning a response carried echoed under
    ``reasoning_field`` (else dropped).
    """
    out: list[dict[str, Any]] = []
    system: int | None = None
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if spec.string_content_only and isinstance(content, list):
            message = {**message, "content": _flatten(content)}
        if role == "system" and spec.merge_system:
            if system is not None:
                first = out[system]
                out[system] = {**first, "content": f"{first['content']}\n\n{message['content']}"}
                continue
            system = len(out)
            message = {**message, "content": _flatten(message.get("content"))}
        if role == "assistant":
            message = _assistant(spec, message)
        out.append(message)
    return out


def _assistant(spec: ProviderSpec, message: dict[str, Any]) -> dict[str, Any]:
    extra = message.get("extra_content")
    if isinstance(extra, Mapping) and REASONING_KEY in extra:
        rest = {k: v for k, v in extra.items() if k != REASONING_KEY}
        message = {k: v for k, v in message.items() if k != "extra_content"}
        if rest:
            message["extra_content"] = rest
        if spec.reasoning_field:
            message[spec.reasoning_field] = extra[REASONING_KEY]
    if spec.omit_tool_call_content and message.get("tool_calls") and not message.get("content"):
        message = {k: v for k, v in message.items() if k != "content"}
    return message


def _flatten(content: Any) -> str:
    """Typed content parts as one string: the text parts, joined by newlines."""
    if isinstance(content, str) or content is None:
        return content or ""
    parts = [p.get("text", "") if isinstance(p, Mapping) else str(p) for p in content]
    return "\n".join(p for p in parts if p)


def reasoning_of(raw: Mapping[str, Any]) -> str | None:
    """The reasoning text of a whole response's first message, under either known name."""
    choices = raw.get("choices") or ()
    message = choices[0].get("message") if choices and isinstance(choices[0], Mapping) else None
    if not isinstance(message, Mapping):
        return None
    for name in REASONING_FIELDS:
        if isinstance(message.get(name), str) and message[name]:
            return str(message[name])
    return None


def with_reasoning(response: ChatResponse) -> ChatResponse:
    """``response`` with its reasoning kept in ``extra_content`` for the next request's echo."""
    reasoning = reasoning_of(response.raw) if isinstance(response.raw, Mapping) else None
    if reasoning is None or not response.choices:
        return response
    first = response.choices[0]
    extra = {**(first.message.extra_content or {}), REASONING_KEY: reasoning}
    choice = dataclasses.replace(
        first, message=dataclasses.replace(first.message, extra_content=extra)
    )
    return dataclasses.replace(response, choices=(choice, *response.choices[1:]))


def first_call_only(response: ChatResponse) -> ChatResponse:
    """``response`` with only its first tool call: ``parallel_tool_calls: false`` enforced.

    For a server that accepts ``parallel_tool_calls: false`` and sends several calls anyway
    (vLLM #9451, SGLang #9696): the calls after the first are dropped before the loop sees
    them, so they are never run; the model is asked again after the first call's result.
    """
    if not response.choices or len(response.choices[0].message.tool_calls or ()) <= 1:
        return response
    first = response.choices[0]
    calls = tuple(first.message.tool_calls)[:1]
    choice = dataclasses.replace(
        first, message=dataclasses.replace(first.message, tool_calls=calls)
    )
    return dataclasses.replace(response, choices=(choice, *response.choices[1:]))


def response_fix(spec: ProviderSpec, serial: bool) -> Callable[[ChatResponse], ChatResponse] | None:
    """What the profile does to a response, or None (the common case: nothing).

    The reasoning a response carries is kept for the next request's echo
    (``reasoning_field``); with ``serial`` (``parallel_tool_calls: false`` asked of a server
    that ignores it) the calls after the first are dropped.
    """
    keep = spec.reasoning_field is not None
    if not serial:
        return with_reasoning if keep else None
    if not keep:
        return first_call_only
    return lambda response: first_call_only(with_reasoning(response))


class AdaptedStream:
    """A model stream whose events are filtered and whose response is rewritten (internal).

    Args:
        stream: The stream as the client returned it.
        fix: Applied once to the assembled response.
        keep: Whether an event reaches the caller (None: every event).
    """

    def __init__(
        self,
        stream: ChatStreamLike,
        fix: Callable[[ChatResponse], ChatResponse],
        keep: Callable[[StreamEvent], bool] | None = None,
    ) -> None:
        self._stream = stream
        self._fix = fix
        self._keep = keep
        self._response: ChatResponse | None = None

    def __iter__(self) -> Iterator[StreamEvent]:
        for event in self._stream:
            if self._keep is None or self._keep(event):
                yield event

    def __enter__(self) -> AdaptedStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def response(self) -> ChatResponse:
        """The assembled response, rewritten."""
        if self._response is None:
            self._response = self._fix(self._stream.response)
        return self._response

    def close(self) -> None:
        """Close the underlying stream."""
        self._stream.close()


def not_a_later_call(event: StreamEvent) -> bool:
    """False for the deltas of any tool call after the first (see :func:`first_call_only`)."""
    return not (isinstance(event, ToolCallDelta) and event.choice_index == 0 and event.index > 0)


def empty_tool_content(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return ``messages`` with ``content: ""`` on assistant turns that only call tools."""
    return [
        {**m, "content": ""}
        if m.get("role") == "assistant" and m.get("tool_calls") and m.get("content") is None
        else m
        for m in messages
    ]


def rejects_tool_call_content(exc: APIStatusError) -> bool:
    """Whether a failed request was refused because of a message's ``content``.

    Decided by what the server says, not by its status alone: a 400 or 422 that
    names content, parts or a message, or any status (llama-cpp-python answers
    500) whose body is a request validation error naming them.

    Args:
        exc: The error the request ended with.

    Returns:
        True when sending the same messages with ``content: ""`` may succeed.
    """
    text = f"{exc} {exc.body}"
    if not _NAMES_CONTENT.search(text):
        return False
    return exc.status_code in (400, 422) or is_request_validation_error(exc.body)


def streams_badly(streams_tool_choice_auto: bool, params: Mapping[str, Any]) -> bool:
    """Whether a streamed request must be sent unstreamed for this provider.

    Args:
        streams_tool_choice_auto: The provider's profile: can it stream a request
            with tools and ``tool_choice: "auto"``?
        params: The request's body parameters.
    """
    return (
        not streams_tool_choice_auto
        and bool(params.get("tools"))
        and params.get("tool_choice") == "auto"
    )


def replay_as_stream(raw: Mapping[str, Any]) -> ChatStream:
    """A whole response body as a :class:`ChatStream` (its events, then ``.response``)."""
    return ChatStream(iter([completion_as_chunk(raw), DONE]))


def key_hint(provider: str, key_env: tuple[str, ...], sent_key: bool) -> str:
    """The fix for an authentication failure, naming the variables this provider reads.

    Args:
        provider: The provider's name (``local``, ``llamacpp``, ...).
        key_env: The variables it reads the key from, most specific first.
        sent_key: Whether a key was sent at all.
    """
    if not key_env:
        return (
            f"{provider}: models send no API key; pass one with api_key= (or use "
            "local: with AGENTLOOP_API_KEY) if this server wants one"
        )
    names = " or ".join(key_env)
    state = "the key sent was refused" if sent_key else "no key was sent"
    return f"{state}: {provider}: models read the key from {names}"


def fix_messages(
    messages: list[dict[str, Any]], *, developer_as_system: bool
) -> list[dict[str, Any]]:
    """Give every tool message its tool's name; optionally send developer as system."""
    names: dict[str, str] = {}
    out = []
    for message in messages:
        role = message.get("role")
        if role == "assistant":
            for call in message.get("tool_calls") or ():
                fn = call.get("function") or {}
                if call.get("id") and fn.get("name"):
                    names[call["id"]] = fn["name"]
        elif role == "tool" and not message.get("name") and message.get("tool_call_id") in names:
            message = {**message, "name": names[message["tool_call_id"]]}
        elif role == "developer" and developer_as_system:
            message = {**message, "role": "system"}
        out.append(message)
    return out
