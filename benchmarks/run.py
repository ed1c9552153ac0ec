"""Run every agentloop benchmark in one process and print each as a ratio to its raw baseline.

Usage: ``python benchmarks/run.py`` (add ``--quick`` for fewer iterations).

Each ``bench_*.py`` module beside this file exposes ``main(quick: bool) -> list[Row]`` where a row is
``(name, framework_seconds, baseline_seconds, baseline_name)``; this script prints them as a table.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(path: Path):  # noqa: ANN202 - a benchmark module
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the module look themselves up here
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    """Run all benchmarks and print a table of ratios.

    Args:
        argv: Command-line arguments (``--quick``).

    Returns:
        The process exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    print(f"{'benchmark':<44} {'agentloop':>12} {'baseline':>12} {'ratio':>7}  baseline")
    for path in sorted(HERE.glob("bench_*.py")):
        module = _load(path)
        for name, ours, base, base_name in module.main(quick=args.quick):
            ratio = ours / base if base else float("nan")
            print(f"{name:<44} {ours * 1e6:>10.1f}us {base * 1e6:>10.1f}us {ratio:>7.2f}  {base_name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
