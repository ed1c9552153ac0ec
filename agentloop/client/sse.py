"""Bytes from a streamed ``requests`` response to chunk dicts (internal).

:func:`read_body` reads what has arrived (``read1``), never waiting for a
fixed number of bytes, so every SSE event reaches the parser as soon as its
bytes do. Each read is bounded by the read timeout and by what is left of the
call's deadline (requests alone has no overall deadline, so a server that
trickles a byte now and then would otherwise hold a call forever), and the
whole body by a size limit.

:func:`frame_events` cuts Server-Sent Events as the specification (and the
official ``openai`` client) does, where sseclient-py's own framing does not: every
line ending (LF, CRLF, CR, in any mix, split at any byte) ends a line, a blank line
ends an event, and an event the connection cut before its blank line is
discarded. :func:`iter_events` hands those complete events to sseclient-py, which
reads their fields. :func:`iter_chunks` turns events into chunks: ``[DONE]`` ends the
stream, empty data (a keep-alive) is skipped, and data that is not JSON is a
:class:`~agentloop.errors.StreamError` (dropping it would lose part of the
answer without a word), unless the event is ``error``.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import sseclient
import urllib3.exceptions

from agentloop.client.timeouts import Deadline
from agentloop.errors import APIConnectionError, APIError, APITimeoutError, StreamError
from agentloop.streaming import DONE
from agentloop.wire.build import wrap_error
from agentloop.wire.decode import loads

__all__ = ["drain", "frame_events", "iter_chunks", "iter_events", "read_all", "read_body"]

_READ_SIZE = 65536
_BOM = b"\xef\xbb\xbf"
_KEEP_ALIVE_EVENTS = frozenset({"ping", "keepalive", "keep-alive", "heartbeat"})


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


def read_body(
    raw: Any,
    deadline: Deadline,
    read_timeout: float | None,
    limit: int | None = None,
    received: list[int] | None = None,
) -> Iterator[bytes]:
    """Yield the body of a streamed urllib3 response as its bytes arrive.

    Args:
        raw: ``response.raw`` of a ``requests`` response made with ``stream=True``.
        deadline: The call's deadline.
        read_timeout: The longest silence allowed between bytes.
        limit: The most bytes accepted (None: no limit).
        received: When given, ``received[0]`` counts the bytes read so far.

    Raises:
        APITimeoutError: Silence longer than the read timeout, or the deadline passed.
        APIConnectionError: The connection broke.
        StreamError: The body passed ``limit`` bytes.
    """
    sock = _socket_of(raw)
    read1, direct = _reader(raw)
    first = True
    head = b""
    size = 0
    while True:
        limit_s = deadline.bound(read_timeout)
        if sock is not None and limit_s != read_timeout:
            sock.settimeout(limit_s)
        data = _read_once(read1, deadline, read_timeout)
        if not data:
            if direct:
                raw.release_conn()
            if head:
                yield head
            return
        size += len(data)
        if received is not None:
            received[0] = size
        if limit is not None and size > limit:
            raise StreamError(
                f"the streamed response passed {limit} bytes (the client's "
                "max_response_bytes); the server keeps sending, or the answer is too long"
            )
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


def _read_once(
    read1: Callable[[int], bytes], deadline: Deadline, read_timeout: float | None
) -> bytes:
    """One bounded read; a timeout or a broken connection becomes the client's own error."""
    try:
        return read1(_READ_SIZE)
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


def read_all(
    raw: Any, deadline: Deadline, read_timeout: float | None, limit: int, *, truncate: bool = True
) -> bytes:
    """Read a whole body (at most ``limit`` bytes) under the same timeouts.

    Args:
        raw: ``response.raw`` of a streamed ``requests`` response.
        deadline: The call's deadline.
        read_timeout: The longest silence allowed between bytes.
        limit: The most bytes read.
        truncate: Keep the first ``limit`` bytes of a longer body (error bodies);
            when False a longer body is an :class:`~agentloop.errors.APIError`.
    """
    parts = []
    size = 0
    for data in read_body(raw, deadline, read_timeout):
        parts.append(data)
        size += len(data)
        if size >= limit:
            if not truncate and (size > limit or _more(raw)):
                raise APIError(
                    f"the response is larger than {limit} bytes (the client's max_response_bytes)"
                )
            break
    return b"".join(parts)


def _more(raw: Any) -> bool:
    try:
        return bool(raw.read(1))
    except Exception:  # noqa: BLE001 - a broken connection has nothing more
        return False


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


def frame_events(source: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the complete events of an SSE byte stream, with every line ending made ``\n``.

    Each yielded block ends with a blank line. CRLF, CR and LF end lines in
    any mix, and a CRLF split between two reads counts once. Bytes after the
    last blank line when the stream ends are an incomplete event: discarded,
    as the specification says.

    Args:
        source: The body's bytes, split anywhere.
    """
    held = b""
    after_cr = False
    for data in source:
        if after_cr and data[:1] == b"\n":
            data = data[1:]  # the LF of a CRLF whose CR ended the last read
        after_cr = data[-1:] == b"\r"
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = held + data if held else data
        end = buf.rfind(b"\n\n")
        if end < 0:
            held = buf
            continue
        held = buf[end + 2 :]
        yield buf[: end + 2]


def iter_events(source: Iterable[bytes]) -> Iterator[tuple[str, str]]:
    """Yield ``(event type, data)`` for every complete event of an SSE byte stream.

    :func:`frame_events` cuts the bytes into complete events the way the specification
    says; sseclient-py then reads each event's fields (``data`` lines joined, ``event``,
    comments, ``id`` and ``retry`` skipped). An event without data is not dispatched;
    its type defaults to ``message``.

    Raises:
        StreamError: An event is not valid UTF-8.
    """
    client = sseclient.SSEClient(frame_events(source))
    client._logger = _QUIET  # type: ignore[attr-defined]  # its debug lines quote server bytes
    try:
        for event in client.events():
            yield event.event or "message", event.data
    except UnicodeDecodeError as exc:
        raise StreamError("the stream is not valid UTF-8") from exc


_QUIET = logging.getLogger("agentloop.client.sse.sseclient")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False
_QUIET.disabled = True


def iter_chunks(source: Iterable[bytes]) -> Iterator[Any]:
    """Yield chunk dicts from SSE bytes, then :data:`~agentloop.streaming.DONE` if sent.

    Error events are yielded as ``{"error": ...}`` dicts; the consumer raises.

    Raises:
        StreamError: The stream is not valid UTF-8, or an event's data is
            neither JSON nor ``[DONE]`` (or nests too deeply).
    """
    for kind, data in iter_events(source):
        text = data.strip()
        if text.startswith(DONE):
            yield DONE
            return
        if not text:
            continue
        try:
            value = loads(data)
        except ValueError as exc:
            if kind == "error":
                yield wrap_error({"message": text[:500]})
                continue
            if kind in _KEEP_ALIVE_EVENTS:
                continue
            raise StreamError(_bad_data(text, exc)) from None
        if kind == "error" and not (isinstance(value, dict) and value.get("error")):
            value = wrap_error(value)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = value[0]
        if isinstance(value, dict):
            yield value


def _bad_data(text: str, exc: ValueError) -> str:
    if "nested deeper" in str(exc):
        return f"a stream event's data is {exc}: {text[:60]!r}..."
    return (
        f"a stream event's data is not JSON (nor [DONE]): {text[:80]!r}; "
        "the server is not sending chat-completion chunks"
    )
