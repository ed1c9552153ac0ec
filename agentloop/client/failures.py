"""One failed attempt of a model call: the error to raise and whether a retry may help
(internal; :class:`~agentloop.client.chat.ChatClient` decides when to retry).

:class:`Failures` turns what went wrong -- no response at all, an error
status, a body that is not a completion, an error event at the start of a
stream -- into a :class:`Failure` carrying the :mod:`agentloop.errors`
exception (secrets redacted) and what the retry decision needs.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from agentloop.client.retry import RetryPolicy
from agentloop.client.timeouts import Deadline
from agentloop.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ContextWindowExceeded,
    StreamError,
    redact,
)
from agentloop.messages import ChatResponse
from agentloop.wire.assembly import parse_response
from agentloop.wire.decode import loads
from agentloop.wire.errors import (
    error_detail,
    make_status_error,
    parse_error_body,
    redact_value,
    status_from_error,
)

__all__ = ["Failure", "Failures", "connection_reason", "diagnose", "no_data"]

# A context-length rejection, whoever sent it: OpenAI and vLLM ("maximum context length is N"),
# llama-cpp-python ("exceed context window of N"), llama-server (exceed_context_size_error,
# "n_ctx": N), Mistral ("N maximum context length"), Anthropic-style gateways ("prompt is too long").
_CONTEXT = re.compile(
    r"(?i)context[_ ](length|window|size)|maximum context|prompt is too long|too many tokens"
)
_WINDOW = (
    re.compile(r"(?i)maximum context length is (\d+)"),
    re.compile(r"(?i)context (?:window|size|length) of (\d+)"),
    re.compile(r"(?i)(\d+) (?:tokens? )?maximum context length"),
    re.compile(r"(?i)\bn_ctx['\"]?\s*[:=]\s*(\d+)"),
    re.compile(r"(?i)(?:>|limit of|maximum of) (\d+)(?: tokens)?"),
)
# Server configuration errors that come back as opaque 400s -> the flag that fixes them.
_SERVER_FLAGS = (
    (
        re.compile(r"(?i)enable-auto-tool-choice|tool-call-parser"),
        "the vLLM server was started without tool calling: restart it with "
        "--enable-auto-tool-choice --tool-call-parser PARSER (hermes, llama3_json, mistral, ...)",
    ),
    (
        re.compile(
            r"(?i)requires --jinja|--jinja flag|template[^.]{0,60}(does not|doesn't) support"
            r" tools|tools?[^.]{0,40}not supported by[^.]{0,20}template"
        ),
        "the llama.cpp server's chat template has no tool support: start llama-server with "
        "--jinja (and --chat-template-file FILE when the model's own template has no tools)",
    ),
)


class Failure(Exception):
    """An attempt failed; carries what the retry decision needs."""

    def __init__(
        self,
        error: APIError,
        *,
        retryable: bool,
        headers: Mapping[str, str] | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retryable = retryable
        self.headers = headers
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Failures:
    """Builds the :class:`Failure` of an attempt for one client.

    Attributes:
        base_url: The endpoint, for connection-error messages.
        secrets: What to redact from everything echoed back.
        policy: Which statuses may be retried.
    """

    base_url: str
    secrets: tuple[str | None, ...]
    policy: RetryPolicy

    def no_response(self, exc: requests.exceptions.RequestException, deadline: Deadline) -> Failure:
        """Timeouts and unreachable servers may be retried; TLS and other failures not."""
        error: APIError
        if isinstance(exc, requests.exceptions.Timeout):
            left = deadline.remaining()
            error = (
                deadline.expired()
                if left is not None and left <= 0.05
                else APITimeoutError(f"timed out talking to {self.base_url}: {type(exc).__name__}")
            )
            retryable = True
        elif isinstance(exc, requests.exceptions.SSLError):
            error = APIConnectionError(f"TLS failed with {self.base_url}: {self._clean(exc)}")
            retryable = False
        elif isinstance(exc, requests.exceptions.ConnectionError):
            error = APIConnectionError(f"could not reach {self.base_url}: {connection_reason(exc)}")
            retryable = True
        else:
            error = APIConnectionError(f"request to {self.base_url} failed: {self._clean(exc)}")
            retryable = False
        error.__cause__ = exc
        return Failure(error, retryable=retryable)

    def error_status(self, resp: requests.Response, raw: bytes) -> Failure:
        """The failure of a response with status >= 300 whose body was ``raw``."""
        body = parse_error_body(raw, *self.secrets)
        prefix = ""
        if 300 <= resp.status_code < 400:
            target = redact(resp.headers.get("location", "?"), *self.secrets)
            prefix = f"redirect to {target} not followed: "
        error = diagnose(
            make_status_error(
                resp.status_code, body, request_id=self.request_id(resp.headers), prefix=prefix
            )
        )
        detail = error_detail(body)
        retryable = self.policy.should_retry_status(resp.status_code, resp.headers, detail)
        return Failure(error, retryable=retryable, headers=resp.headers, detail=detail)

    def parse_body(self, raw: bytes, resp: requests.Response) -> ChatResponse:
        """Parse a successful response's body; raise :class:`Failure` when it is no completion."""
        try:
            body = loads(raw)
        except ValueError as exc:
            text = redact_value(raw[:200].decode("utf-8", "replace"), *self.secrets)
            what = str(exc) if "nested deeper" in str(exc) else "not JSON"
            error = APIStatusError(
                f"the server answered {resp.status_code} with a body that is {what}: {text!r}",
                status_code=resp.status_code,
                body=text,
                request_id=self.request_id(resp.headers),
            )
            raise Failure(error, retryable=False) from exc
        try:
            return parse_response(body)
        except APIStatusError as exc:
            error = make_status_error(
                exc.status_code,
                redact_value(body, *self.secrets),
                request_id=self.request_id(resp.headers),
                prefix="200 body: ",
            )
            retryable = exc.status_code != 200 and self.policy.should_retry_status(
                exc.status_code, resp.headers, error.body
            )
            raise Failure(
                error, retryable=retryable, headers=resp.headers, detail=error.body
            ) from None

    def error_event(self, item: Mapping[str, Any], resp: requests.Response) -> Failure:
        """The failure of a stream whose first event is an error object."""
        body = redact_value(item, *self.secrets)
        detail = error_detail(body)
        status = status_from_error(detail) or 200
        error = make_status_error(
            status, body, request_id=self.request_id(resp.headers), prefix="stream error event: "
        )
        retryable = status != 200 and self.policy.should_retry_status(status, {}, detail)
        return Failure(error, retryable=retryable, detail=detail)

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        """The server's request id header, if it sent one (secrets redacted: it may echo them)."""
        value = headers.get("x-request-id") or headers.get("request-id")
        return redact_value(value[:200], *self.secrets) if value else None

    def _clean(self, exc: BaseException) -> str:
        return redact(str(exc), *self.secrets)[:300]


