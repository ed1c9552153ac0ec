"""agentloop-files: every bound hit on purpose (issue 10), with small limits so the suite stays fast.

Regex time (a child process killed at the deadline), walk depth (no recursion at all),
operating-system errors (always a ToolError naming root-relative paths only) and hard
links (refused unless allowed).
"""

from __future__ import annotations

import errno
import inspect
import os
import sys
from pathlib import Path

import pytest
from agentloop_files import MAX_PATTERN_CHARS, FilesPlugin

from agentloop import ToolError

CATASTROPHIC = "(a+)+$"
"""Exponential backtracking on a line of a's that ends in a b: hours at 40 characters."""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "sub").mkdir(parents=True)
    (ws / "a-first.txt").write_text("found aaa\n")
    (ws / "sub" / "slow.txt").write_text("a" * 40 + "b\n")
    return ws


def _regex_children() -> list[int]:
    """Pids of this process's children that run the regex matcher."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"-I\x00-S\x00-c" in cmdline:
            found.append(int(entry))
    return found


# -- regex time --------------------------------------------------------------------------


def test_catastrophic_regex_is_stopped_at_the_time_limit(root: Path) -> None:
    plugin = FilesPlugin(root, search_seconds=0.3)
    with pytest.raises(ToolError, match=r"took longer than 0.3 s and was stopped"):
        plugin.search_files(CATASTROPHIC, path="sub", regex=True)
    assert _regex_children() == []  # the matcher was killed and reaped


def test_matches_found_before_the_limit_are_kept(root: Path) -> None:
    text = FilesPlugin(root, search_seconds=0.3).search_files("a+a+a+$|found", regex=True)
    assert text.startswith("a-first.txt:1: found aaa")
    slow = FilesPlugin(root, search_seconds=0.3).search_files("^found|(a+)+$", regex=True)
    assert slow.startswith("a-first.txt:1: found aaa")
    assert "[search stopped early: the regular expression took longer than 0.3 s" in slow


def test_ordinary_regexes_still_match(root: Path) -> None:
    plugin = FilesPlugin(root, search_seconds=5)
    assert plugin.search_files(r"^fo+und\s", regex=True) == "a-first.txt:1: found aaa"
    assert plugin.search_files(r"(?i)FOUND", regex=True) == "a-first.txt:1: found aaa"
    assert plugin.search_files("a{41}", regex=True) == "(no matches)"


@pytest.mark.parametrize(
    ("query", "message"),
    [("(unclosed", "invalid regular expression"), ("a" * (MAX_PATTERN_CHARS + 1), "limit is")],
)
def test_bad_patterns_are_refused_before_any_matching(root: Path, query: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        FilesPlugin(root).search_files(query, regex=True)


# -- walk depth --------------------------------------------------------------------------


def test_trees_deeper_than_the_recursion_limit_are_walked(tmp_path: Path) -> None:
    """A low recursion limit keeps the tree small: a recursive walk would fail at it."""
    limit = len(inspect.stack()) + 120
    levels = limit + 50
    deep = str(tmp_path)  # pathlib and os.makedirs themselves recurse on deep paths
    for _ in range(levels):
        deep = os.path.join(deep, "d")
        os.mkdir(deep)
    with open(os.path.join(deep, "bottom.txt"), "w") as f:
        f.write("needle\n")
    plugin = FilesPlugin(tmp_path, max_depth=levels + 1)
    original = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        search = plugin.search_files("needle")
        listed = plugin.list_files(recursive=True).splitlines()
    finally:
        sys.setrecursionlimit(original)
    assert search == "d/" * levels + "bottom.txt:1: needle"
    assert len(listed) == levels + 1 and listed[-1] == "d/" * levels + "bottom.txt"


def test_folders_past_max_depth_are_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "top.txt").write_text("needle\n")
    (tmp_path / "a" / "b" / "c" / "low.txt").write_text("needle\n")
    plugin = FilesPlugin(tmp_path, max_depth=1)
    listing = plugin.list_files(recursive=True)
    assert listing.splitlines()[:3] == ["a/", "a/b/", "a/top.txt"]
    assert "1 folder(s) deeper than 1 levels were not entered, e.g. 'a/b'" in listing
    search = plugin.search_files("needle")
    assert search.splitlines()[0] == "a/top.txt:1: needle" and "low.txt" not in search
    assert "deeper than 1 levels" in search
    assert "low.txt" in FilesPlugin(tmp_path).search_files("needle")


# -- operating-system errors -------------------------------------------------------------


def _failing(monkeypatch: pytest.MonkeyPatch, name: str, code: int, filename: str) -> None:
    """Make ``os.<name>`` fail for the plugin, as a race would (a file vanishing, an I/O error).

    Only calls from the plugin's own modules fail; pytest's use of ``os`` is untouched.
    """
    real = getattr(os, name)

    def fail(*args: object, **kwargs: object) -> object:
        if sys._getframe(1).f_globals.get("__name__", "").startswith("agentloop_files"):
            raise OSError(code, os.strerror(code), filename)
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, fail)


@pytest.mark.parametrize(
    ("call", "name", "code"),
    [
        (lambda p: p.list_files("sub"), "scandir", errno.ENOENT),
        (lambda p: p.list_files("sub", recursive=True), "scandir", errno.ENOENT),
        (lambda p: p.search_files("x", path="sub"), "scandir", errno.EIO),
        (lambda p: p.read_file("a-first.txt"), "fstat", errno.EIO),
        (lambda p: p.read_file("a-first.txt"), "open", errno.ENOENT),
        (lambda p: p.read_file("a-first.txt"), "fdopen", errno.EMFILE),
        (lambda p: p.write_file("sub/new.txt", "x"), "replace", errno.EXDEV),
        (lambda p: p.write_file("sub/new.txt", "x"), "mkdir", errno.ENOSPC),
    ],
)
def test_every_os_error_is_a_tool_error_with_relative_paths_only(
    root: Path, monkeypatch: pytest.MonkeyPatch, call, name: str, code: int
) -> None:
    plugin = FilesPlugin(root, allow_write=True)
    _failing(monkeypatch, name, code, str(root / "sub"))
    with pytest.raises(ToolError) as raised:
        call(plugin)
    assert str(root) not in str(raised.value) and str(root.parent) not in str(raised.value)
    assert raised.value.__cause__ is None or not isinstance(raised.value.__cause__, OSError)


def test_a_folder_failing_during_a_search_is_skipped(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith("sub"):
            raise FileNotFoundError(errno.ENOENT, "vanished", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert FilesPlugin(root).search_files("found") == "a-first.txt:1: found aaa"


# -- hard links --------------------------------------------------------------------------


def test_hard_links_are_refused_unless_allowed(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("needle secret\n")
    os.link(outside, ws / "innocent.txt")
    (ws / "plain.txt").write_text("needle plain\n")
    plugin = FilesPlugin(ws)
    with pytest.raises(ToolError, match="has 2 hard links.*allow_hardlinks=True"):
        plugin.read_file("innocent.txt")
    search = plugin.search_files("needle")
    assert search.splitlines()[0] == "plain.txt:1: needle plain" and "secret" not in search
    assert "1 file(s) with several hard links were skipped" in search
    allowed = FilesPlugin(ws, allow_hardlinks=True)
    assert allowed.read_file("innocent.txt") == "needle secret\n"
    assert "innocent.txt:1: needle secret" in allowed.search_files("needle")
