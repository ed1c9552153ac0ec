"""Every first-party plugin is a distribution of its own, built the way a third party would build it.

For each ``plugins/agentloop-*/`` folder: a ``pyproject.toml`` naming the
distribution after its folder, depending on ``agentloop``, declaring exactly
one module in the ``agentloop`` entry-point group; that module; a README; and
its own tests. The installed environment must expose the same entry point
(``scripts/install.sh`` installs every folder). And every tool the plugins
offer has a description and a description for each parameter.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sqlite3
import tomllib
from pathlib import Path

import pytest

from agentloop import Tool

PLUGINS = Path(__file__).resolve().parent
FOLDERS = sorted(p for p in PLUGINS.glob("agentloop-*") if p.is_dir())
EXPECTED = {"agentloop-calculator", "agentloop-files", "agentloop-http", "agentloop-shell",
            "agentloop-sqlite"}  # fmt: skip


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_five_plugins_exist() -> None:
    assert {f.name for f in FOLDERS} >= EXPECTED


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_distribution_layout(folder: Path) -> None:
    data = _project(folder)
    project = data["project"]
    assert project["name"] == folder.name
    assert project.get("description")
    assert project.get("readme") == "README.md" and (folder / "README.md").is_file()
    assert "agentloop" in project["dependencies"]
    entry_points = project["entry-points"]["agentloop"]
    assert len(entry_points) == 1
    ((name, module),) = entry_points.items()
    assert module == folder.name.replace("-", "_")
    assert (folder / module / "__init__.py").is_file()
    assert data["tool"]["setuptools"]["packages"] == [module]
    assert list((folder / "tests").glob("test_*.py")), f"{folder.name} has no tests"


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_installed_with_its_entry_point(folder: Path) -> None:
    """The environment has the distribution installed from this folder, entry point included."""
    ((name, module),) = _project(folder)["project"]["entry-points"]["agentloop"].items()
    installed = importlib.metadata.distribution(folder.name)
    points = [ep for ep in installed.entry_points if ep.group == "agentloop"]
    assert [(ep.name, ep.value) for ep in points] == [(name, module)]
    assert points[0].load().__name__ == module


def _all_tools(tmp_path: Path) -> list[Tool]:
    import agentloop_calculator
    from agentloop_files import FilesPlugin
    from agentloop_http import HTTPPlugin
    from agentloop_shell import ShellPlugin
    from agentloop_sqlite import SQLitePlugin

    database = tmp_path / "t.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    tools: list[Tool] = [agentloop_calculator.calculate]
    tools += FilesPlugin(tmp_path, allow_write=True).tools
    tools += SQLitePlugin(database).agentloop_tools(agent=None) or []
    tools += HTTPPlugin().agentloop_tools()
    tools += ShellPlugin(enabled=True).agentloop_tools()
    return tools


def test_every_tool_is_precisely_documented(tmp_path: Path) -> None:
    tools = _all_tools(tmp_path)
    assert {t.name for t in tools} >= {
        "calculate", "list_files", "read_file", "search_files", "write_file",
        "list_tables", "describe_table", "query", "fetch_url", "run_command",
    }  # fmt: skip
    for t in tools:
        assert isinstance(t, Tool)
        assert len(t.description) >= 40, (t.name, t.description)
        assert t.undocumented_parameters == (), t.name
        for param, schema in t.parameters["properties"].items():
            assert schema.get("description"), (t.name, param)


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_plugins_import_only_public_agentloop_names(folder: Path) -> None:
    """``from agentloop import X`` only, with X in ``agentloop.__all__`` (never a submodule)."""
    import ast

    import agentloop

    for path in (folder / folder.name.replace("-", "_")).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                assert not node.module.startswith("agentloop."), f"{path}: {node.module}"
                if node.module == "agentloop":
                    private = [a.name for a in node.names if a.name not in agentloop.__all__]
                    assert not private, f"{path}: {private}"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("agentloop.") for a in node.names), path
    importlib.import_module(folder.name.replace("-", "_"))


CLASSES = {
    "agentloop-files": "FilesPlugin",
    "agentloop-http": "HTTPPlugin",
    "agentloop-shell": "ShellPlugin",
    "agentloop-sqlite": "SQLitePlugin",
    "agentloop-mcp": "MCPServer",
}


def _shown_signatures(text: str, name: str) -> list[dict[str, object]]:
    """Every ``name(...)`` in ``text`` that reads as a parameter list, as {param: default}."""
    import ast
    import re

    shown = []
    for match in re.finditer(rf"\b{name}\(", text):
        depth, end = 1, match.end()
        while depth and end < len(text):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        inner = re.sub(r"#[^\n]*", "", text[match.end() : end - 1]).replace("`", "")
        try:
            args = ast.parse(f"def f({inner}): pass").body[0].args  # type: ignore[attr-defined]
        except SyntaxError:
            continue
        params = [*args.posonlyargs, *args.args]
        defaults: dict[str, object] = {a.arg: inspect_empty for a in params}
        for a, d in zip(params[len(params) - len(args.defaults) :], args.defaults, strict=True):
            defaults[a.arg] = ast.literal_eval(d)
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            defaults[a.arg] = inspect_empty if d is None else ast.literal_eval(d)
        shown.append(defaults)
    return shown


inspect_empty = object()


@pytest.mark.parametrize("folder", sorted(CLASSES), ids=sorted(CLASSES))
def test_readme_shows_the_real_signature(folder: str) -> None:
    """The README's full ``Plugin(...)`` signature has the constructor's parameters and defaults."""
    import inspect

    module = importlib.import_module(folder.replace("-", "_"))
    cls = getattr(module, CLASSES[folder])
    real = {
        name: inspect_empty if p.default is inspect.Parameter.empty else p.default
        for name, p in inspect.signature(cls).parameters.items()
    }
    readme = (PLUGINS / folder / "README.md").read_text(encoding="utf-8")
    shown = _shown_signatures(readme, CLASSES[folder])
    assert shown, f"{folder}/README.md shows no {CLASSES[folder]}(...) signature"
    fullest = max(shown, key=len)
    assert fullest.keys() == real.keys(), (fullest.keys(), real.keys())
    for name, default in real.items():
        if default is not inspect_empty:
            assert fullest[name] == default, (name, fullest[name], default)
