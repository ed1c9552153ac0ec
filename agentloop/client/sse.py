"""Bytes from a streamed ``requests`` response to chunk dicts, via sseclient-py (internal).

:func:`read_body` reads what has arrived (``read1``), never waiting for a
fixed number of bytes, so every SSE event reaches the parser as soon as its
bytes do. Each read is bounded by the read timeout and by what is left of the
call's deadline (requests alone has no overall deadline, so a server that
trickles a byte now and then would otherwise hold a call forever).
:func:`iter_chunks` runs ``sseclient.SSEClient`` over those raw bytes (it
splits on bytes and decodes UTF-8 after reassembly) and applies PROTOCOL.md
3.5: ``[DONE]`` ends the stream, empty data is skipped, non-JSON data is
ignored unless the event is ``error``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import sseclient
import urllib3.exceptions

from agentloop.client.timeouts import Deadline
from agentloop.errors import APIConnectionError, APITimeoutError, StreamError
from agentloop.streaming import DONE
from agentloop.wire.build import wrap_error

__all__ = ["drain", "iter_chunks", "read_all", "read_body"]

_READ_SIZE = 65536
_BOM = b"\xef\xbb\xbf"


class _QuietLogger:
    """Replaces sseclient's logger: its debug lines can quote server bytes."""

    def debug(self, *args: Any, **kwargs: Any) -> None:
        """Drop the message."""


_QUIET = _QuietLogger()


def _socket_of(raw: Any) -> socket.socket | None:
    conn = getattr(raw, "_connection", None) or getattr(raw, "connection", None)
    sock = getattr(conn, "sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _reader(raw: Any) -> tuple[Callable[[int], bytes], bool]:
    """Return the ``read1`` to use for ``raw`` and whether it bypasses urllib3.

    A chunked, unencoded body (every SSE stream: the client sends
    ``Accept-Encoding: identity``) is read with http.client's own ``read1``,
    which strips the chunk framing and returns what has arrived; urllib3's
    wrapper adds per-call bookkeeping that costs more than parsing a small
    event. The caller then returns the connection to the pool by hand at the
    end, as urllib3 would.
    """
    fp = getattr(raw, "_fp", None)
    encoding = str(raw.headers.get("content-encoding", "")).lower()
    if getattr(raw, "chunked", False) and encoding in ("", "identity") and hasattr(fp, "read1"):
        return fp.read1, True  # type: ignore[union-attr]
    return (lambda n: raw.read1(n, decode_content=True)), False


def read_body(raw: Any, deadline: Deadline, read_timeout: float | None) -> Iterator[bytes]:
    """Yield the body of a streamed urllib3 response as its bytes arrive.

    Args:
        raw: ``response.raw`` of a ``requests`` response made with ``stream=True``.
        deadline: The call's deadline.
        read_timeout: The longest silence allowed between bytes.

    Raises:
        APITimeoutError: Silence longer than the read timeout, or the deadline passed.
        APIConnectionError: The connection broke.
    """
    sock = _socket_of(raw)
    read1, direct = _reader(raw)
    first = True
    head = b""
    while True:
        limit = deadline.bound(read_timeout)
        if sock is not None and limit != read_timeout:
            sock.settimeout(limit)
        try:
            data = read1(_READ_SIZE)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
            left = deadline.remaining()
            if read_timeout is None or (left is not None and left < read_timeout / 2):
                raise deadline.expired() from exc
            raise APITimeoutError(
                f"no data from the server for {read_timeout:g} s (read timeout)"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - also http.client's state after a close()
            raise APIConnectionError(
                f"the connection broke while reading the response: {type(exc).__name__}"
            ) from exc
        if not data:
            if direct:
                raw.release_conn()
            if head:
                yield head
            return
        if first:
            # A UTF-8 BOM would hide the first field name; it may arrive split.
            head += data
            if len(head) < len(_BOM) and _BOM.startswith(head):
                continue
            first = False
            data = head[len(_BOM) :] if head.startswith(_BOM) else head
            head = b""
            if not data:
                continue
        yield data


def read_all(raw: Any, deadline: Deadline, read_timeout: float | None, limit: int) -> bytes:
    """Read a whole body (at most ``limit`` bytes) under the same timeouts."""
    parts = []
    size = 0
    for data in read_body(raw, deadline, read_timeout):
        parts.append(data)
        size += len(data)
        if size >= limit:
            break
    return b"".join(parts)


def drain(raw: Any, seconds: float = 0.25, limit: int = 65536) -> None:
    """Read what follows ``[DONE]`` (normally just the end of the chunked body).

    A response read to its end returns its connection to the pool for reuse;
    one that is not ends closed. Gives up after ``limit`` bytes or ``seconds``
    of silence, so a server that keeps talking cannot hold the caller.
    """
    sock = _socket_of(raw)
    if sock is None:
        return
    sock.settimeout(seconds)
    size = 0
    try:
        while size < limit:
            data = raw.read1(_READ_SIZE, decode_content=True)
            if not data:
                return
            size += len(data)
    except (urllib3.exceptions.HTTPError, OSError, ValueError):
        return


def iter_chunks(source: Iterator[bytes]) -> Iterator[Any]:
    """Yield chunk dicts from SSE bytes, then :data:`~agentloop.streaming.DONE` if sent.

    Error events are yielded as ``{"error": ...}`` dicts; the consumer raises.

    Raises:
        StreamError: The stream is not valid UTF-8.
    """
    client = sseclient.SSEClient(source)
    client._logger = _QUIET  # type: ignore[attr-defined]
    events = client.events()
    while True:
        try:
            event = next(events)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise StreamError("the stream is not valid UTF-8") from exc
        data = event.data
        text = data.strip()
        if text.startswith(DONE):
            yield DONE
            return
        if not text:
            continue
        try:
            value = json.loads(data)
        except ValueError:
            if event.event == "error":
                yield wrap_error({"message": text})
            continue
        if event.event == "error" and not (isinstance(value, dict) and value.get("error")):
            value = wrap_error(value)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = value[0]
        if isinstance(value, dict):
            yield value
