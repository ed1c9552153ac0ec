"""Benchmark: agentloop runs side by side with hand-written loops, streamed, not streamed, logged.

One run is ask -> one tool call -> answer (2 model calls + 1 tool) against the local stub
server of ``bench_run.py``, in this process. Each pair is measured in ``--reps`` blocks of
``--runs`` runs of each side, alternating run by run, so machine load hits both alike; a
pair's ratio is the median over the blocks of (agentloop median / baseline median). The pairs:

* streamed: ``Agent(stream=True)`` against raw ``requests`` + ``sseclient-py`` (target <= 1.15x);
* not streamed: ``Agent()`` against raw ``requests`` + ``json`` (target <= 1.10x);
* logging on (the CLI default, a SQLite run log) against off (target <= 1.3x).

Wall time and the CPU time of the calling thread (``time.thread_time``: what the caller pays,
much less sensitive to other processes) are both printed.

    python benchmarks/bench_stream.py [--runs 200] [--reps 5]    (or: python benchmarks/run.py)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_run import _Handler, lookup, raw_run  # noqa: E402

from agentloop import Agent  # noqa: E402
from agentloop.logs import RunLog  # noqa: E402

Row = tuple[str, float, float, str]


def _block(
    ours: Callable[[], Any], base: Callable[[], Any], runs: int, clock: Callable[[], float]
) -> tuple[float, float]:
    """Median seconds of ``runs`` calls of each, alternating call by call (load hits both)."""
    a, b = [], []
    for _ in range(runs):
        started = clock()
        ours()
        a.append(clock() - started)
        started = clock()
        base()
        b.append(clock() - started)
    return statistics.median(a), statistics.median(b)


def _pair(
    ours: Callable[[], Any],
    base: Callable[[], Any],
    runs: int,
    reps: int,
    clock: Callable[[], float],
) -> tuple[float, float, float]:
    """(agentloop seconds, baseline seconds, median ratio) over ``reps`` blocks."""
    for _ in range(5):  # warm both paths (connections, caches)
        ours()
        base()
    blocks = [_block(ours, base, runs, clock) for _ in range(reps)]
    ratio = statistics.median(a / b for a, b in blocks)
    return (
        statistics.median(a for a, _ in blocks),
        statistics.median(b for _, b in blocks),
        ratio,
    )


def measure(
    runs: int, reps: int, clock: Callable[[], float]
) -> list[tuple[str, float, float, float, str]]:
    """Every pair against one stub server: ``(name, ours, baseline, ratio, baseline name)``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    url = base + "/chat/completions"
    options: dict[str, Any] = {
        "base_url": base,
        "api_key": "bench",
        "tools": [lookup],
        "load_plugins": False,
    }
    session = requests.Session()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        log = RunLog(Path(folder) / "runs.db")
        try:
            streamed = Agent("local:bench", stream=True, **options)
            plain = Agent("local:bench", **options)
            logged = Agent("local:bench", plugins=[log.recorder()], **options)
            pairs: list[tuple[str, Callable[[], Any], Callable[[], Any], str]] = [
                (
                    "streamed",
                    lambda: streamed.run("go"),
                    lambda: raw_run(session, url, True),
                    "raw requests+sseclient-py",
                ),
                (
                    "not streamed",
                    lambda: plain.run("go"),
                    lambda: raw_run(session, url, False),
                    "raw requests",
                ),
                ("logging on", lambda: logged.run("go"), lambda: plain.run("go"), "logging off"),
            ]
            for name, ours, raw, base_name in pairs:
                rows.append((name, *_pair(ours, raw, runs, reps, clock), base_name))
        finally:
            log.close()
            session.close()
            server.shutdown()
            server.server_close()
    return rows


def main(quick: bool = False) -> list[Row]:
    """Rows for ``benchmarks/run.py``: ``(name, agentloop seconds, baseline seconds, baseline)``."""
    runs, reps = (40, 3) if quick else (200, 5)
    rows: list[Row] = []
    for clock_name, clock in (("wall", time.perf_counter), ("CPU", time.thread_time)):
        for name, ours, base, _, base_name in measure(runs, reps, clock):
            rows.append((f"run 2 calls + 1 tool: {name} ({clock_name})", ours, base, base_name))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--cpu-only", action="store_true", help="only the thread-CPU clock")
    args = parser.parse_args()
    clocks = [("cpu", time.thread_time)]
    if not args.cpu_only:
        clocks.insert(0, ("wall", time.perf_counter))
    for clock_name, clock in clocks:
        for name, ours, base, ratio, base_name in measure(args.runs, args.reps, clock):
            print(
                f"{name:13} {clock_name:4} agentloop {ours * 1000:.3f} ms  "
                f"{base_name} {base * 1000:.3f} ms  ratio {ratio:.3f}"
            )
