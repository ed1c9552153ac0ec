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
from agentloop.secrets import Redactor
from agentloop.tracing.events import TraceError, TraceEvent

__all__ = ["JsonlTrace", "dump_line", "iter_trace", "read_trace", "write_trace"]


def dump_line(event: TraceEvent, redactor: Redactor | None = None) -> str:
    """One event as one JSON line (no newline); non-JSON values become their ``repr``.

    Every string passes through ``redactor`` (default: a :class:`~agentloop.secrets.Redactor`
    with every key the process knows), so no writer of trace lines can keep a secret.
    """
    value = (redactor or Redactor()).value(event.to_dict())
    return json.dumps(value, ensure_ascii=False, default=repr)


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
        self._redactor = Redactor()

    def __call__(self, event: TraceEvent) -> None:
        """Write one event and flush it."""
        line = dump_line(event, self._redactor)
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

    Lines end at ``\n`` only: the writer keeps U+2028, U+2029 and other line separators of
    Unicode inside strings as they are (``ensure_ascii=False``).

    Raises:
        TraceError: A line is not UTF-8, not JSON or not a trace event (the path, the line and
            the fix are named).
        FileNotFoundError: There is no such file.
    """
    with open(path, "rb") as file:
        for number, raw in enumerate(file, 1):  # binary files split on b"\n" only
            if not raw.strip():
                continue
            yield _event(path, number, raw)


def _event(path: str | Path, number: int, raw: bytes) -> TraceEvent:
    fix = "the file was cut or edited; remove that line or record the run again"
    try:
        return TraceEvent.from_dict(json.loads(raw.decode("utf-8")))
    except UnicodeDecodeError:
        raise TraceError(f"{path}:{number}: not UTF-8 text ({fix})") from None
    except RecursionError:
        raise TraceError(f"{path}:{number}: nested too deeply ({fix})") from None
    except ValueError as exc:
        raise TraceError(f"{path}:{number}: not a JSON object ({exc}; {fix})") from None
    except TraceError as exc:
        raise TraceError(f"{path}:{number}: {exc} ({fix})") from None


def read_trace(path: str | Path) -> list[TraceEvent]:
    """All events of a trace file (see :func:`iter_trace`)."""
    return list(iter_trace(path))


def write_trace(path: str | Path, events: Iterable[TraceEvent]) -> None:
    """Write ``events`` as a trace file (for archives and tests)."""
    with JsonlTrace(path) as sink:
        for event in events:
            sink(event)
