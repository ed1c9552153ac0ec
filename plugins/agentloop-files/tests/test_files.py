"""Tests of the agentloop-files plugin: the tools, the sandbox (RELIABILITY.md 47-51), agent runs."""

from __future__ import annotations

import builtins
import importlib.metadata
import os
from pathlib import Path
from typing import Any

import agentloop_files
import pytest
from agentloop_files import FilesPlugin, PathOutsideRoot, _reading
from agentloop_files._paths import is_within

from agentloop import Agent, ConfigurationError, Tool, ToolError
from agentloop.testing import ScriptedModel, tool_call, tool_calls_response


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A workspace ``ws`` with a sibling ``ws-evil`` and an ``outside`` folder next to it."""
    root = tmp_path / "ws"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "file.txt").write_text("l1\nl2\nl3\n")
    (root / "sub" / "deeper" / "notes.md").write_text("# notes\nneedle here\n")
    (root / "readme.txt").write_text("hello needle\n")
    (tmp_path / "ws-evil").mkdir()
    (tmp_path / "ws-evil" / "x").write_text("needle secret sibling\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("needle secret outside\n")
    return root


@pytest.fixture
def plugin(tree: Path) -> FilesPlugin:
    return FilesPlugin(tree, allow_write=True, max_read_bytes=1000)


def _names(plugin: FilesPlugin) -> list[str]:
    return [t.name for t in plugin.tools]


# ---------------------------------------------------------------------------
# The tools
# ---------------------------------------------------------------------------


def test_tools_offered(tree: Path) -> None:
    assert _names(FilesPlugin(tree)) == ["list_files", "read_file", "search_files"]
    writable = FilesPlugin(tree, allow_write=True)
    assert _names(writable) == ["list_files", "read_file", "search_files", "write_file"]
    assert all(isinstance(t, Tool) and t.description for t in writable.tools)
    for t in writable.tools:
        for name, prop in t.parameters["properties"].items():
            assert prop.get("description"), (t.name, name)
    assert writable.agentloop_tools(agent=None) == list(writable.tools)


def test_write_approval_option(tree: Path) -> None:
    plugin = FilesPlugin(tree, allow_write=True, approve_writes=True)
    write = {t.name: t for t in plugin.tools}["write_file"]
    assert write.requires_approval


def test_bad_configuration(tree: Path) -> None:
    with pytest.raises(ConfigurationError):
        FilesPlugin(tree / "missing")
    with pytest.raises(ConfigurationError):
        FilesPlugin(tree / "readme.txt")
    with pytest.raises(ConfigurationError):
        FilesPlugin(tree, max_read_bytes=0)


def test_read_file(plugin: FilesPlugin) -> None:
    assert plugin.read_file("sub/file.txt") == "l1\nl2\nl3\n"
    assert plugin.read_file("./sub/../sub/file.txt") == "l1\nl2\nl3\n"
    assert plugin.read_file("sub/file.txt", start_line=2) == "l2\nl3\n"
    assert plugin.read_file("sub/file.txt", start_line=2, end_line=2) == "l2\n"
    assert plugin.read_file("sub/file.txt", end_line=1) == "l1\n"
    assert "ends before line 9" in plugin.read_file("sub/file.txt", start_line=9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "missing.txt"}, "no such file"),
        ({"path": "sub"}, "is a folder"),
        ({"path": "."}, "is a folder"),
        ({"path": "sub/file.txt/x"}, "not a folder"),
        ({"path": "sub/file.txt", "start_line": 0}, "start_line"),
        ({"path": "sub/file.txt", "start_line": 3, "end_line": 1}, "end_line"),
    ],
)
def test_read_file_errors(plugin: FilesPlugin, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ToolError, match=message):
        plugin.read_file(**kwargs)


def test_read_is_capped_with_marker(plugin: FilesPlugin, tree: Path) -> None:
    (tree / "long.txt").write_text("abcdefghi\n" * 500)
    text = plugin.read_file("long.txt")
    assert text.startswith("abcdefghi\n")
    assert "[truncated: showing the first 1000 of 5000 bytes" in text
    ranged = plugin.read_file("long.txt", start_line=10, end_line=400)
    assert "[truncated at 1000 bytes" in ranged


def test_cap_never_splits_a_character(tree: Path) -> None:
    (tree / "utf8.txt").write_text("é" * 1000)  # 2 bytes each: the cap falls mid-character
    text = FilesPlugin(tree, max_read_bytes=101).read_file("utf8.txt")
    assert text.startswith("é" * 50) and "truncated" in text


def test_binary_files_are_refused(plugin: FilesPlugin, tree: Path) -> None:
    (tree / "nul.bin").write_bytes(b"text\x00more")
    (tree / "latin1.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(ToolError, match="binary"):
        plugin.read_file("nul.bin")
    with pytest.raises(ToolError, match="not UTF-8"):
        plugin.read_file("latin1.txt")


def test_list_files(plugin: FilesPlugin, tree: Path) -> None:
    assert plugin.list_files() == "readme.txt\nsub/"
    assert plugin.list_files("sub") == "sub/deeper/\nsub/file.txt"
    assert plugin.list_files(recursive=True).splitlines() == [
        "readme.txt",
        "sub/",
        "sub/deeper/",
        "sub/deeper/notes.md",
        "sub/file.txt",
    ]
    assert plugin.list_files(pattern="*.md", recursive=True) == "sub/deeper/notes.md"
    assert plugin.list_files(pattern="sub/*.txt", recursive=True) == "sub/file.txt"
    assert plugin.list_files(pattern="*.zip") == "(no matching entries)"
    (tree / "empty").mkdir()
    assert plugin.list_files("empty") == "(empty folder)"
    with pytest.raises(ToolError, match="not a folder"):
        plugin.list_files("readme.txt")
    with pytest.raises(ToolError, match="no such folder"):
        plugin.list_files("nope")


def test_list_files_is_capped(tree: Path) -> None:
    for i in range(30):
        (tree / f"f{i:02}.txt").write_text("x")
    text = FilesPlugin(tree, max_entries=10).list_files()
    assert len(text.splitlines()) == 11 and "[truncated: more than 10 entries" in text


def test_search_files(plugin: FilesPlugin) -> None:
    assert plugin.search_files("needle").splitlines() == [
        "readme.txt:1: hello needle",
        "sub/deeper/notes.md:2: needle here",
    ]
    assert plugin.search_files("l[23]", regex=True) == "sub/file.txt:2: l2\nsub/file.txt:3: l3"
    assert plugin.search_files("(?i)NEEDLE H", regex=True) == "sub/deeper/notes.md:2: needle here"
    assert plugin.search_files("needle", path="sub") == "sub/deeper/notes.md:2: needle here"
    assert plugin.search_files("l1", path="sub/file.txt") == "sub/file.txt:1: l1"
    assert plugin.search_files("absent") == "(no matches)"
    with pytest.raises(ToolError, match="invalid regular expression"):
        plugin.search_files("(", regex=True)
    with pytest.raises(ToolError, match="empty"):
        plugin.search_files("")


def test_search_results_are_capped(plugin: FilesPlugin, tree: Path) -> None:
    (tree / "many.txt").write_text("hit\n" * 100)
    text = plugin.search_files("hit", max_results=5)
    assert len(text.splitlines()) == 6 and "more than 5 matching lines" in text
    capped = FilesPlugin(tree, max_results=3).search_files("hit", max_results=1000)
    assert len(capped.splitlines()) == 4


def test_search_skips_binary_and_links_out(plugin: FilesPlugin, tree: Path) -> None:
    (tree / "blob.bin").write_bytes(b"needle\x00")
    os.symlink(tree.parent / "outside" / "secret.txt", tree / "link.txt")
    os.symlink(tree.parent / "outside", tree / "outdir")
    text = plugin.search_files("needle")
    assert "secret" not in text and "blob.bin" not in text and "link.txt" not in text


def test_write_file(plugin: FilesPlugin, tree: Path) -> None:
    assert plugin.write_file("new/deep/a.txt", "hello") == "created new/deep/a.txt (5 bytes)"
    assert (tree / "new" / "deep" / "a.txt").read_text() == "hello"
    assert plugin.write_file("new/deep/a.txt", "bye é") == "overwrote new/deep/a.txt (6 bytes)"
    assert (tree / "new" / "deep" / "a.txt").read_text() == "bye é"
    assert not [p for p in tree.rglob("*.tmp")]  # written through a temp file, renamed into place


def test_write_file_keeps_the_mode(plugin: FilesPlugin, tree: Path) -> None:
    script = tree / "run.sh"
    script.write_text("old")
    script.chmod(0o755)
    plugin.write_file("run.sh", "new")
    assert script.read_text() == "new" and (script.stat().st_mode & 0o777) == 0o755


def test_write_file_refusals(plugin: FilesPlugin, tree: Path) -> None:
    with pytest.raises(ToolError, match="limit"):
        FilesPlugin(tree, allow_write=True, max_write_bytes=10).write_file("big.txt", "x" * 11)
    with pytest.raises(ToolError, match="folder"):
        plugin.write_file("sub", "x")
    with pytest.raises(ToolError, match="folder"):
        plugin.write_file(".", "x")
    os.mkfifo(tree / "pipe")
    with pytest.raises(ToolError, match="not a regular file"):
        plugin.write_file("pipe", "x")
    with pytest.raises(PathOutsideRoot):
        plugin.write_file("../ws-evil/y", "x")
    assert not (tree.parent / "ws-evil" / "y").exists()


def test_write_through_a_link_inside_the_root(plugin: FilesPlugin, tree: Path) -> None:
    os.symlink(tree / "sub" / "file.txt", tree / "alias")
    assert plugin.write_file("alias", "changed") == "overwrote sub/file.txt (7 bytes)"
    assert (tree / "sub" / "file.txt").read_text() == "changed"


# ---------------------------------------------------------------------------
# RELIABILITY.md section F: 47-51
# ---------------------------------------------------------------------------

ESCAPES = [
    "../../etc/passwd",
    "/etc/passwd",
    "sub/../../x",
    "..%2f..%2fetc%2fpasswd",
    "..%2F..%2Fetc%2Fpasswd",
    "..\\..\\x",
    "a\x00b",
    "~/.ssh/id_rsa",
    "~",
    "..",
    "../ws-evil/x",
    "sub/../../ws-evil/x",
    "//etc/passwd",
]


@pytest.fixture
def open_spy(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every os.open / open call (path and dir_fd)."""
    calls: list[Any] = []
    real_os_open, real_open = os.open, builtins.open

    def spy_os_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: Any = None) -> int:
        calls.append((path, dir_fd))
        return real_os_open(path, flags, mode, dir_fd=dir_fd)

    def spy_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append((file, None))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_os_open)
    monkeypatch.setattr(builtins, "open", spy_open)
    return calls


