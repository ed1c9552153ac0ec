"""``agentloop approve RUN_ID [CALL_ID ...] [--deny REASON] [--edit ARGS_JSON]``: decide, continue.

The calls named (all the run's pending calls when none is) are approved, denied with
``--deny`` (the reason is what the model reads) or run with other arguments (``--edit``, one
call); the run then continues in this process as ``agentloop resume`` would
(:mod:`agentloop.cli.resume`). Of two deciders of one run, the store lets one continue; the
other gets a one-line conflict error (exit 1). Only the standard library is imported at load
time.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_parser", "approve_command", "decisions_for"]


def add_parser(sub: Any, shared: Any) -> None:
    """Add the ``approve`` command."""
    from agentloop.cli.resume import add_resume_options

    parser = sub.add_parser(
        "approve",
        parents=[shared.common],
        help="decide the tool calls a run waits for, and continue it",
        description="Approve (or --deny, or --edit) the calls a run awaiting approval waits for, "
        "then continue the run here. Without CALL_ID: every pending call. `agentloop logs "
        "--pending` lists them.",
    )
    parser.add_argument("run_id", metavar="RUN_ID", help="the run awaiting approval")
    parser.add_argument("calls", metavar="CALL_ID", nargs="*", help="the calls decided")
    parser.add_argument("--deny", metavar="REASON", help="deny the calls; the model reads REASON")
    parser.add_argument(
        "--edit", metavar="ARGS_JSON", help="run the one call named with these arguments"
    )
    add_resume_options(parser)
    parser.set_defaults(handler="agentloop.cli.approve:approve_command")


def approve_command(args: argparse.Namespace) -> int:
    """Run ``agentloop approve``; return the exit code."""
    from agentloop.cli.resume import continue_run
    from agentloop.cli.store import shown, store_target
    from agentloop.durable import pending_calls
    from agentloop.logs import RunLog

    target = store_target(args.db)
    log = RunLog(target)
    try:
        pending = pending_calls(log.db, args.run_id, shown(target))
    finally:
        log.close()
    decisions = decisions_for(args, [p.call_id for p in pending if p.state == "deferred"])
    return continue_run(args, decisions=decisions, ask=None)


def decisions_for(args: argparse.Namespace, waiting: list[str]) -> dict[str, Any]:
    """The decisions ``args`` say: each named call (or every waiting one) approved/denied/edited.

    Raises:
        ConfigurationError: Both --deny and --edit; --edit for other than one call; bad JSON;
            nothing waits and no call is named.
    """
    from agentloop.durable import Deny, Edit
    from agentloop.errors import ConfigurationError

    calls = list(args.calls) or waiting
    if not calls:
        raise ConfigurationError(
            f"run {args.run_id!r} has no call awaiting approval; agentloop logs --pending "
            "lists the runs that wait (agentloop resume continues an interrupted one)"
        )
    if args.deny is not None and args.edit is not None:
        raise ConfigurationError("give --deny or --edit, not both")
    if args.edit is not None:
        if len(calls) != 1:
            raise ConfigurationError(
                f"--edit changes one call; name it: agentloop approve {args.run_id} CALL_ID "
                f"--edit ARGS_JSON (waiting: {', '.join(calls)})"
            )
        try:
            arguments = json.loads(args.edit)
        except ValueError as exc:
            raise ConfigurationError(f"--edit needs a JSON object of arguments: {exc}") from None
        if not isinstance(arguments, dict):
            raise ConfigurationError("--edit needs a JSON object of arguments, e.g. '{\"n\": 2}'")
        return {calls[0]: Edit(arguments)}
    if args.deny is not None:
        return {call: Deny(args.deny) for call in calls}
    return dict.fromkeys(calls, True)
