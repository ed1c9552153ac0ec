"""A real, scripted HTTP/1.1 server on 127.0.0.1 for client and end-to-end tests.

Usage::

    from fakeserver import FakeServer, json_reply, sse_reply, completion, chunk

    with FakeServer() as server:                    # or the ``fake_server`` fixture
        server.script(
            json_reply({"error": {"message": "slow"}}, status=429, headers={"Retry-After": "1"}),
            sse_reply([chunk(content="Hel"), chunk(content="lo"), chunk(finish="stop")]),
        )
        client = ChatClient(base_url=server.base_url, api_key="k")
        ...
        server.requests[0].json["messages"]          # what the client sent
        server.connections                           # TCP connections accepted

Each request pops the next :class:`Reply` from the script (FIFO); an item may
also be a callable ``(Request) -> Reply``. When the script is empty the server
answers 500 ``"fake server script exhausted"`` (or ``server.default`` if set).

A :class:`Reply` is a status, headers and a *body*: a sequence (or generator)
of ``bytes`` (written and flushed at once, as one HTTP chunk when chunked) and
``float`` (a pause in seconds). ``reset=True`` ends with a TCP reset instead of
a clean end; ``close=True`` closes the connection after the reply. Factories:
:func:`json_reply`, :func:`text_reply`, :func:`sse_reply`, :func:`raw_reply`,
:func:`reset_reply`, :func:`hang_reply`, :func:`trickle_reply`. Builders for
bodies: :func:`completion`, :func:`chunk` and :func:`tool_call_chunk`.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "FakeServer",
    "Reply",
    "Request",
    "chunk",
    "completion",
    "hang_reply",
    "json_reply",
    "raw_reply",
    "reset_reply",
    "sse_reply",
    "text_reply",
    "tool_call_chunk",
    "trickle_reply",
]

Part = bytes | float


@dataclass
class Reply:
    """One scripted answer.

    Attributes:
        status: HTTP status; None sends nothing at all (see ``reset``/``hang``).
        headers: Response headers.
        body: bytes to write and float pauses, in order (may be a generator).
        chunked: Use ``Transfer-Encoding: chunked`` (else ``Content-Length``
            when the body is a list, or close-delimited for generators).
        reset: End with a TCP RST (SO_LINGER 0) instead of finishing the reply.
        close: Close the connection after this reply.
        delay: Seconds to wait before sending anything.
    """

    status: int | None = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Iterable[Part] = ()
    chunked: bool = False
    reset: bool = False
    close: bool = False
    delay: float = 0.0


@dataclass
class Request:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int

    @property
    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


def json_reply(
    body: Any, status: int = 200, headers: dict[str, str] | None = None, **kw: Any
) -> Reply:
    """A JSON body with Content-Length."""
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    return Reply(status=status, headers=hdrs, body=[json.dumps(body).encode()], **kw)


def text_reply(
    text: str,
    status: int = 200,
    content_type: str = "text/plain",
    headers: dict[str, str] | None = None,
    **kw: Any,
) -> Reply:
    """A text (or HTML) body."""
    hdrs = {"Content-Type": content_type, **(headers or {})}
    return Reply(status=status, headers=hdrs, body=[text.encode()], **kw)


def sse_reply(
    events: Iterable[Any],
    *,
    done: bool = True,
    delay: float = 0.0,
    status: int = 200,
    headers: dict[str, str] | None = None,
    line_end: str = "\n",
    **kw: Any,
) -> Reply:
    """A chunked ``text/event-stream`` body: one HTTP chunk per event.

    Args:
        events: dicts (sent as ``data: <json>``), str (sent as ``data: <str>``),
            bytes (written verbatim) or float (a pause).
        done: Append ``data: [DONE]``.
        delay: Pause between events.
        status: HTTP status.
        headers: Extra headers.
        line_end: ``"\\n"``, ``"\\r\\n"`` or ``"\\r"``.
    """

    def body() -> Iterator[Part]:
        for event in [*events, *(["[DONE]"] if done else [])]:
            if isinstance(event, float):
                yield event
                continue
            if isinstance(event, bytes):
                yield event
            else:
                data = json.dumps(event) if isinstance(event, dict) else str(event)
                yield f"data: {data}{line_end}{line_end}".encode()
            if delay:
                yield delay

    hdrs = {"Content-Type": "text/event-stream; charset=utf-8", **(headers or {})}
    return Reply(status=status, headers=hdrs, body=list(body()), chunked=True, **kw)


def raw_reply(
    parts: Iterable[Part],
    *,
    status: int = 200,
    chunked: bool = True,
    content_type: str = "text/event-stream",
    **kw: Any,
) -> Reply:
    """Arbitrary bytes and pauses (e.g. an SSE stream split at every byte)."""
    return Reply(
        status=status, headers={"Content-Type": content_type}, body=parts, chunked=chunked, **kw
    )


def reset_reply(after: Iterable[Part] = (), *, status: int | None = None, **kw: Any) -> Reply:
    """Send ``after`` (optionally behind a status line) and then a TCP reset."""
    hdrs = {"Content-Type": "text/event-stream"} if status else {}
    return Reply(
        status=status, headers=hdrs, body=after, chunked=status is not None, reset=True, **kw
    )


def hang_reply(seconds: float) -> Reply:
    """Read the request, send nothing for ``seconds``, then close the connection."""
    return Reply(status=None, delay=seconds, close=True)


def trickle_reply(
    piece: bytes = b": keep-alive\n\n", every: float = 0.1, count: int | None = None
) -> Reply:
    """A 200 SSE stream sending ``piece`` every ``every`` seconds (forever by default)."""

    def body() -> Iterator[Part]:
        n = 0
        while count is None or n < count:
            yield piece
            yield every
            n += 1

    return Reply(
        status=200, headers={"Content-Type": "text/event-stream"}, body=body(), chunked=True
    )


def completion(
    content: str | None = "",
    *,
    tool_calls: list[dict] | None = None,
    finish: str = "stop",
    usage: dict | None = None,
    **extra: Any,
) -> dict:
    """A ``chat.completion`` body."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1,
        "model": "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    body.update(extra)
    return body


