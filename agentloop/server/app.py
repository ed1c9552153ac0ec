"""A local OpenAI-compatible server for any model agentloop can run (``agentloop serve``).

Routes (also without the ``/v1`` prefix):

* ``POST /v1/chat/completions``: JSON, or Server-Sent Events with ``"stream": true``
  (one ``data: {chunk}`` event per chunk, flushed as it is produced, ending with
  ``data: [DONE]``; a failure after the stream started is sent as a
  ``data: {"error": {...}}`` event and the stream ends without ``[DONE]``).
* ``GET /v1/models`` and ``GET /v1/models/{id}``: the one model served.

Errors use OpenAI's body, ``{"error": {"message", "type", "param", "code"}}``: 400
for a malformed request (including the model's own validation), 401 when the
server was started with an API key and the request lacks it (compared in constant
time, never echoed), 404, 405, 411, 413, and the status of an upstream model's
error when the server is a gateway in front of a remote provider (connection
failures give 502, timeouts 504, anything else 500 without details).

A request must name a ``model`` (as OpenAI requires), but whatever it names,
the one model the server was started with answers. The server binds to
``127.0.0.1`` by default, speaks HTTP/1.1 with keep-alive,
and serves each connection on its own daemon thread. It relays exactly what the
model produced (texts, tool calls with their ids and ``extra_content``, finish
reasons, usage), so a client's assembled transcript equals the in-process one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
import traceback
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from agentloop.server.wire import (
    error_body,
    error_for_exception,
    parse_request,
    response_body,
    stream_chunks,
)

if TYPE_CHECKING:
    from agentloop.protocols import Model

__all__ = ["MAX_BODY_BYTES", "ModelServer", "make_server", "serve"]

#: Request bodies larger than this get 413.
MAX_BODY_BYTES = 32 * 1024 * 1024
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ModelServer(ThreadingHTTPServer):
    """An HTTP server answering chat-completions requests with one model.

    Use :func:`make_server` to build one; ``server_address`` gives the bound
    ``(host, port)`` (useful with port 0), ``serve_forever()`` runs it and
    ``shutdown()`` stops it from another thread.

    Attributes:
        model: The model that answers every request.
        model_name: The name listed by ``/v1/models``.
        api_key: The key clients must send as ``Authorization: Bearer``, or None.
        log_requests: Whether to write an access log line per request to stderr.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        model: Model,
        *,
        api_key: str | None = None,
        model_name: str | None = None,
        log_requests: bool = False,
    ) -> None:
        if ":" in address[0]:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.model = model
        self.model_name = model_name or str(getattr(model, "name", "") or "model")
        self.api_key = api_key or None
        self.log_requests = log_requests


def make_server(
    model: Model,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    model_name: str | None = None,
    log_requests: bool = False,
) -> ModelServer:
    """Build (and bind) a server for ``model`` without starting it.

    Args:
        model: Any :class:`~agentloop.Model` (``OfflineModel()``, ``resolve_model("openai:gpt-4o")``).
        host: The interface to bind; loopback by default.
        port: The TCP port; 0 picks a free one (read it from ``server_address``).
        api_key: When set, every request needs ``Authorization: Bearer <api_key>``.
        model_name: The model id listed by ``/v1/models`` (default: ``model.name``).
        log_requests: Write an access log line per request to stderr.

    Returns:
        The bound server; call ``serve_forever()`` (blocking) and ``shutdown()``.
    """
    return ModelServer(
        (host, port),
        model,
        api_key=api_key,
        model_name=model_name,
        log_requests=log_requests,
    )


