"""Races on the folders a path goes through: only ToolErrors ever leave a file tool."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from agentloop_files import FilesPlugin

from agentloop import ToolError

LINKS = 12

# Each link name flips between a symbolic link to "." and a real folder holding the file, as
# fast as it can: a path through all of them meets links that vanish between lstat and readlink.
_FLIPPER = textwrap.dedent(
    """
    import os, sys
    root, count = sys.argv[1], int(sys.argv[2])
    names = [os.path.join(root, f"l{i}") for i in range(count)]
    print("go", flush=True)
    while True:
        for name in names:
            try:
                if os.path.islink(name):
                    os.unlink(name)
                    os.mkdir(name)
                else:
                    os.rmdir(name)
                    os.symlink(".", name)
            except OSError:
                pass
    """
)


@pytest.fixture
def racing(tmp_path: Path) -> Iterator[FilesPlugin]:
    (tmp_path / "f.txt").write_text("needle\n")
    for i in range(LINKS):
        (tmp_path / f"l{i}").symlink_to(".")
    flipper = subprocess.Popen(
        [sys.executable, "-c", _FLIPPER, str(tmp_path), str(LINKS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert flipper.stdout is not None and flipper.stdout.readline().strip() == "go"
        yield FilesPlugin(tmp_path, allow_write=True)
    finally:
        flipper.kill()
        flipper.wait()


def _through_links(leaf: str) -> str:
    return "/".join(f"l{i}" for i in range(LINKS)) + "/" + leaf


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.read_file(_through_links("f.txt")),
        lambda p: p.list_files(_through_links(""), recursive=True),
        lambda p: p.search_files("needle", path=_through_links("")),
        lambda p: p.search_files("ne+dle", path=_through_links("f.txt"), regex=True),
        lambda p: p.write_file(_through_links("new.txt"), "x"),
    ],
    ids=["read_file", "list_files", "search_files", "search_files_regex", "write_file"],
)
def test_only_tool_errors_escape_under_a_symlink_race(
    racing: FilesPlugin, call: Callable[[FilesPlugin], str]
) -> None:
    outcomes: dict[str, int] = {}
    for _ in range(150 if "regex" in repr(call) else 400):
        try:
            kind = type(call(racing)).__name__
        except ToolError:
            kind = "ToolError"
        except Exception as exc:  # what the race must never let out
            pytest.fail(f"{type(exc).__name__} escaped the tool: {exc}")
        outcomes[kind] = outcomes.get(kind, 0) + 1
    assert set(outcomes) <= {"str", "ToolError"}
