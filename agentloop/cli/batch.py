"""``agentloop batch TARGET INPUT.jsonl -o OUTPUT.jsonl``: one agent over many inputs.

Each input line is a prompt (a JSON string) or ``{"id", "prompt", "history", "deps"}``;
each output line is the item's id, output, stop reason, usage, duration and
error. Rerunning with the same output resumes (ids already there are skipped).
Exit codes: 0 every item answered, 1 some item failed or a line was malformed,
2 usage error (bad option, duplicate ids, an output of another batch), 130 Ctrl-C
(running items cancelled, everything finished is in the output).
This module imports only the standard library at load time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from agentloop.cli.argtypes import count, money, positive_int, print_line, rate

__all__ = ["AgentFromTarget", "absolute_target", "add_parser", "batch_command"]

EXIT_INTERRUPTED = 130


def add_parser(sub: Any, shared: Any) -> None:
    """Add ``agentloop batch`` to the subcommands."""
    parser = sub.add_parser(
        "batch",
        parents=[shared.common, shared.model],
        help="run an agent over a JSONL file of inputs",
        description="Run an agent over every line of INPUT (a prompt string or an object with "
        "id, prompt, history, deps) and append one result per line to OUTPUT. Rerun the same "
        "command to resume: ids already in OUTPUT are skipped. A progress bar is shown on a "
        "terminal; a summary is printed at the end.",
    )
    parser.add_argument("target", metavar="TARGET", help="file.py, file.py:name or module:name")
    parser.add_argument("input", metavar="INPUT", help="JSONL file of inputs")
    parser.add_argument("-o", "--output", required=True, help="JSONL file of results (appended)")
    parser.add_argument("--workers", type=positive_int, default=4, help="runs at once (default 4)")
    parser.add_argument(
        "--retries", type=count, default=2, help="reruns of an item after a transient API error"
    )
    parser.add_argument("--rpm", type=rate, help="requests per minute, shared by all workers")
    parser.add_argument("--tpm", type=rate, help="tokens per minute, shared by all workers")
    parser.add_argument("--max-steps", type=positive_int, help="model calls allowed per run")
    parser.add_argument(
        "--max-cost", type=money, metavar="AMOUNT", help="money allowed per run, e.g. 0.50"
    )
    parser.add_argument("--engine", choices=("local", "ray"), default="local", help="where to run")
    parser.add_argument("--address", help="Ray cluster address (e.g. auto); default: a local Ray")
    parser.add_argument("--force", action="store_true", help="resume into another batch's output")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler="agentloop.cli.batch:batch_command")


class AgentFromTarget:
    """A picklable recipe for the CLI's agent: load TARGET, apply the CLI's model and limits.

    The Ray engine sends it to every worker, which builds its own agent with it.

    Args:
        target: The TARGET (file paths made absolute).
        cli_args: The settings given on the command line (``model``, ``base_url``, ...).
        cwd: Where the config file is looked for.
    """

    def __init__(self, target: str, cli_args: dict[str, Any], cwd: str) -> None:
        self.target = target
        self.cli_args = cli_args
        self.cwd = cwd
        self.notice: str | None = None

    def __call__(self) -> Any:
        from agentloop.cli.run import choose_model, configure_agent
        from agentloop.cli.target import load_target
        from agentloop.config import load_settings

        settings = load_settings(self.cli_args, os.environ, Path(self.cwd))
        agent = load_target(self.target)
        model, self.notice = choose_model(getattr(agent, "model", None), settings)
        return configure_agent(agent, model, settings, [])


def batch_command(args: argparse.Namespace) -> int:
    """Run the batch; return the exit code."""
    from agentloop.batch import BatchStats, stream_batch
    from agentloop.batch.items import agent_fingerprint
    from agentloop.batch.progress import ProgressBar, format_summary

    items, problems, input_hash = _read_input(args)
    if args.engine == "ray":
        from agentloop.batch.ray_engine import import_ray

        import_ray()  # one line naming the extra, before anything runs
    recipe = AgentFromTarget(
        absolute_target(args.target),
        {
            "model": args.model,
            "base_url": args.base_url,
            "max_steps": args.max_steps,
            "max_cost": args.max_cost,
        },
        os.getcwd(),
    )
    agent = recipe()
    if recipe.notice:
        from agentloop.cli.defaults import notice_due  # once per terminal session

        if notice_due(False):
            print_line(recipe.notice)
    fingerprint = {"agent": agent_fingerprint(agent, args.target), "input": input_hash}
    stats = BatchStats()
    bar: list[ProgressBar] = []

    def started(engine: Any) -> None:
        bar.append(
            ProgressBar(
                sys.stderr,
                stats,
                lambda: engine.running,
                enabled=False if args.no_progress else None,
            )
        )
        bar[0].start()

    began = time.monotonic()
    interrupted = False
    try:
        for _ in stream_batch(
            recipe if args.engine == "ray" else agent,
            items,
            workers=args.workers,
            retries=args.retries,
            rpm=args.rpm,
            tpm=args.tpm,
            output=args.output,
            force=args.force,
            engine=args.engine,
            address=args.address,
            stats=stats,
            fingerprint=fingerprint,
            on_start=started,
        ):
            pass
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar:
            bar[0].close()
    _summary(args, stats, time.monotonic() - began, len(problems), format_summary)
    if interrupted:
        print_line(f"interrupted: finished items are in {args.output}; rerun the command to resume")
        return EXIT_INTERRUPTED
    return 1 if stats.failed or problems else 0


def _read_input(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """Check the options that name files, read INPUT, and report its malformed lines."""
    from agentloop.batch import read_items
    from agentloop.errors import ConfigurationError

    if args.address and args.engine != "ray":
        raise ConfigurationError("--address is for --engine ray")
    if Path(args.input).resolve() == Path(args.output).resolve():
        raise ConfigurationError("INPUT and --output are the same file")
    _check_output(Path(args.output))
    try:
        items, problems, input_hash = read_items(args.input)
    except FileNotFoundError:
        raise ConfigurationError(f"no such input file: {args.input}") from None
    for problem in problems:
        print_line(f"{args.input} line {problem.line}: {problem.message} (skipped)")
    return items, problems, input_hash


def _check_output(path: Path) -> None:
    """A ``--output`` that cannot be appended to is one line now, not after the first item."""
    from agentloop.errors import ConfigurationError

    if path.is_dir():
        raise ConfigurationError(f"--output {path} is a folder; give a .jsonl file in it")
    folder = path.parent
    if not folder.is_dir():
        raise ConfigurationError(f"--output {path}: the folder {folder} does not exist")
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK):
        raise ConfigurationError(f"--output {path} is not writable; give a file you can write")


def _summary(args: Any, stats: Any, elapsed: float, malformed: int, fmt: Any) -> None:
    if args.json:
        import json

        data = {**stats.to_dict(), "malformed": malformed, "seconds": round(elapsed, 3)}
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()
    print_line(fmt(stats, elapsed, malformed))


def absolute_target(target: str) -> str:
    """``file.py[:name]`` with an absolute path (workers may run elsewhere); modules as given."""
    from agentloop.cli.target import split_target

    where, sep, name = split_target(target)
    if where.endswith(".py") or os.sep in where:
        where = str(Path(where).resolve())
    return f"{where}{sep}{name}"
