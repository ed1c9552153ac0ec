"""The batch progress bar (on a terminal) and the end-of-batch summary.

The bar is one line on stderr, redrawn about five times a second by a daemon
thread: done, failed, running, rate, ETA and tokens so far. When stderr is not a
terminal nothing is drawn; the summary is printed either way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import IO

from agentloop.batch.driver import BatchStats

__all__ = ["ProgressBar", "format_progress", "format_summary"]


def format_progress(stats: BatchStats, running: int, elapsed: float, width: int = 24) -> str:
    """One progress line: ``[####....] 40/100 done 38, failed 2, running 8, 3.1/s, ETA 0:19``."""
    finished = stats.done + stats.failed
    todo = max(stats.total - stats.skipped, 0)
    share = finished / todo if todo else 1.0
    filled = round(share * width)
    rate = finished / elapsed if elapsed > 0 else 0.0
    left = todo - finished
    eta = _clock(left / rate) if rate > 0 else "--:--"
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{todo} "
        f"done {stats.done}, failed {stats.failed}, running {running}, "
        f"{rate:.1f}/s, ETA {eta}, {stats.tokens:,} tokens"
    )


def format_summary(stats: BatchStats, elapsed: float, malformed: int = 0) -> str:
    """The closing lines: counts, tokens, cost (when known), p50/p95 latency."""
    p50, p95 = stats.percentile(0.5), stats.percentile(0.95)
    latency = "n/a" if p50 is None or p95 is None else f"p50 {p50:.2f} s, p95 {p95:.2f} s"
    parts = [
        f"{stats.done} done",
        f"{stats.failed} failed",
        f"{stats.skipped} resumed",
        f"{stats.remaining} not run",
    ]
    if malformed:
        parts.append(f"{malformed} malformed lines")
    cost = ""
    if stats.cost is not None:  # only when some item was priced: no cost line for no prices
        unknown = f" (+{stats.unpriced} of unknown cost)" if stats.unpriced else ""
        cost = f"; cost {stats.cost}{unknown}"
    return (
        f"batch: {', '.join(parts)} in {elapsed:.1f} s; {stats.tokens:,} tokens{cost}; "
        f"latency {latency}"
    )


class ProgressBar:
    """Draws :func:`format_progress` on a terminal until :meth:`close`.

    Args:
        stream: Where to draw (stderr).
        stats: The counts, updated by the batch.
        running: Returns how many items run now.
        enabled: Draw at all (default: when ``stream`` is a terminal).
    """

    def __init__(
        self,
        stream: IO[str],
        stats: BatchStats,
        running: Callable[[], int],
        *,
        enabled: bool | None = None,
    ) -> None:
        self._stream = stream
        self._stats = stats
        self._running = running
        self.enabled = _isatty(stream) if enabled is None else enabled
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start drawing (no-op when disabled)."""
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="agentloop-progress", daemon=True
            )
            self._thread.start()

    def note(self, line: str) -> None:
        """Write ``line`` above the bar."""
        with self._lock:
            self._erase()
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self) -> None:
        """Stop drawing and erase the bar."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        with self._lock:
            self._erase()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            line = format_progress(
                self._stats, self._safe_running(), time.monotonic() - self._started
            )
            with self._lock:
                self._stream.write("\r\x1b[2K" + line)
                self._stream.flush()

    def _safe_running(self) -> int:
        try:
            return int(self._running())
        except Exception:
            return 0

    def _erase(self) -> None:
        if self.enabled:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
