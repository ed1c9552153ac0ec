"""Benchmark: what seeing a run costs (nothing when not asked for), over a local HTTP server.

Each row is a median run (2 model calls + 1 tool call) of one agent against a local HTTP server
in this process, against the same run of a bare agent (``load_plugins=False``, nothing added):

* the OpenTelemetry plugin loaded (as its entry point does) with no tracer provider set:
  "nothing asked for" (target: no measurable cost);
* the OpenTelemetry plugin with the SDK and a no-op exporter (target: <= 5% more);
* the JSONL trace (``--trace``), and recording a cassette (``--record``), for scale;
* a replayed run (``--replay``): no socket at all, so it is faster than the live one.

The two agents run in alternating rounds and each side's best round counts (the rest is the
machine's other load); times are CPU seconds of this process (``--wall`` for wall time).

    python benchmarks/bench_tracing.py [--runs 300] [--instructions]   (or: benchmarks/run.py)

``--instructions`` also counts instructions per in-process run with callgrind (scripted model,
no threads), which the machine's load cannot move. Measured 2026-12-01 on a loaded 2-core box:

    instructions per run   bare 1.22 M, otel idle 1.19 M (0.98), otel+SDK 2.11 M, trace 1.93 M
    otel plugin, no tracer provider     1.035  (noise: the instruction count is unchanged)
    otel plugin, SDK + no-op exporter   1.142  instant loopback server (~70 us per SDK span)
    otel SDK, 10 ms model (wall)        1.020  (the <= 5% target, for any model that thinks)
    JSONL trace (--trace)               1.165
    recording a cassette (--record)     1.080
    replayed run (--replay)             0.509  (no socket)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_loop import _Handler, lookup  # noqa: E402

from agentloop import Agent  # noqa: E402

Row = tuple[str, float, float, str]
#: CPU seconds of this process (client and server threads, the same server on both sides): other
#: processes loading the machine do not move it; ``--wall`` measures wall time instead.
TIMER = time.perf_counter if "--wall" in sys.argv else time.process_time


def _compare(
    plain: Agent, other: Agent, runs: int, rounds: int = 10, timer: Any = None
) -> tuple[float, float]:
    """(run of ``other``, run of ``plain``): the best round's mean, rounds alternating.

    The best of several rounds is what the code costs; the rest is the machine's other load.
    """
    timer = timer or TIMER
    plain.run("warm-up")
    other.run("warm-up")
    best = {id(plain): float("inf"), id(other): float("inf")}
    for _ in range(rounds):
        for agent in (plain, other):
            started = timer()
            for _ in range(max(runs // rounds, 1)):
                agent.run("look up k")
            best[id(agent)] = min(best[id(agent)], (timer() - started) / max(runs // rounds, 1))
    return best[id(other)], best[id(plain)]


class _SlowHandler(_Handler):
    """The benchmark server, answering each model call after 10 ms (a very fast model)."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        time.sleep(0.01)
        super().do_POST()


def _serve(handler: type) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def _otel_sdk() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class NoOpExporter(SpanExporter):
        """Receives every finished span and drops it."""

        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(NoOpExporter()))
    return provider


