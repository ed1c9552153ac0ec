"""The probe's checks of whole (unstreamed) requests: what is accepted, what is obeyed.

Each check sends a few real requests through :class:`~agentloop.probe.findings.ProbeContext`
and records one :class:`~agentloop.probe.findings.Finding` (or a few). "Accepted" means a 2xx
answer that is not an error object; a rejection's evidence is its status and body. Behavioural
checks (is ``tool_choice`` obeyed?) run ``runs`` times and report a pass rate: small models
are stochastic, and one run proves little.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentloop.probe.findings import Finding, Outcome, ProbeContext, tool_calls_of
from agentloop.probe.http import Exchange

__all__ = [
    "ACCEPTANCE_CHECKS",
    "BEHAVIOUR_CHECKS",
    "PROMPT",
    "TOOLS",
    "check_chat",
    "check_models",
    "check_props",
    "check_tokens",
]


def _tool(name: str, what: str) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": f"Get the {what} in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city."}},
                "required": ["city"],
            },
        },
    }


TOOLS = [_tool("get_weather", "current weather"), _tool("get_time", "local time")]
PROMPT = [{"role": "user", "content": "Use the get_weather tool to get the weather in Paris."}]
_TWICE = [
    {
        "role": "user",
        "content": "Call get_weather twice, both at once: once for Paris and once for London.",
    }
]
_CALL = {
    "id": "call_probe_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}
_RESULT = {"role": "tool", "tool_call_id": "call_probe_1", "content": "sunny, 21 C"}


def _accepted(check: str, exchange: Exchange, yes: str, no: str, **kw: Any) -> Finding:
    if exchange.ok:
        return Finding(check=check, outcome="yes", summary=yes, evidence=exchange.evidence(), **kw)
    outcome: Outcome = "unknown" if exchange.status is None else "no"
    return Finding(check=check, outcome=outcome, summary=no, evidence=exchange.evidence(), **kw)


# -- the endpoint ---------------------------------------------------------------------------


def check_models(ctx: ProbeContext) -> None:
    """``GET /models``: listed models, and a context window in their metadata."""
    exchange = ctx.endpoint.get("/models")
    data = exchange.json.get("data") if isinstance(exchange.json, dict) else None
    if not exchange.ok or not isinstance(data, list):
        outcome: Outcome = "unknown" if exchange.status is None else "no"
        ctx.add(Finding(check="models", outcome=outcome, summary="GET /models gave no model list",
                        evidence=exchange.evidence()))  # fmt: skip
        return
    ids = [str(m.get("id")) for m in data if isinstance(m, dict)]
    card = next((m for m in data if isinstance(m, dict) and m.get("id") == ctx.model), None)
    window = _window_of(card or {})
    listed = "listed" if card else f"not listed (the server lists {', '.join(ids[:5]) or 'none'})"
    ctx.add(
        Finding(
            check="models",
            outcome="yes",
            summary=f"{len(ids)} model(s); {ctx.model!r} {listed}",
            evidence=exchange.evidence(),
            value=window,
        )
    )


def _window_of(card: dict[str, Any]) -> int | None:
    """A context window from model metadata: vLLM, LM Studio / OpenRouter, llama-server."""
    meta: dict[str, Any] = card["meta"] if isinstance(card.get("meta"), dict) else {}
    for value in (card.get("max_model_len"), card.get("context_length"), meta.get("n_ctx")):
        if isinstance(value, int) and value > 0:
            return value
    return None


def check_props(ctx: ProbeContext) -> None:
    """llama-server's ``GET /props``: the context size and the chat template's capabilities."""
    exchange = ctx.endpoint.get("/props", root=True)
    body = exchange.json if isinstance(exchange.json, dict) else None
    if not exchange.ok or body is None:
        summary = "no /props (not llama-server)"
        ctx.add(
            Finding(check="props", outcome="info", summary=summary, evidence=exchange.evidence())
        )
        return
    settings = body.get("default_generation_settings") or {}
    window = settings.get("n_ctx") if isinstance(settings, dict) else None
    caps = body.get("chat_template_caps")
    ctx.add(
        Finding(
            check="props",
            outcome="info",
            summary=f"n_ctx {window}; chat template caps {caps}",
            evidence=exchange.evidence(),
            value=window if isinstance(window, int) else None,
        )
    )


def check_chat(ctx: ProbeContext) -> bool:
    """A plain request; sets the base body. False when the endpoint does not chat at all."""
    ctx.base = {"max_tokens": 48, "temperature": 0}
    exchange = ctx.chat([{"role": "user", "content": "Say hello."}])
    if not exchange.ok and exchange.status is not None:
        ctx.base = {}
        exchange = ctx.chat([{"role": "user", "content": "Say hello."}])
    content = _message(exchange).get("content")
    good = exchange.ok and isinstance(content, str)
    summary = "a plain chat request is answered" if good else "no chat completion came back"
    ctx.add(Finding(check="chat", outcome="yes" if good else "no", summary=summary,
                    evidence=exchange.evidence()))  # fmt: skip
    return good


def check_tokens(ctx: ProbeContext) -> None:
    """``max_tokens`` and ``max_completion_tokens``: which the endpoint takes."""
    hello = [{"role": "user", "content": "Say hello."}]
    for name, other in (
        ("max_tokens", "max_completion_tokens"),
        ("max_completion_tokens", "max_tokens"),
    ):
        exchange = ctx.chat(hello, **{name: 48, other: None})
        ctx.add(_accepted(name, exchange, f"{name} accepted", f"{name} rejected"))
    if ctx.outcome("max_tokens") != "yes" and ctx.outcome("max_completion_tokens") == "yes":
        ctx.base.pop("max_tokens", None)
        ctx.base["max_completion_tokens"] = 48


def _message(exchange: Exchange) -> dict[str, Any]:
    body = exchange.json
    try:
        message = body["choices"][0]["message"]
    except (TypeError, KeyError, IndexError):
        return {}
    return message if isinstance(message, dict) else {}


# -- accepted? -----------------------------------------------------------------------------


def _check_tools(ctx: ProbeContext) -> None:
    exchange = ctx.chat(PROMPT, tools=TOOLS)
    fix = _server_flag(exchange)
    if fix is not None:
        # vLLM without its tool flags refuses ``auto`` (and no choice, read as ``auto``) but
        # takes named and ``required`` choices: the rest of the battery asks for ``required``
        ctx.add(Finding(check="server_config", outcome="no", summary=fix,
                        evidence=exchange.evidence(), value="auto_tool_choice"))  # fmt: skip
        ctx.tool_choice = "required"
        exchange = ctx.chat(PROMPT, tools=TOOLS)
    calls = len(tool_calls_of(exchange.json))
    how = " with tool_choice required" if ctx.tool_choice else ""
    ctx.add(_accepted("tools", exchange, f"tools accepted{how} ({calls} call(s) came back)",
                      "a request with tools is rejected"))  # fmt: skip


def _server_flag(exchange: Exchange) -> str | None:
    """The one line naming the server flag a known configuration 400 asks for, or None."""
    if exchange.ok or exchange.status is None:
        return None
    from agentloop.client.failures import diagnose
    from agentloop.errors import ContextWindowExceeded
    from agentloop.wire.errors import make_status_error

    raw = exchange.json if exchange.json is not None else exchange.body.decode("utf-8", "replace")
    error = make_status_error(exchange.status, raw)
    diagnosed = diagnose(error)
    if diagnosed is error or isinstance(diagnosed, ContextWindowExceeded):
        return None
    return str(diagnosed).split(" (server said")[0]


def _check_strict(ctx: ProbeContext) -> None:
    strict = [{**t, "function": {**t["function"], "strict": True}} for t in TOOLS]
    strict = [
        {**t, "function": {**t["function"], "parameters": {
            **t["function"]["parameters"], "additionalProperties": False}}}
        for t in strict
    ]  # fmt: skip
    exchange = ctx.chat(PROMPT, tools=strict)
    ctx.add(_accepted("strict", exchange, "strict: true accepted", "strict: true rejected"))


def _check_formats(ctx: ProbeContext) -> None:
    ask = [
        {"role": "user", "content": 'Answer in JSON: {"city": "..."} for the capital of France.'}
    ]
    exchange = ctx.chat(ask, response_format={"type": "json_object"})
    ctx.add(_accepted("json_object", exchange, "json_object accepted", "json_object rejected"))
    schema = {
        "name": "city",
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    }
    exchange = ctx.chat(ask, response_format={"type": "json_schema", "json_schema": schema})
    ctx.add(_accepted("json_schema", exchange, "json_schema accepted", "json_schema rejected"))


def _check_content(ctx: ProbeContext) -> None:
    for check, content in (("content_null", None), ("content_empty", ""), ("content_absent", ...)):
        turn: dict[str, Any] = {"role": "assistant", "tool_calls": [_CALL]}
        if content is not ...:
            turn["content"] = content
        exchange = ctx.chat([*PROMPT, turn, _RESULT], tools=TOOLS)
        shown = "absent" if content is ... else repr(content).replace("None", "null")
        ctx.add(_accepted(check, exchange, f"tool-call turn with content {shown} accepted",
                          f"tool-call turn with content {shown} rejected"))  # fmt: skip


def _check_typed_and_system(ctx: ProbeContext) -> None:
    typed = [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}]
    exchange = ctx.chat(typed)
    ctx.add(_accepted("typed_content", exchange, "typed content parts accepted",
                      "typed content parts rejected: send strings only"))  # fmt: skip
    two = [
        {"role": "system", "content": "You are brief."},
        {"role": "user", "content": "Say hello."},
        {"role": "system", "content": "Answer in English."},
    ]
    exchange = ctx.chat(two)
    ctx.add(_accepted("two_system", exchange, "two system messages accepted",
                      "two system messages rejected: merge them"))  # fmt: skip


ACCEPTANCE_CHECKS: tuple[Callable[[ProbeContext], None], ...] = (
    _check_tools,
    _check_strict,
    _check_formats,
    _check_content,
    _check_typed_and_system,
)


# -- obeyed? (behavioural, k runs) ------------------------------------------------------------


def _rate(
    ctx: ProbeContext, check: str, good: Callable[[list[Any]], bool], messages: list[Any], **kw: Any
) -> tuple[int, int, Exchange | None, list[Exchange]]:
    """Run a request ``ctx.runs`` times; count the answers whose tool calls are ``good``."""
    passes, runs, failed, answers = 0, 0, None, []
    for run in range(ctx.runs):
        ctx.progress(f"{check} (run {run + 1}/{ctx.runs})")
        exchange = ctx.chat(messages, tools=TOOLS, **kw)
        if not exchange.ok:
            failed = exchange
            break
        runs += 1
        answers.append(exchange)
        passes += good(tool_calls_of(exchange.json))
    return passes, runs, failed, answers


def _obeyed(ctx: ProbeContext, check: str, what: str, good: Callable[[list[Any]], bool],
            messages: list[Any], **kw: Any) -> None:  # fmt: skip
    passes, runs, failed, answers = _rate(ctx, check, good, messages, **kw)
    if failed is not None:
        outcome: Outcome = "unknown" if failed.status is None else "no"
        ctx.add(Finding(check=check, outcome=outcome, summary=f"{what}: rejected",
                        evidence=failed.evidence(), value="rejected"))  # fmt: skip
        return
    last = answers[-1].evidence() if answers else ""
    obeyed = passes == runs
    ctx.add(
        Finding(
            check=check,
            outcome="yes" if obeyed else "no",
            summary=f"{what}: {'obeyed' if obeyed else 'accepted but not obeyed'} "
            f"in {passes}/{runs} run(s)",
            evidence=last,
            passes=passes,
            runs=runs,
            value="obeyed" if obeyed else "ignored",
        )
    )


def _named(calls: list[Any]) -> bool:
    return bool(calls) and all((c.get("function") or {}).get("name") == "get_time" for c in calls)


def _check_choices(ctx: ProbeContext) -> None:
    _obeyed(ctx, "tool_choice_auto", "tool_choice auto", lambda calls: True, PROMPT,
            tool_choice="auto")  # fmt: skip
    _obeyed(ctx, "tool_choice_none", "tool_choice none (no call)", lambda calls: not calls,
            PROMPT, tool_choice="none")  # fmt: skip
    _obeyed(ctx, "tool_choice_required", "tool_choice required (a call)", bool,
            [{"role": "user", "content": "Say hello."}], tool_choice="required")  # fmt: skip
    named = {"type": "function", "function": {"name": "get_time"}}
    _obeyed(ctx, "tool_choice_named", "tool_choice get_time (a call of get_time)", _named,
            PROMPT, tool_choice=named)  # fmt: skip


def _check_parallel(ctx: ProbeContext) -> None:
    _obeyed(ctx, "parallel_tool_calls", "parallel_tool_calls false (at most one call)",
            lambda calls: len(calls) <= 1, _TWICE, parallel_tool_calls=False)  # fmt: skip


BEHAVIOUR_CHECKS: tuple[Callable[[ProbeContext], None], ...] = (_check_choices, _check_parallel)
