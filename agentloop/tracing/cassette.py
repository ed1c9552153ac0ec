"""Record a run's HTTP traffic into a cassette, and replay it with no network.

Both are ``requests`` transport adapters, put on a :class:`~agentloop.client.ChatClient` through
its one seam (``client.transport``), so a replayed run goes through the real client: its SSE
reader, stream assembly, retries, the loop and the tools all run; only the socket is missing.

A cassette is JSONL: a header line, then one line per HTTP exchange, in the order the requests
were sent::

    {"agentloop_cassette": 1, "model": "openai:gpt-4o", "base_url": "https://...", ...}
    {"seq": 0, "request": {"method": "POST", "path": "/v1/chat/completions",
     "headers": {...}, "json": {...}}, "response": {"status": 200, "headers": {...},
     "body": "data: {...}\\n\\n..."}, "duration": 0.41}

Every line passes through the one redaction rule (:mod:`agentloop.secrets`): the header line (its
``base_url`` too), request paths and bodies, response headers and bodies, also the bytes of a body
that is not UTF-8. It hides the ``Authorization`` key sent, every key the process knows and any
``secrets=`` given; no request header that carries a credential is stored. ``request.json`` is the
body as sent (``text`` when it is not JSON). ``response.body`` is the response's bytes as the
client read them (SSE framing included), as text, or ``body_b64`` when they are not UTF-8. An exchange that failed before a response has
``"error": {"type": "ConnectionError", "message": ...}`` instead, and replays as that failure.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3

from agentloop.errors import CassetteError, ConfigurationError, ReplayMismatch
from agentloop.secrets import Redactor, remember, url_secrets
from agentloop.tracing.diff import request_diff
from agentloop.version import __version__

__all__ = [
    "CASSETTE_VERSION",
    "CassetteError",
    "RecordingTransport",
    "ReplayMismatch",
    "ReplayTransport",
    "read_cassette",
]

CASSETTE_VERSION = 1
RESPONSE_HEADERS = (
    "content-type",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "x-request-id",
    "request-id",
)
REQUEST_HEADERS = ("content-type", "accept")
_FAILURES: dict[str, type[requests.exceptions.RequestException]] = {
    "ConnectTimeout": requests.exceptions.ConnectTimeout,
    "ReadTimeout": requests.exceptions.ReadTimeout,
    "Timeout": requests.exceptions.Timeout,
}
_BUILDER = requests.adapters.HTTPAdapter()


# -- recording --------------------------------------------------------------------------------


class RecordingTransport(requests.adapters.BaseAdapter):
    """Send through ``inner`` and write every exchange to ``path`` as the client reads it.

    Args:
        path: The cassette file (created or truncated; the header is written at once).
        inner: The real transport (default a new ``requests`` ``HTTPAdapter``).
        secrets: More strings to keep out of the file.
        meta: Extra header keys (``model``, ``base_url``: what ``--replay`` needs to rebuild
            the model when the agent has none).

    Raises:
        ConfigurationError: The file cannot be written.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        inner: requests.adapters.BaseAdapter | None = None,
        secrets: Iterable[str | None] = (),
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.inner = inner if inner is not None else requests.adapters.HTTPAdapter()
        self.redactor = Redactor(secrets)
        self._lock = threading.Lock()
        self._seq = 0
        try:
            self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (close())
        except OSError as exc:
            raise ConfigurationError(f"cannot write the cassette {path}: {exc.strerror}") from exc
        header = {"agentloop_cassette": CASSETTE_VERSION, "agentloop": __version__}
        header.update({"created": round(time.time(), 3), **(meta or {})})
        remember(*url_secrets(str(header.get("base_url") or "")))
        self._write(header)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send the request for real; the exchange is written when its body has been read."""
        self._learn_secret(request)
        with self._lock:
            seq, self._seq = self._seq, self._seq + 1
        entry: dict[str, Any] = {"seq": seq, "request": self._request(request)}
        started = time.perf_counter()
        try:
            resp = self.inner.send(request, **kwargs)
        except requests.exceptions.RequestException as exc:
            message = self._redact(str(exc))
            entry["error"] = {"type": type(exc).__name__, "message": message}
            entry["duration"] = round(time.perf_counter() - started, 6)
            self._write(entry)
            raise
        head = {k: self._redact(resp.headers[k]) for k in RESPONSE_HEADERS if k in resp.headers}
        entry["response"] = {"status": resp.status_code, "headers": head}

        def done(body: bytes, complete: bool) -> None:
            entry["response"].update(self._body(body))
            if not complete:
                entry["response"]["incomplete"] = True
            entry["duration"] = round(time.perf_counter() - started, 6)
            self._write(entry)

        resp.raw = _TeeRaw(resp.raw, done)
        return resp

    def close(self) -> None:
        """Close the real transport and the file."""
        self.inner.close()
        with self._lock:
            self._file.close()

    def _write(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(self.redactor.value(record), ensure_ascii=False)
        with self._lock:
            if not self._file.closed:
                self._file.write(line + "\n")
                self._file.flush()

    def _learn_secret(self, request: requests.PreparedRequest) -> None:
        """The credential actually sent is a secret of every writer (not only of this file)."""
        for name, value in request.headers.items():
            if name.lower() in ("authorization", "api-key", "x-api-key", "x-goog-api-key"):
                token = str(value).split(" ", 1)[-1].strip()
                self.redactor.add(token)
                remember(token)
        remember(*url_secrets(request.url))

    def _redact(self, text: str) -> str:
        return self.redactor.text(text)

    def _request(self, request: requests.PreparedRequest) -> dict[str, Any]:
        url = urlsplit(self._redact(request.url or ""))
        out: dict[str, Any] = {"method": request.method, "path": url.path}
        if url.query:
            out["query"] = url.query
        out["headers"] = {
            k.lower(): v for k, v in request.headers.items() if k.lower() in REQUEST_HEADERS
        }
        body = request.body
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body or ""
        try:
            # parsed first, redacted as a value: a mask can never break the JSON
            out["json"] = self.redactor.value(json.loads(text)) if text else None
        except (ValueError, RecursionError):
            out["text"] = self._redact(text)
        return out

    def _body(self, body: bytes) -> dict[str, Any]:
        try:
            return {"body": self._redact(body.decode("utf-8"))}
        except UnicodeDecodeError:
            return {"body_b64": base64.b64encode(self.redactor.bytes(body)).decode("ascii")}


class _TeeRaw:
    """A response's ``raw`` that keeps a copy of every byte the client reads through it.

    It offers what the client uses of urllib3's response (``read1``, ``read``, ``headers``,
    ``release_conn``, ``shutdown``, ``close``, the connection for socket timeouts) and reports
    the body once: at its end, or when the response is closed before it.
    """

    chunked = False  # the client then reads through read1(), so every byte passes here

    def __init__(self, raw: Any, done: Any) -> None:
        self._raw = raw
        self._done = done
        self._parts: list[bytes] = []
        self._reported = False
        self.headers = raw.headers
        self.status = raw.status

    @property
    def _connection(self) -> Any:
        return getattr(self._raw, "_connection", None) or getattr(self._raw, "connection", None)

    @property
    def closed(self) -> bool:
        return bool(self._raw.closed)

    def read1(self, amt: int = -1, decode_content: bool = True) -> bytes:
        data = self._raw.read1(amt, decode_content=True)
        self._keep(data)
        return bytes(data)

    def read(self, amt: int | None = None, decode_content: bool = True, **kw: Any) -> bytes:
        data = self._raw.read(amt, decode_content=True)
        self._keep(data)
        return bytes(data)

    def stream(self, amt: int = 65536, decode_content: bool = True) -> Iterator[bytes]:
        while data := self.read1(amt):
            yield data

    def release_conn(self) -> None:
        self._report(False)
        self._raw.release_conn()

    def shutdown(self) -> None:
        self._raw.shutdown()

    def close(self) -> None:
        self._report(False)
        self._raw.close()

    def _keep(self, data: bytes) -> None:
        if data:
            self._parts.append(bytes(data))
        else:
            self._report(True)

    def _report(self, complete: bool) -> None:
        if not self._reported:
            self._reported = True
            self._done(b"".join(self._parts), complete or _read_to_end(self._raw))


def _read_to_end(raw: Any) -> bool:
    """Whether a urllib3 response has been read to its end."""
    fp = getattr(raw, "_fp", None)
    return fp is None or bool(getattr(fp, "closed", False))


# -- replaying --------------------------------------------------------------------------------


def read_cassette(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read a cassette: its header and its exchanges in request order.

    Lines end at ``\n`` only (U+2028 and U+2029 inside a recorded prompt stay in their line).

    Raises:
        CassetteError: The file is missing, not a cassette, or a line is not JSON or not an
            exchange (the path, the line and the fix are named).
    """
    try:
        lines = Path(path).read_bytes().split(b"\n")
    except OSError as exc:
        raise CassetteError(f"cannot read the cassette {path}: {exc.strerror}") from exc
    records: list[tuple[int, Any]] = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            records.append((number, _record(path, number, line)))
    if (
        not records
        or not isinstance(records[0][1], dict)
        or "agentloop_cassette" not in records[0][1]
    ):
        raise CassetteError(f"{path} is not an agentloop cassette (no header line)")
    header = records[0][1]
    version = header["agentloop_cassette"]
    if not isinstance(version, int) or isinstance(version, bool) or version > CASSETTE_VERSION:
        raise CassetteError(f"{path} has cassette version {version!r}; upgrade agentloop")
    for number, record in records[1:]:
        _check_exchange(path, number, record)
    exchanges = sorted((r for _, r in records[1:]), key=lambda r: r.get("seq", 0))
    return header, exchanges


