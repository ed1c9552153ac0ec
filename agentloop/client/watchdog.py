"""The overall deadline while ``requests`` waits for a status line and headers (internal).

``requests`` bounds each socket read by the read timeout, so a server that
trickles its status line and headers a byte at a time keeps ``Session.post``
from returning long past the call's deadline. :class:`DeadlineAdapter` is an
ordinary ``HTTPAdapter`` whose connections report their socket to the
:class:`Watch` armed for the current thread; one shared watchdog thread shuts a
socket down when its watch's deadline passes, which ends the blocked read at
once. After the headers the client's own reader bounds every read
(:func:`agentloop.client.sse.read_body`), so the watch is disarmed there.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Any

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool

__all__ = ["DeadlineAdapter", "Watch", "arm", "deadline_session", "disarm"]

_local = threading.local()


class Watch:
    """One request's deadline and the socket it is waiting on."""

    __slots__ = ("at", "done", "fired", "sock")

    def __init__(self, at: float) -> None:
        self.at = at
        self.sock: socket.socket | None = None
        self.done = False
        self.fired = False


class _Watchdog:
    """A heap of watches and one daemon thread that fires them (started on first use)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._active = 0
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, at: float) -> Watch:
        watch = Watch(at)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="agentloop-deadline", daemon=True
                )
                self._thread.start()
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (at, next(self._seq), watch))
            self._active += 1
            if len(self._heap) > 64 and len(self._heap) > 2 * self._active:
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
            if earliest is None or at < earliest:
                self._lock.notify()  # sleeping until a later deadline: wake up earlier
        return watch

    def disarm(self, watch: Watch) -> None:
        with self._lock:
            if not watch.done:
                watch.done = True
                self._active -= 1

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                    _, _, watch = heapq.heappop(self._heap)
                    if not watch.done:
                        watch.done = watch.fired = True
                        self._active -= 1
                        _shut(watch.sock)
                timeout = self._heap[0][0] - now if self._heap else None
                self._lock.wait(timeout)


def _shut(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()


def arm(at: float | None) -> Watch | None:
    """Watch the current thread's next request until ``at`` (monotonic); None: no deadline."""
    if at is None:
        return None
    watch = _WATCHDOG.arm(at)
    _local.watch = watch
    return watch


def disarm(watch: Watch | None) -> None:
    """Stop watching (the headers arrived, or the request failed)."""
    if watch is not None:
        _local.watch = None
        _WATCHDOG.disarm(watch)


def _attach(sock: Any) -> None:
    watch = getattr(_local, "watch", None)
    if watch is not None and isinstance(sock, socket.socket):
        watch.sock = sock
        if watch.fired:  # the deadline passed before the socket was known
            _shut(sock)


class _Watched:
    """Connection mixin: report the socket before every blocking step."""

    sock: Any

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _attach(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _attach(self.sock)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """``requests``' own adapter, with connections the deadline watchdog can interrupt."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create the pool manager as requests does, with watched connection pools."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class _Session(requests.Session):
    """``requests.Session`` without per-request costs a client with one fixed URL never needs.

    ``requests`` merges each request's ``params`` and ``proxies`` with the session's through
    ``isinstance`` checks against its runtime-checkable protocols (``SupportsItems``): each
    walks the protocol's members anew, 16 checks a run in all. The session has no params of
    its own (None: ``requests`` then takes the request's as they are), and without an
    environment to read or session proxies the settings are merged directly, with the same
    result.
    """

    def __init__(self) -> None:
        super().__init__()
        self.params = None  # type: ignore[assignment]  # requests skips merging with None

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:  # requests' private TypedDict of the four settings
        """As ``requests.Session.merge_environment_settings``, cheaper when nothing is merged."""
        if self.trust_env or self.proxies:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {  # requests' merge_setting rules: the request's value unless None; no None proxy
            "proxies": {k: v for k, v in (proxies or {}).items() if v is not None},
            "stream": self.stream if stream is None else stream,
            "verify": self.verify if verify is None else verify,
            "cert": self.cert if cert is None else cert,
        }


def deadline_session() -> requests.Session:
    """A new ``requests.Session`` whose HTTP and HTTPS requests go through :class:`DeadlineAdapter`."""
    session = _Session()
    adapter = DeadlineAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
