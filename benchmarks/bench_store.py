"""Benchmark: the team store (PostgreSQL) beside the SQLite run log.

* per step: what logging adds to a step (a run of 2 model calls + 1 tool call = 3 steps) on a
  local PostgreSQL server, against the step without the log (target <= 1 ms a step);
* ``list_runs`` (``agentloop logs -n 20``) and a ``-q`` search over a 100,000-run database
  (target < 100 ms);
* 32 threads appending to 100 sessions: appends per second, and that none is lost.

It starts its own PostgreSQL server (``tests/pg_support.py``: the system's ``postgresql``
package, ``initdb`` into a temporary folder).

    python benchmarks/bench_store.py [--quick]        (or: python benchmarks/run.py)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from bench_logs import fill, per_step  # noqa: E402
from pg_support import start_postgres  # noqa: E402

from agentloop.logs import RunLog  # noqa: E402
from agentloop.logs.queries import list_runs  # noqa: E402
from agentloop.sessions import PostgresSession  # noqa: E402


def _median(fn, repeat: int = 7) -> float:  # noqa: ANN001 - a callable
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def sessions(url: str, threads: int = 32, per_thread: int = 50) -> tuple[float, int]:
    """(seconds for every append, rows stored) with ``threads`` writers over 100 sessions."""
    handles = [PostgresSession(url, f"bench-{i % 100}") for i in range(threads)]

    def write(i: int) -> None:
        for k in range(per_thread):
            handles[i].add_messages([{"role": "user", "content": f"{i}-{k}"}])

    workers = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    stored = handles[0].db.query("SELECT count(*) FROM session_messages")[0][0]
    for h in handles:
        h.close()
    return elapsed, int(stored)


def main(quick: bool = False) -> list[tuple[str, float, float, str]]:
    """Rows for ``benchmarks/run.py``: ``(name, agentloop seconds, baseline seconds, baseline)``."""
    runs, big = (60, 20_000) if quick else (300, 100_000)
    server = start_postgres()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            added_pg, step = per_step(runs, _Url(server.create_database("steps")))
            added_sqlite, _ = per_step(runs, Path(tmp))
        url = server.create_database("big")
        fill(url, big)  # type: ignore[arg-type]
        log = RunLog(url)
        latest = _median(lambda: list_runs(log.db, limit=20))
        search = _median(lambda: list_runs(log.db, limit=20, query="k99999"))
        log.close()
        elapsed, stored = sessions(server.create_database("sessions"))
    finally:
        server.close()
    return [
        ("team store: added time per step (PostgreSQL)", added_pg, step, "the step without"),
        ("run log: added time per step (SQLite)", added_sqlite, step, "the step without"),
        (f"team store: logs -n 20 over {big} runs", latest, 0.1, "the 100 ms target"),
        (f"team store: logs -q over {big} runs", search, 0.1, "the 100 ms target"),
        (
            f"team store: 32 threads x 50 appends, {stored} of 1600 rows kept",
            elapsed / 1600,
            0.001,
            "1 ms an append",
        ),
    ]


class _Url:
    """A stand-in for the folder ``bench_logs`` writes to: ``folder / name`` is the URL."""

    def __init__(self, url: str, name: str | None = None) -> None:
        self.url = url

    def __truediv__(self, _name: str) -> str:
        return self.url

    def __str__(self) -> str:
        return self.url


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    for name, ours, base, label in main(quick):
        print(f"{name:60s} {ours * 1000:9.3f} ms   ({label}: {base * 1000:.3f} ms)")
