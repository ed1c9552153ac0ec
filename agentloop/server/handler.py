"""The HTTP server of ``agentloop serve`` and its connections: routing, the key, chat, errors.

See :mod:`agentloop.server.app` for the routes, the error bodies and the framing rules.
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

from agentloop.server.framing import framing_refusal, parse_bounded
from agentloop.server.wire import (
    error_body,
    error_for_exception,
    response_body,
    stream_chunks,
)

if TYPE_CHECKING:
    from agentloop.protocols import Model

__all__ = ["Handler", "ModelServer"]


class ModelServer(ThreadingHTTPServer):
    """An HTTP server answering chat-completions requests with one model.

    Use :func:`make_server` to build one; ``server_address`` gives the bound
    ``(host, port)`` (useful with port 0), ``serve_forever()`` runs it and
    ``shutdown()`` stops it from another thread.

    Attributes:
        model: The model that answers every request.
        model_name: The name listed by ``/v1/models``.
        started: When the server was made (Unix time), the ``created`` of its model card.
        api_key: The key clients must send as ``Authorization: Bearer``, or None.
        log_requests: Whether to write an access log line per request to stderr.
        accept_any_model: Answer a request whatever model it names (otherwise 404).
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
        accept_any_model: bool = False,
    ) -> None:
        if ":" in address[0]:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.model = model
        self.model_name = model_name or str(getattr(model, "name", "") or "model")
        self.api_key = api_key or None
        self.log_requests = log_requests
        self.accept_any_model = accept_any_model
        self.started = int(time.time())

    def serves(self, name: str) -> bool:
        """Whether a request naming the model ``name`` is answered (else 404 ``model_not_found``).

        Args:
            name: The ``model`` of a request, or the id of ``GET /v1/models/{id}``.
        """
        if self.accept_any_model or name == self.model_name:
            return True
        _, sep, bare = self.model_name.partition(":")
        return bool(sep) and name == bare


class Handler(BaseHTTPRequestHandler):
    """One connection; requests on it are handled one after another (keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "agentloop"
    timeout = 300
    server: ModelServer
    _chunked = True
    # headers and body are separate writes: with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms a response, seen by benchmarks/bench_probe.py)
    disable_nagle_algorithm = True

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
        size = self._body_size(method)
        if size is None:
            return
        if not self._authorized(unread_body=bool(size)):
            return
        body = self.rfile.read(size) if size else b""
        if path == "/chat/completions":
            if self._allowed(method, "POST"):
                self._chat(body)
        elif path == "/responses":
            if self._allowed(method, "POST"):
                self._responses(body)
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

    def _body_size(self, method: str) -> int | None:
        """The announced body length, from the headers alone; None when a 4xx was sent.

        Anything ambiguous is refused rather than interpreted, and the connection is
        then closed: whatever follows the headers cannot be trusted to be a request.
        """
        refusal = framing_refusal(self.headers, method)
        if refusal is None:
            lengths = self.headers.get_all("Content-Length") or []
            return int(lengths[0]) if lengths else 0
        status, message = refusal
        self.close_connection = True
        self._send_error(status, message, "length_required" if status == 411 else None)
        return None

    def _authorized(self, *, unread_body: bool) -> bool:
        """Check the bearer key from the headers alone; send 401 and return False when wrong.

        Args:
            unread_body: A body follows the headers; on refusal it stays unread, so
                the connection is closed (its bytes must not be taken for a request).
        """
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
        if unread_body:
            self.close_connection = True
        self._send_error(401, message, "invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        return False

    def _model_card(self) -> dict[str, Any]:
        return {
            "id": self.server.model_name,
            "object": "model",
            "created": self.server.started,
            "owned_by": "agentloop",
        }

    def _model(self, model_id: str) -> None:
        if self.server.serves(model_id):
            self._send_json(200, {**self._model_card(), "id": model_id})
        else:
            self._send_error(404, f"The model {model_id!r} does not exist.", "model_not_found")

    # -- chat completions ---------------------------------------------------------------

    def _chat(self, raw: bytes) -> None:
        try:
            request = parse_bounded(raw)
            stream = request.pop("stream", False)
            messages = request.pop("messages")
            name = request.pop("model")
            if not self.server.serves(name):
                self._send_error(
                    404,
                    f"The model `{name}` does not exist or you do not have access to it; this "
                    f"server serves {self.server.model_name!r}.",
                    "model_not_found",
                )
                return
            if stream:
                events = self.server.model.stream(messages=messages, **request)
            else:
                result = self.server.model.create(messages=messages, **request)
        except Exception as exc:  # every failure becomes an OpenAI error body
            self._send_json(*self._error_for(exc))
            return
        if not stream:
            body = response_body(result, self.server.model_name)
            if not body.get("created"):  # a model that has no clock (offline) answers now
                body["created"] = int(time.time())
            self._send_json(200, body)
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

    def _responses(self, raw: bytes) -> None:
        from agentloop.server.responses import answer

        answer(self, raw)

    def _send_stream(self, chunks: Any, *, named: bool = False) -> None:
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
                for chunk in chunks:  # named: Responses events, `event:` lines and no [DONE]
                    data = json.dumps(chunk, ensure_ascii=False)
                    self._write_event(data, event=chunk["type"] if named else None)
                if not named:
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

    def _write_event(self, data: str, event: str | None = None) -> None:
        head = f"event: {event}\n" if event else ""
        self._write_chunk(f"{head}data: {data}\n\n".encode())

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
