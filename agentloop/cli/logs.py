"""``agentloop logs``: read the run log (latest runs, search, one run), find it, turn it off/on.

::

    agentloop logs [-n N] [--json] [--conversation ID] [-q TEXT] [--model M] [--since WHEN]
    agentloop logs show RUN_ID [--json]
    agentloop logs path
    agentloop logs copy --to postgresql://...   (--db PATH|URL: read another store)
    agentloop logs off | on

This module imports only the standard library at load time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import datetime
from typing import Any

from agentloop.cli.argtypes import integer

__all__ = ["MAX_ID_CHARS", "add_parser", "logs_command", "parse_since"]

MAX_ID_CHARS = 200
"""The longest run id taken (ids are 32 hex characters; a prefix of one is enough)."""
count = integer(0, 10**9, "a count from 0 (all) to 1000000000")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def add_parser(sub: Any, shared: Any) -> None:
    """Add the ``logs`` command, and ``--no-log``/``-c``/``--cid`` to ``run`` and ``chat``."""
    from agentloop.cli.memory import add_memory_options

    add_memory_options(sub)
    logs = sub.add_parser(
        "logs",
        parents=[shared.common],
        help="show logged runs (the SQLite run log)",
        description="Every CLI run and chat turn is logged in SQLite (see `agentloop logs path`). "
        "Without an action: the latest runs, newest first.",
    )
    logs.add_argument(
        "words",
        nargs="*",
        metavar="ACTION",
        help="nothing (list runs), 'show RUN_ID', 'path', 'copy --to URL', 'off' or 'on'",
    )
    logs.add_argument(
        "-n", "--count", type=count, default=3, help="how many runs (0: all; default 3)"
    )
    logs.add_argument("--json", action="store_true", help="print JSON")
    logs.add_argument("--conversation", "--cid", metavar="ID", help="only this conversation")
    logs.add_argument(
        "-q", "--query", metavar="TEXT", help="full-text search in prompts and answers"
    )
    logs.add_argument("--model", help="only runs of this model (name or provider:name)")
    logs.add_argument("--since", metavar="WHEN", help="only runs since: 30m, 2h, 3d, 1w or a date")
    logs.add_argument(
        "--db",
        metavar="PATH|URL",
        help="read another store: a SQLite file or postgresql://... (default: "
        "AGENTLOOP_DATABASE_URL, else the SQLite run log)",
    )
    logs.add_argument(
        "--to",
        metavar="URL",
        help="with 'copy': the store to copy the runs and conversations into",
    )
    logs.add_argument(
        "--pending",
        action="store_true",
        help="list the tool calls that wait for approval (agentloop approve decides them)",
    )
    logs.set_defaults(handler="agentloop.cli.logs:logs_command")


def logs_command(args: argparse.Namespace) -> int:
    """Run ``agentloop logs ...``; return the exit code."""
    from agentloop.cli.store import shown, store_target
    from agentloop.errors import ConfigurationError

    words = list(args.words)
    action = words[0] if words else "list"
    path = store_target(getattr(args, "db", None))
    if action == "path" and len(words) == 1:
        print(shown(path))
        return 0
    if action == "copy" and len(words) == 1:
        from agentloop.cli.logcopy import copy_command

        return copy_command(path, args)
    if action in ("on", "off") and len(words) == 1:
        return _switch(action == "on")
    if action == "show" and len(words) == 2:
        if not words[1].strip() or len(words[1]) > MAX_ID_CHARS:
            raise ConfigurationError(
                f"logs show takes a run id (32 hex characters, or a prefix of one), got "
                f"{len(words[1])} characters; agentloop logs lists the runs"
            )
        return _show(path, words[1], as_json=args.json)
    if action == "list" and getattr(args, "pending", False):
        return _pending(path, as_json=args.json)
    if action == "list":
        return _list(path, args)
    raise ConfigurationError(
        f"unknown logs action {' '.join(words)!r}; use: agentloop logs [show RUN_ID | path | "
        "copy --to URL | off | on]"
    )


def parse_since(text: str, now: float | None = None) -> float:
    """``30m``/``2h``/``3d``/``1w`` ago, or an ISO date or date-time (local time), as Unix time."""
    from agentloop.errors import ConfigurationError

    now = time.time() if now is None else now
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ConfigurationError(
            f"--since takes 30m, 2h, 3d, 1w or a date like 2026-12-01, got {text!r}"
        ) from None


def _open(path: Any) -> Any:
    from agentloop.logs.pgschema import MIGRATIONS as PG_MIGRATIONS
    from agentloop.logs.schema import COMPONENT, MIGRATIONS
    from agentloop.storage import open_database

    return open_database(
        path, component=COMPONENT, migrations=MIGRATIONS, pg_migrations=PG_MIGRATIONS
    )


def _list(path: Any, args: argparse.Namespace) -> int:
    from agentloop.errors import ConfigurationError
    from agentloop.logs.queries import list_runs

    if args.count < 0:
        raise ConfigurationError(f"-n takes a count >= 0, got {args.count}")
    from agentloop.cli.store import store_exists

    since = parse_since(args.since) if args.since else None
    if not store_exists(path):
        if args.json:
            print("[]")
        else:
            sys.stderr.write(f"agentloop: no runs logged yet ({path})\n")
        return 0
    db = _open(path)
    try:
        runs = list_runs(
            db,
            limit=args.count,
            conversation=args.conversation,
            query=args.query,
            model=args.model,
            since=since,
        )
        _add_lineage(db, runs)
    finally:
        db.close()
    if args.json:
        print(json.dumps([_iso(r) for r in runs], ensure_ascii=False, indent=2))
        return 0
    for run in runs:
        print(_render_summary(run))
    return 0


def _add_lineage(db: Any, runs: list[dict[str, Any]]) -> None:
    """``resumed_from``/``resumed_as`` on each run: a resumed run and its origin are one story."""
    from agentloop.logs.queries import lineage_of

    found = lineage_of(db, [r["run_id"] for r in runs])
    for run in runs:
        run.update(found.get(run["run_id"], {}))


def _pending(path: Any, *, as_json: bool) -> int:
    """``agentloop logs --pending``: the calls waiting for approval, newest run first."""
    from agentloop.cli.store import store_exists
    from agentloop.logs.queries import pending_approvals

    if not store_exists(path):
        print("[]" if as_json else "agentloop: no runs logged yet")
        return 0
    db = _open(path)
    try:
        waiting = pending_approvals(db)
    finally:
        db.close()
    if as_json:
        print(json.dumps([_iso(w) for w in waiting], ensure_ascii=False, indent=2))
        return 0
    if not waiting:
        print("nothing waits for approval")
    for row in waiting:
        print(
            f"run {row['run_id']}  call {row['call_id']}  {row['name']}({row['arguments']})"
            f"  -> agentloop approve {row['run_id']} {row['call_id']} [--deny REASON]"
        )
    return 0


def _show(path: Any, run_id: str, *, as_json: bool) -> int:
    from agentloop.cli.store import store_exists
    from agentloop.errors import ConfigurationError
    from agentloop.logs.queries import get_run

    if not store_exists(path):
        raise ConfigurationError(f"no runs logged yet ({path}); run an agent first")
    db = _open(path)
    try:
        run = get_run(db, run_id)
    finally:
        db.close()
    if as_json:
        print(json.dumps(_iso(run), ensure_ascii=False, indent=2))
        return 0
    print(_render_summary({**run, "tool_calls": []}))
    for event in run["events"]:
        line = _render_event(event)
        if line:
            print(line)
    return 0


def _switch(on: bool) -> int:
    from agentloop.logs import paths

    marker = paths.data_dir() / paths.OFF_MARKER
    if on:
        marker.unlink(missing_ok=True)
        print(f"logging is on: runs are recorded in {paths.log_path()}")
    else:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("agentloop: runs are not logged while this file exists\n")
        print("logging is off: runs are not recorded (agentloop logs on turns it back on)")
    return 0


def _iso(run: dict[str, Any]) -> dict[str, Any]:
    out = dict(run)
    for key in ("started_at", "finished_at"):
        if out.get(key) is not None:
            out[key] = datetime.fromtimestamp(out[key]).astimezone().isoformat(timespec="seconds")
    return out


def _render_summary(run: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(run["started_at"]).strftime("%Y-%m-%d %H:%M:%S")
    model = ":".join(p for p in (run.get("provider"), run.get("model")) if p) or "?"
    head = (
        f"## {when}  run {run['run_id']}  conversation {run.get('conversation_id') or '-'}  {model}"
    )
    head += _cost(run.get("usage") or {}).replace(",", " ", 1)
    if run.get("resumed_from"):
        head += f"  (resumes {run['resumed_from']})"
    lines = [head, "", f"> {_one(run.get('prompt'))}"]
    for call in run.get("tool_calls") or ():
        lines.append(
            f"  {call['name']}({call['arguments']}) -> {_one(call['content'])} ({call['status']})"
        )
    if run.get("resumed_as"):
        lines.append(f"[continued as run {run['resumed_as']}]")
    elif run.get("finished_at") is None:
        lines.append(
            "[interrupted: the run is going on, or its process died; continue it with: "
            f"agentloop resume {run['run_id']}]"
        )
    elif run.get("stop_reason") == "awaiting_approval":
        lines.append(
            f"[awaiting approval: agentloop logs --pending; agentloop approve {run['run_id']}]"
        )
    elif run.get("stop_reason") == "interrupted":
        lines.append(f"[interrupted: continue it with: agentloop resume {run['run_id']}]")
    elif run.get("error"):
        lines.append(f"[error: {run['error'].get('type')}: {_one(run['error'].get('message'))}]")
    else:
        lines.append(str(run.get("answer") or ""))
    if run.get("gap"):
        lines.append(f"[log gap: {run['gap']}]")
    return "\n".join(lines) + "\n"


def _render_event(event: dict[str, Any]) -> str:
    kind = event["type"]
    if kind == "model_request":
        count = event.get("message_count") or len(event.get("messages") or ())
        return f"[step {event.get('step')}] request: {count} message(s)"
    if kind == "model_response":
        usage = event.get("usage") or {}
        calls = ", ".join(c["name"] for c in event.get("tool_calls") or ()) or "-"
        return (
            f"[step {event.get('step')}] response: finish {event.get('finish_reason')}, tools {calls}, "
            f"{usage.get('total_tokens', 0)} tokens{_cost(usage)}, {_secs(event.get('duration'))}\n"
            f"  {_one(event.get('text'))}"
        )
    if kind == "tool_call":
        return (
            f"[step {event.get('step')}] tool {event.get('name')}({event.get('arguments')}) -> "
            f"{_one(event.get('content'))} ({event.get('status')}, {_secs(event.get('duration'))})"
        )
    if kind == "context_trimmed":
        return f"[step {event.get('step')}] context: {event.get('reason')}"
    if kind == "handoff":
        return f"[step {event.get('step')}] handoff: {event.get('from_agent')} -> {event.get('to_agent')}"
    if kind == "guardrail":
        detail = f": {_one(event.get('detail'))}" if event.get("detail") else ""
        return (
            f"[step {event.get('step')}] guardrail {event.get('guardrail')} "
            f"({event.get('point')}): {event.get('outcome')}{detail}"
        )
    if kind == "run_finished":
        return (
            f"[end] stop {event.get('stop_reason')}, {event.get('steps')} step(s)"
            f"{_cost(event.get('usage') or {})}, {_secs(event.get('duration'))}"
        )
    return ""


def _one(text: Any, limit: int = 200) -> str:
    value = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _cost(usage: Any) -> str:
    """``, cost 0.0012`` when the usage's cost is known; nothing when it is not (never 0)."""
    cost = usage.get("cost") if isinstance(usage, dict) else None
    if isinstance(cost, bool) or not isinstance(cost, (int, float)):
        return ""
    from decimal import Decimal

    return f", cost {Decimal(repr(cost)).normalize():f}"


def _secs(value: Any) -> str:
    return f"{value:.3f} s" if isinstance(value, (int, float)) else "? s"
