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

A request must name a ``model`` (as OpenAI requires): the served model's name (or
its id without the provider prefix, ``gpt-4o`` for ``openai:gpt-4o``); any other
name is a 404 ``model_not_found``, as OpenAI answers, unless the server was told
to accept any name (``accept_any_model=True``, ``agentloop serve --any-model``).

Framing is never guessed (a guess is how a second request hides in the body of
the first): a request with both ``Content-Length`` and ``Transfer-Encoding``,
repeated ``Content-Length`` headers, a length that is not plain digits, malformed
header lines, or a body on a method that takes none (GET, HEAD, DELETE, OPTIONS)
gets 400 and the connection is closed; ``Transfer-Encoding`` alone gets 411. The
bearer key is checked from the headers before any of the body is read. A body
nested deeper than :data:`MAX_JSON_DEPTH` levels is a 400.

The server binds to
``127.0.0.1`` by default, speaks HTTP/1.1 with keep-alive,
and serves each connection on its own daemon thread. It relays exactly what the
model produced (texts, tool calls with their ids and ``extra_content``, finish
reasons, usage), so a client's assembled transcript equals the in-process one.
"""

from __future__ import annotations

import errno
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

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "ModelServer", "make_server", "serve"]

#: Request bodies larger than this get 413.
MAX_BODY_BYTES = 32 * 1024 * 1024
#: Request bodies with arrays or objects nested deeper than this get 400.
MAX_JSON_DEPTH = 100
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


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
        super().__init__(address, _Handler)
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


def make_server(
    model: Model,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    model_name: str | None = None,
    log_requests: bool = False,
    accept_any_model: bool = False,
) -> ModelServer:
    """Build (and bind) a server for ``model`` without starting it.

    Args:
        model: Any :class:`~agentloop.Model` (``OfflineModel()``, ``resolve_model("openai:gpt-4o")``).
        host: The interface to bind; loopback by default.
        port: The TCP port; 0 picks a free one (read it from ``server_address``).
        api_key: When set, every request needs ``Authorization: Bearer <api_key>``.
        model_name: The model id listed by ``/v1/models`` (default: ``model.name``).
        log_requests: Write an access log line per request to stderr.
        accept_any_model: Answer whatever model a request names; by default a name
            other than the served model's is a 404 ``model_not_found``.

    Returns:
        The bound server; call ``serve_forever()`` (blocking) and ``shutdown()``.

    Raises:
        ConfigurationError: The port is already in use, or binding it is not permitted.
    """
    try:
        return ModelServer(
            (host, port),
            model,
            api_key=api_key,
            model_name=model_name,
            log_requests=log_requests,
            accept_any_model=accept_any_model,
        )
    except OSError as exc:
        raise _bind_error(exc, host, port) from exc


def _bind_error(exc: OSError, host: str, port: int) -> Exception:
    """A one-line, fixable error for a failed bind (or ``exc`` itself when it is something else)."""
    from agentloop.errors import ConfigurationError

    how = "pick another port with --port N (--port 0 picks a free one)"
    if exc.errno == errno.EADDRINUSE:
        return ConfigurationError(
            f"port {port} on {host} is already in use (is another server running there?); {how}"
        )
    if exc.errno == errno.EACCES:
        return ConfigurationError(
            f"not permitted to listen on port {port} on {host} (ports below 1024 need "
            f"privileges); {how}"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return ConfigurationError(
            f"cannot listen on {host}: it is not an address of this machine; "
            "use --host 127.0.0.1 or an address this machine has"
        )
    return exc


def serve(
    model: Model,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    model_name: str | None = None,
    accept_any_model: bool = False,
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
        accept_any_model: Answer whatever model a request names (default: 404 for others).

    Raises:
        ConfigurationError: The port is already in use, or binding it is not permitted.
    """
    server = make_server(
        model,
        host=host,
        port=port,
        api_key=api_key,
        model_name=model_name,
        log_requests=True,
        accept_any_model=accept_any_model,
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
        size = self._body_size(method)
        if size is None:
            return
        if not self._authorized(unread_body=bool(size)):
            return
        body = self.rfile.read(size) if size else b""
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

    def _body_size(self, method: str) -> int | None:
        """The announced body length, from the headers alone; None when a 4xx was sent.

        Anything ambiguous is refused rather than interpreted, and the connection is
        then closed: whatever follows the headers cannot be trusted to be a request.
        """
        refusal = self._framing_refusal(method)
        if refusal is None:
            lengths = self.headers.get_all("Content-Length") or []
            return int(lengths[0]) if lengths else 0
        status, message = refusal
        self.close_connection = True
        self._send_error(status, message, "length_required" if status == 411 else None)
        return None

    def _framing_refusal(self, method: str) -> tuple[int, str] | None:
        """The status and message refusing the request's framing, or None when it is clear."""
        if self.headers.defects:
            return 400, "The request has a malformed header line."
        lengths = self.headers.get_all("Content-Length") or []
        if self.headers.get_all("Transfer-Encoding"):
            if lengths:
                return 400, "A request must not have both Content-Length and Transfer-Encoding."
            if method not in _BODY_METHODS:
                return 400, f"A {method} request has no body; remove Transfer-Encoding."
            return 411, "A Content-Length header is required (chunked bodies are not accepted)."
        if not lengths:
            return None
        if len(lengths) > 1:
            return 400, "The request has more than one Content-Length header; send exactly one."
        text = lengths[0].strip(" \t")
        if not (text.isascii() and text.isdigit()):
            return 400, f"The Content-Length header must be plain digits, got {text[:40]!r}."
        if len(text) > 12 or int(text) > MAX_BODY_BYTES:
            return 413, f"The request body is larger than {MAX_BODY_BYTES} bytes."
        if int(text) and method not in _BODY_METHODS:
            return 400, f"A {method} request has no body; remove it (and its Content-Length)."
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
            request = _parse_bounded(raw)
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


def _parse_bounded(raw: bytes) -> dict[str, Any]:
    """:func:`parse_request`, refusing bodies nested deeper than :data:`MAX_JSON_DEPTH` with a 400.

    Raises:
        BadRequestError: The body is malformed (see :func:`parse_request`) or nested too deeply.
    """
    from agentloop.errors import BadRequestError

    message = (
        f"The request body is nested more than {MAX_JSON_DEPTH} levels deep; "
        "flatten it (real chat requests need only a few levels)."
    )
    try:
        request = parse_request(raw)
    except RecursionError:  # the decoder's own limit: deeper than the interpreter allows
        request = None
    if request is None or _depth_exceeds(request, MAX_JSON_DEPTH):
        body = error_body(message=message, type="invalid_request_error", code="nested_too_deeply")
        raise BadRequestError(message, status_code=400, body=body) from None
    return request


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether lists and dicts in ``value`` nest more than ``limit`` levels (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
