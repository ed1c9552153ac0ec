"""Mutation testing on a sample: change one operator or constant, run that package's tests.

Usage: ``python scripts/mutation.py [--per-package N] [--seed S] [package ...]`` (packages of
``agentloop/``: loop, client, plugins, tracing, server by default). Each mutant is one
textual change to one line (``==``/``!=``, ``<``/``<=``, ``>``/``>=``, ``and``/``or``,
``is``/``is not``, ``True``/``False``, an integer ``n`` to ``n + 1``); it is *killed* when
``pytest -x`` over ``tests/<package>`` fails. The source is restored after every mutant.
Not part of CI (minutes per package); ``scripts/mutation.sh`` runs it, and ``mutmut``
can be used instead where it is installed (``pip install mutmut; mutmut run``).
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWAPS = [
    (r" == ", " != "),
    (r" != ", " == "),
    (r" <= ", " < "),
    (r" < ", " <= "),
    (r" >= ", " > "),
    (r" > ", " >= "),
    (r" and ", " or "),
    (r" or ", " and "),
    (r" is not ", " is "),
    (r" is ", " is not "),
    (r"\bTrue\b", "False"),
    (r"\bFalse\b", "True"),
]
INT = re.compile(r"(?<![\w.])(\d+)(?![\w.])")


_STRING = re.compile(r"""(?:[rbfu]{0,2})("|')(?:\\.|(?!\1).)*\1""", re.I)


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def mutants(path: Path) -> list[tuple[int, str]]:
    """Every (line number, mutated line) of ``path``, skipping docstrings and comments."""
    found = []
    in_doc = False
    for n, line in enumerate(path.read_text().splitlines()):
        stripped = line.strip()
        if stripped.count('"""') == 1:
            in_doc = not in_doc
            continue
        if in_doc or stripped.startswith(("#", '"""', "import ", "from ")) or not stripped:
            continue
        code = line.split("  #")[0]
        strings = [m.span() for m in _STRING.finditer(code)]
        for pattern, new in SWAPS:
            hit = re.search(pattern, code)
            if hit and not _inside(hit.start(), strings):  # a message's words are not code
                found.append(
                    (
                        n,
                        code[: hit.start()]
                        + re.sub(pattern, new, code[hit.start() :], count=1)
                        + line[len(code) :],
                    )
                )
        match = INT.search(code)
        if match and not _inside(match.start(), strings):
            bumped = str(int(match.group(1)) + 1)
            found.append((n, line[: match.start()] + bumped + line[match.end() :]))
    return found


def killed(path: Path, n: int, mutated: str, tests: Path) -> bool:
    original = path.read_text()
    lines = original.splitlines(keepends=True)
    lines[n] = mutated + "\n"
    path.write_text("".join(lines))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", "-x", str(tests)],
            cwd=ROOT,
            capture_output=True,
            timeout=600,
            check=False,
        )
        return proc.returncode != 0
    except subprocess.TimeoutExpired:
        return True  # a mutant that hangs the tests is caught by the suite's timeout
    finally:
        path.write_text(original)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "packages", nargs="*", default=["loop", "client", "plugins", "tracing", "server"]
    )
    parser.add_argument("--per-package", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for package in args.packages:
        pool = [
            (p, n, m)
            for p in sorted((ROOT / "agentloop" / package).rglob("*.py"))
            for n, m in mutants(p)
        ]
        sample = rng.sample(pool, min(args.per_package, len(pool)))
        alive = []
        for path, n, mutated in sample:
            if not killed(path, n, mutated, ROOT / "tests" / package):
                alive.append(f"  survived {path.relative_to(ROOT)}:{n + 1}: {mutated.strip()}")
        score = (len(sample) - len(alive)) / len(sample) if sample else 1.0
        print(
            f"{package}: {len(sample) - len(alive)}/{len(sample)} killed ({score:.0%})", flush=True
        )
        print("\n".join(alive), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
