"""``agentloop probe MODEL``: what an endpoint really does, and a profile that adapts to it.

Imports only the standard library at load time (the command imports :mod:`agentloop.probe`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

__all__ = ["add_parser", "probe_command"]

_MARKS = {"yes": "ok ", "no": "NO ", "unknown": "?  ", "info": "-  "}


def add_parser(sub: Any, shared: Any) -> None:
    """Add the ``probe`` command."""
    probe = sub.add_parser(
        "probe",
        parents=[shared.common],
        help="check what an OpenAI-compatible endpoint supports and obeys",
        description="Send a short battery of real requests to an endpoint and report, per check, "
        "what it did, with evidence. --save writes the findings as a profile that every later "
        "request to this base URL and model is adapted to (docs/probe.md).",
    )
    probe.add_argument("model", help="the model name (provider:model, or the bare name)")
    probe.add_argument("--base-url", help="the endpoint (env AGENTLOOP_BASE_URL)")
    probe.add_argument("--api-key", help="the key (env AGENTLOOP_API_KEY); sent to this host only")
    probe.add_argument("--runs", type=int, default=3, help="runs of each behavioural check (3)")
    probe.add_argument("--timeout", type=float, default=20.0, help="seconds per request (20)")
    probe.add_argument("--context", action="store_true",
                       help="send a deliberate context overflow when no window is reported")  # fmt: skip
    probe.add_argument("--json", action="store_true", help="print the raw findings as JSON")
    save = probe.add_mutually_exclusive_group()
    save.add_argument("--save", action="store_true", help="save the profile in the user config")
    save.add_argument("--save-local", action="store_true",
                      help="save the profile in ./agentloop.toml")  # fmt: skip
    probe.set_defaults(handler="agentloop.cli.probe:probe_command")


def probe_command(args: argparse.Namespace) -> int:
    """Probe, print the findings (or JSON), and save the profile when asked."""
    from agentloop.errors import ConfigurationError
    from agentloop.probe import probe
    from agentloop.probe.profile import profile_path, save_profile
    from agentloop.providers.registry import find_provider

    if args.runs < 1:
        raise ConfigurationError("--runs must be at least 1")
    name = args.model
    base_url = args.base_url or os.environ.get("AGENTLOOP_BASE_URL")
    if ":" in name:
        spec, name = find_provider(name)
        base_url = base_url or spec.base_url
    if not base_url:
        raise ConfigurationError("probe needs --base-url URL (or AGENTLOOP_BASE_URL)")
    key = args.api_key or os.environ.get("AGENTLOOP_API_KEY") or None
    interactive = sys.stderr.isatty()

    def progress(line: str) -> None:
        end = "\r" if interactive else "\n"
        sys.stderr.write(f"\x1b[2K{line}{end}" if interactive else f"probe: {line}{end}")
        sys.stderr.flush()

    report = probe(base_url, name, api_key=key, runs=args.runs, timeout=args.timeout,
                   context=args.context, progress=progress)  # fmt: skip
    if interactive:
        sys.stderr.write("\x1b[2K")
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        _print(report)
    if args.save or args.save_local:
        path = save_profile(profile_path(args.save_local), report.base_url, name,
                            report.profile(), note=f"agentloop probe, {report.runs} run(s)")  # fmt: skip
        sys.stderr.write(f"profile saved to {path}\n")
    return 0


def _print(report: Any) -> None:
    out = sys.stdout
    out.write(f"{report.base_url}  model {report.model}  ({report.seconds:.1f} s)\n")
    for f in report.findings:
        rate = f"  [{f.passes}/{f.runs}]" if f.runs is not None else ""
        out.write(f"{_MARKS.get(f.outcome, '   ')}{f.check:<24}{f.summary}{rate}\n")
        if f.outcome in ("no", "unknown") and f.evidence:
            out.write(f"    {f.evidence[:200]}\n")
    table = report.profile()
    out.write("profile: " + (json.dumps(table) if table else "{}") + "\n")
