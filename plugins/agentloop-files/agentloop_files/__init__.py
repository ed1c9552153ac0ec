"""agentloop-files: sandboxed file tools for agentloop agents.

``FilesPlugin(root)`` offers ``list_files``, ``read_file`` and
``search_files`` (and ``write_file`` with ``allow_write=True``) on one folder.
Nothing outside that folder can be reached: absolute paths, ``..``, ``~``,
NUL bytes, backslashes and symbolic links that lead outside are refused with
:class:`PathOutsideRoot`; FIFOs, sockets, devices and files with several hard
links (which may be files from outside) are refused; reads, writes, listings and
searches are size-capped; folders are walked without recursion to a depth limit;
regex searches run in a child process that is killed at the time limit; and every
operating-system error becomes a :class:`~agentloop.ToolError` that names only
root-relative paths.

The distribution registers this module under the ``agentloop`` entry-point
group as ``files``; the module itself offers no tools (it needs a root), so
pass an instance: ``Agent(plugins=[FilesPlugin("./workspace")])``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from agentloop import ConfigurationError, Tool, ToolError, hookimpl, tool

from ._offers import agentloop_register_tools as agentloop_register_tools
from ._paths import (
    PathOutsideRoot,
    check_regular,
    describe_os_error,
    open_beneath,
    relative_name,
    resolve_path,
)
from ._reading import BINARY_PROBE_BYTES, read_text
from ._regex import RegexTimeout, RegexWorker
from ._writing import replace_file

__all__ = ["MAX_DEPTH", "MAX_PATTERN_CHARS", "MAX_SEARCH_SECONDS", "FilesPlugin", "PathOutsideRoot"]

MAX_SCAN_ENTRIES = 100_000
"""Most folder entries a listing or search looks at."""

MAX_SEARCH_FILE_BYTES = 2 * 1024 * 1024
"""Files larger than this are skipped by ``search_files``."""

MAX_SEARCH_SECONDS = 10.0
"""Default wall-clock budget of one ``search_files`` call, regex matching included."""

MAX_DEPTH = 64
"""Default deepest folder level a recursive listing or search enters."""

MAX_PATTERN_CHARS = 1000
"""Longest regular expression ``search_files`` accepts."""

MAX_LINE_CHARS = 300
"""Matching lines are shortened to this many characters."""


class FilesPlugin:
    """Plugin offering file tools confined to one folder.

    Args:
        root: The folder the tools may use. Symbolic links in it are resolved once here.
        allow_write: Also offer ``write_file``.
        approve_writes: Make ``write_file`` require approval (``Agent(approver=...)``
            or an approval plugin); without an approver every write is denied.
        max_read_bytes: Most bytes ``read_file`` returns; longer files are cut off with a marker.
        max_write_bytes: Largest content ``write_file`` accepts, in UTF-8 bytes.
        max_entries: Most entries ``list_files`` returns.
        max_results: Most matches ``search_files`` returns, whatever the model asks for.
        search_seconds: Wall-clock budget of one search; a regular expression still
            matching then is stopped (its child process is killed).
        max_depth: Deepest folder level below the root that recursive listings and
            searches enter; deeper folders are skipped with a note.
        allow_hardlinks: Read and search files that have more than one hard link. By
            default they are refused: a hard link inside the root may be a file outside it.

    Raises:
        ConfigurationError: ``root`` is not an existing folder, or a limit is not positive.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        allow_write: bool = False,
        approve_writes: bool = False,
        max_read_bytes: int = 100_000,
        max_write_bytes: int = 1_000_000,
        max_entries: int = 1000,
        max_results: int = 200,
        search_seconds: float = MAX_SEARCH_SECONDS,
        max_depth: int = MAX_DEPTH,
        allow_hardlinks: bool = False,
    ) -> None:
        real = os.path.realpath(os.fspath(root))
        if not os.path.isdir(real):
            raise ConfigurationError(f"FilesPlugin root {os.fspath(root)!r} is not a folder")
        for name, value in (
            ("max_read_bytes", max_read_bytes),
            ("max_write_bytes", max_write_bytes),
            ("max_entries", max_entries),
            ("max_results", max_results),
            ("search_seconds", search_seconds),
            ("max_depth", max_depth),
        ):
            if not value > 0:
                raise ConfigurationError(f"FilesPlugin {name} must be positive, got {value}")
        self.root = real
        self.allow_write = allow_write
        self.max_read_bytes = max_read_bytes
        self.max_write_bytes = max_write_bytes
        self.max_entries = max_entries
        self.max_results = max_results
        self.search_seconds = float(search_seconds)
        self.max_depth = max_depth
        self.allow_hardlinks = allow_hardlinks
        tools = [tool(self.list_files), tool(self.read_file), tool(self.search_files)]
        if allow_write:
            tools.append(tool(self.write_file, requires_approval=approve_writes))
        self.tools: tuple[Tool, ...] = tuple(tools)

    def __repr__(self) -> str:
        return f"FilesPlugin({self.root!r}, allow_write={self.allow_write})"

    @hookimpl
    def agentloop_tools(self, agent: Any) -> list[Tool]:
        """Offer the file tools to the agent."""
        return list(self.tools)

    # ------------------------------------------------------------------ tools

    def list_files(
        self, path: str = ".", pattern: str | None = None, recursive: bool = False
    ) -> str:
        """List the files and folders in a folder of the workspace.

        Paths are relative to the workspace root; folders end with "/".

        Args:
            path: The folder to list, relative to the workspace root ("." for the root).
            pattern: Only list names matching this glob pattern, e.g. "*.py".
                A pattern containing "/" is matched against the whole relative path.
            recursive: Also list everything in sub-folders (symbolic links are not followed).
        """
        real = resolve_path(self.root, path)
        if not os.path.isdir(real):
            missing = not os.path.exists(real)
            raise ToolError(f"no such folder: {path!r}" if missing else f"{path!r} is not a folder")
        names: list[str] = []
        complete = True
        too_deep: list[str] = []
        try:
            for scanned, (rel, is_dir) in enumerate(self._walk(real, recursive, too_deep), 1):
                if scanned > MAX_SCAN_ENTRIES or len(names) >= self.max_entries:
                    complete = False
                    break
                if pattern is None or _matches(pattern, rel):
                    names.append(rel + "/" if is_dir else rel)
        except OSError as exc:
            raise ToolError(describe_os_error(exc, path)) from None
        if not names:
            text = "(no matching entries)" if pattern else "(empty folder)"
        else:
            text = "\n".join(sorted(names))
        if not complete:
            text += f"\n[truncated: more than {len(names)} entries; narrow with path or pattern]"
        return text + self._depth_note(too_deep)

    def read_file(
        self, path: str, start_line: int | None = None, end_line: int | None = None
    ) -> str:
        """Read a UTF-8 text file from the workspace.

        Long files are cut off with a "[truncated ...]" note; read the rest by
        line range. Binary files are refused.

        Args:
            path: The file to read, relative to the workspace root.
            start_line: First line to read, counting from 1 (omit to start at the beginning).
            end_line: Last line to read, inclusive (omit to read to the end).
        """
        real = resolve_path(self.root, path)
        try:
            fd = open_beneath(self.root, real, os.O_RDONLY | os.O_NONBLOCK)
            try:
                info = check_regular(fd, path)
                self._check_links(info, path)
            except BaseException:
                os.close(fd)
                raise
            with os.fdopen(fd, "rb") as f:
                return read_text(
                    f,
                    path=path,
                    size=info.st_size,
                    cap=self.max_read_bytes,
                    start_line=start_line,
                    end_line=end_line,
                )
        except OSError as exc:
            raise ToolError(describe_os_error(exc, path)) from None

    def search_files(
        self, query: str, path: str = ".", regex: bool = False, max_results: int = 50
    ) -> str:
        """Search the text files of the workspace for lines containing a string or regex.

        Returns one "path:line: text" row per matching line. Binary files,
        files over 2 MiB and symbolic links are skipped.

        Args:
            query: The text to look for (case-sensitive), or a Python regular
                expression when regex is true (use "(?i)" for case-insensitive).
            path: The folder (or single file) to search, relative to the workspace root.
            regex: Treat query as a regular expression.
            max_results: Most matching lines to return.
        """
        if not query:
            raise ToolError("query must not be empty")
        limit = max(1, min(max_results, self.max_results))
        real = resolve_path(self.root, path)
        too_deep: list[str] = []
        if os.path.isfile(real):
            files: Iterable[tuple[str, bool]] = [(relative_name(self.root, real), False)]
        elif os.path.isdir(real):
            files = self._walk(real, True, too_deep)
        else:
            raise ToolError(f"no such file or folder: {path!r}")
        deadline = time.monotonic() + self.search_seconds
        try:
            if not regex:
                return self._search(files, _plain_finder(query), limit, deadline, too_deep)
            _check_pattern(query)
            with RegexWorker(
                query, limit=limit + 1, deadline=deadline, seconds=self.search_seconds
            ) as worker:
                return self._search(files, worker.matches, limit, deadline, too_deep)
        except OSError as exc:
            raise ToolError(describe_os_error(exc, path)) from None

    def write_file(self, path: str, content: str) -> str:
        """Create or overwrite a UTF-8 text file in the workspace.

        Missing folders on the way are created. The whole file is replaced
        with content.

        Args:
            path: The file to write, relative to the workspace root.
            content: The complete new text of the file.
        """
        data = content.encode("utf-8")
        if len(data) > self.max_write_bytes:
            raise ToolError(
                f"content is {len(data)} bytes; the limit is {self.max_write_bytes} bytes"
            )
        real = resolve_path(self.root, path)
        if real == self.root or os.path.isdir(real):
            raise ToolError(f"{path!r} is a folder; give a file path")
        existed = os.path.lexists(real)
        try:
            replace_file(self.root, real, data, path)
        except OSError as exc:
            raise ToolError(describe_os_error(exc, path)) from None
        verb = "overwrote" if existed else "created"
        return f"{verb} {relative_name(self.root, real)} ({len(data)} bytes)"

    # ---------------------------------------------------------------- helpers

    def _walk(self, real: str, recursive: bool, too_deep: list[str]) -> Iterator[tuple[str, bool]]:
        """Yield ``(relative path, is folder)`` for entries under ``real``, without following links.

        The walk keeps its own stack (no recursion, so any depth of tree is safe) and
        enters folders at most :attr:`max_depth` levels below ``real``; the folders it
        did not enter are added to ``too_deep``. A folder that vanishes or cannot be
        read during the walk is skipped; only ``real`` itself failing raises.
        """
        stack: list[tuple[str, int]] = [(real, 0)]
        while stack:
            folder, depth = stack.pop()
            try:
                with os.scandir(folder) as scan:
                    entries = sorted(scan, key=lambda entry: entry.name)
            except OSError:
                if folder == real:
                    raise
                continue  # removed or made unreadable while we walked
            folders = []
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
            inner = set(folders)
            for name in folders:
                yield relative_name(self.root, name), True
            for entry in entries:
                if entry.path not in inner:
                    yield relative_name(self.root, entry.path), False
            if not recursive:
                return
            if depth >= self.max_depth:
                too_deep.extend(relative_name(self.root, name) for name in folders)
                continue
            stack.extend((name, depth + 1) for name in reversed(folders))

    def _depth_note(self, too_deep: list[str]) -> str:
        if not too_deep:
            return ""
        return (
            f"\n[{len(too_deep)} folder(s) deeper than {self.max_depth} levels were not "
            f"entered, e.g. {too_deep[0]!r}; list or search from a deeper path]"
        )

    def _search(
        self,
        files: Iterable[tuple[str, bool]],
        find: Callable[[str], list[int]],
        limit: int,
        deadline: float,
        too_deep: list[str],
    ) -> str:
        rows: list[str] = []
        note = ""
        linked = 0
        for scanned, (rel, is_dir) in enumerate(files, start=1):
            if scanned > MAX_SCAN_ENTRIES or time.monotonic() > deadline:
                note = f"\n[search stopped early after {scanned - 1} entries; narrow the path]"
                break
            if is_dir:
                continue
            text = self._search_text(rel)
            if text is _LINKED:
                linked += 1
                continue
            if not isinstance(text, str):
                continue
            try:
                numbers = find(text)
            except RegexTimeout as exc:
                if not rows:
                    raise
                note = f"\n[search stopped early: {exc}]"
                break
            lines = text.splitlines()
            for number in numbers:
                if len(rows) >= limit:
                    return "\n".join(rows) + f"\n[truncated: more than {limit} matching lines]"
                line = lines[number - 1]
                shown = line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "..."
                rows.append(f"{rel}:{number}: {shown}")
        if linked:
            note += (
                f"\n[{linked} file(s) with several hard links were skipped (they may be files "
                "from outside the workspace)]"
            )
        return ("\n".join(rows) if rows else "(no matches)") + note + self._depth_note(too_deep)

    def _search_text(self, rel: str) -> str | object | None:
        """A regular file's text for searching; None to skip it, ``_LINKED`` for a hard link."""
        real = os.path.join(self.root, rel)
        try:
            fd = open_beneath(self.root, real, os.O_RDONLY | os.O_NONBLOCK)
        except (OSError, ToolError):
            return None  # symbolic links, vanished or unreadable files are skipped
        try:
            with os.fdopen(fd, "rb") as f:
                info = os.fstat(f.fileno())
                if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SEARCH_FILE_BYTES:
                    return None
                if info.st_nlink > 1 and not self.allow_hardlinks:
                    return _LINKED
                data = f.read(MAX_SEARCH_FILE_BYTES)
        except OSError:
            return None  # a read error (or a file swapped under us) skips the file
        if b"\x00" in data[:BINARY_PROBE_BYTES]:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def _check_links(self, info: os.stat_result, path: str) -> None:
        """Refuse a file with several hard links unless the plugin allows them."""
        if info.st_nlink > 1 and not self.allow_hardlinks:
            raise ToolError(
                f"{path!r} has {info.st_nlink} hard links, so it may be a file from outside "
                "the workspace; refusing to read it (FilesPlugin(allow_hardlinks=True) allows it)"
            )


def _matches(pattern: str, rel: str) -> bool:
    target = rel if "/" in pattern else rel.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(target, pattern)


_LINKED = object()
"""Marks a file skipped because it has several hard links."""


def _plain_finder(query: str) -> Callable[[str], list[int]]:
    def find(text: str) -> list[int]:
        return [n for n, line in enumerate(text.splitlines(), start=1) if query in line]

    return find


def _check_pattern(query: str) -> None:
    """Refuse a pattern that is too long or does not compile (matching happens elsewhere)."""
    if len(query) > MAX_PATTERN_CHARS:
        raise ToolError(
            f"the regular expression is {len(query)} characters long; the limit is "
            f"{MAX_PATTERN_CHARS}"
        )
    try:
        re.compile(query)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ToolError(f"invalid regular expression {query!r}: {exc}") from None
