"""Fetching one URL: manual redirects, a pinned-IP connection, byte and time caps.

Each hop is checked by :func:`agentloop_http._guard.check_url`, which resolves
the host once. The request then goes through :class:`PinnedAdapter`, a
``requests`` transport adapter whose connection pool connects to that checked
IP address while the request keeps the original ``Host`` header, and (for
https) TLS sends the original name as SNI and verifies the certificate against
it. Nothing resolves the name a second time, so DNS rebinding cannot redirect
the connection. The adapter is used directly, not through a ``Session``: no
cookies, no ``.netrc`` credentials, no proxy variables, no automatic redirects.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from agentloop import ToolError, __version__

from ._guard import AllowList, Resolver, Target, URLRefusedError, check_url

__all__ = ["USER_AGENT", "Fetched", "PinnedAdapter", "fetch"]

USER_AGENT = f"agentloop-http/{__version__} (agentloop fetch_url tool)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_ERROR_DETAIL = re.compile(
    r"(\[Errno -?\d+\] [^'\")]+|certificate verify failed[^'\")]*|Hostname mismatch[^'\")]*)"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Fetched:
    """What one ``fetch`` call got: the final response's status, headers and capped body."""

    url: str  #: the URL asked for (credentials never allowed)
    final_url: str  #: the URL of the last hop, after redirects
    status: int
    reason: str
    content_type: str  #: the raw Content-Type header, "" when missing
    body: bytes  #: at most max_bytes
    truncated: str | None  #: why the body was cut short, or None
    redirects: tuple[str, ...]  #: the URLs redirected through, in order


class PinnedAdapter(HTTPAdapter):
    """A transport adapter that connects to one checked IP address for one target.

    The request URL and ``Host`` header keep the original name; for https,
    SNI and certificate verification use that name too.
    """

    def __init__(self, target: Target, address: str) -> None:
        self._target = target
        self._address = address
        self._pool: HTTPConnectionPool | None = None
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def get_connection_with_tls_context(
        self, request: Any, verify: Any, proxies: Any = None, cert: Any = None
    ) -> HTTPConnectionPool:
        """Return the pool connected to the pinned address (proxies are never used)."""
        if self._pool is None:
            self._pool = self._new_pool()
        return self._pool

    def _new_pool(self) -> HTTPConnectionPool:
        target = self._target
        if target.scheme == "https":
            return HTTPSConnectionPool(
                self._address,
                target.port,
                maxsize=1,
                cert_reqs="CERT_REQUIRED",
                ca_certs=DEFAULT_CA_BUNDLE_PATH,
                assert_hostname=target.host,
                server_hostname=target.host,
            )
        return HTTPConnectionPool(self._address, target.port, maxsize=1)

    def close(self) -> None:
        """Close the pinned pool and any pooled connection."""
        super().close()
        if self._pool is not None:
            self._pool.close()


def fetch(
    url: str,
    *,
    resolver: Resolver,
    allow: AllowList,
    max_bytes: int,
    timeout: float,
    max_redirects: int,
) -> Fetched:
    """GET ``url``, following at most ``max_redirects`` redirects, each hop re-checked.

    Args:
        url: The URL to fetch.
        resolver: Maps a host name to IP addresses; called once per hop.
        allow: Hosts exempt from the public-address rule.
        max_bytes: Stop reading the body after this many (decoded) bytes.
        timeout: Seconds for the whole fetch: every hop, connect and body read.
        max_redirects: How many redirects to follow.

    Returns:
        The final response, its body capped and marked when truncated.

    Raises:
        URLRefusedError: A hop's URL or address is not allowed.
        ToolError: Resolution, connection, TLS or status errors, too many redirects,
            or the time limit ran out before a response arrived.
    """
    deadline = time.monotonic() + timeout
    current = url
    redirects: list[str] = []
    for _ in range(max_redirects + 1):
        target = check_url(current, resolver=resolver, allow=allow)
        with _open(target, deadline, timeout) as response:
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return _finish(url, target, response, redirects, deadline, max_bytes, timeout)
        redirects.append(target.url)
        try:
            current = urljoin(target.url, location.strip())
        except ValueError as exc:  # e.g. "http://[::1/x": urlsplit refuses it
            raise ToolError(
                f"{target.url} redirected to a malformed URL ({exc}); fetch_url cannot follow "
                "it: fetch the page the redirect meant directly"
            ) from exc
    raise ToolError(f"too many redirects fetching {url} (more than {max_redirects})")


