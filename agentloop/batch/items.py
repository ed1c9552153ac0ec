"""Batch items in, item results out: the JSONL formats and their checks.

An input line is a JSON string (the prompt) or an object with ``prompt`` and
optional ``id``, ``history`` and ``deps``; a line without an id gets
``line-N`` (its line number). An output line is an :class:`ItemResult`: the
id, then the run's own vocabulary (``output``, ``stop_reason``, ``usage`` as
in :meth:`RunResult.to_dict`), the duration, the number of attempts and the
``error`` (null on success), plus ``batch``: fingerprints of the agent and
the input, so that a resume never mixes two different batches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentloop.errors import BatchInputError
from agentloop.messages import to_cost

if TYPE_CHECKING:
    from agentloop.result import RunResult

__all__ = [
    "BatchItem",
    "InputProblem",
    "ItemResult",
    "agent_fingerprint",
    "as_items",
    "check_unique",
    "read_done",
    "read_items",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchItem:
    """One run of a batch: ``Agent.run(prompt, history=history, deps=deps)``.

    Attributes:
        id: Unique within the batch; names the item in the output and on resume.
        prompt: The prompt (text or messages), as ``Agent.run`` takes it.
        history: Earlier messages, or None.
        deps: ``context.deps`` for the run (must be JSON for JSONL input).
        index: Position in the input (0-based).
    """

    id: str
    prompt: Any
    history: Any = None
    deps: Any = None
    index: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class InputProblem:
    """A malformed input line: reported, skipped, and the batch goes on.

    Attributes:
        line: The 1-based line number.
        message: What is wrong with it.
    """

    line: int
    message: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemResult:
    """What one batch item produced (one output line).

    Attributes:
        id: The item's id.
        index: The item's position in the input.
        output: The run's output (``RunResult.output``), None on failure.
        stop_reason: ``RunResult.stop_reason`` (``error`` when no run result exists).
        usage: Token counts, as in ``RunResult.to_dict()["usage"]``.
        duration: Seconds, all attempts included.
        attempts: How many times the item was run (retries of transient API errors).
        error: ``{"type", "message"}`` of a failed item, else None.
        run_id: The last attempt's run id ("" when no run started).
        result: The full :class:`RunResult` (not written to JSONL), when there is one.
    """

    id: str
    index: int = 0
    output: Any = None
    stop_reason: str = "stop"
    usage: Mapping[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    attempts: int = 1
    error: Mapping[str, str] | None = None
    run_id: str = ""
    result: RunResult | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """Whether the item ended with an answer."""
        return self.error is None

    @property
    def total_tokens(self) -> int:
        """``usage["total_tokens"]`` (0 when unknown)."""
        return int(self.usage.get("total_tokens") or 0)

    @property
    def cost(self) -> Decimal | None:
        """``usage["cost"]`` as a Decimal, or None when the run's cost is unknown."""
        return to_cost(self.usage.get("cost")) if self.usage.get("cost") is not None else None

    @classmethod
    def from_run(
        cls,
        item: BatchItem,
        result: RunResult | None,
        *,
        duration: float,
        attempts: int,
        error: BaseException | None = None,
    ) -> ItemResult:
        """Build from a run's (possibly partial) result and the error that ended it."""
        output = None
        if result is not None and error is None:
            output = result.output
            if not isinstance(output, (str, int, float, bool, type(None))):
                output = result.to_dict()["output"]  # the same JSON form as RunResult.to_dict
        usage = (
            {} if result is None else {**result.usage.to_dict(), "requests": result.usage.requests}
        )
        return cls(
            id=item.id,
            index=item.index,
            output=output,
            stop_reason="error" if result is None else result.stop_reason,
            usage=usage,
            duration=duration,
            attempts=attempts,
            error=None if error is None else _error(error),
            run_id="" if result is None else result.run_id,
            result=result,
        )

    def to_dict(self, batch: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The JSON output line (``batch`` adds the fingerprints)."""
        out = {
            "id": self.id,
            "output": self.output,
            "stop_reason": self.stop_reason,
            "usage": dict(self.usage),
            "duration": round(self.duration, 6),
            "attempts": self.attempts,
            "error": dict(self.error) if self.error else None,
            "run_id": self.run_id,
        }
        if batch is not None:
            out["batch"] = dict(batch)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], index: int = 0) -> ItemResult:
        """Read an output line back (``result`` is not kept in JSONL)."""
        return cls(
            id=str(data["id"]),
            index=index,
            output=data.get("output"),
            stop_reason=str(data.get("stop_reason") or "stop"),
            usage=data.get("usage") or {},
            duration=float(data.get("duration") or 0.0),
            attempts=int(data.get("attempts") or 1),
            error=data.get("error"),
            run_id=str(data.get("run_id") or ""),
        )


def as_items(inputs: Iterable[Any]) -> list[BatchItem]:
    """Turn Python inputs (prompts, dicts with ``prompt``, or :class:`BatchItem`) into items.

    Raises:
        BatchInputError: An input is neither, or two items share an id.
    """
    items = []
    for n, value in enumerate(inputs):
        if isinstance(value, BatchItem):
            value = BatchItem(
                id=value.id, prompt=value.prompt, history=value.history, deps=value.deps, index=n
            )
            items.append(value)
            continue
        try:
            items.append(_item(value, n, default_id=str(n)))
        except ValueError as exc:
            raise BatchInputError(f"input {n}: {exc}") from None
    check_unique(items)
    return items


def read_items(path: str | Path) -> tuple[list[BatchItem], list[InputProblem], str]:
    """Read a JSONL input file.

    Returns:
        The items, the malformed lines (reported, not run) and the file's
        fingerprint (sha256 of its bytes, 16 hex digits).

    Raises:
        BatchInputError: The file cannot be read, or two items share an id.
        FileNotFoundError: No such file.
    """
    raw = Path(path).read_bytes()
    items: list[BatchItem] = []
    problems: list[InputProblem] = []
    # JSONL lines end at "\n" only: U+2028/U+2029 inside a prompt stay in its line
    for number, data in enumerate(raw.split(b"\n"), 1):
        line = data.decode("utf-8", errors="replace")
        if not line.strip():
            continue
        try:
            value = json.loads(line)
            items.append(_item(value, len(items), default_id=f"line-{number}", line=number))
        except ValueError as exc:
            problems.append(InputProblem(line=number, message=_short(str(exc))))
        except RecursionError:  # that item fails, not the whole batch
            problems.append(InputProblem(line=number, message="nested too deeply"))
    check_unique(items)
    return items, problems, hashlib.sha256(raw).hexdigest()[:16]


def check_unique(items: Iterable[BatchItem]) -> None:
    """Raise :class:`BatchInputError` naming the first id used twice."""
    seen: dict[str, int] = {}
    for item in items:
        if item.id in seen:
            raise BatchInputError(
                f"duplicate id {item.id!r} (items {seen[item.id] + 1} and {item.index + 1}); "
                "every item needs its own id, or none (then the line number is used)"
            )
        seen[item.id] = item.index


def read_done(
    path: str | Path, batch: Mapping[str, str], *, force: bool = False
) -> dict[str, ItemResult]:
    """The items an existing output file already holds, by id (empty when there is no file).

    Only finished items count; a partial last line (the process died while
    writing it) is ignored and its item runs again.

    Raises:
        BatchInputError: The file was written by another agent or for another
            input (unless ``force``).
    """
    file = Path(path)
    if not file.exists():
        return {}
    done: dict[str, ItemResult] = {}
    for number, raw in enumerate(file.read_bytes().split(b"\n"), 1):  # "\n" only, as written
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or "id" not in data:
                raise ValueError("not an item result")
        except (ValueError, RecursionError):
            continue  # a partial last line (or garbage): its item runs again
        theirs = data.get("batch") or {}
        if not isinstance(theirs, Mapping):
            theirs = {}
        if not force:
            _check_same_batch(file, number, theirs, batch)
        try:
            done[str(data["id"])] = ItemResult.from_dict(data)
        except (TypeError, ValueError, OverflowError):
            raise BatchInputError(
                f"{file} line {number} is not an item result as agentloop writes them (edited "
                "by hand?); fix or delete that line, or use a new -o file"
            ) from None
    return done


def agent_fingerprint(agent: Any, target: str | None = None) -> str:
    """A short hash of what makes an agent's answers: model, instructions, tools, settings."""
    tools = [getattr(t, "definition", getattr(t, "name", str(t))) for t in agent.tools]
    parts = {
        "target": target,
        "name": agent.name,
        "model": getattr(agent.model, "name", type(agent.model).__name__),
        "instructions": agent.instructions,
        "tools": tools,
        "output_type": repr(agent.output_type),
        "settings": dict(agent.model_settings),
    }
    text = json.dumps(parts, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_same_batch(
    file: Path, number: int, theirs: Mapping[str, Any], ours: Mapping[str, str]
) -> None:
    for key, what in (("agent", "agent"), ("input", "input")):
        if theirs.get(key) != ours.get(key):
            raise BatchInputError(
                f"{file} line {number} was written by a different {what} "
                f"({key} {theirs.get(key)!r}, this batch {ours.get(key)!r}); refusing to resume "
                "into it: use a new -o file, or --force to resume anyway"
            )


def _item(value: Any, index: int, *, default_id: str, line: int | None = None) -> BatchItem:
    if isinstance(value, str):
        return BatchItem(id=default_id, prompt=value, index=index)
    if not isinstance(value, dict):
        raise ValueError(f"expected a prompt string or an object, got {type(value).__name__}")
    unknown = set(value) - {"id", "prompt", "history", "deps"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}; allowed: id, prompt, history, deps")
    if "prompt" not in value:
        raise ValueError("'prompt' is missing; give the prompt text as \"prompt\"")
    prompt = value["prompt"]
    if not isinstance(prompt, (str, list, dict)):
        raise ValueError(
            f"'prompt' must be a string (or a message object, or a list of messages), got "
            f"{type(prompt).__name__} {json.dumps(prompt)[:40]}"
        )
    if not prompt:
        raise ValueError("'prompt' is empty")
    item_id = value.get("id", default_id)
    if isinstance(item_id, bool) or not isinstance(item_id, (str, int)) or item_id == "":
        raise ValueError(f"'id' must be a non-empty string or an integer, got {item_id!r}")
    history = value.get("history")
    if history is not None and not isinstance(history, list):
        raise ValueError("'history' must be a list of messages")
    return BatchItem(
        id=str(item_id), prompt=prompt, history=history, deps=value.get("deps"), index=index
    )


def _error(exc: BaseException) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": _short(str(exc) or type(exc).__name__, 2000)}


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
