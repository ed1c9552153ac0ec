"""The probe's checks of streams, reasoning, call ids and the context window.

Streams are read whole (bounded by the probe's timeout) and then looked at: is
``stream_options.include_usage`` accepted, is usage sent once or repeated, does every choice
end with a ``finish_reason``, do tool-call deltas carry ``index``, do arguments arrive in
pieces or whole, and does a streamed request with tools and ``tool_choice: "auto"`` work at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agentloop.probe.checks import PROMPT, TOOLS
from agentloop.probe.findings import Finding, ProbeContext
from agentloop.probe.http import Exchange

__all__ = ["STREAM_CHECKS", "StreamShape", "check_context", "shape_of"]

_HELLO = [{"role": "user", "content": "Say hello."}]


class StreamShape:
    """What a stream's events looked like.

    Attributes:
        events: How many JSON events came.
        text: The text they carried.
        usage: How many events carried a usage object.
        finish_reasons: The finish reasons seen.
        calls: Tool calls by index (or by id where index is missing): name and argument pieces.
        missing_index: Tool-call deltas without an ``index``.
        ids: The tool-call ids seen.
    """

    def __init__(self, events: list[Any]) -> None:
        self.events = len(events)
        self.text = ""
        self.usage = 0
        self.finish_reasons: list[str] = []
        self.calls: dict[Any, dict[str, Any]] = {}
        self.missing_index = 0
        self.ids: list[str] = []
        for event in events:
            if isinstance(event, Mapping):
                self._add(event)

    def _add(self, event: Mapping[str, Any]) -> None:
        if isinstance(event.get("usage"), Mapping):
            self.usage += 1
        for choice in event.get("choices") or ():
            if not isinstance(choice, Mapping):
                continue
            if choice.get("finish_reason"):
                self.finish_reasons.append(str(choice["finish_reason"]))
            delta: Mapping[str, Any] = (
                choice["delta"] if isinstance(choice.get("delta"), Mapping) else {}
            )
            if isinstance(delta.get("content"), str):
                self.text += delta["content"]
            for call in delta.get("tool_calls") or ():
                if isinstance(call, Mapping):
                    self._call(call)

    def _call(self, call: Mapping[str, Any]) -> None:
        if "index" not in call:
            self.missing_index += 1
        key = call.get("index", call.get("id") or len(self.calls))
        entry = self.calls.setdefault(key, {"name": "", "pieces": 0})
        if call.get("id"):
            self.ids.append(str(call["id"]))
        fn: Mapping[str, Any] = (
            call["function"] if isinstance(call.get("function"), Mapping) else {}
        )
        entry["name"] = entry["name"] or fn.get("name") or ""
        if fn.get("arguments"):
            entry["pieces"] += 1


def shape_of(exchange: Exchange) -> StreamShape:
    """The :class:`StreamShape` of a streamed exchange."""
    return StreamShape(exchange.events())


def _stream(ctx: ProbeContext, messages: list[Any], **kw: Any) -> tuple[Exchange, StreamShape]:
    exchange = ctx.chat(messages, stream=True, **kw)
    shape = shape_of(exchange)
    if shape.ids:
        ctx.call_ids.append(shape.ids)
    return exchange, shape


def _finding(check: str, outcome: Any, summary: str, exchange: Exchange, **kw: Any) -> Finding:
    return Finding(
        check=check, outcome=outcome, summary=summary, evidence=exchange.evidence(), **kw
    )


def _check_stream_text(ctx: ProbeContext) -> None:
    exchange, shape = _stream(ctx, _HELLO)
    good = exchange.ok and shape.events > 0
    ctx.add(_finding("stream", "yes" if good else "no",
                     f"streaming works ({shape.events} events)" if good else "streaming fails",
                     exchange))  # fmt: skip
    if not good:
        return
    ends = bool(shape.finish_reasons)
    ctx.add(_finding("stream_finish_reason", "yes" if ends else "no",
                     f"finish_reason sent ({', '.join(shape.finish_reasons)})" if ends
                     else "no finish_reason in the stream", exchange))  # fmt: skip
    exchange, shape = _stream(ctx, _HELLO, stream_options={"include_usage": True})
    if not exchange.ok:
        ctx.add(_finding("stream_include_usage", "no", "stream_options.include_usage rejected",
                         exchange))  # fmt: skip
        return
    ctx.add(_finding("stream_include_usage", "yes", "stream_options.include_usage accepted",
                     exchange))  # fmt: skip
    repeated = "repeated on several events" if shape.usage > 1 else f"sent {shape.usage} time(s)"
    ctx.add(_finding("stream_usage_repeated", "info", f"usage {repeated}", exchange,
                     value=shape.usage))  # fmt: skip


def _check_stream_tools(ctx: ProbeContext) -> None:
    exchange, shape = _stream(ctx, PROMPT, tools=TOOLS, tool_choice="auto")
    good = exchange.ok and shape.events > 0 and exchange.error is None
    summary = (
        f"a streamed request with tools and tool_choice auto works ({len(shape.calls)} call(s))"
        if good
        else "a streamed request with tools and tool_choice auto fails: send it unstreamed"
    )
    ctx.add(_finding("stream_tools", "yes" if good else "no", summary, exchange))
    if not good or not shape.calls:
        return
    ctx.add(_finding("stream_tool_index", "no" if shape.missing_index else "yes",
                     f"{shape.missing_index} tool-call delta(s) without index"
                     if shape.missing_index else "every tool-call delta has an index",
                     exchange))  # fmt: skip
    pieces = max(c["pieces"] for c in shape.calls.values())
    how = "progressive" if pieces > 1 else "whole"
    ctx.add(_finding("stream_tool_arguments", "info",
                     f"tool arguments arrive {how} ({pieces} piece(s))", exchange, value=how))  # fmt: skip


def _check_reasoning(ctx: ProbeContext) -> None:
    exchange = ctx.chat(PROMPT, tools=TOOLS)
    message: Mapping[str, Any] = {}
    if isinstance(exchange.json, Mapping):
        choices = exchange.json.get("choices") or [{}]
        message = (choices[0] or {}).get("message") or {}
    field = next((f for f in ("reasoning_content", "reasoning") if message.get(f)), None)
    if field is None:
        ctx.add(_finding("reasoning_field", "info", "no reasoning field in responses", exchange))
        return
    ctx.add(_finding("reasoning_field", "info", f"reasoning sent as {field!r}", exchange,
                     value=field))  # fmt: skip
    call = {"id": "call_probe_1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}  # fmt: skip
    turn = {"role": "assistant", "content": "", "tool_calls": [call]}
    result = {"role": "tool", "tool_call_id": "call_probe_1", "content": "sunny"}
    bare = ctx.chat([*PROMPT, turn, result], tools=TOOLS)
    echoed = ctx.chat([*PROMPT, {**turn, field: message[field]}, result], tools=TOOLS)
    if echoed.ok and not bare.ok:
        value, summary = "required", f"reasoning must be echoed back as {field!r}"
    elif echoed.ok:
        value, summary = "accepted", f"reasoning echoed back as {field!r} is accepted"
    elif bare.ok:
        value, summary = "optional", f"reasoning need not be echoed back ({field!r} refused)"
    else:
        value, summary = "rejected", "a history with reasoning is rejected"
    ctx.add(_finding("reasoning_echo", "info", summary, bare, value=value))


def _check_call_ids(ctx: ProbeContext) -> None:
    ids = [i for group in ctx.call_ids for i in group]
    if not ids:
        ctx.add(Finding(check="call_ids", outcome="unknown", summary="no tool call came back"))
        return
    empty = sum(1 for i in ids if not i)
    repeated = sum(len(g) - len(set(g)) for g in ctx.call_ids)
    prefixes = sorted({i.split("_")[0].split("-")[0] for i in ids if i})
    lengths = sorted({len(i) for i in ids if i})
    summary = (
        f"{len(ids)} id(s): prefix {'/'.join(prefixes) or '-'}, length {lengths}, "
        f"{empty} empty, {repeated} repeated within a response (agentloop repairs both)"
    )
    ctx.add(Finding(check="call_ids", outcome="info", summary=summary,
                    evidence=", ".join(ids[:4]), value=ids[0]))  # fmt: skip


STREAM_CHECKS: tuple[Callable[[ProbeContext], None], ...] = (
    _check_stream_text,
    _check_stream_tools,
    _check_reasoning,
)
FINAL_CHECKS: tuple[Callable[[ProbeContext], None], ...] = (_check_call_ids,)


def check_context(ctx: ProbeContext) -> None:
    """The context window: from ``/props``, ``/models``, or (``--context``) an overflow."""
    for source in ("props", "models"):
        found = ctx.findings.get(source)
        if found is not None and isinstance(found.value, int):
            ctx.add(Finding(check="context_window", outcome="info", value=found.value,
                            summary=f"{found.value} tokens (from {source})",
                            evidence=found.evidence))  # fmt: skip
            return
    if not ctx.context:
        ctx.add(Finding(check="context_window", outcome="unknown",
                        summary="not reported; agentloop probe --context sends a deliberate overflow"))  # fmt: skip
        return
    from agentloop.client.failures import diagnose
    from agentloop.errors import ContextWindowExceeded
    from agentloop.wire.errors import make_status_error

    ctx.progress("context_window (a deliberate overflow)")
    long = "lorem ipsum dolor " * 12_000  # about 36k tokens for most tokenizers
    exchange = ctx.chat([{"role": "user", "content": long + "\nSay hello."}], max_tokens=1)
    if exchange.ok or exchange.status is None:
        summary = "larger than about 36k tokens" if exchange.ok else "the overflow got no answer"
        ctx.add(_finding("context_window", "unknown", summary, exchange))
        return
    error = diagnose(make_status_error(exchange.status, exchange.json or exchange.body.decode(
        "utf-8", "replace")))  # fmt: skip
    window = error.window if isinstance(error, ContextWindowExceeded) else None
    summary = (
        f"{window} tokens (from the overflow's error)"
        if window
        else "the overflow was refused without naming the window"
    )
    ctx.add(_finding("context_window", "info" if window else "unknown", summary, exchange,
                     value=window))  # fmt: skip
