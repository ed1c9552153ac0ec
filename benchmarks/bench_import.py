"""Benchmark: ``import agentloop`` plus ``from agentloop import Agent, tool``, next to ``import requests, sseclient``.

Each import runs in a fresh interpreter (an import is paid once per process), the three
commands interleaved so machine load hits them alike; the interpreter's own start-up (``pass``)
is subtracted from both before the ratio is taken.

    python benchmarks/bench_import.py [--runs 30]     (or: python benchmarks/run.py)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

OURS = "import agentloop; from agentloop import Agent, tool"
RAW = "import requests, sseclient"


def _time(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def measure(runs: int) -> dict[str, float]:
    """Median seconds of each import beyond the interpreter's start-up."""
    samples: dict[str, list[float]] = {"empty": [], "ours": [], "raw": []}
    for _ in range(runs):
        for name, code in (("empty", "pass"), ("ours", OURS), ("raw", RAW)):
            samples[name].append(_time(code))
    empty = statistics.median(samples["empty"])
    return {
        "ours": statistics.median(samples["ours"]) - empty,
        "raw": statistics.median(samples["raw"]) - empty,
    }


def main(quick: bool = False) -> list[tuple[str, float, float, str]]:
    """Rows for ``benchmarks/run.py``: ``(name, agentloop seconds, baseline seconds, baseline)``."""
    r = measure(8 if quick else 30)
    return [
        (
            "import agentloop; from agentloop import Agent, tool",
            r["ours"],
            r["raw"],
            "import requests, sseclient",
        )
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    result = measure(parser.parse_args().runs)
    print(
        f"ours {result['ours'] * 1000:.1f} ms, raw {result['raw'] * 1000:.1f} ms, ratio {result['ours'] / result['raw']:.2f}"
    )