@pytest.mark.parametrize("path", ESCAPES)
def test_47_traversal_is_refused_before_any_open(
    plugin: FilesPlugin, path: str, open_spy: list[Any]
) -> None:
    for call in (
        lambda: plugin.read_file(path),
        lambda: plugin.list_files(path),
        lambda: plugin.search_files("needle", path=path),
        lambda: plugin.write_file(path + "/new.txt", "pwned"),
    ):
        with pytest.raises(PathOutsideRoot, match="path outside the root"):
            call()
    assert open_spy == []


def test_48_symlinks_are_resolved_before_the_check(plugin: FilesPlugin, tree: Path) -> None:
    os.symlink("/etc/passwd", tree / "link")
    os.symlink("/etc", tree / "dir")
    os.symlink(tree / "sub" / "file.txt", tree / "ok")
    os.symlink("sub", tree / "relative_ok")
    with pytest.raises(PathOutsideRoot):
        plugin.read_file("link")
    with pytest.raises(PathOutsideRoot):
        plugin.read_file("dir/passwd")
    with pytest.raises(PathOutsideRoot):
        plugin.list_files("dir")
    assert plugin.read_file("ok") == "l1\nl2\nl3\n"
    assert plugin.read_file("relative_ok/file.txt") == "l1\nl2\nl3\n"


