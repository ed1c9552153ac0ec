"""``agentloop serve`` as an HTTP server: framing, auth before body, model names, bounds.

Every test talks to a real server on 127.0.0.1 through a raw socket, so the bytes on
the wire are exactly the ones written here (no client library tidies them up).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cli_support import cli_env

from agentloop.errors import ConfigurationError
from agentloop.offline.model import OfflineModel
from agentloop.server.app import MAX_JSON_DEPTH, ModelServer, make_server

QUESTION = [{"role": "user", "content": "What is 12 * (3 + 4)?"}]
HIDDEN = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
"""A second request hidden where an ambiguous first request's body would be."""


@pytest.fixture
def server() -> Iterator[ModelServer]:
    yield from _running()


def _running(**options: Any) -> Iterator[ModelServer]:
    srv = make_server(OfflineModel(), port=0, **options)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join()


def exchange(srv: ModelServer, data: bytes, *, send_after: bytes = b"") -> bytes:
    """Send raw bytes, then read until the server closes the connection (or 5 s pass).

    ``send_after`` is sent once the first response has arrived (a body the client
    holds back); the 5 s socket timeout is a hang bound, not a speed check.
    """
    host, port = srv.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        while True:
            try:
                piece = sock.recv(65536)
            except TimeoutError:
                break
            if not piece:
                break
            received += piece
            if send_after and b"\r\n\r\n" in received:
                with contextlib.suppress(OSError):  # the server may have closed already
                    sock.sendall(send_after)
                send_after = b""
        return received


def statuses(raw: bytes) -> list[int]:
    """The status codes of every response in ``raw``."""
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", raw)]


def error_of(raw: bytes) -> dict[str, Any]:
    head, _, rest = raw.partition(b"\r\n\r\n")
    length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
                 .split(b":")[1])  # fmt: skip
    return json.loads(rest[:length])["error"]


def chat(model: str = "offline", **extra: Any) -> bytes:
    return json.dumps({"model": model, "messages": QUESTION, **extra}).encode()


def post(body: bytes, headers: str = "") -> bytes:
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        f"{headers}\r\n"
    ).encode() + body


# -- ambiguous framing is refused, never guessed --------------------------------------------


AMBIGUOUS = [
    (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "both Content-Length"),
    (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
     b"Content-Length: 0\r\n\r\n", 400, "more than one"),
    (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
     b"Content-Length: 36\r\n\r\n", 400, "more than one"),
    (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 0\r\n\r\n", 400,
     "plain digits"),
    (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n", 400,
     "plain digits"),
    (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 0_0\r\n\r\n", 400,
     "plain digits"),
    ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \u0660\r\n\r\n"
     .encode(), 400, "plain digits"),
    (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400,
     "plain digits"),
    (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length : 36\r\n\r\n", 400,
     "malformed header"),
    (b"GET /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 36\r\n\r\n", 400, "has no body"),
    (b"HEAD /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 36\r\n\r\n", 400, "has no body"),
    (b"DELETE /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 36\r\n\r\n", 400, "has no body"),
    (b"GET /v1/models HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     "has no body"),
    (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
     411, "Content-Length header is required"),
    (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
     413, "larger than"),
    (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: "
     + b"9" * 5000 + b"\r\n\r\n", 413, "larger than"),
]  # fmt: skip


@pytest.mark.parametrize(("head", "status", "message"), AMBIGUOUS)
def test_ambiguous_framing_is_refused_and_hides_no_second_request(
    server: ModelServer, head: bytes, status: int, message: str
) -> None:
    raw = exchange(server, head + HIDDEN)
    assert statuses(raw) == [status]  # the hidden GET is never answered: the connection closed
    assert b"Connection: close" in raw
    if not head.startswith(b"HEAD"):
        assert message in error_of(raw)["message"]


def test_plain_framing_still_keeps_the_connection_alive(server: ModelServer) -> None:
    raw = exchange(
        server,
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        + HIDDEN.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"),
    )
    assert statuses(raw) == [200, 200]


