"""ChatClient: OpenAI-compatible ``/chat/completions`` over one ``requests.Session``.

``create`` returns a :class:`~agentloop.messages.ChatResponse`; ``stream``
returns a :class:`~agentloop.streaming.ChatStream` whose events arrive as the
server's bytes do. Both retry like openai-python (connection errors, timeouts,
408/409/429/5xx, ``x-should-retry``, ``Retry-After``; a stream only while
nothing has been handed to the caller), bound every call by connect and read
timeouts plus an overall deadline, reuse one keep-alive connection, always
close responses, and never put the API key in a repr, a log line or an error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import requests
import requests.adapters

from agentloop.client.failures import Failure, Failures, no_data
from agentloop.client.params import (
    build_body,
    check_base_url,
    check_headers,
    check_key,
    encode_body,
    secret_values,
)
from agentloop.client.retry import Clock, RetryPolicy
from agentloop.client.sse import drain, iter_chunks, read_all, read_body
from agentloop.client.timeouts import DEFAULT_TIMEOUT, Deadline, Timeout, as_timeout
from agentloop.client.watchdog import arm, deadline_session, disarm
from agentloop.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ConfigurationError,
    StreamError,
)
from agentloop.messages import ChatResponse, to_cost
from agentloop.secrets import remember, url_secrets
from agentloop.streaming import DONE, ChatStream
from agentloop.version import __version__
from agentloop.wire.build import completion_as_chunk
from agentloop.wire.errors import redact_value

__all__ = ["DEFAULT_TIMEOUT", "ChatClient", "Timeout"]

log = logging.getLogger("agentloop.client.chat")
T = TypeVar("T")

COST_HEADER = "x-litellm-response-cost"
"""A response header carrying the call's cost (LiteLLM proxy sends it); read from any server."""
_BODY_LIMIT = 64 * 1024 * 1024
_ERROR_BODY_LIMIT = 256 * 1024


