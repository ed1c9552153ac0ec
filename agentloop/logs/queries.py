"""Reading the run log: the latest runs, full-text search, one whole run.

Every function takes an open :class:`~agentloop.storage.Database` and returns plain JSON-ready
dicts (what ``agentloop logs --json`` prints).
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentloop.errors import ConfigurationError, StorageError
from agentloop.storage import Database

__all__ = [
    "chain_of",
    "fts_query",
    "get_run",
    "lineage_of",
    "list_runs",
    "pending_approvals",
    "run_cost_of",
    "tool_calls_of",
]

# SQLite's LIMIT is a signed 64-bit integer; ids are uuid hex (longer input cannot name a run)
_MAX_LIMIT = 2**62
_MAX_ID = 200

_SUMMARY = (
    "n, id, conversation_id, started_at, finished_at, agent, model, provider, prompt, answer, "
    "stop_reason, error, prompt_tokens, completion_tokens, reasoning_tokens, total_tokens, "
    "steps, duration, gap"
)


def list_runs(
    db: Database,
    *,
    limit: int = 3,
    conversation: str | None = None,
    query: str | None = None,
    model: str | None = None,
    since: float | None = None,
    tool_calls: bool = True,
) -> list[dict[str, Any]]:
    """The latest runs (newest first; with ``query``: most recently logged first) matching every filter.

    Args:
        db: The run log.
        limit: How many runs at most (0 for all).
        conversation: Only runs of this conversation id.
        query: Full-text search over prompts and answers (each word must occur).
        model: Only runs of this model (``name`` or ``provider:name``).
        since: Only runs started at or after this Unix time.
        tool_calls: Include each run's tool calls.
    """
    where: list[str] = []
    params: list[Any] = []
    source = "runs"
    postgres = getattr(db, "dialect", "sqlite") == "postgresql"
    if query and postgres:
        # PostgreSQL's own full-text index (a generated tsvector column, GIN-indexed)
        where.append("runs.fts @@ plainto_tsquery('simple', ?)")
        params.append(" ".join(_words(query)))
    elif query:
        source = "runs_fts JOIN runs ON runs.n = runs_fts.rowid"
        where.append("runs_fts MATCH ?")
        params.append(fts_query(query))
    if conversation:
        where.append("runs.conversation_id = ?")
        params.append(conversation)
    if model:
        where.append("(runs.model = ? OR runs.provider || ':' || runs.model = ?)")
        params += [model, model]
    if since is not None:
        where.append("runs.started_at >= ?")
        params.append(since)
    columns = ", ".join(f"runs.{c.strip()}" for c in _SUMMARY.split(","))
    sql = f"SELECT {columns} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # a search walks the full-text index newest first (rowid order) instead of sorting matches
    if query:
        sql += " ORDER BY runs.n DESC" if postgres else " ORDER BY runs_fts.rowid DESC"
    else:
        sql += " ORDER BY runs.started_at DESC, runs.n DESC"
    if limit:
        sql += f" LIMIT {min(int(limit), _MAX_LIMIT)}"
    rows = [_summary(row, db) for row in db.query(sql, params)]
    for row in rows:
        row["usage"]["cost"] = run_cost_of(db, row["_n"])
    if tool_calls:
        for row in rows:
            row["tool_calls"] = tool_calls_of(db, row.pop("_n"))
    else:
        for row in rows:
            row.pop("_n")
    return rows


def get_run(db: Database, run_id: str) -> dict[str, Any]:
    """One whole run: its summary and every event (messages, responses, tool calls, timings).

    Args:
        db: The run log.
        run_id: The run's id, or an unambiguous prefix of it (at least 4 characters).

    Raises:
        ConfigurationError: No run (or more than one) has that id.
    """
    if len(run_id) > _MAX_ID:
        raise ConfigurationError(
            f"no run has the id {run_id[:40]!r}... ({len(run_id)} characters) in {db.path} "
            "(list runs with: agentloop logs -n 10)"
        )
    rows = db.query(f"SELECT {_SUMMARY} FROM runs WHERE id = ?", (run_id,))
    if not rows and len(run_id) >= 4:
        pattern = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = db.query(
            f"SELECT {_SUMMARY} FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 2", (pattern,)
        )
    if len(rows) != 1:
        problem = "no run has" if not rows else "more than one run starts with"
        raise ConfigurationError(
            f"{problem} the id {run_id!r} in {db.path} (list runs with: agentloop logs -n 10)"
        )
    run = _summary(rows[0], db)
    n = run.pop("_n")
    events = db.query("SELECT seq, type, time, data FROM events WHERE run = ? ORDER BY seq", (n,))
    run["events"] = [
        {**_object(db, e["data"], "events"), "seq": e["seq"], "type": e["type"], "time": e["time"]}
        for e in events
    ]
    finished = [e for e in run["events"] if e["type"] == "run_finished"]
    run["usage"]["cost"] = _cost((finished[-1].get("usage") or {}) if finished else {})
    return run


def run_cost_of(db: Database, n: int) -> float | None:
    """The cost of the run numbered ``n``, as its ``run_finished`` event recorded it (None:
    unknown, or the run has not finished). It lives in the event's JSON usage, so the
    ``runs`` table needs no column of its own."""
    rows = db.query(
        "SELECT data FROM events WHERE run = ? AND type = 'run_finished' ORDER BY seq DESC LIMIT 1",
        (n,),
    )
    if not rows:
        return None
    return _cost(_object(db, rows[0]["data"], "events").get("usage") or {})


def _cost(usage: Any) -> float | None:
    cost = usage.get("cost") if isinstance(usage, dict) else None
    return cost if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None


def tool_calls_of(db: Database, n: int) -> list[dict[str, Any]]:
    """The tool calls of the run numbered ``n`` (``runs.n``), in order."""
    rows = db.query(
        "SELECT data FROM events WHERE run = ? AND type = 'tool_call' ORDER BY seq", (n,)
    )
    keys = ("step", "call_id", "name", "arguments", "status", "is_error", "content", "duration")
    out = []
    for row in rows:
        data = _object(db, row["data"], "events")
        out.append({k: data.get(k) for k in keys})
    return out


def fts_query(text: str) -> str:
    """Turn user text into an FTS5 query: every word must occur (quotes make it literal)."""
    words = _words(text)
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def _summary(row: Any, db: Database) -> dict[str, Any]:
    error = row["error"]
    return {
        "_n": row["n"],
        "run_id": row["id"],
        "conversation_id": row["conversation_id"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "agent": row["agent"],
        "model": row["model"],
        "provider": row["provider"],
        "prompt": row["prompt"],
        "answer": row["answer"],
        "stop_reason": row["stop_reason"],
        "error": _object(db, error, "runs.error") if error else None,
        "usage": {  # and "cost", from the run_finished event (run_cost_of)
            "prompt_tokens": row["prompt_tokens"],
            "completion_tokens": row["completion_tokens"],
            "reasoning_tokens": row["reasoning_tokens"],
            "total_tokens": row["total_tokens"],
        },
        "steps": row["steps"],
        "duration": row["duration"],
        "gap": row["gap"],
    }


def _object(db: Database, text: Any, where: str) -> dict[str, Any]:
    """A stored JSON object; a row edited or damaged by hand is the file's fault, named."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise StorageError(
            f"cannot use {db.path}: a row of {where} is not a JSON object (the file was edited or "
            "damaged); delete that run's rows, or move the file away (agentloop creates a new one)",
            path=db.path,
            reason="corrupt",
        )
    return value


