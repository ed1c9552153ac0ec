"""Benchmark: what applying a saved probe profile costs each request.

The same endpoint is resolved twice: once with a saved profile that switches on every
rewrite (typed content flattened, system messages merged, ``content: ""`` on tool-call
turns, ``stream_options`` rejected, ``max_tokens`` renamed, ``none``/named tool choices
enforced, parallel calls unsupported), once without a profile. Rows (medians of interleaved
runs, so machine load hits each pair alike):

* ``ChatModel.prepare`` of a 12-message transcript with two tools, with the profile next to
  without it: the whole per-request cost of a profile;
* a whole non-streamed ``create`` through a real ``agentloop serve`` on 127.0.0.1 (offline
  model), with the profile next to without it. The two send different bodies (that is what
  a profile is for: merged, narrowed, renamed), so this ratio also carries the server's work
  on a shorter request; it is the context for the first row, not its measure.

Also timed (not a pair): ``probe(url, runs=1)``, the whole battery ``agentloop probe --runs 1``
sends, against the same server (the issue's bound: under 5 s).

Target: the profile's extra cost per request (``prepare`` with it minus without it) at most
1% of one loopback request without a profile.

    python benchmarks/bench_probe.py [--quick]     (or: python benchmarks/run.py)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentloop import resolve_model
from agentloop.offline.model import OfflineModel
from agentloop.probe import probe
from agentloop.probe.profile import save_profile
from agentloop.server.app import make_server

Row = tuple[str, float, float, str]

PROFILE = {
    "tool_call_content": "",
    "string_content_only": True,
    "merge_system": True,
    "rejected_params": ["stream_options"],
    "renamed_params": {"max_tokens": "max_completion_tokens"},
    "unenforced_tool_choices": ["named", "none", "parallel_tool_calls"],
    "reasoning_field": "reasoning_content",
    "supports_parallel_tool_calls": False,
    "context_tokens": 8192,
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"The {name} tool.",
            "parameters": {"type": "object", "properties": {"x": {"type": "string"}}},
        },
    }
    for name in ("calculate", "lookup")
]


def transcript() -> list[dict[str, Any]]:
    """Two system messages, typed user content and five tool round trips."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are terse."},
        {"role": "system", "content": "Use the tools."},
        {"role": "user", "content": [{"type": "text", "text": "What is 12 * (3 + 4)?"}]},
    ]
    for k in range(4):
        call = {"id": f"call_{k}", "type": "function",
                "function": {"name": "calculate", "arguments": '{"expression": "3 + 4"}'}}  # fmt: skip
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": f"call_{k}", "content": "7"})
    messages.append({"role": "user", "content": "And times 12?"})
    return messages


def _pair(ours: Callable[[], Any], raw: Callable[[], Any], runs: int) -> tuple[float, float]:
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        for fn, out in ((ours, a), (raw, b)):
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return statistics.median(a), statistics.median(b)


def measure(quick: bool) -> dict[str, tuple[float, float]]:
    """Median seconds: ``{row: (with the profile, without)}``."""
    server = make_server(OfflineModel(), port=0, accept_any_model=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    rows: dict[str, tuple[float, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as home:
            env = {"HOME": home, "XDG_CONFIG_HOME": str(Path(home) / "config")}
            save_profile(Path(home) / "config" / "agentloop" / "profiles.toml", url, "tiny",
                         PROFILE)  # fmt: skip
            profiled: Any = resolve_model("local:tiny", base_url=url, env=env)
            plain: Any = resolve_model("local:plain", base_url=url, env=env)
            assert profiled.profile.context_tokens == 8192, "the saved profile was not found"
            assert plain.profile.context_tokens is None
            messages = transcript()
            params = {"tools": TOOLS, "tool_choice": {"type": "function",
                      "function": {"name": "lookup"}}, "max_tokens": 64}  # fmt: skip
            sent, out = profiled.prepare(messages, params)
            assert len(sent) == len(messages) - 1 and [
                t["function"]["name"] for t in out["tools"]
            ] == ["lookup"]  # fmt: skip  (the rewrites happened)
            runs = 2000 if quick else 20000
            rows["probe: ChatModel.prepare, profile vs none"] = _pair(
                lambda: profiled.prepare(messages, params),
                lambda: plain.prepare(messages, params),
                runs,
            )
            auto = {"tools": TOOLS, "tool_choice": "auto", "max_tokens": 64}
            rows["probe: create over HTTP, profile vs none"] = _pair(
                lambda: profiled.create(messages=messages, **auto),
                lambda: plain.create(messages=messages, **auto),
                100 if quick else 600,
            )
            seconds = [probe(url, "offline", runs=1).seconds for _ in range(3 if quick else 9)]
            rows["probe: agentloop probe --runs 1 (whole battery)"] = (
                statistics.median(seconds),
                5.0,
            )
    finally:
        server.shutdown()
        server.server_close()
    return rows


def main(quick: bool = False) -> list[Row]:
    """The rows for ``benchmarks/run.py``."""
    rows = measure(quick)
    battery = rows.pop("probe: agentloop probe --runs 1 (whole battery)")
    out = [(name, ours, base, "no profile") for name, (ours, base) in rows.items()]
    return [*out, ("probe: agentloop probe --runs 1 (whole battery)", *battery, "the 5 s bound")]


if __name__ == "__main__":
    quick = "--quick" in sys.argv[1:]
    result = measure(quick)
    prep, prep_base = result["probe: ChatModel.prepare, profile vs none"]
    req, req_base = result["probe: create over HTTP, profile vs none"]
    share = (prep - prep_base) / req_base
    battery = result["probe: agentloop probe --runs 1 (whole battery)"][0]
    print(json.dumps({
        "prepare_us_with_profile": round(prep * 1e6, 2),
        "prepare_us_without": round(prep_base * 1e6, 2),
        "prepare_ratio": round(prep / prep_base, 2),
        "profile_cost_us_per_request": round((prep - prep_base) * 1e6, 2),
        "create_ms_with_profile": round(req * 1e3, 3),
        "create_ms_without": round(req_base * 1e3, 3),
        "create_ratio": round(req / req_base, 3),
        "profile_cost_share_of_request": round(share, 5),
        "target_share": 0.01,
        "probe_runs_1_seconds": round(battery, 3),
        "probe_bound_seconds": 5.0,
        "ok": share <= 0.01 and battery < 5.0,
    }))  # fmt: skip
    sys.exit(0 if share <= 0.01 and battery < 5.0 else 1)