_EDITED = "the file was edited or damaged; record the run again"


def _record(path: str | Path, number: int, line: bytes) -> Any:
    try:
        return json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise CassetteError(f"{path}:{number}: not UTF-8 text ({_EDITED})") from None
    except RecursionError:
        raise CassetteError(f"{path}:{number}: nested too deeply ({_EDITED})") from None
    except ValueError as exc:
        raise CassetteError(f"{path}:{number}: not JSON ({exc}; {_EDITED})") from None


def _check_exchange(path: str | Path, number: int, record: Any) -> None:
    """Refuse an exchange line the replay could not use, before the run starts."""
    where = f"{path}:{number}"
    if not isinstance(record, dict):
        raise CassetteError(f"{where}: an exchange must be a JSON object ({_EDITED})")
    seq = record.get("seq", 0)
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise CassetteError(f"{where}: seq must be an integer, got {seq!r} ({_EDITED})")
    if not isinstance(record.get("request"), dict) or not (
        isinstance(record.get("response"), dict) or isinstance(record.get("error"), dict)
    ):
        raise CassetteError(f"{where}: the exchange lacks request and response/error ({_EDITED})")
    response = record.get("response")
    if not isinstance(response, dict):
        return
    status = response.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise CassetteError(
            f"{where}: response status must be 100..599, got {status!r} ({_EDITED})"
        )
    headers = response.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise CassetteError(f"{where}: response headers must be an object of strings ({_EDITED})")
    if "body_b64" in response:
        try:
            base64.b64decode(str(response["body_b64"]), validate=True)
        except ValueError:
            raise CassetteError(f"{where}: body_b64 is not base64 ({_EDITED})") from None
    elif not isinstance(response.get("body", ""), str):
        raise CassetteError(f"{where}: response body must be a string ({_EDITED})")


