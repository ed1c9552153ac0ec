"""The client reads proxy, CA and netrc settings from the environment once, when it is made."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agentloop import ChatClient

BODY = {
    "id": "x",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
}


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lines: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).lines.append(self.requestline)
        data = json.dumps(BODY).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def proxy() -> Any:
    _Recorder.lines = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_proxy_in_the_environment_is_used(proxy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    # the target does not exist: only a request sent through the proxy can succeed
    with ChatClient(base_url="http://agentloop.invalid/v1", api_key="k", max_retries=0) as client:
        assert (
            client.create(model="m", messages=[{"role": "user", "content": "x"}]).message.text
            == "hi"
        )
    assert _Recorder.lines == ["POST http://agentloop.invalid/v1/chat/completions HTTP/1.1"]


def test_the_environment_is_read_when_the_client_is_made(
    proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = proxy.server_address[1]
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ChatClient(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0) as client:
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # set later: not read again
        client.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert _Recorder.lines == ["POST /v1/chat/completions HTTP/1.1"]