class ChatClient:
    """A client for one OpenAI-compatible endpoint.

    Args:
        base_url: The API root, e.g. ``https://api.openai.com/v1`` (requests go
            to ``{base_url}/chat/completions``); default ``$AGENTLOOP_BASE_URL``.
        api_key: Sent as ``Authorization: Bearer``; default ``$AGENTLOOP_API_KEY``;
            no header when neither is set.
        timeout: Seconds for the whole call, a ``(connect, read)`` tuple, or a
            :class:`Timeout`; default connect 5 s, read 300 s, total 600 s.
        max_retries: Retries after the first attempt (default 2).
        headers: Extra headers for every request.
        session: A ``requests.Session`` to use (not closed by :meth:`close`).
        clock: Sleep/time/random source (tests pass a fake).
        max_retry_after: The longest ``Retry-After`` honoured; longer fails fast.
        max_response_bytes: The largest response accepted, streamed or not (64 MiB);
            a larger one is an :class:`~agentloop.errors.APIError`.

    Raises:
        ConfigurationError: No base URL, or an invalid option.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | tuple[float | None, float | None] | Timeout | None = None,
        max_retries: int = 2,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        max_retry_after: float = 60.0,
        max_response_bytes: int = _BODY_LIMIT,
    ) -> None:
        self.base_url = check_base_url(base_url or os.environ.get("AGENTLOOP_BASE_URL"))
        self._url = self.base_url + "/chat/completions"
        self._api_key = check_key(
            api_key if api_key is not None else os.environ.get("AGENTLOOP_API_KEY")
        )
        self.timeout = as_timeout(timeout)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries={max_retries!r}: expected an integer >= 0")
        self.max_retries = max_retries
        if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int):
            raise ConfigurationError(f"max_response_bytes={max_response_bytes!r}: expected bytes")
        self.max_response_bytes = max(1, max_response_bytes)
        self._policy = RetryPolicy(
            max_retries=max_retries, clock=clock or Clock(), max_retry_after=max_retry_after
        )
        self._extra_headers = check_headers(headers)
        self._secrets = (self._api_key, *secret_values(self._extra_headers))
        # what this client sends is a secret of every writer (trace, log, cassette, sessions)
        remember(*self._secrets, *url_secrets(self.base_url))
        self._failures = Failures(self.base_url, self._secrets, self._policy)
        self._session = session if session is not None else deadline_session()
        self._owns_session = session is None
        self._env: dict[str, Any] = {}
        if self._owns_session:
            self._env = _read_environment_once(self._session, self._url, self._api_key)

    # -- public API ---------------------------------------------------------------------

    def create(self, *, model: str, messages: list[Any], **params: Any) -> ChatResponse:
        """Send one chat-completions request and return the parsed response.

        Args:
            model: The model name.
            messages: Wire-format message dicts (or :class:`~agentloop.Message`).
            **params: Body parameters (``temperature``, ``tools``, ...; None
                means not set) and ``extra_body`` (merged into the body as is).
                ``stream=True`` streams and returns the assembled response.

        Returns:
            The response.

        Raises:
            ConfigurationError: An invalid or unknown parameter (nothing sent).
            APIStatusError: The server answered with an error (a subclass per status).
            APIConnectionError: The server could not be reached (``APITimeoutError``
                for timeouts and the deadline), after the retries.
        """
        body = build_body(model, messages, params, streaming=False)
        if body.get("stream"):
            return self._start_stream(body).response
        payload = encode_body(body)
        deadline = Deadline.start(self.timeout.total)
        return self._retrying(lambda: self._create_once(payload, deadline), deadline, [0])

    def stream(self, *, model: str, messages: list[Any], **params: Any) -> ChatStream:
        """Send a streamed request; iterate the result for events as they arrive.

        The request is sent (and status errors raised) before this returns.
        After iteration, ``.response`` is the assembled response, the same as
        :meth:`create` would have returned. Close it (``with``, ``.close()``,
        or by abandoning the loop) to release the connection early.

        Args:
            model: The model name.
            messages: Wire-format message dicts (or :class:`~agentloop.Message`).
            **params: As for :meth:`create` (plus ``stream_options``).

        Returns:
            The stream of :class:`~agentloop.messages.StreamEvent`.

        Raises:
            ConfigurationError, APIStatusError, APIConnectionError: As for
                :meth:`create`; while iterating, also :class:`StreamError`.
        """
        return self._start_stream(build_body(model, messages, params, streaming=True))

    @property
    def has_api_key(self) -> bool:
        """Whether requests carry an API key (the key itself is never shown)."""
        return bool(self._api_key)

    @property
    def transport(self) -> requests.adapters.BaseAdapter:
        """The ``requests`` transport adapter that sends this client's requests.

        The one seam for the wire: assigning an adapter mounts it on the client's session for
        ``http://`` and ``https://``, so every request of this client goes through it (record
        and replay in :mod:`agentloop.tracing.cassette` wrap or replace the real adapter).
        """
        return self._session.get_adapter(self._url)

    @transport.setter
    def transport(self, adapter: requests.adapters.BaseAdapter) -> None:
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def close(self) -> None:
        """Close the session's pooled connections (if this client created the session)."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        key = "'[REDACTED]'" if self._api_key else "None"
        return (
            f"ChatClient(base_url={self.base_url!r}, api_key={key}, "
            f"max_retries={self.max_retries}, timeout={self.timeout!r})"
        )

    # -- attempts -----------------------------------------------------------------------

    def _retrying(self, attempt: Callable[[], T], deadline: Deadline, tries: list[int]) -> T:
        while True:
            try:
                return attempt()
            except Failure as failure:
                self._back_off(failure, deadline, tries, self._url)

    def _back_off(self, failure: Failure, deadline: Deadline, tries: list[int], what: str) -> None:
        """Wait before the next attempt and count it; raise the error when none may follow.

        ``tries[0]`` is the number of retries taken so far; a stream shares it
        between reopening the request and resuming a broken stream.
        """
        delay = None
        if failure.retryable:
            delay = self._policy.delay(tries[0], failure.headers, failure.detail)
            left = deadline.remaining()
            if delay is not None and left is not None and delay >= left:
                delay = None
        if delay is None:
            raise failure.error from failure.error.__cause__
        log.info(
            "retrying %s in %.2f s (retry %d of %d): %s",
            what,
            delay,
            tries[0] + 1,
            self.max_retries,
            failure.error,
        )
        self._policy.clock.sleep(delay)
        tries[0] += 1

    def _send(self, payload: bytes, *, streaming: bool, deadline: Deadline) -> requests.Response:
        timeout = (deadline.bound(self.timeout.connect), deadline.bound(self.timeout.read))
        log.debug("POST %s (%d bytes, stream=%s)", self._url, len(payload), streaming)
        watch = arm(deadline.at)  # the deadline also holds while the headers trickle in
        try:
            resp = self._session.post(
                self._url,
                data=payload,
                headers=self._headers(streaming),
                timeout=timeout,
                stream=True,
                allow_redirects=False,
                **self._env,
            )
        except requests.exceptions.RequestException as exc:
            if watch is not None and watch.fired:
                raise Failure(deadline.expired(), retryable=False) from exc
            raise self._failures.no_response(exc, deadline) from exc
        finally:
            disarm(watch)
        if resp.status_code >= 300:
            raise self._status_failure(resp, deadline)
        return resp

    def _status_failure(self, resp: requests.Response, deadline: Deadline) -> Failure:
        try:
            raw = read_all(resp.raw, deadline, self.timeout.read, _ERROR_BODY_LIMIT)
        except APIError:
            raw = b""
        finally:
            resp.close()
        return self._failures.error_status(resp, raw)

    def _create_once(self, payload: bytes, deadline: Deadline) -> ChatResponse:
        resp = self._send(payload, streaming=False, deadline=deadline)
        try:
            raw = self._read_or_fail(resp, deadline)
            if "text/event-stream" in resp.headers.get("content-type", ""):
                response = ChatStream(self._redacted(iter_chunks(iter([raw])))).response
            else:
                response = self._failures.parse_body(raw, resp)
            cost = resp.headers.get(COST_HEADER)
            return response if cost is None else with_header_cost(response, cost)
        finally:
            resp.close()

    def _read_or_fail(self, resp: requests.Response, deadline: Deadline) -> bytes:
        try:
            return read_all(
                resp.raw, deadline, self.timeout.read, self.max_response_bytes, truncate=False
            )
        except APIConnectionError as exc:
            raise Failure(exc, retryable=True) from exc

    # -- streaming ----------------------------------------------------------------------

    def _start_stream(self, body: dict[str, Any]) -> ChatStream:
        body["stream"] = True
        payload = encode_body(body)
        deadline = Deadline.start(self.timeout.total)
        tries = [0]

        def open_once() -> requests.Response:
            return self._send(payload, streaming=True, deadline=deadline)

        # current[0] is the live response (a retry replaces it); closing the
        # stream closes it even when iteration never started.
        current = [self._retrying(open_once, deadline, tries)]
        holder: list[ChatStream] = []
        closed: list[bool] = []  # closed by its owner (maybe from another thread): never retried

        def close() -> None:
            closed.append(True)
            _abort(current[0])

        chunks = self._stream_chunks(current, open_once, deadline, tries, holder, closed)
        stream = ChatStream(chunks, on_close=close)
        holder.append(stream)
        return stream

    def _stream_chunks(
        self,
        current: list[requests.Response],
        open_once: Callable[[], requests.Response],
        deadline: Deadline,
        tries: list[int],
        holder: list[ChatStream],
        closed: list[bool],
    ) -> Iterator[Any]:
        try:
            while True:
                try:
                    yield from self._relay(current[0], deadline, holder)
                    return
                except Failure as failure:
                    current[0].close()
                    # the owner closed the stream: its read failing is no reason to retry
                    if closed:
                        raise failure.error from failure.error.__cause__
                    self._back_off(failure, deadline, tries, "the stream")
                    current[0] = self._retrying(open_once, deadline, tries)
        finally:
            current[0].close()

    def _relay(
        self, resp: requests.Response, deadline: Deadline, holder: list[ChatStream]
    ) -> Iterator[Any]:
        """Yield chunks of one response; raise Failure when a retry is still allowed."""

        def started() -> bool:
            return bool(holder) and holder[0].started

        ctype = resp.headers.get("content-type", "")
        if "json" in ctype:
            body = self._failures.parse_body(self._read_or_fail(resp, deadline), resp)
            yield completion_as_chunk(body.raw)
            yield DONE
            return
        received = [0]
        source = read_body(resp.raw, deadline, self.timeout.read, self.max_response_bytes, received)
        cost = resp.headers.get(COST_HEADER)
        try:
            for item in iter_chunks(source):
                if cost is not None and type(item) is dict and item.get("usage"):
                    item = _chunk_with_cost(item, cost)
                if item is DONE:
                    drain(resp.raw)
                    yield DONE
                    return
                if item.get("error"):
                    if not started():
                        raise self._failures.error_event(item, resp)
                    item = redact_value(item, *self._secrets)
                yield item
        except APIConnectionError as exc:
            if started():
                if isinstance(exc, APITimeoutError):
                    raise
                raise StreamError(f"the stream broke: {exc}") from exc
            raise Failure(exc, retryable=True) from exc
        if not started():
            raise no_data(received[0])

    # -- helpers ------------------------------------------------------------------------

    def _redacted(self, chunks: Iterator[Any]) -> Iterator[Any]:
        for item in chunks:
            if isinstance(item, Mapping) and item.get("error"):
                item = redact_value(item, *self._secrets)
            yield item

    def _headers(self, streaming: bool) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if streaming else "application/json",
            "User-Agent": f"agentloop/{__version__}",
        }
        if streaming:
            headers["Accept-Encoding"] = "identity"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        headers.update(self._extra_headers)
        return headers