def diagnose(error: APIStatusError) -> APIStatusError:
    """Name the cause of a known rejection: a context overflow, a server flag left unset.

    Args:
        error: The status error as the server worded it.

    Returns:
        A :class:`ContextWindowExceeded` for a context-length rejection (its window parsed
        from the message when it says), an error of the same class whose message is one
        line naming the server flag to set for a known configuration error, or ``error``.
    """
    if error.status_code not in (400, 413, 422, 500):
        return error
    text = f"{error} {error.body}"
    detail = error.body if isinstance(error.body, Mapping) else {}
    if _CONTEXT.search(text) or detail.get("type") == "exceed_context_size_error":
        window = next((int(m.group(1)) for p in _WINDOW if (m := p.search(text))), None)
        size = f"of {window} tokens " if window else ""
        return ContextWindowExceeded(
            f"the request is longer than the model's context window {size}({error}); "
            'shorten the history or use Agent(max_context_tokens="auto") to trim it',
            status_code=error.status_code,
            body=error.body,
            request_id=error.request_id,
            window=window,
        )
    for pattern, fix in _SERVER_FLAGS:
        if pattern.search(text):
            diagnosed = type(error)(
                f"{fix} (server said {error.status_code}: {str(error)[:160]})",
                status_code=error.status_code,
                body=error.body,
                request_id=error.request_id,
            )
            return diagnosed
    return error


def connection_reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words (not urllib3's whole repr chain).

    Follows urllib3's ``reason``, wrapped arguments and ``__cause__`` down to the
    socket error: "connection refused", "the host name does not resolve", or the
    operating system's text.
    """
    node: BaseException | None = exc
    seen: set[int] = set()
    reason = None
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(node, ConnectionRefusedError):
            return "connection refused (nothing is listening there)"
        if isinstance(node, OSError) and node.strerror:
            reason = node.strerror.lower()
        node = _inner(node)
    return reason or f"the connection failed ({type(exc).__name__})"


def _inner(node: BaseException) -> BaseException | None:
    wrapped = getattr(node, "reason", None)
    if isinstance(wrapped, BaseException):
        return wrapped
    if node.args and isinstance(node.args[0], BaseException):
        return node.args[0]
    return node.__cause__ or node.__context__


def no_data(received: int) -> Failure:
    """The failure of a 200 stream that ended before any event (an empty body is not retried).

    Args:
        received: How many bytes the body had.
    """
    if received:
        error = StreamError(
            f"the stream ended before any data: {received} bytes but no event, no "
            "finish_reason, no [DONE] (the connection dropped, or the server failed mid-answer)"
        )
        return Failure(error, retryable=True)
    error = StreamError(
        "the server answered 200 with an empty stream (no event, no [DONE]): it failed "
        "after starting the response, so the reason is only in its log. llama.cpp's server "
        'does this for streamed requests with tools and tool_choice "auto" (use the '
        "llamacpp: provider, which sends those unstreamed, or stream=False)"
    )
    return Failure(error, retryable=False)