def measure(runs: int) -> list[Row]:
    """Every row: local HTTP runs, each case against the bare agent."""
    from agentloop.tracing import TraceRecorder
    from agentloop.tracing.jsonl import JsonlTrace
    from agentloop.tracing.otel import OtelPlugin
    from agentloop.tracing.tape import record, replay

    server, url = _serve(_Handler)
    slow, slow_url = _serve(_SlowHandler)
    folder = Path(tempfile.mkdtemp(prefix="bench-tracing-"))
    rows: list[Row] = []

    def agent(*plugins: Any, base_url: str = url) -> Agent:
        return Agent(
            "local:bench", base_url=base_url, api_key="bench", tools=[lookup],
            plugins=list(plugins), load_plugins=False,
        )  # fmt: skip

    try:
        plain = agent()
        sdk = _otel_sdk()
        cases = [
            ("otel plugin, no tracer provider", agent(OtelPlugin())),
            ("otel plugin, SDK + no-op exporter", agent(OtelPlugin(sdk))),
            ("JSONL trace (--trace)", agent(TraceRecorder(JsonlTrace(folder / "t.jsonl")))),
        ]
        for name, other in cases:
            ours, base = _compare(plain, other, runs)
            rows.append((f"tracing: {name}", ours, base, "bare run (instant local server)"))
        # the server sleeps: what counts is the run's wall time, as its user waits for it
        ours, base = _compare(
            agent(base_url=slow_url),
            agent(OtelPlugin(sdk), base_url=slow_url),
            max(runs // 5, 20),
            timer=time.perf_counter,
        )
        rows.append(("tracing: otel SDK, 10 ms model (wall)", ours, base, "bare run (same)"))
        recorded = agent()
        with record(folder / "c.jsonl", recorded):
            ours, base = _compare(plain, recorded, runs)
        rows.append(("tracing: recording a cassette (--record)", ours, base, "bare run (instant)"))
        with record(folder / "one.jsonl", recorded):
            recorded.run("look up k")
        with replay(folder / "one.jsonl", mode="lenient") as tape:
            replayed = Agent(tape.model, tools=[lookup], load_plugins=False)
            times = []
            for _ in range(runs):
                tape.transport.used = 0
                started = TIMER()
                replayed.run("look up k")
                times.append(TIMER() - started)
        rows.append(
            ("tracing: replayed run (--replay)", statistics.median(times), base, "live run")
        )
    finally:
        for s in (server, slow):
            s.shutdown()
            s.server_close()
    return rows


def main(quick: bool = False) -> list[Row]:
    """The rows for ``benchmarks/run.py``."""
    return measure(100 if quick else 300)


def _variant(name: str, count: int) -> None:
    """Run ``count`` in-process runs of one agent (for counting instructions under callgrind).

    A scripted model and no tool threads: nothing waits or polls, so the count is the code's
    own work (a local HTTP server's polling loop would add instructions per second of wall).
    """
    from bench_loop import _scripted

    from agentloop.testing import FunctionModel
    from agentloop.tracing import TraceRecorder
    from agentloop.tracing.otel import OtelPlugin

    plugins: list[Any] = {
        "plain": [],
        "otel-none": [OtelPlugin()],
        "otel-sdk": [OtelPlugin(_otel_sdk())],
        "trace": [TraceRecorder(lambda event: None)],
    }[name]
    agent = Agent(
        FunctionModel(_scripted), tools=[lookup], plugins=plugins, load_plugins=False,
        tool_timeout=None,
    )  # fmt: skip
    agent.run("warm-up")
    for _ in range(count):
        agent.run("look up k")


def instructions(count: int = 200) -> dict[str, float]:
    """Instructions per in-process run of each variant, counted by ``valgrind --tool=callgrind``.

    Instruction counts do not depend on the machine's other load (wall and CPU time here do).
    Each variant runs twice, with 0 and ``count`` runs, so start-up cancels out.
    """
    import re
    import subprocess

    def total(name: str, n: int) -> int:
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             __file__, "--variant", name, "--count", str(n)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        found = re.search(r"Collected : (\d+)", proc.stderr)
        assert found, proc.stderr[-500:]
        return int(found.group(1))

    return {
        name: (total(name, count) - total(name, 0)) / count
        for name in ("plain", "otel-none", "otel-sdk", "trace")
    }


def _cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (valgrind)"
    )
    args = parser.parse_args()
    if args.variant:
        _variant(args.variant, args.count)
        return 0
    if args.instructions:
        counts = instructions(args.count)
        for name, per_run in counts.items():
            ratio = per_run / counts["plain"]
            print(f"instructions per run, {name:<10} {per_run / 1e6:>8.2f} M  {ratio:>6.3f}")
    print(f"{'benchmark':<48} {'agentloop':>10} {'baseline':>10} {'ratio':>6}")
    for name, ours, base, _ in measure(args.runs):
        print(f"{name:<48} {ours * 1e3:>8.3f}ms {base * 1e3:>8.3f}ms {ours / base:>6.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli())
