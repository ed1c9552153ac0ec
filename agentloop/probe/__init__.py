"""``agentloop probe``: learn what an OpenAI-compatible endpoint really does (docs/probe.md).

:func:`probe` sends a short battery of real requests and returns a :class:`ProbeReport`: per
check a :class:`Finding` with its evidence. :meth:`ProbeReport.profile` turns the findings
into the profile table the client applies to every later request to that endpoint
(:mod:`agentloop.probe.profile` saves it).

Guarantees: every request ends within ``timeout`` seconds; a check that cannot tell (no
answer, garbage, HTML) records ``unknown`` with its evidence and never raises; redirects are
not followed and the environment's proxies are not used, so the key is sent to the host named
in ``base_url`` only.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentloop.probe.checks import (
    ACCEPTANCE_CHECKS,
    BEHAVIOUR_CHECKS,
    check_chat,
    check_models,
    check_props,
    check_tokens,
)
from agentloop.probe.findings import Finding, ProbeContext
from agentloop.probe.http import Endpoint
from agentloop.probe.profile import profile_table
from agentloop.probe.streams import FINAL_CHECKS, STREAM_CHECKS, check_context

__all__ = ["Finding", "ProbeReport", "probe"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ProbeReport:
    """What a probe found.

    Attributes:
        base_url: The endpoint probed.
        model: The model name probed.
        runs: How often each behavioural check ran.
        findings: Every check's finding, in the order they ran.
        seconds: How long the probe took.
    """

    base_url: str
    model: str
    runs: int
    findings: tuple[Finding, ...]
    seconds: float

    def profile(self) -> dict[str, Any]:
        """The profile table these findings call for (see :func:`~agentloop.probe.profile.profile_table`)."""
        return profile_table({f.check: f for f in self.findings})

    def to_dict(self) -> dict[str, Any]:
        """The raw findings and the profile, JSON-ready (``agentloop probe --json``)."""
        return {
            "base_url": self.base_url,
            "model": self.model,
            "runs": self.runs,
            "seconds": round(self.seconds, 3),
            "findings": [f.to_dict() for f in self.findings],
            "profile": self.profile(),
        }


def probe(
    base_url: str,
    model: str,
    *,
    api_key: str | None = None,
    runs: int = 3,
    timeout: float = 20.0,
    context: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ProbeReport:
    """Probe an endpoint with real requests; never raises for what the server does.

    Args:
        base_url: The OpenAI-compatible base URL (``http://127.0.0.1:8080/v1``).
        model: The model name to send.
        api_key: Sent as a bearer token to this host only.
        runs: How often each behavioural check runs (its pass rate is reported).
        timeout: Seconds each request may take in all.
        context: Send a deliberate context overflow when no window is reported.
        progress: Called with one line per step (what runs now).

    Returns:
        The report.
    """
    started = time.monotonic()
    endpoint = Endpoint(base_url, api_key, timeout)
    ctx = ProbeContext(endpoint=endpoint, model=model, runs=max(1, runs), context=context)
    steps: list[tuple[str, Callable[[ProbeContext], Any]]] = [
        ("models", check_models),
        ("props", check_props),
        ("chat", check_chat),
    ]
    later = [check_tokens, *ACCEPTANCE_CHECKS, *BEHAVIOUR_CHECKS, *STREAM_CHECKS, *FINAL_CHECKS]
    try:
        chats = True
        for number, (name, step) in enumerate(steps, 1):
            _say(progress, f"[{number}] {name}")
            result = _guarded(ctx, name, step)
            chats = result is not False if name == "chat" else chats
        if chats:
            for number, step in enumerate(later, len(steps) + 1):
                name = step.__name__.removeprefix("_check_").removeprefix("check_")
                ctx.progress = functools.partial(_numbered, progress, number)
                ctx.progress(name)
                _guarded(ctx, name, step)
        else:
            ctx.add(Finding(check="skipped", outcome="unknown",
                            summary="no plain chat request succeeded: the other checks were not run"))  # fmt: skip
        ctx.progress = lambda line: _say(progress, line)
        _guarded(ctx, "context_window", check_context)
    finally:
        endpoint.close()
    return ProbeReport(
        base_url=endpoint.base_url,
        model=model,
        runs=ctx.runs,
        findings=tuple(ctx.findings.values()),
        seconds=time.monotonic() - started,
    )


def _guarded(ctx: ProbeContext, name: str, step: Callable[[ProbeContext], Any]) -> Any:
    """Run one check; an answer it cannot make sense of becomes a finding, never a traceback."""
    try:
        return step(ctx)
    except Exception as exc:  # the server's answer was stranger than the check expected
        ctx.add(Finding(check=name, outcome="unknown",
                        summary=f"the check could not read the answer ({type(exc).__name__}: {exc})"[:300]))  # fmt: skip
        return False if name == "chat" else None


def _numbered(progress: Callable[[str], None] | None, number: int, line: str) -> None:
    _say(progress, f"[{number}] {line}")


def _say(progress: Callable[[str], None] | None, line: str) -> None:
    if progress is not None:
        progress(line)
