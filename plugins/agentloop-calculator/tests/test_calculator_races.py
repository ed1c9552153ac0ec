"""Concurrent calls with huge and odd inputs: only a result or a ToolError leaves ``calculate``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from agentloop_calculator import calculate

from agentloop import ToolError

pytestmark = pytest.mark.timeout(60)

ODD = [
    "2**4095", "-(2**4095)", "factorial(500)", "(10**300)**5", "2**4096", "10**1233",
    "9**9**9", "(-8)**(1/3)", "1e308*10", "-1e308*10", "5e-324/2", "1/0", "0**-1", "log(0)",
    "log(2**4000, 0)", "log(2**4000, 1)", "factorial(2**4000)", "round(2**4000, -400)",
    "round(1.5, 2**4000)", "sqrt(-1)", "min(2**4095, -2**4095, 1e308)", "max(1e308, 2**4095)",
    "2**4095 / 3", "2**4095 // 3.0", "(2**4095) % 7", "tan(pi/2)", "exp(710)", "asin(2)",
    "1" * 999, "0x" + "f" * 998, "0b" + "1" * 998, "(" * 150 + "1" + ")" * 150,
    "-" * 999 + "1", "1+" * 499 + "1", "\x00", "1\ud800", "\u0661\u0662", "1_000_000",
    "٣ + 4", "sin(" * 60 + "1" + ")" * 60, "", " " * 1000, "1" * 1001, "2 ** -2 ** 62",
]  # fmt: skip
"""Inputs at the edges: the largest results, overflows, domain errors, odd characters, limits."""


def _one(expression: str) -> str:
    """What the tool gives: its text, ``ToolError: ...``; anything else fails the test."""
    try:
        return calculate.invoke(json.dumps({"expression": expression}))
    except ToolError as exc:
        return f"ToolError: {exc}"
    except Exception as exc:  # what must never escape a tool
        pytest.fail(f"{type(exc).__name__} escaped calculate({expression[:40]!r}): {exc}")


def test_many_threads_with_huge_and_odd_inputs_get_what_one_thread_gets() -> None:
    alone = {expression: _one(expression) for expression in ODD}
    work = ODD * 20
    with ThreadPoolExecutor(max_workers=16) as pool:
        together = list(pool.map(_one, work))
    assert together == [alone[expression] for expression in work]
    assert alone["2**4095"].startswith("5221") and alone["1/0"].startswith("ToolError: ")


# In a real process: the int/str digit limit is process-wide (PYTHONINTMAXSTRDIGITS, or any code
# calling sys.set_int_max_str_digits), and here it flips between the lowest value and "off" on
# another thread while 8 threads call the tool.
_FLIPPING_LIMIT = textwrap.dedent(
    """
    import json, sys, threading, time
    from concurrent.futures import ThreadPoolExecutor
    from agentloop import ToolError
    from agentloop_calculator import calculate
    odd = json.loads(sys.argv[1])
    stop = threading.Event()
    def flip():
        while not stop.is_set():  # about half of the time in each state
            sys.set_int_max_str_digits(640)
            time.sleep(0.0005)
            sys.set_int_max_str_digits(0)
            time.sleep(0.0005)
    def one(expression):
        try:
            calculate.invoke(json.dumps({"expression": expression}))
            return "result"
        except ToolError:
            return "ToolError"
        except Exception as exc:
            return f"{type(exc).__name__} from {expression[:30]!r}: {str(exc)[:80]}"
    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            kinds = set(pool.map(one, odd * 10))
    finally:
        stop.set()
        flipper.join()
    print(json.dumps(sorted(kinds)))
    """
)


def test_the_int_digit_limit_changing_during_calls_lets_nothing_escape(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "int_max_str_digits=640", "-c", _FLIPPING_LIMIT, json.dumps(ODD)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=55,
        check=True,
    )
    assert json.loads(done.stdout) == ["ToolError", "result"], done.stdout


def test_the_largest_results_print_in_full_under_a_low_digit_limit(tmp_path: Path) -> None:
    script = (
        "from agentloop_calculator import calculate\n"
        'print(calculate.invoke(\'{"expression": "2**4095"}\'))\n'
        'print(calculate.invoke(\'{"expression": "-factorial(500)"}\'))\n'
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONINTMAXSTRDIGITS": "640", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=55,
    )
    assert done.returncode == 0, done.stderr
    power, factorial = done.stdout.split()
    assert power == str(2**4095) and factorial == str(-_factorial(500))


def _factorial(n: int) -> int:
    import math

    return math.factorial(n)