# -- the bearer key comes before the body ------------------------------------------------


@pytest.mark.parametrize("auth", ["", "Authorization: Bearer wrong-key\r\n"])
def test_bearer_key_is_checked_before_the_body_is_read(auth: str) -> None:
    for srv in _running(api_key="s3cret-key"):
        body = chat()
        announced = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{auth}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        # the body is held back until the answer came: a server reading it first would wait
        raw = exchange(srv, announced, send_after=body + HIDDEN)
        assert statuses(raw) == [401]
        assert error_of(raw)["code"] == "invalid_api_key" and b"Connection: close" in raw
        assert b"s3cret" not in raw
        ok = exchange(
            srv, post(chat(), "Authorization: Bearer s3cret-key\r\nConnection: close\r\n")
        )
        assert statuses(ok) == [200]


# -- model names and the created time ---------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_unknown_model_is_404_model_not_found(server: ModelServer, stream: bool) -> None:
    raw = exchange(server, post(chat("gpt-9", stream=stream), "Connection: close\r\n"))
    assert statuses(raw) == [404]
    error = error_of(raw)
    assert error["code"] == "model_not_found" and "gpt-9" in error["message"]
    assert "'offline'" in error["message"]  # says which name does work


def test_any_model_is_answered_when_the_server_is_told_so() -> None:
    for srv in _running(accept_any_model=True):
        raw = exchange(srv, post(chat("gpt-9"), "Connection: close\r\n"))
        assert statuses(raw) == [200]
        card = exchange(
            srv, b"GET /v1/models/gpt-9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert statuses(card) == [200]


def test_the_bare_model_id_of_a_provider_model_is_served() -> None:
    for srv in _running(model_name="openai:gpt-4o"):
        assert srv.serves("openai:gpt-4o") and srv.serves("gpt-4o")
        assert not srv.serves("openai") and not srv.serves("gpt-4")
        raw = exchange(srv, post(chat("gpt-4o"), "Connection: close\r\n"))
        assert statuses(raw) == [200]


def test_non_streamed_responses_carry_the_real_time(server: ModelServer) -> None:
    before = int(time.time())
    raw = exchange(server, post(chat(), "Connection: close\r\n"))
    created = json.loads(raw.partition(b"\r\n\r\n")[2])["created"]
    assert before <= created <= int(time.time())


# -- deeply nested bodies ---------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 500, 100_000])
def test_deeply_nested_body_is_400_not_500(server: ModelServer, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    body = f'{{"model": "offline", "messages": {nested}}}'.encode()
    raw = exchange(server, post(body, "Connection: close\r\n"))
    assert statuses(raw) == [400]
    error = error_of(raw)
    assert error["code"] == "nested_too_deeply" and str(MAX_JSON_DEPTH) in error["message"]


def test_nesting_exactly_at_the_limit_is_allowed() -> None:
    from agentloop.server.framing import depth_exceeds as _depth_exceeds

    def nested(depth: int) -> Any:
        value: Any = {}
        for level in range(depth - 1):
            value = [value] if level % 2 else {"k": value}
        return value

    assert not _depth_exceeds(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)
    assert _depth_exceeds(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)
    assert not _depth_exceeds({"model": "m", "messages": QUESTION, "n": [1, "x", None]}, 3)


# -- a busy port ------------------------------------------------------------------------


def test_busy_port_is_a_configuration_error_naming_port() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ConfigurationError, match=f"port {port} .* already in use.*--port"):
            make_server(OfflineModel(), port=port)


def test_cli_serve_on_a_busy_port_prints_one_line_and_exits_2() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "agentloop", "serve", "--model", "offline", "--port", str(port)],
            capture_output=True, text=True, env=cli_env(), timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "already in use" in lines[0] and "--port" in lines[0]
    assert "OSError" not in done.stderr and "internal error" not in done.stderr
