"""agentloop-files: sandboxed file tools for agentloop agents.

``FilesPlugin(root)`` offers ``list_files``, ``read_file`` and
``search_files`` (and ``write_file`` with ``allow_write=True``) on one folder.
Nothing outside that folder can be reached: absolute paths, ``..``, ``~``,
NUL bytes, backslashes and symbolic links that lead outside are refused with
:class:`PathOutsideRoot`; FIFOs, sockets and devices are refused; reads,
writes, listings and searches are size-capped.

The distribution registers this module under the ``agentloop`` entry-point
group as ``files``; the module itself offers no tools (it needs a root), so
pass an instance: ``Agent(plugins=[FilesPlugin("./workspace")])``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import secrets
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
    open_folder,
    relative_name,
    resolve_path,
)
from ._reading import matching_lines, read_text

__all__ = ["FilesPlugin", "PathOutsideRoot"]

MAX_SCAN_ENTRIES = 100_000
"""Most folder entries a listing or search looks at."""

MAX_SEARCH_FILE_BYTES = 2 * 1024 * 1024
"""Files larger than this are skipped by ``search_files``."""

MAX_SEARCH_SECONDS = 10.0
"""Wall-clock budget of one ``search_files`` call."""

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
    ) -> None:
        real = os.path.realpath(os.fspath(root))
        if not os.path.isdir(real):
            raise ConfigurationError(f"FilesPlugin root {os.fspath(root)!r} is not a folder")
        for name, value in (
            ("max_read_bytes", max_read_bytes),
            ("max_write_bytes", max_write_bytes),
            ("max_entries", max_entries),
            ("max_results", max_results),
        ):
            if value < 1:
                raise ConfigurationError(f"FilesPlugin {name} must be positive, got {value}")
        self.root = real
        self.allow_write = allow_write
        self.max_read_bytes = max_read_bytes
        self.max_write_bytes = max_write_bytes
        self.max_entries = max_entries
        self.max_results = max_results
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
        try:
            for scanned, (rel, is_dir) in enumerate(self._walk(real, recursive), start=1):
                if scanned > MAX_SCAN_ENTRIES or len(names) >= self.max_entries:
                    complete = False
                    break
                if pattern is None or _matches(pattern, rel):
                    names.append(rel + "/" if is_dir else rel)
        except OSError as exc:
            raise ToolError(describe_os_error(exc, path)) from None
        if not names:
            return "(no matching entries)" if pattern else "(empty folder)"
        text = "\n".join(sorted(names))
        if not complete:
            text += f"\n[truncated: more than {len(names)} entries; narrow with path or pattern]"
        return text

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
        except OSError as exc:
            raise ToolError(describe_os_error(exc, path)) from None
        try:
            info = check_regular(fd, path)
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
        match = _matcher(query, regex)
        limit = max(1, min(max_results, self.max_results))
        real = resolve_path(self.root, path)
        if os.path.isfile(real):
            files = iter([(relative_name(self.root, real), False)])
        elif os.path.isdir(real):
            files = self._walk(real, recursive=True)
        else:
            raise ToolError(f"no such file or folder: {path!r}")
        return self._search(files, match, limit)

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
            self._replace(real, data, path)
        except OSError as exc:
            raise ToolError(describe_os_error(exc, path)) from None
        verb = "overwrote" if existed else "created"
        return f"{verb} {relative_name(self.root, real)} ({len(data)} bytes)"

    # ---------------------------------------------------------------- helpers

    def _walk(self, real: str, recursive: bool) -> Iterator[tuple[str, bool]]:
        """Yield ``(relative path, is folder)`` for entries under ``real``, without following links."""
        if not recursive:
            with os.scandir(real) as entries:
                for entry in entries:
                    yield relative_name(self.root, entry.path), entry.is_dir(follow_symlinks=False)
            return
        for folder, dirs, files in os.walk(real, followlinks=False):
            links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
            dirs[:] = sorted(d for d in dirs if d not in links)  # never descend into links
            for name in dirs:
                yield relative_name(self.root, os.path.join(folder, name)), True
            for name in sorted([*files, *links]):
                yield relative_name(self.root, os.path.join(folder, name)), False

    def _search(
        self, files: Iterable[tuple[str, bool]], match: Callable[[str], bool], limit: int
    ) -> str:
        rows: list[str] = []
        deadline = time.monotonic() + MAX_SEARCH_SECONDS
        note = ""
        for scanned, (rel, is_dir) in enumerate(files, start=1):
            if scanned > MAX_SCAN_ENTRIES or time.monotonic() > deadline:
                note = f"\n[search stopped early after {scanned - 1} entries; narrow the path]"
                break
            if is_dir:
                continue
            data = self._search_data(rel)
            for number, line in matching_lines(data, match) if data else ():
                if len(rows) >= limit:
                    return "\n".join(rows) + f"\n[truncated: more than {limit} matching lines]"
                shown = line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "..."
                rows.append(f"{rel}:{number}: {shown}")
        return ("\n".join(rows) if rows else "(no matches)") + note

    def _search_data(self, rel: str) -> bytes | None:
        """Return a regular file's bytes for searching, or None to skip it."""
        real = os.path.join(self.root, rel)
        try:
            fd = open_beneath(self.root, real, os.O_RDONLY | os.O_NONBLOCK)
        except (OSError, ToolError):
            return None  # symbolic links, vanished or unreadable files are skipped
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SEARCH_FILE_BYTES:
            os.close(fd)
            return None
        with os.fdopen(fd, "rb") as f:
            return f.read(MAX_SEARCH_FILE_BYTES)

    def _replace(self, real: str, data: bytes, path: str) -> None:
        """Write ``data`` to a new file beside ``real``, then rename it over ``real``."""
        parent_real = os.path.dirname(real)
        parent = open_folder(self.root, parent_real, create=True)
        leaf = os.path.basename(real)
        temp = f".{leaf}.{secrets.token_hex(6)}.tmp"
        try:
            mode = _existing_mode(parent, leaf, path)
            fd = os.open(
                temp,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                mode,
                dir_fd=parent,
            )
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(temp, leaf, src_dir_fd=parent, dst_dir_fd=parent)
            except BaseException:
                _unlink_quietly(temp, parent)
                raise
        finally:
            os.close(parent)


def _existing_mode(parent: int, leaf: str, path: str) -> int:
    """Return the permission bits to keep, refusing to replace anything but a regular file."""
    try:
        info = os.stat(leaf, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return 0o644
    if not stat.S_ISREG(info.st_mode):
        raise ToolError(f"{path!r} exists and is not a regular file; refusing to replace it")
    return stat.S_IMODE(info.st_mode)


def _unlink_quietly(name: str, dir_fd: int) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=dir_fd)


def _matches(pattern: str, rel: str) -> bool:
    target = rel if "/" in pattern else rel.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(target, pattern)


def _matcher(query: str, regex: bool) -> Callable[[str], bool]:
    if not regex:
        return lambda line: query in line
    try:
        compiled = re.compile(query)
    except re.error as exc:
        raise ToolError(f"invalid regular expression {query!r}: {exc}") from None
    return lambda line: compiled.search(line) is not None
