"""Guard rails: public surface, import weight and direction, hooks documented and tested, CI/README."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import agentloop
from agentloop import hookspecs

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "agentloop"
MODULES = sorted(
    "agentloop." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
    for p in PACKAGE.rglob("*.py")
    if p.name != "__init__.py" or p.parent != PACKAGE
)
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("agentloop_"))


def _run(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )


def _agentloop_imports(path: Path) -> set[str]:
    """Modules of agentloop a file imports at run time (TYPE_CHECKING blocks excluded)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    package = ".".join(("agentloop", *path.relative_to(PACKAGE).parent.parts))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
                names = [f"{mod}.{a.name}" for a in node.names] if not node.module else [mod]
                found.update(names)
            elif node.module and node.module.startswith("agentloop"):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("agentloop"))
    return found


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert agentloop.__all__ == sorted(agentloop.__all__)
    for name in agentloop.__all__:
        assert getattr(agentloop, name) is not None, name


def test_type_checkers_see_exactly_what_exists_at_run_time() -> None:
    """The ``TYPE_CHECKING`` imports of ``agentloop/__init__.py`` are exactly ``__all__``."""
    import importlib

    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    blocks = [
        n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
    ]
    assert len(blocks) == 1
    seen: set[str] = set()
    for node in blocks[0].body:
        assert isinstance(node, ast.ImportFrom) and node.module, ast.unparse(node)
        for alias in node.names:
            assert alias.name != "*", f"star import hides names: {ast.unparse(node)}"
            exported = alias.asname or alias.name
            seen.add(exported)
            defined = getattr(importlib.import_module(node.module), alias.name)
            assert getattr(agentloop, exported) is defined, exported
    assert seen == set(agentloop.__all__) - {"__version__"}


def test_abort_run_and_run_aborted_say_which_is_raised_where() -> None:
    assert (agentloop.AbortRun.__doc__ or "").startswith("**You raise this**")
    assert (agentloop.RunAborted.__doc__ or "").startswith("**The loop raises this**")


def test_import_agentloop_is_light() -> None:
    heavy = ["requests", "urllib3", "jsonschema", "sseclient", "pydantic", "docstring_parser"]
    code = (
        "import sys, agentloop\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_cleanly_with_warnings_as_errors(module: str) -> None:
    proc = _run(f"import {module}", "-W", "error")
    assert proc.returncode == 0, proc.stderr


def test_the_loop_never_imports_requests() -> None:
    code = (
        "import sys, agentloop.loop.engine, agentloop.agent, agentloop.testing\n"
        "print(sorted(m for m in ('requests', 'sseclient', 'agentloop.client.chat') if m in sys.modules))"
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_first_party_plugins_use_only_the_public_api() -> None:
    sources = [p for p in (ROOT / "plugins").glob("agentloop-*/agentloop_*/**/*.py")]
    sources += [p for p in (ROOT / "plugins").glob("agentloop-*/agentloop_*.py")]
    assert sources, "no plugin sources found"
    for path in sources:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                assert not node.module.startswith("agentloop."), f"{path}: {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("agentloop."), f"{path}: {alias.name}"


def test_every_hook_has_a_test() -> None:
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    missing = [h for h in HOOKS if f"def test_hook_{h}" not in tests]
    assert not missing, f"hooks without a test_hook_<name> test: {missing}"


def test_every_hook_is_documented_with_its_signature() -> None:
    page = (ROOT / "docs" / "plugins.md").read_text()
    headings = [line for line in page.splitlines() if line.startswith("#")]
    for hook in HOOKS:
        params = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
        expected = f"{hook}({params})"
        assert any(expected in h for h in headings), f"docs/plugins.md lacks a heading {expected!r}"


def test_every_hook_has_a_docstring() -> None:
    for hook in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
        assert "Args:" in doc or not inspect.signature(getattr(hookspecs, hook)).parameters, hook


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"^\s*(.*scripts/test\.sh.*)$", readme, flags=re.MULTILINE)
    assert commands, "README shows no test command"
    assert "scripts/test.sh" in ci
    assert re.search(r"agentloop run examples/calculator\.py", readme)
