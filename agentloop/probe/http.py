"""The probe's own HTTP exchanges: bounded in time and size, never a redirect, never a raise.

The probe wants evidence (the status and the bytes that matter), not a parsed completion, so it
talks to the endpoint with a bare :class:`requests.Session` rather than the retrying client:

* every request ends within its timeout (connect, every read, and the whole exchange: a
  watchdog shuts the socket of a server that trickles its headers or its body a byte at a
  time, which per-read timeouts never catch);
* redirects are never followed and the environment's proxies and ``.netrc`` are not used
  (``trust_env=False``), so the key goes to the host named in the base URL and nowhere else;
* a body is read up to :data:`MAX_BODY` bytes; a stream's ``data:`` lines are split here.

Whatever goes wrong becomes an :class:`Exchange` with ``error`` set.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from agentloop.client.failures import connection_reason
from agentloop.client.watchdog import Watch, arm, deadline_session, disarm

__all__ = ["MAX_BODY", "Endpoint", "Exchange"]

MAX_BODY = 1_000_000
"""Bytes of a response body the probe reads at most."""
_EVIDENCE = 300


@dataclass(frozen=True, kw_only=True, slots=True)
class Exchange:
    """One request and what came back.

    Attributes:
        method: ``GET`` or ``POST``.
        path: The path asked for, relative to the base URL (``/chat/completions``).
        status: The HTTP status, or None when no response came.
        body: The raw body (at most :data:`MAX_BODY` bytes).
        error: Why there is no usable answer (unreachable, timed out, ...), else None.
        seconds: How long the exchange took.
    """

    method: str
    path: str
    status: int | None = None
    body: bytes = b""
    error: str | None = None
    seconds: float = 0.0
    _json: Any = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """A 2xx answer that is not an error object."""
        return (
            self.error is None
            and self.status is not None
            and 200 <= self.status < 300
            and not (isinstance(self.json, dict) and self.json.get("error"))
        )

    @property
    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        return self._json

    def events(self) -> list[Any]:
        """The JSON ``data:`` events of a streamed body, in order (``[DONE]`` and junk skipped)."""
        out = []
        for line in self.body.splitlines():
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if not data or data == b"[DONE]":
                continue
            try:
                out.append(json.loads(data))
            except ValueError:
                continue
        return out

    def evidence(self) -> str:
        """The status and the first bytes of the body: one line a user can read."""
        if self.error:
            return f"{self.method} {self.path}: {self.error}"
        text = self.body[:_EVIDENCE].decode("utf-8", "replace").replace("\n", " ")
        more = "..." if len(self.body) > _EVIDENCE else ""
        return f"{self.method} {self.path} -> {self.status}: {text}{more}"


class Endpoint:
    """An OpenAI-compatible base URL, the key for it, and the probe's limits.

    Args:
        base_url: The base URL (``http://127.0.0.1:8080/v1``).
        api_key: Sent as ``Authorization: Bearer`` to this host only; None for none.
        timeout: Seconds each exchange may take in all.
    """

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 20.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._secret = api_key.encode() if api_key and len(api_key) >= 4 else None
        self._session = deadline_session()
        self._session.trust_env = False  # no proxy from the environment sees the key
        self._session.headers["User-Agent"] = "agentloop-probe"
        if api_key:
            self._session.headers["Authorization"] = f"Bearer {api_key}"
        parts = urlsplit(self.base_url)
        root = parts.path[: -len("/v1")] if parts.path.endswith("/v1") else parts.path
        self.root_url = urlunsplit((parts.scheme, parts.netloc, root, "", ""))

    def get(self, path: str, *, root: bool = False) -> Exchange:
        """GET ``path`` under the base URL (or under the server's root with ``root=True``)."""
        return self._exchange("GET", path, None, root=root)

    def post(self, path: str, body: Any) -> Exchange:
        """POST ``body`` as JSON to ``path`` under the base URL."""
        return self._exchange("POST", path, body, root=False)

    def close(self) -> None:
        """Release the connections."""
        self._session.close()

    def _exchange(self, method: str, path: str, body: Any, *, root: bool) -> Exchange:
        url = (self.root_url if root else self.base_url) + path
        started = time.monotonic()
        deadline = started + self.timeout
        watch = arm(deadline)  # the whole exchange, headers and body
        try:
            try:
                resp = self._session.request(
                    method,
                    url,
                    json=body,
                    timeout=(min(5.0, self.timeout), self.timeout),
                    allow_redirects=False,
                    stream=True,
                )
            except requests.exceptions.RequestException as exc:
                late = isinstance(exc, requests.exceptions.Timeout) or _fired(watch)
                why = f"no answer within {self.timeout:g} s" if late else connection_reason(exc)
                return self._failed(method, path, why, started)
            if _fired(watch):  # shut mid-headers: what came is not an answer
                resp.close()
                return self._failed(method, path, f"no answer within {self.timeout:g} s", started)
            try:
                raw, error = self._read(resp, deadline, watch)
            finally:
                resp.close()
        finally:
            disarm(watch)
        if self._secret:
            raw = raw.replace(self._secret, b"[REDACTED]")  # a server that echoes headers
        if 300 <= resp.status_code < 400:
            error = f"redirect to {resp.headers.get('location', '?')!r} not followed"
        try:
            parsed = json.loads(raw) if raw[:1] in (b"{", b"[") else None
        except ValueError:
            parsed = None
        return Exchange(
            method=method,
            path=path,
            status=resp.status_code,
            body=raw,
            error=error,
            seconds=time.monotonic() - started,
            _json=parsed,
        )

    def _read(
        self, resp: requests.Response, deadline: float, watch: Watch | None
    ) -> tuple[bytes, str | None]:
        chunks: list[bytes] = []
        size = 0
        late = f"the answer took longer than {self.timeout:g} s"
        try:
            for chunk in resp.iter_content(8192):
                chunks.append(chunk)
                size += len(chunk)
                if size >= MAX_BODY:
                    return b"".join(chunks)[:MAX_BODY], None
                if time.monotonic() > deadline:
                    return b"".join(chunks), late
        except requests.exceptions.RequestException as exc:
            if _fired(watch) or isinstance(exc, requests.exceptions.Timeout):
                return b"".join(chunks), late
            return b"".join(chunks), f"the answer broke off: {connection_reason(exc)}"
        return b"".join(chunks), late if _fired(watch) else None

    @staticmethod
    def _failed(method: str, path: str, why: str, started: float) -> Exchange:
        return Exchange(method=method, path=path, error=why, seconds=time.monotonic() - started)


def _fired(watch: Watch | None) -> bool:
    """Whether the watchdog shut the exchange's socket at its deadline."""
    return watch is not None and watch.fired
