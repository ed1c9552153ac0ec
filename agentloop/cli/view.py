"""``agentloop view``: a run as one self-contained HTML page (no network), opened on a desktop.

::

    agentloop view trace.jsonl            # a --trace file (every run in it)
    agentloop view 9f3c2a                 # a run of the run log, by id or id prefix
                                          # (a resumed run: its whole chain, as one story)
    agentloop view --cid support-42       # every run of one conversation in the run log
    agentloop view trace.jsonl -o run.html --no-open

The page is written to ``-o FILE`` (default: the trace's name with ``.html``, or
``agentloop-RUN.html`` in the current directory) and its path printed on stdout. It opens in
the browser when ``--open`` is given, or by default when a desktop is there (macOS, Windows, or
``$DISPLAY``/``$WAYLAND_DISPLAY`` set). This module imports only the standard library at load
time.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "view_command"]


def add_parser(sub: Any, shared: Any) -> None:
    """Add the ``view`` command."""
    view = sub.add_parser(
        "view",
        parents=[shared.common],
        help="show a run as an HTML page",
        description="Write a run (a --trace file, or a run of the run log) as one "
        "self-contained HTML page, and open it on a desktop.",
    )
    view.add_argument(
        "source", metavar="RUN_ID|TRACE", nargs="?", help="a trace .jsonl file or a run id"
    )
    view.add_argument("--cid", metavar="ID", help="every run of this conversation (run log)")
    view.add_argument("-o", "--output", metavar="FILE", help="where to write the page")
    view.add_argument(
        "--log",
        metavar="DB|URL",
        help="the run log: a SQLite file or postgresql://... (default: AGENTLOOP_DATABASE_URL, "
        "else the user's run log)",
    )
    opening = view.add_mutually_exclusive_group()
    opening.add_argument(
        "--open", dest="open", action="store_true", default=None, help="open it in a browser"
    )
    opening.add_argument("--no-open", dest="open", action="store_false", help="only write it")
    view.set_defaults(handler="agentloop.cli.view:view_command")


def view_command(args: argparse.Namespace) -> int:
    """Write the page and print its path; open it when asked (or on a desktop)."""
    from agentloop.errors import ConfigurationError
    from agentloop.tracing.viewer import write_html

    if bool(args.source) == bool(args.cid):
        raise ConfigurationError("agentloop view needs RUN_ID or TRACE file, or --cid ID")
    if args.source and args.source.endswith(".json") and Path(args.source).is_file():
        from agentloop.cli.eval import view_report  # an eval report (agentloop eval -o)

        return view_report(args, desktop=_desktop)
    events, title, default_out, chain = _load(args)
    out = Path(args.output) if args.output else default_out
    try:
        write_html(events, out, title=title, chain=chain)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {out}: {exc.strerror}") from exc
    print(out)
    if args.open if args.open is not None else _desktop():
        import webbrowser

        webbrowser.open(out.resolve().as_uri())
    return 0


def _load(args: argparse.Namespace) -> tuple[list[Any], str, Path, list[dict[str, Any]] | None]:
    """The events to show, the page title, the default output path and the resume chain."""
    from agentloop.errors import ConfigurationError
    from agentloop.tracing.jsonl import read_trace

    source = args.source
    if source and (Path(source).is_file() or source.endswith(".jsonl")):
        path = Path(source)
        if not path.is_file():
            raise ConfigurationError(f"no trace file {source}")
        return read_trace(path), f"agentloop: {path.name}", path.with_suffix(".html"), None
    runs, chain = _from_log(args.log, run_id=source, conversation=args.cid)
    events = [event for run in runs for event in run]
    name = args.cid or source
    title = f"agentloop: {name}"
    if len(runs) > 1 and not args.cid:
        title += f" (a resumed run: {len(runs)} parts)"
    return events, title, Path(f"agentloop-{name}.html"), chain


def _from_log(
    path: str | None, *, run_id: str | None, conversation: str | None
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Runs from the run log, each a list of trace events, and their resume chain.

    A run id shows its whole chain (a resumed run is a new run with ``resumed_from``: the
    first, a middle or the last id gives the same story), oldest first; ``--cid`` shows the
    conversation's runs oldest first, each with its link to the run it resumed.
    """
    from agentloop.cli.store import shown, store_exists, store_target
    from agentloop.errors import ConfigurationError
    from agentloop.logs import RunLog
    from agentloop.logs.queries import chain_of, get_run, list_runs

    target = store_target(path)
    file = shown(target)
    if not store_exists(target):
        raise ConfigurationError(f"no run log at {file} (run with the run log on, or give TRACE)")
    log = RunLog(target)
    try:
        if conversation:
            found = list_runs(log.db, conversation=conversation, limit=0, tool_calls=False)
            if not found:
                raise ConfigurationError(f"no run of conversation {conversation!r} in {file}")
            ids = [run["run_id"] for run in reversed(found)]
            chain = [next(p for p in chain_of(log.db, i) if p["run_id"] == i) for i in ids]
            return [_events_of(get_run(log.db, i)) for i in ids], chain
        first = get_run(log.db, str(run_id))  # the id or a prefix; one line when unknown
        chain = chain_of(log.db, first["run_id"])
        runs = [first if p["run_id"] == first["run_id"] else get_run(log.db, p["run_id"])
                for p in chain]  # fmt: skip
        return [_events_of(run) for run in runs], chain
    finally:
        log.close()


def _events_of(run: dict[str, Any]) -> list[Any]:
    from agentloop.tracing.events import TraceEvent

    out = []
    for raw in run["events"]:
        data = {k: v for k, v in raw.items() if k not in ("seq", "type", "time")}
        out.append(
            TraceEvent(
                type=raw["type"], run_id=run["run_id"], seq=raw["seq"], time=raw["time"], data=data
            )
        )
    return out


def _desktop() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
