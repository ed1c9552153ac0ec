"""The probe against endpoints that are not what it asks for: each check ends within its
timeout with a finding, never a traceback, and the key goes to the named host only.

Real servers on 127.0.0.1: one that never answers, one that trickles its headers or its
body a byte at a time (each read is quick, the whole answer never ends), one that answers
garbage, one that is HTML everywhere, and one that redirects to another host that records
what it is sent.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agentloop.probe import ProbeReport, probe

KEY = "sk-probe-secret-1234567890"


@contextmanager
def _socket_server(serve: Callable[[socket.socket], None]) -> Iterator[str]:
    """A raw TCP server on 127.0.0.1 running ``serve`` per connection; yields the base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    conns: list[socket.socket] = []

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conns.append(conn)
            threading.Thread(target=_quietly, args=(serve, conn, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(5)
        for conn in conns:
            conn.close()
        listener.close()


def _quietly(serve: Any, conn: socket.socket, stop: threading.Event) -> None:
    with suppress(OSError):
        serve(conn, stop)


def _hang(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)
    stop.wait(30)


def _trickle_headers(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
        if stop.wait(0.05):
            return
        conn.sendall(bytes([byte]))


def _trickle_body(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100000\r\n\r\n{")  # fmt: skip
    while not stop.wait(0.05):
        conn.sendall(b" ")


def _probe_in_thread(url: str, timeout: float = 1.0) -> ProbeReport:
    """Probe from a thread; a probe that never ends fails the test instead of hanging it."""
    out: list[ProbeReport] = []
    thread = threading.Thread(
        target=lambda: out.append(probe(url, "m", runs=1, timeout=timeout)), daemon=True
    )
    thread.start()
    thread.join(120)
    assert out, "the probe did not end"
    return out[0]


def _all_unknown_or_no(report: ProbeReport) -> dict[str, Any]:
    found = {f.check: f for f in report.findings}
    assert found["chat"].outcome == "no"
    assert all(f.outcome in ("unknown", "no", "info") for f in report.findings)
    assert "skipped" in found  # nothing else is tried against a server that does not chat
    return found


@pytest.mark.parametrize(
    ("serve", "said"),
    [
        (_hang, "no answer within 1 s"),
        (_trickle_headers, "no answer within 1 s"),
        (_trickle_body, "took longer than 1 s"),
    ],
    ids=["hangs", "trickles-headers", "trickles-body"],
)
def test_a_server_that_never_finishes_answering_ends_each_check_at_its_timeout(
    serve: Any, said: str
) -> None:
    with _socket_server(serve) as url:
        report = _probe_in_thread(url)
    found = _all_unknown_or_no(report)
    assert said in found["chat"].evidence
    assert said in found["models"].evidence


class _Garbage(BaseHTTPRequestHandler):
    """200s whose bodies are not what an OpenAI server sends, one kind per path."""

    protocol_version = "HTTP/1.1"
    answers = [
        b"\x00\xff garbage \xfe",
        b"[1, 2, 3]",
        b'{"choices": "not a list"}',
        b'{"choices": [{"message": 42}]}',
        b'{"choices": [null], "usage": "many"}',
        b"data: {not json}\n\ndata: [DONE]\n\n",
        b'{"truncated": ',
    ]
    count = 0

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(size)
        body = self.answers[type(self).count % len(self.answers)]
        type(self).count += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


class _Html(BaseHTTPRequestHandler):
    """Not an OpenAI server: an HTML 404 page on every path."""

    protocol_version = "HTTP/1.1"
    status = 404

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(size)
        body = b"<!doctype html><html><body><h1>Not Found</h1></body></html>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


class _HtmlOk(_Html):
    """A web page answering 200 to everything (a proxy's login page, say)."""

    status = 200


@contextmanager
def _http(handler: type[BaseHTTPRequestHandler]) -> Iterator[tuple[str, ThreadingHTTPServer]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("handler", [_Html, _HtmlOk], ids=["html-404", "html-200"])
def test_a_server_that_is_not_openai_compatible_gives_findings(
    handler: type[BaseHTTPRequestHandler],
) -> None:
    with _http(handler) as (url, _):
        report = _probe_in_thread(url, timeout=5)
    found = _all_unknown_or_no(report)
    assert "<h1>Not Found</h1>" in found["chat"].evidence
    assert report.profile() == {}  # nothing learned, nothing rewritten


def test_garbage_answers_end_every_check_in_a_finding() -> None:
    _Garbage.count = 0
    with _http(_Garbage) as (url, _):
        # every body fails a different way; each rotation puts another one first
        for _ in range(len(_Garbage.answers)):
            report = _probe_in_thread(url, timeout=5)
            assert report.findings
            for finding in report.findings:
                assert finding.outcome in ("yes", "no", "unknown", "info")
                assert "Traceback" not in finding.summary
            json.dumps(report.to_dict())  # the --json form is always writable
            _Garbage.count += 1


class _Recorder(BaseHTTPRequestHandler):
    """Answers anything, remembering the headers it was sent."""

    protocol_version = "HTTP/1.1"
    seen: list[dict[str, str]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        type(self).seen.append(dict(self.headers))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"object": "list", "data": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


def test_the_key_is_never_sent_to_another_host() -> None:
    _Recorder.seen = []
    with _http(_Recorder) as (other, _):
        target = other.replace("127.0.0.1", "localhost")

        class Redirect(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            keys: list[str | None] = []

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                type(self).keys.append(self.headers.get("Authorization"))
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(307)
                self.send_header("Location", target + self.path.removeprefix("/v1"))
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer

        with _http(Redirect) as (url, _):
            env = {**os.environ, "HTTP_PROXY": other, "HTTPS_PROXY": other, "NO_PROXY": ""}
            done = subprocess.run(
                [sys.executable, "-m", "agentloop", "probe", "m", "--base-url", url,
                 "--runs", "1", "--timeout", "5", "--api-key", KEY, "--json"],
                env=env, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert Redirect.keys and all(k == f"Bearer {KEY}" for k in Redirect.keys)  # the named host
    assert _Recorder.seen == []  # neither the redirect's host nor the proxy saw a request
    report = json.loads(done.stdout)
    found = {f["check"]: f for f in report["findings"]}
    assert "not followed" in found["chat"]["evidence"]
    assert KEY not in done.stdout and KEY not in done.stderr


def test_the_cli_against_an_unreachable_url_prints_findings_not_a_traceback() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    done = subprocess.run(
        [sys.executable, "-m", "agentloop", "probe", "m", "--base-url",
         f"http://127.0.0.1:{port}/v1", "--runs", "1", "--timeout", "2"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "connection refused" in done.stdout
    assert "NO chat" in done.stdout
