"""``agentloop resume RUN_ID [TARGET] [--ask] [--force]``: continue a run that crashed or waits.

The run is read from the store (``--db``, else the CLI's store, see :mod:`agentloop.cli.store`);
its agent is TARGET, else the TARGET and settings ``agentloop run`` stored with the run's
conversation. The resumed run is logged in the same store (a new run id, ``resumed_from`` the
old one) and, for a CLI conversation, its new messages are appended to the conversation.
``agentloop approve`` (:mod:`agentloop.cli.approve`) is the same with decisions. Only the
standard library is imported at load time.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser", "add_resume_options", "continue_run", "resume_command"]


def add_resume_options(parser: argparse.ArgumentParser) -> None:
    """The options ``resume`` and ``approve`` share: the store, the agent, the model, output."""
    parser.add_argument(
        "--db", metavar="PATH|URL", help="the store that logged the run (default: the CLI's)"
    )
    parser.add_argument(
        "--agent",
        metavar="TARGET",
        help="the agent to continue with (default: the one `agentloop run` stored with the run)",
    )
    parser.add_argument("--model", help="offline or provider:model (default: the run's)")
    parser.add_argument("--base-url", help="server base URL (default: the run's)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="continue although the agent's tools changed, or take over a resume that died",
    )
    parser.add_argument("--json", action="store_true", help="print the RunResult as JSON")
    parser.add_argument(
        "--approve-all",
        action="store_true",
        help="run every other call that requires approval without asking",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="tool results, usage")


def add_parser(sub: Any, shared: Any) -> None:
    """Add the ``resume`` command."""
    parser = sub.add_parser(
        "resume",
        parents=[shared.common],
        help="continue a run that crashed, was interrupted or awaits approval",
        description="Rebuild the run from the log and continue it. No tool call whose result "
        "is recorded runs again; a call that started and never finished is rerun only when "
        "its tool is idempotent, else the model is told its outcome is unknown (--ask: you "
        "decide). See docs/durable-runs.md.",
    )
    parser.add_argument("run_id", metavar="RUN_ID", help="the run (agentloop logs lists them)")
    parser.add_argument("target", metavar="TARGET", nargs="?", help="the agent (as --agent)")
    parser.add_argument(
        "--ask",
        action="store_true",
        help="ask on the terminal what to do with each call of unknown outcome or awaiting "
        "approval",
    )
    add_resume_options(parser)
    parser.set_defaults(handler="agentloop.cli.resume:resume_command")


def resume_command(args: argparse.Namespace) -> int:
    """Run ``agentloop resume``; return the exit code."""
    from agentloop.errors import ConfigurationError

    if args.target and args.agent:
        raise ConfigurationError("name the agent once: TARGET or --agent, not both")
    args.agent = args.agent or args.target
    ask = None
    if args.ask:
        if not sys.stdin.isatty():
            raise ConfigurationError(
                "--ask asks on the terminal, and stdin is not one; decide with agentloop "
                "approve RUN_ID [CALL_ID ...] [--deny REASON] instead"
            )
        ask = _ask
    return continue_run(args, decisions=None, ask=ask)


def continue_run(args: argparse.Namespace, *, decisions: Any, ask: Any) -> int:
    """Resume ``args.run_id`` with ``decisions``: build the agent, run, render; the exit code."""
    from agentloop.cli.store import shown, store_target
    from agentloop.logs import RunLog

    target = store_target(args.db)
    log = RunLog(target)
    try:
        row = _run_row(log, args.run_id, shown(target))
        session = _cli_session(args, target, row)
        try:
            return _drive(args, session, log, target, row, decisions, ask)
        finally:
            session.close()
    finally:
        log.close()


def _run_row(log: Any, run_id: str, where: str) -> dict[str, Any]:
    from agentloop.errors import RunNotResumable

    rows = log.db.query("SELECT id, conversation_id, model FROM runs WHERE id = ?", (run_id,))
    if not rows:
        raise RunNotResumable(
            f"there is no run {run_id!r} in {where} (a run made with --no-log was never "
            "recorded and cannot be resumed; --db names another store); agentloop logs lists "
            "the runs",
            run_id=run_id,
        )
    return {"id": rows[0][0], "conversation_id": rows[0][1], "model": rows[0][2]}


def _stored_settings(target: Any, conversation_id: str | None) -> dict[str, Any]:
    """What ``agentloop run`` stored with the conversation (TARGET, model, tools), if anything."""
    if not conversation_id:
        return {}
    from agentloop.sessions import open_session

    session = open_session(target, conversation_id)
    try:
        return dict(session.metadata.get("cli", {})) if session.exists() else {}
    finally:
        session.close()


def _cli_session(args: argparse.Namespace, target: Any, row: dict[str, Any]) -> Any:
    """The configured agent, as ``agentloop run`` would build it for the run's conversation."""
    from agentloop.cli.entry import build_parser
    from agentloop.cli.run import start_session
    from agentloop.errors import ConfigurationError

    stored = _stored_settings(target, row["conversation_id"])
    agent = args.agent or stored.get("target")
    if not agent:
        raise ConfigurationError(
            f"run {row['id']!r} was not started by agentloop run, so its agent is not known; "
            f"name it: agentloop {args.command} {row['id']} --agent FILE.py:agent"
        )
    argv = ["run", str(agent), "--no-log"]
    for flag, name in (("--model", "model"), ("--base-url", "base_url")):
        value = getattr(args, name, None) or stored.get(name)
        if value:
            argv += [flag, str(value)]
    if stored.get("max_steps"):
        argv += ["--max-steps", str(stored["max_steps"])]
    if stored.get("tool_choice"):
        argv += ["--tool-choice", str(stored["tool_choice"])]
    if stored.get("stream") is False:
        argv.append("--no-stream")
    for name in stored.get("tools") or ():
        argv += ["-T", str(name)]
    if stored.get("system") is not None:
        argv += ["-s", str(stored["system"])]
    if args.approve_all:
        argv.append("--approve-all")
    if args.verbose:
        argv.append("-v")
    if args.json:
        argv.append("--json")
    run_args = build_parser().parse_args(argv)
    return start_session(run_args)


