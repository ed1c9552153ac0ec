"""benchmarks/bench_mcp.py runs (a few calls only) and measures both paths of the same call."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_bench_mcp_smoke() -> None:
    path = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_mcp.py"
    spec = importlib.util.spec_from_file_location("bench_mcp_smoke", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    r = module.measure(3)
    assert set(r) == {"agentloop", "sdk", "agentloop_median", "sdk_median", "startup"}
    assert all(value > 0 for value in r.values())