def test_48_listing_never_follows_links(plugin: FilesPlugin, tree: Path) -> None:
    os.symlink("/etc", tree / "dir")
    listing = plugin.list_files(recursive=True).splitlines()
    assert "dir" in listing and not any(name.startswith("dir/") for name in listing)


def test_49_sibling_folder_sharing_the_prefix(tree: Path) -> None:
    evil = str(tree.parent / "ws-evil" / "x")
    assert str(evil).startswith(str(tree))  # the naive startswith check would pass it
    assert not is_within(str(tree), evil)
    plugin = FilesPlugin(tree)
    with pytest.raises(PathOutsideRoot):
        plugin.read_file("../ws-evil/x")
    os.symlink(tree.parent / "ws-evil", tree / "evil")
    with pytest.raises(PathOutsideRoot):
        plugin.read_file("evil/x")


def test_49_root_given_with_a_trailing_slash_or_through_a_link(tree: Path) -> None:
    os.symlink(tree, tree.parent / "ws-link")
    for root in (str(tree) + "/", str(tree.parent / "ws-link")):
        plugin = FilesPlugin(root)
        assert plugin.read_file("readme.txt") == "hello needle\n"
        with pytest.raises(PathOutsideRoot):
            plugin.read_file("../ws-evil/x")


def test_50_write_through_a_link_to_outside_is_refused(plugin: FilesPlugin, tree: Path) -> None:
    outside = tree.parent / "outside"
    os.symlink(outside, tree / "out")
    os.symlink(outside / "dangling.txt", tree / "dangling")
    for path in ("out/new.txt", "out/sub/new.txt", "dangling", "out/secret.txt"):
        with pytest.raises(PathOutsideRoot):
            plugin.write_file(path, "pwned")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "needle secret outside\n"


