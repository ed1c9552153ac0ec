"""Bounded reading of text files for the file tools: caps, line ranges, binary detection."""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

from agentloop import ToolError

__all__ = ["BINARY_PROBE_BYTES", "SCAN_LIMIT_BYTES", "decode_text", "read_text"]

BINARY_PROBE_BYTES = 8192
"""A NUL byte in this many leading bytes marks a file as binary."""

SCAN_LIMIT_BYTES = 32 * 1024 * 1024
"""How far into a file ``read_file`` looks for ``start_line`` before giving up."""

_SCAN_CHUNK = 1024 * 1024


def decode_text(data: bytes, path: str, *, partial: bool = False) -> str:
    """Decode UTF-8 text, refusing binary data.

    Args:
        data: The bytes read.
        path: The path as the model gave it, for the message.
        partial: The bytes were cut off, so an incomplete last character is dropped.

    Raises:
        ToolError: The bytes are not valid UTF-8 text.
    """
    if b"\x00" in data[:BINARY_PROBE_BYTES]:
        raise ToolError(f"{path!r} is a binary file (it contains NUL bytes); refusing to read it")
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        return decoder.decode(data, final=not partial)
    except UnicodeDecodeError:
        raise ToolError(
            f"{path!r} is not UTF-8 text (it looks like a binary file); refusing to read it"
        ) from None


def read_text(
    f: BinaryIO,
    *,
    path: str,
    size: int,
    cap: int,
    start_line: int | None = None,
    end_line: int | None = None,
) -> str:
    """Read a text file, or a range of its lines, up to ``cap`` bytes.

    Args:
        f: The file, opened in binary mode at offset 0.
        path: The path as the model gave it, for messages.
        size: The file's size in bytes.
        cap: Most bytes returned; more are cut off with a marker.
        start_line: First line to return (1-based), or None for the start.
        end_line: Last line to return (inclusive), or None for the end.

    Returns:
        The text, with a ``[truncated: ...]`` marker when it was cut off.

    Raises:
        ToolError: The file is binary, or the line range is invalid.
    """
    decode_text(f.read(BINARY_PROBE_BYTES), path, partial=True)  # refuse binary files early
    f.seek(0)
    if start_line is None and end_line is None:
        data = f.read(cap + 1)
        truncated = len(data) > cap
        text = decode_text(data[:cap], path, partial=truncated)
        if truncated:
            text += (
                f"\n[truncated: showing the first {cap} of {size} bytes; "
                "read further with start_line/end_line]"
            )
        return text
    start = 1 if start_line is None else start_line
    return _read_lines(f, path=path, cap=cap, start=start, end=end_line)


def _read_lines(f: BinaryIO, *, path: str, cap: int, start: int, end: int | None) -> str:
    if start < 1:
        raise ToolError("start_line must be 1 or more (lines are numbered from 1)")
    if end is not None and end < start:
        raise ToolError(f"end_line ({end}) must not be before start_line ({start})")
    if not _skip_to_line(f, start, path=path):
        return f"[no lines: {path!r} ends before line {start}]"
    line_no = start
    out = bytearray()
    while end is None or line_no <= end:
        piece = f.readline(cap + 1 - len(out))
        if not piece:
            break
        out += piece
        if len(out) > cap:
            text = decode_text(bytes(out[:cap]), path, partial=True)
            return text + f"\n[truncated at {cap} bytes: ask for fewer lines]"
        if piece.endswith(b"\n"):
            line_no += 1
    if not out:
        return f"[no lines: {path!r} ends before line {start}]"
    return decode_text(bytes(out), path)


def _skip_to_line(f: BinaryIO, start: int, *, path: str) -> bool:
    """Move ``f`` to the beginning of line ``start``; False when the file has fewer lines.

    Reads in large chunks and counts newlines in C (``bytes.count``), so even
    the whole scan limit takes milliseconds.

    Raises:
        ToolError: Line ``start`` begins beyond the first ``SCAN_LIMIT_BYTES`` bytes.
    """
    remaining, scanned = start - 1, 0  # newlines to pass, bytes passed
    while remaining > 0 and scanned <= SCAN_LIMIT_BYTES:
        chunk = f.read(_SCAN_CHUNK)
        if not chunk:
            return False
        found = chunk.count(b"\n")
        if found >= remaining:
            rest = chunk.split(b"\n", remaining)[-1]  # what follows the last newline to pass
            scanned += len(chunk) - len(rest)
            if scanned > SCAN_LIMIT_BYTES:
                break
            f.seek(-len(rest), io.SEEK_CUR)
            return True
        remaining -= found
        scanned += len(chunk)
    if remaining <= 0:
        return True
    raise ToolError(
        f"line {start} is not within the first {SCAN_LIMIT_BYTES // 2**20} MiB "
        f"of {path!r}; cannot read that far"
    )
