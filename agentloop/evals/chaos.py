"""Chaos: faults injected at the tool runner and the model transport, seeded and recorded.

``Chaos(["tool-timeout", "empty-response"], seed=7, rate=0.3)`` decides, at each tool call and
each model call, whether a fault happens there and which one. The decision is a hash of the
seed and of what the run has done so far (the prompt, the model call's number, the tool call's
name and arguments), never of time or thread order, so the same seed gives the same faults on
every machine and with any number of workers.

Tool faults go through the public hooks (:class:`ChaosPlugin`: ``agentloop_call_tool`` answers
instead of the tool, ``agentloop_after_tool_call`` spoils its result); model faults through a
wrapper of the agent's model (:class:`ChaosModel`). Nothing in the loop changes. Every fault is
recorded (:attr:`Chaos.faults`) with the run it happened in.

======================  ======  ====================================================
fault                   where   what the agent sees
======================  ======  ====================================================
``tool-timeout``        tool    the call times out (status ``timeout``), the tool never runs
``tool-error``          tool    the call fails with a network error, the tool never runs
``truncated-result``    tool    the tool's result cut to its first half
``corrupted-result``    tool    the tool's result replaced by garbled bytes
``malformed-args``      model   the model's tool-call arguments are not valid JSON
``empty-response``      model   the model answers nothing at all
``refusal``             model   the model refuses to answer
``model-error``         model   the connection to the model breaks (an API error)
======================  ======  ====================================================
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from agentloop.errors import APIConnectionError, ConfigurationError
from agentloop.hookspecs import hookimpl
from agentloop.messages import ChatResponse, ToolResult

__all__ = ["FAULTS", "Chaos", "ChaosModel", "ChaosPlugin", "Fault"]

TOOL_FAULTS = ("tool-timeout", "tool-error")
RESULT_FAULTS = ("truncated-result", "corrupted-result")
MODEL_FAULTS = ("malformed-args", "empty-response", "refusal", "model-error")
FAULTS = (*TOOL_FAULTS, *RESULT_FAULTS, *MODEL_FAULTS)


@dataclass(frozen=True, kw_only=True, slots=True)
class Fault:
    """One injected fault.

    Attributes:
        kind: One of :data:`FAULTS`.
        where: ``tool`` or ``model``.
        step: The model call it happened at (tool faults: the call that asked for the tool).
        tool: The tool's name (tool faults and ``malformed-args``), else None.
        run_id: The run it happened in ("" when unknown).
    """

    kind: str
    where: str
    step: int
    tool: str | None = None
    run_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"kind": self.kind, "where": self.where, "step": self.step, "tool": self.tool}


class Chaos:
    """Which faults to inject, how often, and with which seed; the record of what was injected.

    Args:
        faults: Names from :data:`FAULTS` (``"all"`` for every one).
        seed: The seed: the same seed injects the same faults.
        rate: The chance of a fault at each tool call and each model call (0..1).

    Raises:
        ConfigurationError: An unknown fault name (the known ones are listed), or a bad rate.
    """

    def __init__(self, faults: Iterable[str] | str, *, seed: int = 0, rate: float = 0.25) -> None:
        names = [f.strip() for f in (faults.split(",") if isinstance(faults, str) else faults)]
        names = list(FAULTS) if names == ["all"] else [n for n in names if n]
        unknown = [n for n in names if n not in FAULTS]
        if unknown or not names:
            raise ConfigurationError(
                f"unknown chaos fault {unknown[0] if unknown else '(none given)'!r}; "
                f"known: {', '.join(FAULTS)} (or all)"
            )
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ConfigurationError(f"the chaos rate must be between 0 and 1, got {rate!r}")
        self.kinds: tuple[str, ...] = tuple(dict.fromkeys(names))
        self.seed = int(seed)
        self.rate = float(rate)
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._current = threading.local()  # the run whose model call this thread makes

    @property
    def faults(self) -> list[Fault]:
        """Every fault injected so far, in the order they happened."""
        with self._lock:
            return list(self._faults)

    def faults_of(self, run_id: str) -> list[Fault]:
        """The faults injected into one run."""
        return [f for f in self.faults if f.run_id == run_id]

    def to_dict(self) -> dict[str, Any]:
        """The settings, as written to the report."""
        return {"faults": list(self.kinds), "seed": self.seed, "rate": self.rate}

    def pick(self, kinds: Sequence[str], *key: Any) -> str | None:
        """The fault at the place ``key`` names (or None), out of the enabled ``kinds``."""
        enabled = [k for k in kinds if k in self.kinds]
        if not enabled:
            return None
        digest = hashlib.sha256(repr((self.seed, *key)).encode()).digest()
        chance = int.from_bytes(digest[:8], "big") / 2**64
        if chance >= self.rate:
            return None
        return enabled[int.from_bytes(digest[8:16], "big") % len(enabled)]

    def record(self, fault: Fault) -> None:
        """Add ``fault`` to the record."""
        with self._lock:
            self._faults.append(fault)

    @contextlib.contextmanager
    def attached(self, agent: Any) -> Iterator[Any]:
        """Inject faults into ``agent``'s runs inside the ``with`` block, then undo it."""
        plugin = ChaosPlugin(self)
        model = agent.model
        agent.model = ChaosModel(model, self)
        agent.plugin_manager.register(plugin, f"agentloop-chaos-{id(plugin)}")
        try:
            yield agent
        finally:
            agent.plugin_manager.unregister(plugin)
            agent.model = model


def _prompt_key(messages: Iterable[Any]) -> str:
    """What identifies a run by its content: its first user message."""
    for message in messages:
        if message.get("role") == "user":
            return repr(message.get("content"))
    return ""


