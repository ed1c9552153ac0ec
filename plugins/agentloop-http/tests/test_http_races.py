"""Races with a real server on 127.0.0.1: only a result or a ToolError ever leaves ``fetch_url``.

The server is a raw TCP listener, so it can do what a well-behaved HTTP server
never does: close or reset the connection mid-body, lie about Content-Length,
send broken chunks or redirect in circles. Races that cannot be forced are run
many times from several threads in a bounded loop.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3.util.connection
from agentloop_http import HTTPPlugin, URLRefusedError

from agentloop import ToolError

pytestmark = pytest.mark.timeout(60)

Behaviour = Callable[[socket.socket, str, int], None]
"""What the server does with one connection: (socket, request path, its own port)."""


class RawServer:
    """A TCP server on 127.0.0.1 that reads a request head, then runs one behaviour on the socket."""

    def __init__(self, behaviour: Callable[[str], Behaviour]) -> None:
        self._behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self.hits = 0
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            path = head.split(b" ", 2)[1].decode("latin-1")
            with self._lock:
                self.hits += 1
            self._behaviour(path)(conn, path, self.port)

    def close(self) -> None:
        self._closed = True
        self._listener.close()


def head(status: str = "200 OK", *fields: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", *fields, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def reset(conn: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def text(size: int) -> bytes:
    return (b"line of text\n" * (size // 13 + 1))[:size]


def _cut_mid_body(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("200 OK", "Content-Type: text/plain", "Content-Length: 100000") + text(5000))


def _cut_before_body(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("200 OK", "Content-Type: text/plain", "Content-Length: 100000"))


def _reset_mid_body(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("200 OK", "Content-Type: text/plain", "Content-Length: 100000") + text(5000))
    time.sleep(0.01)
    reset(conn)


def _reset_before_answer(conn: socket.socket, path: str, port: int) -> None:
    reset(conn)


def _close_before_answer(conn: socket.socket, path: str, port: int) -> None:
    conn.close()


def _cut_mid_head(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: te")


def _garbage_status(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(b"HTTP/1.1 abc\r\n\r\nhello")


def _not_http(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n" + bytes(range(256)))


def _two_lengths(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("200 OK", "Content-Length: 10", "Content-Length: 20") + text(20))


def _negative_length(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("200 OK", "Content-Length: -5") + text(20))


def _odd_length(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("200 OK", "Content-Length: 1e3") + text(20))


def _short_length(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("200 OK", "Content-Length: 5") + text(5000))


def _bad_chunk(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("200 OK", "Transfer-Encoding: chunked") + b"5\r\nhello\r\nzz\r\nxx\r\n")


def _cut_chunk(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("200 OK", "Transfer-Encoding: chunked") + b"ffff\r\n" + text(100))


def _bad_gzip(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("200 OK", "Content-Encoding: gzip", "Content-Length: 50") + text(50))


def _many_headers(conn: socket.socket, path: str, port: int) -> None:
    fields = [f"X-H{i}: {i}" for i in range(150)]
    conn.sendall(head("200 OK", *fields, "Content-Length: 2") + b"ok")


def _early_hints(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
    conn.sendall(head("200 OK", "Content-Type: text/plain", "Content-Length: 2") + b"ok")


def _redirect_to_self(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("302 Found", f"Location: http://127.0.0.1:{port}{path}", "Content-Length: 0"))


def _redirect_to_a_closed_port(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(
        head("302 Found", f"Location: http://127.0.0.1:{_closed_port()}/", "Content-Length: 0")
    )


def _redirect_to_a_bad_url(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("302 Found", "Location: http://[::1/x", "Content-Length: 0"))


def _redirect_to_a_huge_port(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("301 Moved", "Location: http://127.0.0.1:99999999/", "Content-Length: 0"))


def _redirect_to_an_odd_scheme(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("307 Temporary", "Location: file:///etc/passwd", "Content-Length: 0"))


def _redirect_and_reset(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Le")
    reset(conn)


def _trickle(conn: socket.socket, path: str, port: int) -> None:
    conn.sendall(head("200 OK", "Content-Type: text/plain"))
    for _ in range(40):
        conn.sendall(b"x")
        time.sleep(0.05)


BEHAVIOURS: dict[str, Behaviour] = {
    name.lstrip("_"): value
    for name, value in dict(globals()).items()
    if name.startswith("_")
    and callable(value)
    and name not in {"_closed_port", "_outcome"}
    and getattr(value, "__module__", None) == __name__
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _outcome(call: Callable[[], str]) -> str:
    """``"result"`` or ``"ToolError"``; any other exception fails the test with its text."""
    try:
        call()
    except ToolError:
        return "ToolError"
    except Exception as exc:  # what a race must never let out
        pytest.fail(f"{type(exc).__name__} escaped fetch_url: {exc!r}")
    return "result"


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[str], Behaviour]], RawServer]]:
    servers: list[RawServer] = []

    def start(behaviour: Callable[[str], Behaviour]) -> RawServer:
        servers.append(RawServer(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _plugin(**options: object) -> HTTPPlugin:
    return HTTPPlugin(allow_hosts=["127.0.0.1"], **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_each_misbehaviour_ends_in_a_result_or_a_tool_error(raw_server, name: str) -> None:
    server = raw_server(lambda path: BEHAVIOURS[name])
    assert _outcome(lambda: _plugin(timeout=5).fetch(server.url("/start"))) in {
        "result",
        "ToolError",
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cut_mid_body", "[truncated: connection broke"),
        ("short_length", "line "),
        ("trickle", "[truncated: time limit of 1 s reached]"),
    ],
)
def test_partial_answers_are_results_that_say_so(raw_server, name: str, expected: str) -> None:
    server = raw_server(lambda path: BEHAVIOURS[name])
    assert expected in _plugin(timeout=1).fetch(server.url())


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("cut_before_body", "reading the response failed"),
        ("reset_before_answer", r"accepted the connection .*ConnectionResetError"),
        ("close_before_answer", r"no valid HTTP answer: RemoteDisconnected"),
        ("garbage_status", r"no valid HTTP answer: BadStatusLine \('HTTP/1.1 abc"),
        ("many_headers", r"HTTPException \('got more than 100 headers'\)"),
        ("two_lengths", r"invalid header \(Content-Length contained multiple"),
        ("redirect_to_self", "too many redirects"),
        ("redirect_to_a_closed_port", "could not connect to 127.0.0.1:"),
        ("redirect_to_a_bad_url", "redirected to a malformed URL"),
        ("early_hints", "interim HTTP 103 answer"),
        ("redirect_to_a_huge_port", "malformed URL"),
        ("redirect_to_an_odd_scheme", "scheme 'file' not allowed"),
    ],
)
def test_failures_name_what_went_wrong(raw_server, name: str, match: str) -> None:
    server = raw_server(lambda path: BEHAVIOURS[name])
    with pytest.raises(ToolError, match=match):
        _plugin(timeout=5).fetch(server.url())


def test_a_server_changing_its_answer_under_concurrent_calls(raw_server) -> None:
    # Every connection gets a behaviour chosen at random, 200 calls from 8 threads at once.
    rng = random.Random(19)
    lock = threading.Lock()
    choices = sorted(BEHAVIOURS)

    def pick(path: str) -> Behaviour:
        with lock:
            return BEHAVIOURS[rng.choice(choices)]

    server = raw_server(pick)
    plugin = _plugin(timeout=3)
    with ThreadPoolExecutor(max_workers=8) as pool:
        kinds = list(
            pool.map(lambda n: _outcome(lambda: plugin.fetch(server.url(f"/{n}"))), range(200))
        )
    assert set(kinds) <= {"result", "ToolError"}
    assert server.hits >= 200


def test_redirects_between_two_servers_that_stop_during_the_calls(raw_server) -> None:
    # Server A redirects to server B, which is closed half-way through the calls.
    b = raw_server(lambda path: BEHAVIOURS["short_length"])
    a = raw_server(
        lambda path: (
            lambda conn, p, port: conn.sendall(
                head("302 Found", f"Location: {b.url('/b')}", "Content-Length: 0")
            )
        )
    )
    plugin = _plugin(timeout=3)

    def call(n: int) -> str:
        if n == 100:
            b.close()
        return _outcome(lambda: plugin.fetch(a.url(f"/{n}")))

    with ThreadPoolExecutor(max_workers=4) as pool:
        kinds = list(pool.map(call, range(200)))
    assert set(kinds) <= {"result", "ToolError"} and "ToolError" in kinds


def test_resolution_flipping_during_concurrent_calls_never_reaches_loopback(
    raw_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The name resolves to a public address or to 127.0.0.1, flipping on another thread. The
    # public address is routed to a local "public" server (the test runs offline); the canary on
    # 127.0.0.1 must never be reached, whatever the guard and the connection saw.
    public = raw_server(lambda path: BEHAVIOURS["short_length"])
    canary = raw_server(lambda path: BEHAVIOURS["short_length"])
    answer = ["93.184.216.34"]
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            answer[0] = "127.0.0.1" if answer[0] != "127.0.0.1" else "93.184.216.34"
            time.sleep(0.0005)

    real = urllib3.util.connection.create_connection

    def route(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        if address[0] == "93.184.216.34":
            address = ("127.0.0.1", public.port)
        return real(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib3.util.connection, "create_connection", route)
    plugin = HTTPPlugin(resolver=lambda host: [answer[0]], timeout=3)
    flipper = threading.Thread(target=flip)
    flipper.start()
    try:

        def call(n: int) -> str:
            try:
                plugin.fetch(f"http://flip.test:{canary.port}/{n}")
            except URLRefusedError:
                return "refused"
            return "public"

        with ThreadPoolExecutor(max_workers=8) as pool:
            kinds = list(pool.map(call, range(200)))
    finally:
        stop.set()
        flipper.join()
    assert canary.hits == 0
    assert set(kinds) <= {"public", "refused"}