class _CountingFile:
    """Wraps a binary file and counts the bytes read through it."""

    def __init__(self, f: Any, counts: list[int]) -> None:
        self._f = f
        self._counts = counts

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self._counts[-1] += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._f.readline(size)
        self._counts[-1] += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


@pytest.mark.timeout(30)
def test_51_huge_sparse_file_is_capped_quickly(
    plugin: FilesPlugin, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tree / "huge.log"
    with open(big, "wb") as f:
        f.write(b"line of text\n" * 1000)
        f.truncate(2 * 1024**3)  # 2 GiB, sparse
    counts: list[int] = []
    real_read_text = agentloop_files.read_text

    def read_text(f: Any, **kwargs: Any) -> str:
        counts.append(0)
        return real_read_text(_CountingFile(f, counts), **kwargs)

    monkeypatch.setattr(agentloop_files, "read_text", read_text)
    text = plugin.read_file("huge.log")
    assert "[truncated: showing the first 1000 of 2147483648 bytes" in text
    with pytest.raises(ToolError, match="cannot read that far"):
        plugin.read_file("huge.log", start_line=10**6)
    # "Quickly" means never reading the 2 GiB: the binary probe plus the cap, then the
    # probe plus the line-scan limit (and the chunk that crosses it).
    probe, scan = _reading.BINARY_PROBE_BYTES, _reading.SCAN_LIMIT_BYTES
    assert len(counts) == 2
    assert counts[0] <= probe + 1000 + 1
    assert counts[1] <= probe + scan + 2 * _reading._SCAN_CHUNK


@pytest.mark.timeout(10)
def test_51_non_regular_files_are_refused(plugin: FilesPlugin, tree: Path) -> None:
    os.mkfifo(tree / "fifo")
    os.symlink("/dev/zero", tree / "zero")
    # Opening or reading the FIFO would block until a writer comes: a hang, which the
    # timeout mark turns into a failure; refusing it is checked by the error.
    with pytest.raises(ToolError, match="not a regular file"):
        plugin.read_file("fifo")  # must not block waiting for a writer
    with pytest.raises(PathOutsideRoot):
        plugin.read_file("zero")
    assert "fifo" not in plugin.search_files("x")


@pytest.mark.timeout(10)
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_51_devices_inside_the_root_are_refused() -> None:
    plugin = FilesPlugin("/dev")
    with pytest.raises(ToolError, match="not a regular file"):
        plugin.read_file("zero")
    with pytest.raises(ToolError, match="not a regular file"):
        plugin.read_file("null")


# ---------------------------------------------------------------------------
# Plugin wiring and agent runs
# ---------------------------------------------------------------------------


def test_entry_point_module_offers_no_tools() -> None:
    entry_points = importlib.metadata.entry_points(group="agentloop")
    assert any(ep.name == "files" and ep.value == "agentloop_files" for ep in entry_points)
    assert not hasattr(agentloop_files, "agentloop_tools")


def test_agent_run(tree: Path) -> None:
    model = ScriptedModel(
        [
            tool_calls_response(
                tool_call("read_file", {"path": "../../etc/passwd"}),
                tool_call("read_file", {"path": "sub/file.txt", "start_line": 2}),
                tool_call("list_files", {}),
            ),
            tool_calls_response(tool_call("write_file", {"path": "a.txt", "content": "x"})),
            "done",
        ]
    )
    agent = Agent(model, plugins=[FilesPlugin(tree)], load_plugins=False)
    result = agent.run("look around")
    tool_messages = [m for m in result.messages if m["role"] == "tool"]
    assert "path outside the root" in tool_messages[0]["content"]
    assert tool_messages[1]["content"] == "l2\nl3\n"
    assert tool_messages[2]["content"] == "readme.txt\nsub/"
    assert "write_file" in tool_messages[3]["content"]  # not offered: an unknown tool
    assert not (tree / "a.txt").exists()
    offered = [t["function"]["name"] for t in model.requests[0]["tools"]]
    assert offered == ["list_files", "read_file", "search_files"]


def test_agent_run_with_writes(tree: Path) -> None:
    model = ScriptedModel(
        [
            tool_calls_response(
                tool_call("write_file", {"path": "notes/today.md", "content": "# hi\n"}),
                tool_call("write_file", {"path": "../escape.txt", "content": "x"}),
            ),
            "done",
        ]
    )
    agent = Agent(model, plugins=[FilesPlugin(tree, allow_write=True)], load_plugins=False)
    result = agent.run("write")
    contents = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert contents[0] == "created notes/today.md (5 bytes)"
    assert "path outside the root" in contents[1]
    assert (tree / "notes" / "today.md").read_text() == "# hi\n"
    assert not (tree.parent / "escape.txt").exists()


def test_agent_run_refuses_every_escape(tree: Path) -> None:
    """Traversal, a symlink out, the sibling-prefix folder and a write through a link: all refused."""
    os.symlink(tree.parent / "outside", tree / "out")
    os.symlink(tree.parent / "outside" / "secret.txt", tree / "secret-link")
    escapes = [
        ("read_file", {"path": "../outside/secret.txt"}),
        ("read_file", {"path": "secret-link"}),
        ("read_file", {"path": "out/secret.txt"}),
        ("read_file", {"path": "../ws-evil/x"}),
        ("list_files", {"path": "out"}),
        ("search_files", {"query": "needle", "path": "../ws-evil"}),
        ("write_file", {"path": "out/new.txt", "content": "pwned"}),
        ("write_file", {"path": "/tmp/new.txt", "content": "pwned"}),
    ]
    model = ScriptedModel(
        [tool_calls_response(*[tool_call(name, args) for name, args in escapes]), "done"]
    )
    plugin = FilesPlugin(tree, allow_write=True)
    result = Agent(model, plugins=[plugin], load_plugins=False, max_tool_retries=20).run("escape")
    contents = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert len(contents) == len(escapes)
    for (name, args), content in zip(escapes, contents, strict=True):
        assert content.startswith("error: path outside the root"), (name, args, content)
        assert "needle secret" not in content  # no byte of an outside file reaches the model
    assert [s.status for s in result.steps if s.kind == "tool"] == ["error"] * len(escapes)
    assert sorted(p.name for p in (tree.parent / "outside").iterdir()) == ["secret.txt"]


@pytest.mark.parametrize(
    "content",
    ["", "a", "a\n", "a\nb", "a\nb\n", "\n\n\n", "x\n" * 3000, "é\n" + "ab\n" * 70_000 + "tail"],
)
def test_line_ranges_match_a_reference(tree: Path, content: str) -> None:
    """Line ranges agree with ``splitlines(keepends=True)``, also across the scan chunk size."""
    (tree / "r.txt").write_text(content, encoding="utf-8")
    plugin = FilesPlugin(tree, max_read_bytes=10_000_000)
    lines = content.splitlines(keepends=True)
    for start in {1, 2, 3, len(lines) // 2 or 1, len(lines) or 1, len(lines) + 1}:
        for end in (None, start, start + 1, start + 500):
            got = plugin.read_file("r.txt", start_line=start, end_line=end)
            want = "".join(lines[start - 1 : end])
            if want:
                assert got == want, (start, end)
            else:
                assert got.startswith("[no lines:"), (start, end, got)