class ReplayTransport(requests.adapters.BaseAdapter):
    """Answer every request from a cassette, in order, with no socket.

    Args:
        path: The cassette.
        mode: ``"strict"`` (a request that differs from the recorded one raises
            :class:`ReplayMismatch` with a diff) or ``"lenient"`` (the n-th request gets the
            n-th recorded response, whatever it says).

    Raises:
        CassetteError: The cassette cannot be read.
        ConfigurationError: An unknown mode.
    """

    def __init__(self, path: str | Path, *, mode: str = "strict") -> None:
        super().__init__()
        if mode not in ("strict", "lenient"):
            raise ConfigurationError(f"replay mode {mode!r}: expected 'strict' or 'lenient'")
        self.path = Path(path)
        self.mode = mode
        self.header, self.exchanges = read_cassette(path)
        self.used = 0
        self._lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Return the next recorded response (or raise its recorded failure)."""
        with self._lock:
            index = self.used
            if index >= len(self.exchanges):
                raise ReplayMismatch(
                    f"the run sent request {index + 1}, but {self.path} holds only "
                    f"{len(self.exchanges)} (record the run again)"
                )
            self.used += 1
        exchange = self.exchanges[index]
        if self.mode == "strict":
            diff = request_diff(exchange["request"], request)
            if diff:
                raise ReplayMismatch(
                    f"request {index + 1} differs from the one recorded in {self.path} "
                    "(record again, or replay with --replay-mode lenient)",
                    diff,
                )
        if "error" in exchange:
            error = exchange["error"]
            kind = _FAILURES.get(str(error.get("type")), requests.exceptions.ConnectionError)
            raise kind(f"(replayed) {error.get('message', '')}", request=request)
        return _response(request, exchange["response"])

    def close(self) -> None:
        """Nothing to release."""

    def check_finished(self) -> None:
        """In strict mode, raise if the run sent fewer requests than the cassette holds."""
        if self.mode == "strict" and self.used < len(self.exchanges):
            raise ReplayMismatch(
                f"the run sent {self.used} request(s), but {self.path} holds "
                f"{len(self.exchanges)} (the run ended earlier than when it was recorded)"
            )


def _response(request: requests.PreparedRequest, recorded: Mapping[str, Any]) -> requests.Response:
    if "body_b64" in recorded:
        body = base64.b64decode(str(recorded["body_b64"]))
    else:
        body = str(recorded.get("body", "")).encode("utf-8")
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(body),
        headers=dict(recorded.get("headers") or {}),
        status=int(recorded.get("status", 200)),
        preload_content=False,
        decode_content=False,
        request_method=request.method,
    )
    return _BUILDER.build_response(request, raw)
