"""One failed attempt of a model call: the error to raise and whether a retry may help
(internal; :class:`~agentloop.client.chat.ChatClient` decides when to retry).

:class:`Failures` turns what went wrong -- no response at all, an error
status, a body that is not a completion, an error event at the start of a
stream -- into a :class:`Failure` carrying the :mod:`agentloop.errors`
exception (secrets redacted) and what the retry decision needs.
"""

from __future__ import annotations

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

__all__ = ["Failure", "Failures", "connection_reason", "no_data"]


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
        error = make_status_error(
            resp.status_code, body, request_id=self.request_id(resp.headers), prefix=prefix
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
