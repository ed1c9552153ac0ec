"""Benchmark: what the tool registry costs an agent, next to the raw pluggy work underneath.

Rows (medians, machine load hits each pair alike because they are interleaved):

* ``Agent()`` with the installed plugins autoloaded (entry-point scan kept per process,
  each plugin checked once) next to a bare ``pluggy.PluginManager`` registering the same
  plugin objects;
* the first run's tool resolution of ``tools=["calculate", "files"]`` (registry built,
  ``files`` toolset built) next to calling those plugins' ``agentloop_register_tools`` and
  building ``FilesPlugin(".")`` by hand;
* later runs' resolution (cached per agent) next to a dict lookup.

    python benchmarks/bench_registry.py [--runs 200]     (or: python benchmarks/run.py)
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import pluggy

from agentloop import Agent, hookspecs
from agentloop.plugins.manager import collect_tools, make_plugin_manager
from agentloop.testing import ScriptedModel


def _pair(ours: Callable[[], Any], raw: Callable[[], Any], runs: int) -> tuple[float, float]:
    a, b = [], []
    for _ in range(runs):
        for fn, out in ((ours, a), (raw, b)):
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return statistics.median(a), statistics.median(b)


def measure(runs: int) -> dict[str, tuple[float, float]]:
    """Median seconds: ``{row: (agentloop, baseline)}``."""
    installed = [
        (name, plugin)
        for name, plugin in make_plugin_manager().list_name_plugin()
        if not name.startswith("agentloop.")
    ]

    def raw_manager() -> None:
        pm = pluggy.PluginManager("agentloop")
        pm.add_hookspecs(hookspecs)
        for name, plugin in installed:
            pm.register(plugin, name=name)

    import agentloop_calculator
    import agentloop_files

    def first_resolution() -> None:
        agent = Agent(ScriptedModel([]), tools=["calculate", "files"])
        collect_tools(agent)

    def raw_resolution() -> None:
        Agent(ScriptedModel([]))
        agentloop_calculator.agentloop_register_tools()
        agentloop_files.agentloop_register_tools()
        agentloop_files.FilesPlugin(".")

    cached = Agent(ScriptedModel([]), tools=["calculate", "files"])
    collect_tools(cached)
    table = {"calculate": 1, "files": 2}
    return {
        "Agent() with installed plugins": _pair(
            lambda: Agent(ScriptedModel([])), raw_manager, runs
        ),
        "first run: resolve tools=[calculate, files]": _pair(
            first_resolution, raw_resolution, max(runs // 4, 5)
        ),
        "later runs: resolve (cached)": _pair(
            lambda: collect_tools(cached), lambda: table.get("files"), runs
        ),
    }


def main(quick: bool = False) -> list[tuple[str, float, float, str]]:
    """Rows for ``benchmarks/run.py``: ``(name, agentloop seconds, baseline seconds, baseline)``."""
    rows = measure(20 if quick else 200)
    baselines = {
        "Agent() with installed plugins": "pluggy register of the same plugins",
        "first run: resolve tools=[calculate, files]": "Agent() + hooks + FilesPlugin by hand",
        "later runs: resolve (cached)": "dict lookup",
    }
    return [(name, ours, raw, baselines[name]) for name, (ours, raw) in rows.items()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    for name, (ours, raw) in measure(parser.parse_args().runs).items():
        print(f"{name}: {ours * 1000:.3f} ms vs {raw * 1000:.3f} ms, ratio {ours / raw:.2f}")