def serve(
    model: Model,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    model_name: str | None = None,
) -> None:
    """Serve ``model`` over HTTP until interrupted (Ctrl-C); blocking.

    Prints the base URL to stderr, and a warning when binding beyond loopback
    without an API key.

    Args:
        model: Any :class:`~agentloop.Model`.
        host: The interface to bind; loopback by default.
        port: The TCP port.
        api_key: When set, every request needs ``Authorization: Bearer <api_key>``.
        model_name: The model id listed by ``/v1/models`` (default: ``model.name``).
    """
    server = make_server(
        model, host=host, port=port, api_key=api_key, model_name=model_name, log_requests=True
    )
    bound_host, bound_port = (str(part) for part in server.server_address[:2])
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    print(
        f"agentloop: serving {server.model_name!r} at http://{shown}:{bound_port}/v1 "
        "(Ctrl-C to stop)",
        file=sys.stderr,
    )
    if host not in _LOOPBACK and not api_key:
        print(
            f"agentloop: warning: listening on {host} without --api-key; anyone who can reach "
            "this port can use the model",
            file=sys.stderr,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class _Handler(BaseHTTPRequestHandler):
    """One connection; requests on it are handled one after another (keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "agentloop"
    timeout = 300
    server: ModelServer
    _chunked = True

    def _handle(self) -> None:
        self._dispatch(self.command)

    # http.server looks up do_<METHOD>; every method goes through the router (405s included)
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.log_requests:
            super().log_message(format, *args)

    # -- routing ------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        if path.startswith("/v1/"):
            path = path[3:]
        body = self._read_body() if method in ("POST", "PUT", "PATCH") else b""
        if body is None:
            return
        if not self._authorized():
            return
        if path == "/chat/completions":
            if self._allowed(method, "POST"):
                self._chat(body)
        elif path == "/models":
            if self._allowed(method, "GET"):
                self._send_json(200, {"object": "list", "data": [self._model_card()]})
        elif path.startswith("/models/"):
            if self._allowed(method, "GET"):
                self._model(unquote(path[len("/models/") :]))
        else:
            self._send_error(404, f"Unknown request URL: {method} {self.path}.", "unknown_url")

    def _allowed(self, method: str, allowed: str) -> bool:
        if method == allowed:
            return True
        self._send_error(
            405,
            f"Method {method} is not allowed for {self.path}; use {allowed}.",
            "method_not_allowed",
            headers={"Allow": allowed},
        )
        return False

    def _read_body(self) -> bytes | None:
        """Read the request body; None when an error was already sent (connection closed)."""
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding"):
                self.close_connection = True
                self._send_error(411, "A Content-Length header is required.", "length_required")
                return None
            return b""
        try:
            size = int(length)
        except ValueError:
            size = -1
        if size < 0 or size > MAX_BODY_BYTES:
            self.close_connection = True
            status = 400 if size < 0 else 413
            self._send_error(status, "The request body is too large or has a bad length.", None)
            return None
        return self.rfile.read(size)

    def _authorized(self) -> bool:
        expected = self.server.api_key
        if expected is None:
            return True
        header = self.headers.get("Authorization") or ""
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), expected.encode()
        ):
            return True
        message = (
            "Incorrect API key provided."
            if header
            else "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
        )
        self._send_error(401, message, "invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        return False

    def _model_card(self) -> dict[str, Any]:
        return {
            "id": self.server.model_name,
            "object": "model",
            "created": 0,
            "owned_by": "agentloop",
        }

    def _model(self, model_id: str) -> None:
        if model_id == self.server.model_name:
            self._send_json(200, self._model_card())
        else:
            self._send_error(404, f"The model {model_id!r} does not exist.", "model_not_found")

    # -- chat completions ---------------------------------------------------------------

    def _chat(self, raw: bytes) -> None:
        try:
            request = parse_request(raw)
            stream = request.pop("stream", False)
            messages = request.pop("messages")
            request.pop("model")
            if stream:
                events = self.server.model.stream(messages=messages, **request)
            else:
                result = self.server.model.create(messages=messages, **request)
        except Exception as exc:  # every failure becomes an OpenAI error body
            self._send_json(*self._error_for(exc))
            return
        if not stream:
            self._send_json(200, response_body(result, self.server.model_name))
            return
        options = request.get("stream_options") or {}
        meta = {
            "id": "chatcmpl-" + hashlib.sha256(raw).hexdigest()[:24],
            "created": int(time.time()),
            "model": self.server.model_name,
        }
        self._send_stream(
            stream_chunks(events, meta, include_usage=bool(options.get("include_usage")))
        )

    def _send_stream(self, chunks: Any) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        # HTTP/1.0 has no chunked encoding: the end of the stream is the end of the connection
        self._chunked = self.request_version != "HTTP/1.0"
        if self._chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        try:
            try:
                for chunk in chunks:
                    self._write_event(json.dumps(chunk, ensure_ascii=False))
                self._write_event("[DONE]")
            except (BrokenPipeError, ConnectionResetError):
                raise
            except Exception as exc:  # after the headers: report in-band, end without [DONE]
                _, body = self._error_for(exc)
                self._write_event(json.dumps(body, ensure_ascii=False))
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            close = getattr(chunks, "close", None)
            if callable(close):
                close()

    def _write_event(self, data: str) -> None:
        self._write_chunk(f"data: {data}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        if self._chunked:
            data = f"{len(data):X}\r\n".encode() + data + b"\r\n"
        self.wfile.write(data)
        self.wfile.flush()

    # -- responses ----------------------------------------------------------------------

    def _error_for(self, exc: BaseException) -> tuple[int, dict[str, Any]]:
        """The status and OpenAI error body of ``exc``; a 5xx's traceback goes to the log."""
        status, detail = error_for_exception(exc)
        if status >= 500 and self.server.log_requests:
            traceback.print_exc(file=sys.stderr)
        return status, error_body(**detail)

    def _send_error(
        self,
        status: int,
        message: str,
        code: str | None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        kind = "invalid_request_error" if status < 500 else "server_error"
        self._send_json(status, error_body(message=message, type=kind, code=code), headers=headers)

    def _send_json(
        self, status: int, payload: Any, *, headers: Mapping[str, str] | None = None
    ) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()