class ChaosPlugin:
    """The tool-side faults, on the public hooks (``tryfirst``: before any tool runner)."""

    def __init__(self, chaos: Chaos) -> None:
        self.chaos = chaos

    def _key(self, context: Any, call: Any, where: str) -> tuple[Any, ...]:
        counts = context.state.setdefault("agentloop.chaos", {})
        base = (where, _prompt_key(context.messages), context.step, call.name, call.arguments)
        counts[base] = counts.get(base, 0) + 1
        return (*base, counts[base])

    @hookimpl
    def agentloop_model_request(self, context: Any) -> None:
        """Remember the run whose model call this thread is about to make."""
        self.chaos._current.run_id = context.run_id

    @hookimpl(tryfirst=True)
    def agentloop_call_tool(self, context: Any, call: Any, tool: Any) -> ToolResult | None:
        """Answer for the tool with a timeout or a network error."""
        kind = self.chaos.pick(TOOL_FAULTS, *self._key(context, call, "call"))
        if kind is None:
            return None
        self.chaos.record(Fault(kind=kind, where="tool", step=context.step, tool=call.name,
                                run_id=context.run_id))  # fmt: skip
        if kind == "tool-timeout":
            content = f"error: tool {call.name!r} timed out after 30 s"
            return ToolResult(call_id=call.id, name=call.name, content=content, is_error=True,
                              status="timeout")  # fmt: skip
        content = "error: ConnectionError: the network is unreachable"
        return ToolResult(call_id=call.id, name=call.name, content=content, is_error=True,
                          status="error")  # fmt: skip

    @hookimpl(tryfirst=True)
    def agentloop_after_tool_call(self, context: Any, call: Any, result: Any) -> Any:
        """Cut or garble a successful result."""
        if result.is_error:
            return None
        kind = self.chaos.pick(RESULT_FAULTS, *self._key(context, call, "result"))
        if kind is None:
            return None
        self.chaos.record(Fault(kind=kind, where="tool", step=context.step, tool=call.name,
                                run_id=context.run_id))  # fmt: skip
        text = str(result.content)
        spoiled = text[: len(text) // 2] if kind == "truncated-result" else _garble(text)
        return dataclasses.replace(result, content=spoiled)


def _garble(text: str) -> str:
    return "\ufffd" + "".join(chr((ord(c) * 7 + 3) % 94 + 33) for c in text[:64]) + "\x00"


class ChaosModel:
    """The agent's model with the model-side faults; every other attribute is the model's.

    Args:
        model: The wrapped model.
        chaos: Decides and records the faults.
    """

    def __init__(self, model: Any, chaos: Chaos) -> None:
        self._model = model
        self._chaos = chaos

    @property
    def name(self) -> str:
        """The wrapped model's name (fingerprints and logs see the real model)."""
        return str(self._model.name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def create(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatResponse:
        """The model's answer, or a fault."""
        kind = self._decide(messages)
        if kind == "model-error":
            self._record(kind, messages, None)
            raise APIConnectionError("the connection to the model broke (injected by chaos)")
        response = self._model.create(messages=messages, **params)
        return self._spoil(kind, messages, response)

    def stream(self, *, messages: list[dict[str, Any]], **params: Any) -> Any:
        """The model's stream, or (on a fault) the faulty answer streamed."""
        kind = self._decide(messages)
        if kind is None:
            return self._model.stream(messages=messages, **params)
        if kind == "model-error":
            self._record(kind, messages, None)
            raise APIConnectionError("the connection to the model broke (injected by chaos)")
        inner = self._model.stream(messages=messages, **params)
        try:
            for _ in inner:
                pass
            response = self._spoil(kind, messages, inner.response)
        finally:
            inner.close()
        from agentloop.streaming import ChatStream
        from agentloop.testing import response_chunks

        return ChatStream(iter(response_chunks(response)))

    def _decide(self, messages: list[dict[str, Any]]) -> str | None:
        step = 1 + sum(1 for m in messages if m.get("role") == "assistant")
        return self._chaos.pick(MODEL_FAULTS, "model", _prompt_key(messages), step)

    def _record(self, kind: str, messages: list[dict[str, Any]], tool: str | None) -> None:
        step = 1 + sum(1 for m in messages if m.get("role") == "assistant")
        run_id = getattr(self._chaos._current, "run_id", "")
        self._chaos.record(Fault(kind=kind, where="model", step=step, tool=tool, run_id=run_id))

    def _spoil(self, kind: str | None, messages: Any, response: ChatResponse) -> ChatResponse:
        if kind is None:
            return response
        message = response.message
        if kind == "malformed-args":
            if not message.tool_calls:
                return response  # nothing to spoil here: no fault
            calls = tuple(
                dataclasses.replace(c, arguments=c.arguments[: max(1, len(c.arguments) // 2)])
                for c in message.tool_calls
            )
            message = dataclasses.replace(message, tool_calls=calls)
            self._record(kind, messages, calls[0].name)
            finish = response.finish_reason
        elif kind == "empty-response":
            message = dataclasses.replace(message, content="", tool_calls=(), refusal=None)
            self._record(kind, messages, None)
            finish = "stop"
        else:
            message = dataclasses.replace(
                message, content=None, tool_calls=(), refusal="I can't help with that."
            )
            self._record(kind, messages, None)
            finish = "stop"
        choice = dataclasses.replace(response.choices[0], message=message, finish_reason=finish)
        return dataclasses.replace(response, choices=(choice, *response.choices[1:]), raw={})