def with_header_cost(response: ChatResponse, header: str) -> ChatResponse:
    """``response`` with the cost a proxy sent in a header, unless its usage has one."""
    usage = response.usage
    cost = to_cost(header)
    if usage is None or usage.cost is not None or cost is None:
        return response
    return dataclasses.replace(response, usage=dataclasses.replace(usage, cost=cost))


def _chunk_with_cost(item: dict[str, Any], header: str) -> dict[str, Any]:
    """A stream chunk's usage with the header's cost (the body's own figure wins)."""
    usage = item["usage"]
    if not isinstance(usage, Mapping) or usage.get("cost") is not None:
        return item
    return {**item, "usage": {**usage, "cost": header}}


def _abort(resp: requests.Response) -> None:
    """Close a response; one still streaming is shut down first, which also wakes a
    reader blocked in another thread (closing alone would not)."""
    with contextlib.suppress(Exception):  # released to the pool already, or not a socket
        resp.raw.shutdown()
    resp.close()


def _read_environment_once(
    session: requests.Session, url: str, api_key: str | None
) -> dict[str, Any]:
    """Read what ``requests`` would read from the environment on every request, once.

    With ``trust_env`` on, every request scans the environment for proxies and
    ``NO_PROXY``, looks for CA bundle variables and stats ``~/.netrc``: most of the
    library's own cost on a local server. A client's URL never changes, so the client
    reads them when it is made and passes them on each request instead.

    Returns:
        ``proxies``, ``verify`` and ``cert`` for ``Session.post``.
    """
    found = session.merge_environment_settings(url, {}, None, None, None)
    if api_key is None and session.auth is None:
        session.auth = requests.utils.get_netrc_auth(url)
    session.trust_env = False
    return {key: found[key] for key in ("proxies", "verify", "cert")}
