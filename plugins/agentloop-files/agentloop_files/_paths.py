"""Path containment for the file tools: resolve a model-given path inside a root, or refuse.

Two layers keep every file operation inside the root:

1. :func:`resolve_path` rejects suspicious text (NUL bytes, backslashes,
   absolute paths, ``~``, percent-encoded separators), then resolves every
   symbolic link with :func:`os.path.realpath` and checks containment with
   :func:`os.path.commonpath` (never ``startswith``, so a sibling folder
   ``root-evil`` sharing the root's name prefix is refused).
2. :func:`open_beneath` opens the resolved path one component at a time from
   a descriptor of the root with ``O_NOFOLLOW``, so a symbolic link swapped in
   after the check is never followed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from agentloop import ToolError

__all__ = [
    "PathOutsideRoot",
    "check_regular",
    "describe_os_error",
    "is_within",
    "open_beneath",
    "open_folder",
    "relative_name",
    "resolve_path",
]

_ENCODED = ("%2f", "%5c", "%2e", "%00")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class PathOutsideRoot(ToolError):
    """A path given to a file tool points outside the plugin's root folder (or tries to)."""


def is_within(root: str, real: str) -> bool:
    """Return True when the resolved path ``real`` is ``root`` or lies beneath it.

    Args:
        root: The resolved root folder.
        real: A resolved absolute path.
    """
    return os.path.commonpath([root, real]) == root


def resolve_path(root: str, path: str) -> str:
    """Resolve a path given by the model to a real absolute path inside ``root``.

    Args:
        root: The resolved root folder.
        path: A path relative to the root, using ``/`` separators.

    Returns:
        The absolute path with every symbolic link resolved.

    Raises:
        PathOutsideRoot: The path is absolute, starts with ``~``, contains a
            NUL byte, a backslash or a percent-encoded separator, or resolves
            (through ``..`` or symbolic links) outside the root.
        ToolError: A link on the way changed while it was resolved.
    """
    if not isinstance(path, str):
        raise ToolError("the path must be a string")
    _check_text(path)
    try:
        real = os.path.realpath(os.path.join(root, path or "."))
    except OSError as exc:  # a link removed or replaced while it was read (a race)
        raise ToolError(describe_os_error(exc, path)) from None
    except (ValueError, RecursionError):
        raise ToolError(f"cannot resolve {path!r}") from None
    if not is_within(root, real):
        raise PathOutsideRoot(
            f"path outside the root: {path!r} leads outside the folder these tools may use "
            "(through '..' or a symbolic link)"
        )
    return real


def _check_text(path: str) -> None:
    if "\x00" in path:
        raise PathOutsideRoot("path outside the root: NUL bytes are not allowed in paths")
    if "\\" in path:
        raise PathOutsideRoot(
            f"path outside the root: backslashes are not allowed in {path!r}; use '/' separators"
        )
    if os.path.isabs(path):
        raise PathOutsideRoot(
            f"path outside the root: {path!r} is absolute; use a path relative to the root"
        )
    if path.startswith("~"):
        raise PathOutsideRoot(
            f"path outside the root: {path!r} refers to a home folder; "
            "use a path relative to the root"
        )
    lowered = path.lower()
    if any(code in lowered for code in _ENCODED):
        raise PathOutsideRoot(
            f"path outside the root: percent-encoded characters are not allowed in {path!r}"
        )


def relative_name(root: str, real: str) -> str:
    """Return ``real`` relative to ``root`` with ``/`` separators (``.`` for the root)."""
    return os.path.relpath(real, root).replace(os.sep, "/")


def open_folder(root: str, real: str, *, create: bool = False) -> int:
    """Open the folder ``real`` (a resolved path inside ``root``) without following links.

    Each folder below the root is opened relative to its parent's descriptor
    with ``O_NOFOLLOW``, so a symbolic link swapped in after
    :func:`resolve_path` checked the path is never followed.

    Args:
        root: The resolved root folder.
        real: The resolved folder path.
        create: Create missing folders on the way (for writes).

    Returns:
        An open descriptor of the folder; the caller closes it.

    Raises:
        PathOutsideRoot: ``real`` is not inside ``root``.
        ToolError: A component is not a folder or is a symbolic link.
        OSError: A component is missing or cannot be opened.
    """
    if not is_within(root, real):
        raise PathOutsideRoot("path outside the root")
    rel = os.path.relpath(real, root)
    fd = os.open(root, _DIR_FLAGS)
    try:
        for name in [] if rel == "." else rel.split(os.sep):
            fd = _enter(fd, name, create=create)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_beneath(root: str, real: str, flags: int) -> int:
    """Open ``real`` (a resolved path inside ``root``) without following any symbolic link.

    Args:
        root: The resolved root folder.
        real: The resolved path, as returned by :func:`resolve_path`.
        flags: ``os.open`` flags for the final component (``O_NOFOLLOW`` is added).

    Returns:
        An open file descriptor; the caller closes it.

    Raises:
        PathOutsideRoot: ``real`` is not inside ``root``.
        ToolError: A folder on the way is a symbolic link or not a folder.
        OSError: The file is missing, is a symbolic link (``ELOOP``) or cannot be opened.
    """
    if real == root:
        return os.open(root, _DIR_FLAGS)
    parent = open_folder(root, os.path.dirname(real))
    try:
        return os.open(os.path.basename(real), flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
    finally:
        os.close(parent)


def _enter(parent: int, name: str, *, create: bool) -> int:
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o777, dir_fd=parent)
    try:
        child = os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ToolError(f"{name!r} is not a folder (or is a symbolic link)") from None
        raise
    os.close(parent)
    return child


def check_regular(fd: int, path: str) -> os.stat_result:
    """Return the status of an open file, refusing anything but a regular file.

    Args:
        fd: The open descriptor.
        path: The path as the model gave it, for the message.

    Raises:
        ToolError: The file is a folder, FIFO, socket or device.
    """
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        raise ToolError(f"{path!r} is a folder, not a file; use list_files to see what it holds")
    if not stat.S_ISREG(info.st_mode):
        raise ToolError(
            f"{path!r} is not a regular file (a FIFO, socket or device); refusing to open it"
        )
    return info


def describe_os_error(exc: OSError, path: str) -> str:
    """Turn an ``OSError`` into a short message for the model, naming only ``path``.

    Args:
        exc: The error.
        path: The path as the model gave it (relative to the root).
    """
    if exc.errno == errno.ENOENT:
        return f"no such file or folder: {path!r}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: {path!r}"
    if exc.errno == errno.ELOOP:
        return f"refusing to follow a symbolic link: {path!r}"
    if exc.errno == errno.EISDIR:
        return f"{path!r} is a folder, not a file"
    if exc.errno == errno.ENOTDIR:
        return f"a part of {path!r} is not a folder"
    if exc.errno == errno.ENXIO:
        return f"{path!r} is not a regular file; refusing to open it"
    # never str(exc): it carries the absolute file name, which the model must not see
    return f"cannot use {path!r}: {exc.strerror or f'error {exc.errno}'}"
