"""A batch from start to end: resume, engine, output file, summary.

:func:`stream_batch` yields each new :class:`ItemResult` as it finishes and
appends it to the output file at once (one line, flushed), so an interrupted
batch loses nothing that finished; rerunning it with the same output skips
the ids already there. :func:`run_batch` returns every result in input order.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from agentloop.batch.items import (
    BatchItem,
    ItemResult,
    agent_fingerprint,
    as_items,
    read_done,
)
from agentloop.batch.limiter import RateLimiter
from agentloop.errors import ConfigurationError

__all__ = ["BatchStats", "run_batch", "stream_batch"]

ENGINES = ("local", "ray")


@dataclass
class BatchStats:
    """Counts while a batch runs, and its summary at the end.

    Attributes:
        total: Items in the input (resumed ones included).
        skipped: Items already in the output file (resumed).
        done: Items that finished with an answer in this run.
        failed: Items that finished with an error in this run.
        tokens: Tokens used by this run's items.
        cost: What the items of known cost cost (None: no item's cost is known).
        unpriced: Items whose cost is unknown (not counted in ``cost``, never as 0).
        durations: Seconds per finished item.
    """

    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    tokens: int = 0
    cost: Decimal | None = None
    unpriced: int = 0
    durations: list[float] = field(default_factory=list)

    def add(self, result: ItemResult) -> None:
        """Count one finished item."""
        if result.ok:
            self.done += 1
        else:
            self.failed += 1
        self.tokens += result.total_tokens
        cost = result.cost
        if cost is None:
            self.unpriced += 1
        else:
            self.cost = cost if self.cost is None else self.cost + cost
        self.durations.append(result.duration)

    @property
    def remaining(self) -> int:
        """Items not finished yet."""
        return self.total - self.skipped - self.done - self.failed

    def percentile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1) of item durations, or None before any finished."""
        if not self.durations:
            return None
        if len(self.durations) == 1:
            return self.durations[0]
        cuts = statistics.quantiles(self.durations, n=100, method="inclusive")
        return cuts[max(0, min(98, round(q * 100) - 1))]

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON."""
        p50, p95 = self.percentile(0.5), self.percentile(0.95)
        return {
            "total": self.total,
            "skipped": self.skipped,
            "done": self.done,
            "failed": self.failed,
            "remaining": self.remaining,
            "tokens": self.tokens,
            "cost": None if self.cost is None else float(self.cost),
            "unpriced": self.unpriced,
            "p50": None if p50 is None else round(p50, 4),
            "p95": None if p95 is None else round(p95, 4),
        }


def stream_batch(
    agent: Any,
    inputs: Iterable[Any],
    *,
    workers: int = 4,
    retries: int = 2,
    rpm: float | None = None,
    tpm: float | None = None,
    output: str | Path | None = None,
    force: bool = False,
    engine: str = "local",
    address: str | None = None,
    stats: BatchStats | None = None,
    fingerprint: Mapping[str, str] | None = None,
    on_start: Callable[[Any], None] | None = None,
) -> Iterator[ItemResult]:
    """Run ``agent`` over ``inputs``; yield each new result as it finishes (completion order).

    Args:
        agent: An :class:`~agentloop.Agent`, or (required for ``engine="ray"``) a
            picklable function returning one, called once on each Ray worker.
        inputs: Prompts, dicts with ``prompt`` (and ``id``, ``history``, ``deps``)
            or :class:`BatchItem` objects.
        workers: Concurrent runs (all engines).
        retries: Per-item retry budget for transient API errors.
        rpm: Requests per minute shared by all workers (None: no limit).
        tpm: Tokens per minute shared by all workers (None: no limit).
        output: JSONL file: each result is appended as it finishes; ids already
            in it are skipped (resume).
        force: Resume into ``output`` even when it was written for another agent
            or input.
        engine: ``"local"`` (threads) or ``"ray"``.
        address: Ray cluster address (``"auto"``, ``"ray://host:10001"``); None
            starts a local Ray instance.
        stats: Counts to update as the batch runs (for a progress display).
        fingerprint: The ``batch`` fingerprints to write and check (default:
            computed from the agent and the inputs).
        on_start: Called with the engine once it is running (for a progress display).

    Raises:
        BatchInputError: Duplicate ids, or ``output`` belongs to another batch.
        EngineError: Ray is not installed or its cluster cannot be reached.
        KeyboardInterrupt: After the running items were cancelled and every
            finished one was written.
    """
    _check_options(workers, retries, engine)
    items = inputs if isinstance(inputs, list) and _all_items(inputs) else as_items(inputs)
    local_agent = agent() if callable(agent) and not hasattr(agent, "run") else agent
    batch = dict(fingerprint or _fingerprint(local_agent, items))
    done = read_done(output, batch, force=force) if output is not None else {}
    todo = [item for item in items if item.id not in done]
    stats = stats if stats is not None else BatchStats()
    stats.total, stats.skipped = len(items), len(items) - len(todo)
    limiter = RateLimiter(rpm=rpm, tpm=tpm) if (rpm or tpm) else None
    runner = _engine(engine, agent, local_agent, todo, workers, retries, limiter, rpm, tpm, address)
    writer = _Writer(output, batch)
    if on_start is not None:
        on_start(runner)
    try:
        for result in runner.results():
            writer.write(result)
            stats.add(result)
            yield result
    except BaseException:
        for result in runner.stop():  # finished while stopping: written, never lost
            writer.write(result)
            stats.add(result)
        raise
    finally:
        runner.close()
        writer.close()


def run_batch(agent: Any, inputs: Iterable[Any], **options: Any) -> list[ItemResult]:
    """Run the batch and return one result per input, in input order.

    Takes the arguments of :func:`stream_batch`; with ``output``, items resumed
    from the file are returned as read back from it (without ``.result``).
    """
    items = as_items(inputs)
    by_id = {r.id: r for r in stream_batch(agent, items, **options)}
    output = options.get("output")
    if output is not None and len(by_id) < len(items):
        batch = options.get("fingerprint") or _fingerprint(
            agent() if callable(agent) and not hasattr(agent, "run") else agent, items
        )
        earlier = read_done(output, batch, force=True)
        by_id = {**earlier, **by_id}
    return [_placed(by_id[item.id], item) for item in items if item.id in by_id]


def input_fingerprint(items: Iterable[BatchItem]) -> str:
    """A short hash of the items (ids, prompts, histories, deps)."""
    digest = hashlib.sha256()
    for item in items:
        row = [item.id, item.prompt, item.history, item.deps]
        digest.update(json.dumps(row, sort_keys=True, default=repr).encode() + b"\n")
    return digest.hexdigest()[:16]


def _fingerprint(agent: Any, items: list[BatchItem]) -> dict[str, str]:
    return {"agent": agent_fingerprint(agent), "input": input_fingerprint(items)}


def _placed(result: ItemResult, item: BatchItem) -> ItemResult:
    if result.index == item.index:
        return result
    from dataclasses import replace

    return replace(result, index=item.index)


def _all_items(values: list[Any]) -> bool:
    return all(isinstance(v, BatchItem) for v in values)


def _check_options(workers: Any, retries: Any, engine: str) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigurationError(f"workers must be an integer >= 1, got {workers!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigurationError(f"retries must be an integer >= 0, got {retries!r}")
    if engine not in ENGINES:
        raise ConfigurationError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")


def _engine(
    engine: str,
    agent: Any,
    local_agent: Any,
    todo: list[BatchItem],
    workers: int,
    retries: int,
    limiter: RateLimiter | None,
    rpm: float | None,
    tpm: float | None,
    address: str | None,
) -> Any:
    if engine == "ray":
        from agentloop.batch.ray_engine import RayEngine

        if hasattr(agent, "run"):
            raise ConfigurationError(
                "the Ray engine builds the agent on every worker: pass a picklable function "
                "that returns it (e.g. a module-level make_agent), not the Agent object"
            )
        return RayEngine(
            agent, todo, workers=workers, retries=retries, rpm=rpm, tpm=tpm, address=address
        )
    from agentloop.batch.local import LocalEngine

    return LocalEngine(local_agent, todo, workers=workers, retries=retries, limiter=limiter)


class _Writer:
    """Appends result lines to the output file, flushing each (nothing finished is lost)."""

    def __init__(self, path: str | Path | None, batch: Mapping[str, str]) -> None:
        self._batch = batch
        self._file: IO[str] | None = None
        if path is not None:
            file = Path(path)
            if file.parent != Path():
                file.parent.mkdir(parents=True, exist_ok=True)
            self._file = file.open("a", encoding="utf-8")
            if self._file.tell() > 0:
                _end_partial_line(file, self._file)

    def write(self, result: ItemResult) -> None:
        if self._file is None:
            return
        line = json.dumps(result.to_dict(self._batch), ensure_ascii=False, default=str)
        self._file.write(line + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


def _end_partial_line(path: Path, file: IO[str]) -> None:
    """A process killed mid-write leaves a partial last line: start on a fresh line."""
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
    if last != b"\n":
        file.write("\n")
        file.flush()