@contextmanager
def _open(target: Target, deadline: float, timeout: float) -> Iterator[requests.Response]:
    """Send the GET to the first checked address that accepts a connection."""
    headers = {
        "Host": target.host_header,
        "User-Agent": USER_AGENT,
        "Accept": "text/html,text/plain;q=0.9,*/*;q=0.5",
        "Accept-Encoding": "identity",
    }
    try:
        request = requests.Request("GET", target.url, headers=headers).prepare()
    except (requests.exceptions.RequestException, ValueError) as exc:
        raise URLRefusedError(target.url, f"malformed URL ({type(exc).__name__})") from exc
    error: Exception | None = None
    for address in target.addresses:
        remaining = _remaining(deadline, timeout, target.url)
        adapter = PinnedAdapter(target, address)
        try:
            response = adapter.send(request, stream=True, timeout=(remaining, remaining))
        except (requests.exceptions.SSLError, requests.exceptions.ReadTimeout) as exc:
            adapter.close()
            raise _transport_error(target, exc) from exc
        except requests.exceptions.ConnectionError as exc:
            adapter.close()
            error = exc
            continue
        except (requests.exceptions.RequestException, OSError) as exc:
            adapter.close()
            raise _transport_error(target, exc) from exc
        try:
            yield response
        finally:
            response.close()
            adapter.close()
        return
    assert error is not None  # addresses is never empty
    raise _transport_error(target, error) from error


def _finish(
    url: str,
    target: Target,
    response: requests.Response,
    redirects: list[str],
    deadline: float,
    max_bytes: int,
    timeout: float,
) -> Fetched:
    if response.status_code < 200:
        # http.client reads past "100 Continue" only: any other interim answer (103 Early
        # Hints) would come back as an empty page, and the real answer after it be lost
        raise ToolError(
            f"{target.url} sent an interim HTTP {response.status_code} answer before its real "
            "one, which fetch_url cannot read past; fetch the page with another client"
        )
    if response.status_code >= 400:
        raise ToolError(f"HTTP {response.status_code} {response.reason} from {target.url}")
    content_type = response.headers.get("Content-Type", "")
    if not _is_text(content_type):
        raise ToolError(
            f"{target.url} returned {content_type!r}; fetch_url only returns text content"
        )
    body, truncated = _read_body(response.raw, deadline, max_bytes, timeout)
    return Fetched(
        url=url,
        final_url=target.url,
        status=response.status_code,
        reason=response.reason or "",
        content_type=content_type,
        body=body,
        truncated=truncated,
        redirects=tuple(redirects),
    )


def _read_body(
    raw: urllib3.BaseHTTPResponse, deadline: float, max_bytes: int, timeout: float
) -> tuple[bytes, str | None]:
    """Read at most ``max_bytes`` before ``deadline``; return the body and why it stopped early."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), f"time limit of {timeout:g} s reached"
        _set_read_timeout(raw, remaining)
        try:
            data = raw.read1(min(_CHUNK, max_bytes + 1 - size), decode_content=True)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            return b"".join(chunks), f"time limit of {timeout:g} s reached"
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if chunks:
                return b"".join(chunks), f"connection broke ({type(exc).__name__})"
            raise ToolError(f"reading the response failed: {type(exc).__name__}: {exc}") from exc
        if not data:
            return b"".join(chunks), None
        chunks.append(data)
        size += len(data)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], f"size limit of {max_bytes} bytes reached"


def _set_read_timeout(raw: Any, remaining: float) -> None:
    """Bound the next socket read by the time left, so a trickling server cannot outlast it."""
    connection = getattr(raw, "connection", None)
    sock: socket.socket | None = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(remaining, 0.001))


def _is_text(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return (
        not mime
        or mime.startswith("text/")
        or mime.endswith(("+json", "+xml", "/json", "/xml", "/javascript"))
    )


def _remaining(deadline: float, timeout: float, url: str) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ToolError(f"time limit of {timeout:g} s reached before fetching {url}")
    return remaining


def _transport_error(target: Target, exc: Exception) -> ToolError:
    if isinstance(exc, ToolError):
        return exc
    if isinstance(exc, requests.exceptions.Timeout):
        return ToolError(f"timed out fetching {target.url}")
    if broken := _broken_answer(exc):
        return ToolError(
            f"{target.host_header} ({target.url}) accepted the connection but sent no valid "
            f"HTTP answer: {broken}; the server closed, reset or garbled it, try again later"
        )
    detail = _ERROR_DETAIL.search(str(exc))
    cause = detail.group(1).strip() if detail else type(exc).__name__
    if isinstance(exc, requests.exceptions.SSLError):
        return ToolError(f"TLS error fetching {target.url}: {cause}")
    return ToolError(f"could not connect to {target.host_header} ({target.url}): {cause}")


def _broken_answer(exc: Exception) -> str | None:
    """What was wrong with a server's answer, when the connection itself was made."""
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return f"invalid header ({str(exc)[:120]})"
    first = exc.args[0] if exc.args else None
    if not isinstance(first, urllib3.exceptions.ProtocolError) or len(first.args) < 2:
        return None
    inner = first.args[1]
    if isinstance(inner, OSError) and inner.strerror:
        return f"{type(inner).__name__} ({inner.strerror})"
    shown = str(inner).strip()[:80]
    return f"{type(inner).__name__} ({shown!r})" if shown else type(inner).__name__