def chunk(
    content: str | None = None,
    *,
    finish: str | None = None,
    tool_calls: list[dict] | None = None,
    role: str | None = None,
    usage: dict | None = None,
    choices: bool = True,
    **extra: Any,
) -> dict:
    """A ``chat.completion.chunk`` dict (``choices=False`` gives a usage-only chunk)."""
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake-model",
    }
    body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []
    if usage is not None:
        body["usage"] = usage
    body.update(extra)
    return body


def tool_call_chunk(id_: str, name: str, arguments: str = "", *, index: int = 0) -> dict:
    """A chunk that opens tool call ``index`` (id, type, name and a first piece of arguments)."""
    call = {
        "index": index,
        "id": id_,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }
    return chunk(tool_calls=[call])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Real servers disable Nagle; without this, small writes wait for delayed ACKs.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.lock:
            self.server.fake.connections += 1
            self.conn_no = self.server.fake.connections

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence the default stderr access log."""

    def do_POST(self) -> None:
        self._serve()

    do_GET = do_PUT = do_DELETE = do_POST

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, dict(self.headers.items()), body, self.conn_no)
        reply = self.server.fake._next(request)
        stop = self.server.fake._stopping
        if reply.delay and stop.wait(reply.delay):
            return
        try:
            self._send(reply, stop)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, reply: Reply, stop: threading.Event) -> None:
        if reply.status is not None:
            self._send_head(reply)
        for part in reply.body:
            if stop.is_set():
                break
            if isinstance(part, float):
                stop.wait(part)
            elif reply.chunked and reply.status is not None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if part else b"")
            else:
                self.wfile.write(part)
        if reply.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if reply.chunked and reply.status is not None:
            self.wfile.write(b"0\r\n\r\n")
        if reply.close or reply.status is None or self._close_delimited(reply):
            self.close_connection = True

    def _send_head(self, reply: Reply) -> None:
        self.send_response(reply.status or 200)
        names = {k.lower() for k in reply.headers}
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif isinstance(reply.body, (list, tuple)) and "content-length" not in names:
            size = sum(len(p) for p in reply.body if isinstance(p, bytes))
            self.send_header("Content-Length", str(size))
        if reply.close or self._close_delimited(reply):
            self.send_header("Connection", "close")
        self.end_headers()

    @staticmethod
    def _close_delimited(reply: Reply) -> bool:
        return not reply.chunked and not isinstance(reply.body, (list, tuple))


class _Server(ThreadingHTTPServer):
    # listen(5), the default, overflows when 20 clients connect at once: the kernel drops
    # the handshake's last ACK, the client sends its request anyway, and the server resets it
    request_queue_size = 128
    daemon_threads = True
    block_on_close = False
    fake: FakeServer
    lock: threading.Lock


class FakeServer:
    """A threaded HTTP server on ``127.0.0.1:<free port>`` that replays a script.

    Attributes:
        url: ``http://127.0.0.1:<port>``.
        base_url: ``url + "/v1"`` (give it to ``ChatClient``).
        requests: Every request received, in order.
        connections: TCP connections accepted so far.
        default: The reply when the script is empty (None: a 500 error).
    """

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.connections = 0
        self.default: Reply | Callable[[Request], Reply] | None = None
        self._script: deque[Reply | Callable[[Request], Reply]] = deque()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeServer:
        """Start serving in a background thread."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        server.lock = threading.Lock()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending pauses and trickles end at once."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The server's root URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style API root (``/v1``)."""
        return self.url + "/v1"

    def script(self, *replies: Reply | Callable[[Request], Reply]) -> FakeServer:
        """Append replies (or ``(Request) -> Reply`` callables) to the script."""
        self._script.extend(replies)
        return self

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> None:
        """Block until at least ``n`` requests arrived (for tests racing the server)."""
        end = time.monotonic() + timeout
        while len(self.requests) < n and time.monotonic() < end:
            time.sleep(0.005)

    def _next(self, request: Request) -> Reply:
        assert self._server is not None
        with self._server.lock:
            self.requests.append(request)
            item = self._script.popleft() if self._script else self.default
        if item is None:
            return json_reply({"error": {"message": "fake server script exhausted"}}, status=500)
        return item(request) if callable(item) else item
