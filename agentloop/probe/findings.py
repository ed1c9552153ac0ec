"""What one check found, and the state the checks share while a probe runs.

A :class:`Finding` is the unit of ``agentloop probe``'s report and of ``--json``: the check's
name, its outcome, one line saying what the endpoint did, and the evidence (the status and the
bytes that decided it). Behavioural checks carry a pass rate over ``--runs``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agentloop.probe.http import Endpoint, Exchange

__all__ = ["Finding", "Outcome", "ProbeContext", "tool_calls_of"]

Outcome = Literal["yes", "no", "unknown", "info"]
"""``yes``: supported (accepted, obeyed); ``no``: not; ``unknown``: could not tell; ``info``: a fact."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """What one check found.

    Attributes:
        check: The check's name (``tool_choice_none``).
        outcome: See :data:`Outcome`.
        summary: One line: what the endpoint did.
        evidence: The status and the relevant bytes (``POST /chat/completions -> 400: ...``).
        passes: For behavioural checks: the runs that behaved as asked.
        runs: For behavioural checks: the runs made.
        value: What was learned, when it is a value (a field name, a window in tokens).
    """

    check: str
    outcome: Outcome
    summary: str
    evidence: str = ""
    passes: int | None = None
    runs: int | None = None
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``agentloop probe --json``)."""
        out: dict[str, Any] = {"check": self.check, "outcome": self.outcome}
        out["summary"] = self.summary
        out["evidence"] = self.evidence
        if self.runs is not None:
            out["passes"], out["runs"] = self.passes, self.runs
        if self.value is not None:
            out["value"] = self.value
        return out


@dataclass(kw_only=True)
class ProbeContext:
    """What the checks share: the endpoint, the model, the body every request starts from.

    Attributes:
        endpoint: Where requests go.
        model: The model name sent.
        runs: How often each behavioural check runs.
        context: Whether a deliberate context overflow may be sent.
        base: Body fields every chat request carries (the token limit the endpoint takes).
        findings: What was found so far, by check name.
        call_ids: The tool-call ids of every response that had calls, for the call-id check.
        progress: Called with a line saying what runs now.
        tool_choice: The ``tool_choice`` a request with tools but no choice of its own gets
            (``required`` when the server refuses ``auto`` for want of a server flag).
    """

    endpoint: Endpoint
    model: str
    runs: int = 3
    context: bool = False
    base: dict[str, Any] = field(default_factory=dict)
    findings: dict[str, Finding] = field(default_factory=dict)
    call_ids: list[list[str]] = field(default_factory=list)
    progress: Callable[[str], None] = lambda line: None
    tool_choice: str | None = None

    def chat(self, messages: list[dict[str, Any]], **fields: Any) -> Exchange:
        """POST one chat request: the base fields, ``messages``, then ``fields`` (None drops)."""
        body: dict[str, Any] = {"model": self.model, "messages": messages, **self.base}
        if self.tool_choice is not None and fields.get("tools") and "tool_choice" not in fields:
            body["tool_choice"] = self.tool_choice
        for key, value in fields.items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        exchange = self.endpoint.post("/chat/completions", body)
        if exchange.ok:
            ids = [str(c.get("id") or "") for c in tool_calls_of(exchange.json)]
            if ids:
                self.call_ids.append(ids)
        return exchange

    def add(self, finding: Finding) -> Finding:
        """Record a finding (a later one of the same name replaces it)."""
        self.findings[finding.check] = finding
        return finding

    def outcome(self, check: str) -> str:
        """The outcome of an earlier check, ``unknown`` when it did not run."""
        found = self.findings.get(check)
        return found.outcome if found else "unknown"


def tool_calls_of(body: Any) -> list[Mapping[str, Any]]:
    """The tool calls of a whole response's first choice (``[]`` for anything else)."""
    if not isinstance(body, Mapping):
        return []
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return []
    message = choices[0].get("message")
    calls = message.get("tool_calls") if isinstance(message, Mapping) else None
    return [c for c in calls if isinstance(c, Mapping)] if isinstance(calls, list) else []
