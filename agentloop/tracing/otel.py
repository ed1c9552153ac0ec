"""OpenTelemetry spans for every run, following the GenAI semantic conventions (a hook plugin).

With ``agentloop[otel]`` installed (the ``opentelemetry-api`` package) this plugin is loaded
through the ``agentloop`` entry point (``otel``) and each run emits:

* ``invoke_agent {agent}`` around the run (``INTERNAL``), and after each handoff
  (``Agent(handoffs=...)``) an ``invoke_agent {agent}`` child for the agent that has the run
  now (the later spans of the run are its children);
* ``chat {model}`` per model call (``CLIENT``), a child of the run's span;
* ``execute_tool {tool}`` per tool call that runs or is answered by a plugin, i.e. whose
  arguments validated (``INTERNAL``), a child of the run's span and the current span while the
  tool runs (so the tool's own spans nest under it).

Attributes: ``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.agent.name``,
``gen_ai.request.model`` (and ``temperature``/``max_tokens``/``top_p`` when set),
``gen_ai.response.model``, ``gen_ai.response.id``, ``gen_ai.response.finish_reasons``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``, ``gen_ai.tool.name``,
``gen_ai.tool.call.id``, ``gen_ai.tool.type``, ``gen_ai.tool.description``,
``server.address``/``server.port``, and ``agentloop.usage.cost`` (a float, only when the
call's or run's cost is known: docs/cost.md). Each guardrail answer (docs/guardrails.md) is an
``agentloop.guardrail`` span event (``agentloop.guardrail.point``/``.name``/``.outcome``, and
``.detail`` only with content capture) on the agent's span, or on the ``execute_tool`` span of
a tool call it lets go on; a block sets ``agentloop.guardrail.blocked`` (the guardrail's name) on
the agent's span. A failure
sets the span's status to ``ERROR`` with ``error.type``. Message contents (the conventions'
opt-in ``gen_ai.system_instructions``, ``gen_ai.input.messages``, ``gen_ai.output.messages``,
``gen_ai.tool.call.arguments``, ``gen_ai.tool.call.result``) are recorded only when asked for:
``OtelPlugin(capture_content=True)`` or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.

Nothing is sent anywhere unless the application configures an OpenTelemetry SDK with an
exporter: until a tracer provider is set, the plugin does nothing for a run (one check at its
start). Without ``opentelemetry-api`` the entry point loads an object with no hooks.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from agentloop.hookspecs import hookimpl
from agentloop.secrets import Redactor

__all__ = ["BLOCKED_ATTRIBUTE", "CAPTURE_ENV", "GUARDRAIL_EVENT", "OtelPlugin", "plugin"]

CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
#: The span event of one guardrail answer (not a GenAI convention yet: agentloop's namespace).
GUARDRAIL_EVENT = "agentloop.guardrail"
#: The agent span's attribute naming the guardrail that blocked (the input, a tool call, the output).
BLOCKED_ATTRIBUTE = "agentloop.guardrail.blocked"
_PROVIDERS = {"gemini": "gcp.gemini", "openai": "openai", "vllm": "vllm", "offline": "agentloop"}
_REQUEST_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "top_p": "gen_ai.request.top_p",
    "seed": "gen_ai.request.seed",
}


class _Run:
    """The spans of one run in flight."""

    __slots__ = ("agent", "chat", "current", "guards", "provider", "tools")

    def __init__(self, agent: Any, provider: str | None) -> None:
        self.agent = agent
        self.provider = provider
        self.chat: Any = None
        self.tools: dict[str, Any] = {}
        self.current: Any = None  # the span of the agent handed the run to, if any
        # a tool call's guardrail events, until its execute_tool span opens (by call id)
        self.guards: dict[str, list[dict[str, Any]]] = {}


class OtelPlugin:
    """Emit GenAI semantic-convention spans for every run of the agents it is registered with.

    Args:
        tracer_provider: Where spans go (default: the global one, ``trace.set_tracer_provider``).
        capture_content: Record message contents, arguments and results (default: the
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` environment variable).
    """

    def __init__(self, tracer_provider: Any = None, *, capture_content: bool | None = None) -> None:
        from opentelemetry import context, trace

        self._trace = trace
        self._context = context
        self._provider = tracer_provider
        self._tracer: Any = None
        if capture_content is None:
            capture_content = os.environ.get(CAPTURE_ENV, "").strip().lower() in ("1", "true")
        self.capture_content = capture_content
        self._redactor = Redactor()
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def _get_tracer(self) -> Any:
        """The tracer, or None while no tracer provider is configured (nothing to do)."""
        if self._tracer is not None:
            return self._tracer
        provider = self._provider or self._trace.get_tracer_provider()
        if isinstance(provider, (self._trace.ProxyTracerProvider, self._trace.NoOpTracerProvider)):
            return None
        from agentloop.version import __version__

        self._tracer = provider.get_tracer("agentloop", __version__)
        return self._tracer

    # -- the run ---------------------------------------------------------------------------

    @hookimpl
    def agentloop_run_start(self, context: Any) -> None:
        """Start ``invoke_agent {agent}``."""
        tracer = self._get_tracer()
        if tracer is None:
            return
        agent = context.agent
        model = getattr(agent, "model", None)
        name = getattr(agent, "name", None) or "agent"
        provider = _provider_name(model)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": name,
            "gen_ai.conversation.id": getattr(context, "conversation_id", None),
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": _model_name(model),
        }
        if self.capture_content and getattr(agent, "instructions", None):
            attributes["gen_ai.system_instructions"] = self._json(
                [{"type": "text", "content": str(agent.instructions)}]
            )
        span = tracer.start_span(
            f"invoke_agent {name}",
            kind=self._trace.SpanKind.INTERNAL,
            attributes=_clean(attributes),
        )
        with self._lock:
            self._runs[context.run_id] = _Run(span, provider)

    @hookimpl
    def agentloop_run_end(self, context: Any, result: Any, error: BaseException | None) -> None:
        """End every open span of the run; the run's error becomes their status."""
        with self._lock:
            run = self._runs.pop(context.run_id, None)
        if run is None:
            return
        for events in run.guards.values():  # calls that never reached their execute_tool span
            for attributes in events:
                (run.current or run.agent).add_event(GUARDRAIL_EVENT, attributes)
        for span in [run.chat, *run.tools.values()]:
            if span is not None:
                self._fail(span, error, "the run ended first")
                span.end()
        if run.current is not None:  # the agent the run was handed to
            self._fail(run.current, error)
            run.current.end()
        span = run.agent
        if result is not None and span.is_recording():
            usage = getattr(result, "usage", None)
            if usage is not None:
                span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
                if getattr(usage, "cost", None) is not None:
                    span.set_attribute("agentloop.usage.cost", float(usage.cost))
            if getattr(result, "stop_reason", None):
                span.set_attribute("gen_ai.response.finish_reasons", [str(result.stop_reason)])
        if error is not None:
            self._fail(span, error)
        span.end()

    @hookimpl
    def agentloop_handoff(self, context: Any, from_agent: str, to_agent: str) -> None:
        """Open ``invoke_agent {to_agent}`` (a child of the run's span) for the new agent."""
        run = self._runs.get(context.run_id)
        if run is None:
            return
        if run.current is not None:
            run.current.end()
        model = getattr(context.agent, "model", None)
        attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": to_agent,
            "gen_ai.provider.name": _provider_name(model),
            "gen_ai.request.model": _model_name(model),
            "agentloop.handoff.from_agent": from_agent,
        }
        parent = self._trace.set_span_in_context(run.agent)
        run.current = self._tracer.start_span(
            f"invoke_agent {to_agent}",
            context=parent,
            kind=self._trace.SpanKind.INTERNAL,
            attributes=_clean(attributes),
        )

    # -- model calls -----------------------------------------------------------------------

    @hookimpl(trylast=True)
    def agentloop_model_request(self, context: Any, request: dict[str, Any]) -> None:
        """Start ``chat {model}`` with the request as the other plugins left it."""
        run = self._runs.get(context.run_id)
        if run is None:
            return
        model = getattr(context.agent, "model", None)
        name = request.get("model") or _model_name(model)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": run.provider,
            "gen_ai.request.model": name,
            **_server(model),
        }
        for key, attribute in _REQUEST_PARAMS.items():
            if request.get(key) is not None:
                attributes[attribute] = request[key]
        if self.capture_content:
            attributes["gen_ai.input.messages"] = self._json(request.get("messages", []))
        run.chat = self._child(run, f"chat {name}" if name else "chat", attributes, client=True)

    @hookimpl
    def agentloop_model_response(self, context: Any, response: Any) -> None:
        """End ``chat {model}`` with the response's model, id, finish reason and usage."""
        run = self._runs.get(context.run_id)
        if run is None or run.chat is None:
            return
        span, run.chat = run.chat, None
        if span.is_recording():
            attributes: dict[str, Any] = {
                "gen_ai.response.model": response.model or None,
                "gen_ai.response.id": response.id or None,
                "gen_ai.response.finish_reasons": [response.finish_reason or "unknown"],
            }
            if response.usage is not None:
                attributes["gen_ai.usage.input_tokens"] = response.usage.prompt_tokens
                attributes["gen_ai.usage.output_tokens"] = response.usage.completion_tokens
                if response.usage.cost is not None:
                    attributes["agentloop.usage.cost"] = float(response.usage.cost)
            if self.capture_content:
                attributes["gen_ai.output.messages"] = self._json([_output_message(response)])
            span.set_attributes(_clean(attributes))
        span.end()

    # -- tool calls ------------------------------------------------------------------------

    # The tool hooks, not agentloop_stream_event: a run with no stream observer skips building
    # and dispatching its events, so this plugin, loaded but idle, leaves that fast path alone.

    @hookimpl(tryfirst=True)
    def agentloop_before_tool_call(self, context: Any, call: Any, tool: Any) -> None:
        """Start ``execute_tool {tool}`` (before any plugin may answer or deny the call)."""
        run = self._runs.get(context.run_id)
        if run is None:
            return
        name = getattr(tool, "name", None) or call.name
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call.id,
            "gen_ai.tool.type": "function",
        }
        description = getattr(tool, "description", None)
        if description:
            attributes["gen_ai.tool.description"] = str(description)[:500]
        if self.capture_content:
            attributes["gen_ai.tool.call.arguments"] = self._redact(call.arguments)
        span = self._child(run, f"execute_tool {name}", attributes)
        with self._lock:
            run.tools[call.id] = span
            events = run.guards.pop(call.id, ())
        for event in events:  # the guardrails that let this call go on
            span.add_event(GUARDRAIL_EVENT, event)

    @hookimpl(tryfirst=True)
    def agentloop_after_tool_call(self, context: Any, call: Any, result: Any) -> None:
        """End ``execute_tool {tool}``; an error, denial or timeout is its status."""
        run = self._runs.get(context.run_id)
        if run is None:
            return
        with self._lock:
            span = run.tools.pop(call.id, None)
        if span is None:
            return
        if self.capture_content and span.is_recording():
            span.set_attribute("gen_ai.tool.call.result", self._redact(str(result.content)))
        if result.is_error:
            self._status(span, result.status, self._redact(str(result.content))[:500])
        span.end()

    @hookimpl(wrapper=True)
    def agentloop_call_tool(self, context: Any, call: Any) -> Iterator[None]:
        """Make the call's span current on the thread that runs the tool."""
        run = self._runs.get(context.run_id)
        span = run.tools.get(call.id) if run is not None else None
        if span is None:
            return (yield)
        token = self._context.attach(self._trace.set_span_in_context(span))
        try:
            return (yield)
        finally:
            self._context.detach(token)

    # -- guardrails --------------------------------------------------------------------------

    @hookimpl
    def agentloop_guardrail(self, context: Any, step: Any) -> None:
        """Add an ``agentloop.guardrail`` event for one guardrail answer; a block marks the agent.

        The event goes on the span current at the guardrail's point: the agent's
        ``invoke_agent`` span for the input and the output; for a tool call that goes on
        (allow, replace), its ``execute_tool`` span, which opens right after the check (the
        event waits for it); for a call that does not (block, retry), the agent's span.
        """
        run = self._runs.get(context.run_id)
        if run is None:
            return
        attributes = {
            "agentloop.guardrail.point": step.point,
            "agentloop.guardrail.name": step.guardrail,
            "agentloop.guardrail.outcome": step.outcome,
        }
        if step.call_id is not None:
            attributes["gen_ai.tool.call.id"] = step.call_id
        if self.capture_content and step.detail is not None:
            attributes["agentloop.guardrail.detail"] = self._redact(str(step.detail))[:500]
        agent = run.current or run.agent
        if step.point == "tool_call" and step.call_id is not None:
            with self._lock:
                waiting = run.guards.setdefault(step.call_id, [])
                waiting.append(attributes)
                if step.outcome in ("allow", "replace"):
                    return  # the call goes on: the events join its execute_tool span
                del run.guards[step.call_id]
        else:
            waiting = [attributes]
        for event in waiting:
            agent.add_event(GUARDRAIL_EVENT, event)
        if step.outcome == "block":
            agent.set_attribute(BLOCKED_ATTRIBUTE, step.guardrail)
            if agent is not run.agent:  # the run's span says so too (after a handoff)
                run.agent.set_attribute(BLOCKED_ATTRIBUTE, step.guardrail)

    # -- helpers ---------------------------------------------------------------------------

    def _child(self, run: _Run, name: str, attributes: dict[str, Any], client: bool = False) -> Any:
        kind = self._trace.SpanKind.CLIENT if client else self._trace.SpanKind.INTERNAL
        parent = self._trace.set_span_in_context(run.current or run.agent)
        return self._tracer.start_span(
            name, context=parent, kind=kind, attributes=_clean(attributes)
        )

    def _fail(self, span: Any, error: BaseException | None, why: str = "") -> None:
        if error is None:
            if why:
                self._status(span, "incomplete", why)
            return
        self._status(span, type(error).__name__, self._redact(str(error))[:500])

    def _status(self, span: Any, kind: str, description: str) -> None:
        span.set_attribute("error.type", kind)
        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, description))

    def _redact(self, text: str) -> str:
        return self._redactor.text(text)

    def _json(self, value: Any) -> str:
        return self._redact(json.dumps(value, ensure_ascii=False, default=str))


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    # every attribute, not only contents: a server can echo a key in an id or a model name
    redactor = _REDACTOR
    return {k: redactor.value(v) for k, v in attributes.items() if v is not None}


_REDACTOR = Redactor()  # it reads the known secrets when used, so one serves every span


def _provider_name(model: Any) -> str | None:
    provider = getattr(model, "provider", None)
    name = getattr(provider, "name", provider if isinstance(provider, str) else None)
    if name is None:
        name = "agentloop" if model is None or "Offline" in type(model).__name__ else None
    return _PROVIDERS.get(str(name), str(name)) if name else None


def _model_name(model: Any) -> str | None:
    name = getattr(model, "model_name", None) or getattr(model, "name", None)
    return str(name) if name else None


def _server(model: Any) -> dict[str, Any]:
    base = getattr(getattr(model, "client", None), "base_url", None)
    if not base:
        return {}
    url = urlsplit(base)
    port = url.port or (443 if url.scheme == "https" else 80)
    return {"server.address": url.hostname, "server.port": port}


def _output_message(response: Any) -> dict[str, Any]:
    message = response.message
    parts: list[dict[str, Any]] = []
    if message.text:
        parts.append({"type": "text", "content": message.text})
    for call in response.tool_calls:
        parts.append(
            {"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments}
        )
    return {"role": "assistant", "parts": parts, "finish_reason": response.finish_reason}


class _Absent:
    """What the entry point loads when opentelemetry-api is not installed: no hooks at all."""


def _plugin() -> Any:
    if importlib.util.find_spec("opentelemetry") is None:
        return _Absent()
    try:
        return OtelPlugin()
    except ImportError:  # a broken or partial install: behave as if it were absent
        return _Absent()


#: The object the ``agentloop`` entry point ``otel`` registers.
plugin = _plugin()