def _drive(
    args: argparse.Namespace, session: Any, log: Any, target: Any, row: dict[str, Any],
    decisions: Any, ask: Any,
) -> int:  # fmt: skip
    """Attach the log and ledger (unless the agent has its own store), run, render."""
    from agentloop.durable import Ledger, prepare_resume, resume_events

    agent = session.agent
    if not any(isinstance(p, Ledger) for p in agent.plugin_manager.get_plugins()):
        recorder = log.recorder(conversation_id=row["conversation_id"])
        agent.plugin_manager.register(recorder, "agentloop-cli-log")
        agent.plugin_manager.register(Ledger(log), "agentloop-cli-ledger")
    prepared = prepare_resume(agent, args.run_id, decisions=decisions, force=args.force, ask=ask)
    events = resume_events(prepared, stream=agent.stream_mode is not False)
    events = _with_conversation(events, target, row["conversation_id"], prepared.stored.messages)
    renderer = session.renderer(show_text=not args.json, show_calls=not args.json)
    result = session.render(events, renderer)
    if args.json:
        from agentloop.cli.run import write_json

        write_json(renderer, result)
    renderer.finish_text()
    from agentloop.cli.run import report_end

    report_end(result, logged=True)
    return 0


def _with_conversation(events: Any, target: Any, conversation_id: Any, messages: list[Any]) -> Any:
    """Append the resumed run's messages to its CLI conversation (when it has one)."""
    if not conversation_id:
        return events
    from agentloop.sessions import open_session
    from agentloop.sessions.base import run_with_session

    session = open_session(target, conversation_id)
    read = session.get_messages()
    skip = 1 if messages and messages[0].get("role") == "system" and (
        not read or read[0].get("role") != "system") else 0  # fmt: skip
    if list(messages[skip : skip + len(read)]) != list(read):
        session.close()
        return events  # the conversation moved on since: leave it as it is

    def run() -> Any:
        try:
            yield from run_with_session(events, session, read, skip)
        finally:
            session.close()

    return run()


def _ask(pending: Any) -> Any:
    """``--ask``: one question per waiting call on the terminal; True runs it."""
    from agentloop.durable import Deny

    what = {
        "unknown": "started but its outcome is unknown (the run stopped before its result was "
        "recorded); run it again?",
        "deferred": "awaits approval; run it?",
    }.get(pending.state, "run it?")
    sys.stderr.write(f"agentloop: {pending.name}({pending.arguments}) {what} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return True if answer in ("y", "yes") else Deny("the user chose not to run it")
