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
import sys
from typing import TYPE_CHECKING

from agentloop.server.framing import MAX_BODY_BYTES, MAX_JSON_DEPTH
from agentloop.server.handler import ModelServer

if TYPE_CHECKING:
    from agentloop.protocols import Model

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "ModelServer", "make_server", "serve"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


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
