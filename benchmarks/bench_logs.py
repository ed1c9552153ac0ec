"""Benchmark: what the SQLite run log costs, how fast ``agentloop logs`` answers, how big it gets.

* per step: a run (2 model calls + 1 tool call = 3 steps, 7 trace events) on a scripted
  model, with and without ``RunLog(...).recorder()``; the difference per step (target <= 0.3 ms);
* a local-HTTP run with and without the log (target: <= 5% slower);
* ``list_runs`` (what ``agentloop logs`` runs) and ``-q`` search over a 100,000-run database
  (target < 200 ms), and the ``agentloop logs`` command itself;
* the database size against the JSON of the events it stores (target <= 1.5x).

    python benchmarks/bench_logs.py [--runs 300] [--big 100000]     (or: python benchmarks/run.py)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_loop import _Handler, _scripted, lookup  # noqa: E402

from agentloop import Agent  # noqa: E402
from agentloop.logs import RunLog  # noqa: E402
from agentloop.logs.queries import list_runs  # noqa: E402
from agentloop.testing import FunctionModel  # noqa: E402


def _median_run(agent: Agent, runs: int) -> float:
    agent.run("warm-up")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        agent.run("look up k")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def per_step(runs: int, folder: Path) -> tuple[float, float]:
    """(seconds per step added by the log, seconds per step of the run without it)."""
    plain = Agent(FunctionModel(_scripted), tools=[lookup], load_plugins=False)
    log = RunLog(folder / "steps.db")
    logged = Agent(
        FunctionModel(_scripted), tools=[lookup], plugins=[log.recorder()], load_plugins=False
    )
    pairs = [(_median_run(plain, runs // 5), _median_run(logged, runs // 5)) for _ in range(5)]
    a, b = min(p[0] for p in pairs), min(p[1] for p in pairs)
    log.close()
    return (b - a) / 3, a / 3


def http_run(runs: int, folder: Path) -> tuple[float, float]:
    """(median logged run, median plain run) against a local HTTP server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        log = RunLog(folder / "http.db")
        options = {"base_url": url, "api_key": "bench", "tools": [lookup], "load_plugins": False}
        plain = Agent("local:bench", **options)
        logged = Agent("local:bench", plugins=[log.recorder()], **options)
        # interleaved rounds; the best median of each (a busy machine only adds noise)
        pairs = [(_median_run(plain, runs // 5), _median_run(logged, runs // 5)) for _ in range(5)]
        log.close()
    finally:
        server.shutdown()
        server.server_close()
    return min(p[1] for p in pairs), min(p[0] for p in pairs)


def fill(path: Path, count: int) -> int:
    """Write ``count`` realistic runs (7 events each) in batches; return their JSON bytes."""
    from agentloop.tracing import TraceRecorder
    from agentloop.tracing.events import TraceEvent

    events: list[TraceEvent] = []
    agent = Agent(
        FunctionModel(_scripted),
        tools=[lookup],
        plugins=[TraceRecorder(events.append)],
        load_plugins=False,
    )
    agent.run("look up the key k and tell me its value")
    log = RunLog(path)
    json_bytes = 0
    for start in range(0, count, 2000):  # batches: filling the file is not the benchmark
        batch = []
        for n in range(start, min(start + 2000, count)):
            for event in events:
                data = dict(event.data)
                if event.type == "run_started":
                    data["prompt"] = f"look up the key k{n} and tell me its value"
                    data["conversation_id"] = f"c{n // 3}"
                copy = TraceEvent(
                    type=event.type, run_id=f"{n:032x}", seq=event.seq, time=1.7e9 + n, data=data
                )
                json_bytes += len(json.dumps(copy.to_dict(), separators=(",", ":")))
                batch.append(copy)
        log.write_all(batch)
    log.close()
    return json_bytes


def query_times(path: Path) -> dict[str, float]:
    """Seconds for the latest 3 runs, -n 50, a -q search, --model, and the CLI command."""
    from agentloop.logs.schema import COMPONENT, MIGRATIONS
    from agentloop.storage import connect

    out: dict[str, float] = {}
    started = time.perf_counter()
    db = connect(path, component=COMPONENT, migrations=MIGRATIONS)
    out["open"] = time.perf_counter() - started
    for name, kwargs in {
        "logs (latest 3)": {},
        "logs -n 50": {"limit": 50},
        "logs -q k99999": {"query": "k99999"},
        "logs -q look (common word, latest 3)": {"query": "look"},
        "logs --model scripted": {"model": "function"},
        "logs --conversation": {"conversation": "c777"},
    }.items():
        times = []
        for _ in range(5):
            started = time.perf_counter()
            list_runs(db, **kwargs)  # type: ignore[arg-type]
            times.append(time.perf_counter() - started)
        out[name] = statistics.median(times)
    db.close()
    env = {**os.environ, "AGENTLOOP_HOME": str(path.parent)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "agentloop", "logs", "--json"],
        env=env,
        capture_output=True,
        check=True,
    )
    out["agentloop logs --json (whole process)"] = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import agentloop.cli.entry"], env=env, check=True)
    out["python startup + import (baseline)"] = time.perf_counter() - started
    return out


def main(quick: bool = False) -> list[tuple[str, float, float, str]]:
    """Rows for ``benchmarks/run.py``: ``(name, agentloop seconds, baseline seconds, baseline)``."""
    runs, big = (60, 20_000) if quick else (300, 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        added, step = per_step(runs, folder)
        logged, plain = http_run(runs, folder)
        path = folder / "logs.db"
        json_bytes = fill(path, big)
        size = sum(f.stat().st_size for f in folder.glob("logs.db*"))
        times = query_times(path)
    rows = [
        ("run log: added time per step (scripted model)", added, step, "the step without the log"),
        (
            "run log: local-HTTP run (2 calls + 1 tool)",
            logged,
            plain,
            "the same run without the log",
        ),
        (
            f"run log: database bytes ({big} runs)",
            float(size),
            float(json_bytes),
            "the events' JSON bytes",
        ),
    ]
    for name, seconds in times.items():
        if name != "python startup + import (baseline)":
            rows.append((f"{name} over {big} runs", seconds, 0.2, "the 200 ms target"))
    rows.append(
        (
            "python startup + import (baseline)",
            times["python startup + import (baseline)"],
            0.2,
            "the 200 ms target",
        )
    )
    return rows


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    for name, value, baseline, label in main(args.quick):
        unit = "" if "bytes" in name else " s"
        extra = f"  ({value * 1000:.3f} ms)" if "per step" in name else ""
        print(
            f"{name}: {value:.6g}{unit} vs {label} {baseline:.6g}{unit} = {value / baseline:.3f}x{extra}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli())