def _words(text: str) -> list[str]:
    words = re.findall(r"\w+", text)
    if not words:
        raise ConfigurationError(f"-q needs at least one word to search for, got {text!r}")
    return words


def lineage_of(db: Database, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """For each run: ``resumed_from`` (the run it continues) and ``resumed_as`` (its continuation).

    One story in ``agentloop logs``: a resumed run names the run it continues, and a run that
    was resumed names the run that continued it (``run_resumes``, docs/durable-runs.md).
    """
    if not run_ids:
        return {}
    marks = ", ".join("?" for _ in run_ids)
    rows = db.query(
        f"SELECT run_id, resumed_as FROM run_resumes WHERE run_id IN ({marks}) "  # noqa: S608
        f"OR resumed_as IN ({marks})",
        (*run_ids, *run_ids),
    )
    found: dict[str, dict[str, Any]] = {}
    for source, continued in (tuple(r) for r in rows):
        if continued is not None:
            found.setdefault(source, {})["resumed_as"] = continued
            found.setdefault(continued, {})["resumed_from"] = source
    return found


_WHY = {
    "awaiting_approval": "approval decision",
    "interrupted": "interrupted (Ctrl-C)",
    "cancelled": "cancelled",
    "error": "error",
}
_CHAIN_MAX = 1000  # a hand-edited cycle in run_resumes must not loop forever


def chain_of(db: Database, run_id: str) -> list[dict[str, Any]]:
    """The whole resume chain that ``run_id`` belongs to (first, middle or last), oldest first.

    A resumed run is a new run whose ``resumed_from`` is the run it continues
    (docs/durable-runs.md); this walks ``run_resumes`` back to the first run and forward to
    the last, so ``agentloop view`` can draw the chain as one story.

    Args:
        db: The run log.
        run_id: The full id of any run of the chain (a run never resumed is a chain of one).

    Returns:
        One dict per run: ``run_id``, ``resumed_from`` and ``resumed_as`` (ids or None),
        ``resumed_at`` (when the continuation claimed it, Unix time), ``why`` (how the run
        before it stopped: ``crash``, ``approval decision``, ...; None for the first run),
        ``decisions`` (what a person decided for the calls it continues: ``call_id``, ``name``,
        ``decision`` approved/denied/edited, ``detail``: the reason or the new arguments,
        ``was``: the call's ledger state in the run before) and ``effects`` (``call_id`` -> the
        ledger's last state of the run's own calls, e.g. ``deferred`` or ``started``).
    """
    back = [run_id]
    while len(back) < _CHAIN_MAX:
        rows = db.query("SELECT run_id FROM run_resumes WHERE resumed_as = ?", (back[-1],))
        if not rows or str(rows[0][0]) in back:
            break
        back.append(str(rows[0][0]))
    ids = back[::-1]
    while len(ids) < _CHAIN_MAX:
        rows = db.query(
            "SELECT resumed_as FROM run_resumes WHERE run_id = ? AND resumed_as IS NOT NULL",
            (ids[-1],),
        )
        if not rows or str(rows[0][0]) in ids:
            break
        ids.append(str(rows[0][0]))
    chain: list[dict[str, Any]] = []
    for i, rid in enumerate(ids):
        part: dict[str, Any] = {
            "run_id": rid, "resumed_from": ids[i - 1] if i else None,
            "resumed_as": ids[i + 1] if i + 1 < len(ids) else None,
            "resumed_at": None, "why": None, "decisions": [], "effects": _effects_of(db, rid),
        }  # fmt: skip
        if i:
            _link(db, part, ids[i - 1], chain[-1]["effects"])
        chain.append(part)
    return chain


def _link(db: Database, part: dict[str, Any], source: str, source_effects: Any) -> None:
    """Fill in why and when ``part`` continued ``source``, and the decisions it carried."""
    rows = db.query("SELECT decisions, time FROM run_resumes WHERE run_id = ?", (source,))
    state = db.query("SELECT finished_at, stop_reason FROM runs WHERE id = ?", (source,))
    if state:
        finished, stop = state[0][0], state[0][1]
        part["why"] = "crash" if finished is None else _WHY.get(str(stop), str(stop))
    if not rows:
        return
    part["resumed_at"] = rows[0][1]
    try:
        decided = json.loads(rows[0][0] or "{}")
    except (TypeError, ValueError):
        decided = {}
    names = _call_names(db, source)
    for call_id, value in decided.items() if isinstance(decided, dict) else ():
        detail: str | None
        if isinstance(value, dict) and "edit" in value:
            kind, detail = "edited", json.dumps(value["edit"], ensure_ascii=False)
        elif isinstance(value, dict) and "deny" in value:
            kind, detail = "denied", str(value["deny"])
        else:
            kind, detail = ("approved", None) if value is True else ("denied", None)
        part["decisions"].append(
            {"call_id": str(call_id), "name": names.get(str(call_id)), "decision": kind,
             "detail": detail, "was": source_effects.get(str(call_id))}
        )  # fmt: skip


def _effects_of(db: Database, run_id: str) -> dict[str, str]:
    """``call_id`` -> the last ledger state of each of the run's calls (state order by time)."""
    rows = db.query(
        "SELECT call_id, state FROM tool_effects WHERE run_id = ? ORDER BY time", (run_id,)
    )
    return {str(call_id): str(state) for call_id, state in (tuple(r) for r in rows)}


def _call_names(db: Database, run_id: str) -> dict[str, str]:
    rows = db.query("SELECT call_id, name FROM tool_effects WHERE run_id = ?", (run_id,))
    return {str(call_id): str(name) for call_id, name in (tuple(r) for r in rows)}


def pending_approvals(db: Database) -> list[dict[str, Any]]:
    """Every call that waits for approval: of runs ended ``awaiting_approval``, not yet decided.

    Newest run first; each row: ``run_id``, ``started_at``, ``prompt``, ``call_id``, ``name``,
    ``arguments`` (what ``agentloop approve`` decides).
    """
    rows = db.query(
        "SELECT runs.id, runs.started_at, runs.prompt, e.call_id, e.name, e.arguments "
        "FROM runs JOIN tool_effects e ON e.run_id = runs.id AND e.state = 'deferred' "
        "WHERE runs.stop_reason = 'awaiting_approval' AND NOT EXISTS "
        "(SELECT 1 FROM run_resumes r WHERE r.run_id = runs.id) "
        "ORDER BY runs.started_at DESC, runs.n DESC, e.time"
    )
    keys = ("run_id", "started_at", "prompt", "call_id", "name", "arguments")
    return [dict(zip(keys, tuple(row), strict=True)) for row in rows]
