"""The JSONL trace file: one :class:`TraceEvent` per line, written as it happens, read back whole.

:class:`JsonlTrace` is a sink for :class:`~agentloop.tracing.recorder.TraceRecorder`; every line is
flushed as it is written, so an interrupted or killed run still leaves a valid file that ends with
its last finished fact. :func:`read_trace` reads such a file (several runs may share one file, as
a chat's turns do) and names the line of any bad record.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from agentloop.errors import ConfigurationError
from agentloop.tracing.events import TraceError, TraceEvent

__all__ = ["JsonlTrace", "dump_line", "iter_trace", "read_trace", "write_trace"]


def dump_line(event: TraceEvent) -> str:
    """One event as one JSON line (no newline); non-JSON values become their ``repr``."""
    return json.dumps(event.to_dict(), ensure_ascii=False, default=repr)


class JsonlTrace:
    """A trace file sink: ``TraceRecorder(JsonlTrace("run.jsonl"))``.

    Args:
        path: The file (created or truncated).

    Raises:
        ConfigurationError: The file cannot be opened for writing.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._file: IO[str] = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write the trace file {self.path}: {exc.strerror}"
            ) from exc
        self._lock = threading.Lock()

    def __call__(self, event: TraceEvent) -> None:
        """Write one event and flush it."""
        line = dump_line(event)
        with self._lock:
            if not self._file.closed:
                self._file.write(line + "\n")
                self._file.flush()

    def close(self) -> None:
        """Close the file (later events are dropped)."""
        with self._lock:
            self._file.close()

    def __enter__(self) -> JsonlTrace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def iter_trace(path: str | Path) -> Iterator[TraceEvent]:
    """Yield the events of a trace file in file order; blank lines are skipped.

    Raises:
        TraceError: A line is not JSON or not a trace event (the path and line are named).
        FileNotFoundError: There is no such file.
    """
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                yield TraceEvent.from_dict(json.loads(line))
            except ValueError as exc:
                raise TraceError(f"{path}:{number}: not a JSON object ({exc})") from None
            except TraceError as exc:
                raise TraceError(f"{path}:{number}: {exc}") from None


def read_trace(path: str | Path) -> list[TraceEvent]:
    """All events of a trace file (see :func:`iter_trace`)."""
    return list(iter_trace(path))


def write_trace(path: str | Path, events: Iterable[TraceEvent]) -> None:
    """Write ``events`` as a trace file (for archives and tests)."""
    with JsonlTrace(path) as sink:
        for event in events:
            sink(event)
