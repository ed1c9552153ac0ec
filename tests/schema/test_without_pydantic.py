"""The schema tests that need no pydantic, run in a subprocess where pydantic cannot be
imported (a ``sys.meta_path`` finder refuses it): constraints from annotated-types, the
docstring styles and hand-written strict tools must all work without it."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

TESTS = pathlib.Path(__file__).resolve().parents[1]
MODULES = [
    "schema/test_constraints_annotated.py",
    "test_tools_docstrings.py",
    "test_tools_handwritten.py",
]
SCRIPT = """
import sys
import no_pydantic
import pytest
code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:randomly", *sys.argv[1:]])
assert "pydantic" not in sys.modules, "pydantic was imported"
try:
    import pydantic
except ImportError:
    print("PYDANTIC-BLOCKED")
sys.exit(code)
"""


def test_schema_tests_pass_without_pydantic() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, *(str(TESTS / m) for m in MODULES)],
        cwd=TESTS.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "PYDANTIC-BLOCKED" in run.stdout
    assert " passed" in run.stdout and "skipped" not in run.stdout
