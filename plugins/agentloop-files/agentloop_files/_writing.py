"""Writing a file inside the workspace: a new file beside the old one, renamed over it."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat

from agentloop import ToolError

from ._paths import open_folder

__all__ = ["replace_file"]


def replace_file(root: str, real: str, data: bytes, path: str) -> None:
    """Write ``data`` to a new file beside ``real``, then rename it over ``real``.

    Args:
        root: The workspace root (real path).
        real: The file's real path inside the root.
        data: The new content.
        path: The path as the model gave it (for messages).
    """
    parent_real = os.path.dirname(real)
    parent = open_folder(root, parent_real, create=True)
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
