"""The run log: a sink for :class:`~agentloop.tracing.TraceRecorder` that writes SQLite.

Events are committed by one writer thread per log, in order, many per transaction
(:mod:`agentloop.logs.writer`); a ``model_request`` waits for its response, so a model step is
never split. What is guaranteed, SIGKILL included: a model turn that asks for tools is
committed before any of them runs (the run waits for it), and a run is entirely committed
before ``Agent.run`` returns or raises. Between those barriers a step is committed while the
run goes on (within a commit's time, typically a fraction of a millisecond), so a kill can
lose at most the steps since the last barrier, never a tool's request. Writers in many
threads share one :class:`RunLog`; writers in many processes share the file (WAL and a busy
timeout, see :mod:`agentloop.storage`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from agentloop.logs.paths import log_path
from agentloop.logs.pgschema import MIGRATIONS as PG_MIGRATIONS
from agentloop.logs.schema import COMPONENT, MIGRATIONS
from agentloop.logs.writer import GroupWriter
from agentloop.secrets import Redactor
from agentloop.storage import BUSY_TIMEOUT, Database, open_database, storage_error, store_target
from agentloop.tracing.events import TraceEvent
from agentloop.tracing.recorder import TraceRecorder

__all__ = ["RunLog"]


class RunLog:
    """A run log in a SQLite file or PostgreSQL; call it with each trace event (a recorder sink).

    Args:
        path: The database file (default: ``logs.db`` in the user data directory, see
            :func:`agentloop.logs.log_path`), created with its folder when missing; or a
            ``postgresql://`` URL (the team store, :mod:`agentloop.postgres`).

    Raises:
        StorageError: The store is corrupt, locked, unreachable, from a newer agentloop or
            unwritable.

    Example:
        ``Agent(..., plugins=[RunLog("runs.db").recorder()])``
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        timeout: float = BUSY_TIMEOUT,
    ) -> None:
        target = log_path() if path is None else store_target(path)
        self.db: Database = open_database(
            target,
            component=COMPONENT,
            migrations=MIGRATIONS,
            pg_migrations=PG_MIGRATIONS,
            # a server that is down should cost a run seconds, not a SQLite busy timeout
            timeout=timeout if isinstance(target, Path) else min(timeout, 10.0),
        )
        # a URL is shown (and named in errors) without its password
        self.path: Path | str = target if isinstance(target, Path) else self.db.path
        self._runs: dict[str, int] = {}
        self._requests: dict[str, TraceEvent] = {}  # model_request events awaiting their step
        self._lock = threading.Lock()
        # the one redaction rule, again here: write_all imports events no recorder redacted
        self._redactor = Redactor()
        self._writer: GroupWriter[_Item] = GroupWriter(
            self._write_batch, key=lambda item: item[1].run_id, name="agentloop-run-log"
        )

    def recorder(
        self,
        *,
        conversation_id: str | None = None,
        secrets: Iterable[str | None] = (),
        include_content: bool = True,
    ) -> TraceRecorder:
        """A :class:`~agentloop.tracing.TraceRecorder` plugin that writes to this log.

        Args:
            conversation_id: Stored with each run (``logs --conversation ID``).
            secrets: More strings never to store; every key the process knows (environment,
                key store, config file, the client's credential) is never stored either.
            include_content: False stores shapes, usage and timings but no texts.
        """
        return TraceRecorder(
            self._write_redacted,
            secrets=secrets,
            include_content=include_content,
            conversation_id=conversation_id,
        )

    def __call__(self, event: TraceEvent) -> None:
        """Write one event (the sink protocol); on failure mark the run's gap and raise.

        A ``model_request`` is kept until the next event of its run (its response), so that
        each model step is one transaction.

        Raises:
            StorageError: The write failed (disk full, locked, corrupt); the recorder turns it
                into a warning and stops logging this run, whose ``gap`` column says why.
        """
        self._submit(self._redacted(event), wait=True)

    def _write_redacted(self, event: TraceEvent) -> None:
        """The sink of :meth:`recorder`: its events are already redacted; wait at barriers.

        A :class:`~agentloop.tracing.TraceRecorder` redacts every event with the same rule and
        a superset of the secrets (the process's and its own), so the log does not redact it
        a second time: that walk was a third of what logging cost a run.
        """
        self._submit(event, wait=_is_barrier(event))

    def _submit(self, event: TraceEvent, *, wait: bool) -> None:
        failed = self._writer.failure(event.run_id)
        if failed is not None:  # an earlier event of this run was not written
            raise failed
        if event.type == "model_request":
            with self._lock:
                self._requests[event.run_id] = event
            return
        with self._lock:
            request = self._requests.pop(event.run_id, None)
        ticket = self._writer.put((request, event))
        if wait:
            self._writer.flush(ticket)
            failed = self._writer.failure(event.run_id)
            if failed is not None:
                raise failed

    def flush(self) -> None:
        """Wait until every event handed to this log so far is committed."""
        self._writer.flush()

    def close(self) -> None:
        """Write what is queued, then close the database."""
        self._writer.close()
        self.db.close()

    def write_all(self, events: Iterable[TraceEvent]) -> None:
        """Write many events in one transaction (importing a trace, e.g. a JSONL trace file).

        Raises:
            StorageError: The write failed; none of the events is stored.
        """
        self._writer.flush()  # after what is queued, in order
        try:
            with self.db.transaction() as conn:
                for event in events:
                    self._write_in(conn, self._redacted(event))
        except Exception as exc:
            raise storage_error(exc, self.path) from exc

    def _write_batch(self, batch: Sequence[_Item]) -> dict[str, BaseException]:
        """Commit a batch in one transaction (the writer thread); its failures, by run.

        When the batch fails as a whole, each run's part is tried alone, so that one bad
        event (or a run the log never saw start) costs only its own run.
        """
        try:
            with self.db.transaction() as conn:
                self._write_items(conn, batch)
            return {}
        except Exception:  # noqa: BLE001 - retried below, one run at a time
            if len(batch) == 1:
                return self._write_alone(batch[0])
        failed: dict[str, BaseException] = {}
        for item in batch:
            if item[1].run_id not in failed:
                failed.update(self._write_alone(item))
        return failed

    def _write_alone(self, item: _Item) -> dict[str, BaseException]:
        event = item[1]
        try:
            with self.db.transaction() as conn:
                self._write_items(conn, (item,))
        except Exception as exc:
            error = storage_error(exc, self.path)
            error.__cause__ = exc
            self._mark_gap(event, str(error))
            return {event.run_id: error}
        return {}

    def _write_items(self, conn: Any, items: Sequence[_Item]) -> None:
        for request, event in items:
            if request is not None:
                self._write_in(conn, request)
            self._write_in(conn, event)

    def _redacted(self, event: TraceEvent) -> TraceEvent:
        data = self._redactor.value(dict(event.data))
        return TraceEvent(
            type=event.type, run_id=event.run_id, seq=event.seq, time=event.time, data=data
        )

    def _write_in(self, conn: Any, event: TraceEvent) -> None:
        data = event.data
        if event.type == "run_started":
            n = conn.execute(
                "INSERT INTO runs (id, conversation_id, started_at, agent, model, provider, "
                "instructions, prompt) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING n",
                (
                    event.run_id,
                    data.get("conversation_id"),
                    event.time,
                    data.get("agent"),
                    data.get("model"),
                    data.get("provider"),
                    _text(data.get("instructions")),
                    _text(data.get("prompt")),
                ),
            ).fetchone()[0]
            with self._lock:
                self._runs[event.run_id] = int(n or 0)
        n = self._run_number(conn, event.run_id)
        conn.execute(
            "INSERT INTO events (run, seq, type, time, data) VALUES (?, ?, ?, ?, ?)",
            (n, event.seq, event.type, event.time, _dumps(data)),
        )
        if event.type == "run_finished":
            self._finish(conn, n, event)
            with self._lock:
                self._runs.pop(event.run_id, None)

    def _run_number(self, conn: Any, run_id: str) -> int:
        with self._lock:
            n = self._runs.get(run_id)
        if n is None:
            found = conn.execute("SELECT n FROM runs WHERE id = ?", (run_id,)).fetchone()
            if found is None:
                raise LookupError(f"run {run_id} has no run_started event in the log")
            n = int(found[0])
        return n

    @staticmethod
    def _finish(conn: Any, n: int, event: TraceEvent) -> None:
        data = event.data
        usage = data.get("usage") or {}
        details = usage.get("completion_tokens_details") or {}
        error = data.get("error")
        conn.execute(
            "UPDATE runs SET finished_at = ?, answer = ?, stop_reason = ?, error = ?, "
            "prompt_tokens = ?, completion_tokens = ?, reasoning_tokens = ?, total_tokens = ?, "
            "steps = ?, duration = ? WHERE n = ?",
            (
                event.time,
                _text(data.get("output")),
                data.get("stop_reason"),
                _dumps(error) if error is not None else None,
                usage.get("prompt_tokens"),
                usage.get("completion_tokens"),
                details.get("reasoning_tokens"),
                usage.get("total_tokens"),
                data.get("steps"),
                data.get("duration"),
                n,
            ),
        )

    def _mark_gap(self, event: TraceEvent, reason: str) -> None:
        """Best effort: say in the run's row from which event on the log is missing."""
        note = f"not logged from event {event.seq} ({event.type}) on: {reason}"
        try:
            with self.db.transaction() as conn:
                conn.execute("UPDATE runs SET gap = ? WHERE id = ?", (note[:500], event.run_id))
        except Exception:  # noqa: S110 - the file is failing; the warning already tells
            pass


_Item = tuple[TraceEvent | None, TraceEvent]  # (the model_request it completes, an event)


def _is_barrier(event: TraceEvent) -> bool:
    """Whether the run waits for this event's commit: before its tools run, and at its end."""
    if event.type == "run_finished":
        return True
    return event.type == "model_response" and bool(event.data.get("tool_calls"))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _text(value: Any) -> str | None:
    """A prompt, instructions or answer as text (content parts and values as JSON)."""
    if value is None or isinstance(value, str):
        return value
    return _dumps(value)
