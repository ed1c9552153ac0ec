"""``agentloop eval TARGET DATASET``: run an agent on a dataset and score every run.

::

    agentloop eval examples/calculator.py examples/evals/calculator.jsonl -o report.json
    agentloop eval agent.py cases.jsonl --repeat 3 --fail-under 0.9 --workers 8
    agentloop eval agent.py cases.jsonl --chaos tool-timeout,empty-response --chaos-seed 7
    agentloop eval compare before.json after.json      # improved / regressed, case by case
    agentloop view report.json                         # the report as one HTML page

Every case runs on the batch engine (``--workers``, ``--engine ray``, ``--rpm``/``--tpm``,
retries); a progress bar is drawn on a terminal, the summary table is printed on stdout and
the JSON report written to ``-o``. With ``-o`` an interrupted evaluation keeps every finished
case (``REPORT.runs.jsonl``, ``REPORT.cases.jsonl``) and rerunning the same command resumes.
Runs are written to the run log (unless ``--no-log`` or ``agentloop logs off``), so each case
links to its run. Exit codes: 0 done (and the score reaches ``--fail-under``), 1 the score is
below ``--fail-under`` (or ``compare`` found a regression), 2 usage error or a malformed
dataset, 130 interrupted. This module imports only the standard library at load time.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from agentloop.cli.argtypes import count, money, positive_int, print_line, rate

__all__ = ["add_parser", "eval_command", "view_report"]

EXIT_INTERRUPTED = 130


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def add_parser(sub: Any, shared: Any) -> None:
    """Add ``agentloop eval`` to the subcommands."""
    parser = sub.add_parser(
        "eval",
        parents=[shared.common, shared.model],
        help="score an agent on a dataset of cases (or compare two reports)",
        description="Run TARGET on every case of DATASET (.jsonl, .json, or .yaml with PyYAML) "
        "and score each run with the dataset's evaluators; print the summary and write the "
        "JSON report. 'agentloop eval compare A.json B.json' shows what improved and what "
        "regressed. See docs/evals.md.",
    )
    parser.add_argument(
        "operands", nargs="+", metavar="TARGET DATASET | compare A.json B.json", help="what to do"
    )
    parser.add_argument("-o", "--output", metavar="REPORT", help="write the JSON report here")
    parser.add_argument("--workers", type=positive_int, default=4, help="runs at once (default 4)")
    parser.add_argument("--repeat", type=positive_int, default=1, help="runs per case (spread)")
    parser.add_argument("--fail-under", type=_share, metavar="SCORE", help="exit 1 below it")
    parser.add_argument("--retries", type=count, default=2, help="reruns after transient errors")
    parser.add_argument("--rpm", type=rate, help="requests per minute, shared by all workers")
    parser.add_argument("--tpm", type=rate, help="tokens per minute, shared by all workers")
    parser.add_argument("--max-steps", type=positive_int, help="model calls allowed per run")
    parser.add_argument(
        "--max-cost", type=money, metavar="AMOUNT", help="money allowed per run, e.g. 0.50"
    )
    parser.add_argument("--engine", choices=("local", "ray"), default="local", help="where to run")
    parser.add_argument("--address", help="Ray cluster address (e.g. auto)")
    parser.add_argument("--chaos", metavar="FAULTS", help="inject faults: a,b,... or all")
    parser.add_argument("--chaos-seed", type=int, default=0, help="the chaos seed (default 0)")
    parser.add_argument("--chaos-rate", type=_share, default=0.25, help="fault chance per call")
    parser.add_argument("--judge", metavar="MODEL", help="turn the llm_judge evaluators on")
    parser.add_argument("--log", metavar="DB", help="the run log file (default: the user's)")
    parser.add_argument("--no-log", action="store_true", help="do not write runs to the run log")
    parser.add_argument("--force", action="store_true", help="resume another evaluation's state")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    parser.set_defaults(handler="agentloop.cli.eval:eval_command")


def eval_command(args: argparse.Namespace) -> int:
    """Run ``eval`` or ``eval compare``; return the exit code."""
    from agentloop.errors import ConfigurationError

    ops = args.operands
    if ops[0] == "compare":
        if len(ops) != 3:
            raise ConfigurationError("usage: agentloop eval compare A.json B.json")
        return _compare(ops[1], ops[2])
    if len(ops) != 2:
        raise ConfigurationError("usage: agentloop eval TARGET DATASET (or: eval compare A B)")
    return _evaluate(args, ops[0], ops[1])


def _compare(first: str, second: str) -> int:
    from agentloop.evals import compare, load_report
    from agentloop.evals.compare import format_comparison

    result = compare(load_report(first), load_report(second))
    sys.stdout.write(format_comparison(result) + "\n")
    return 1 if result.regressed else 0


def _evaluate(args: argparse.Namespace, target: str, dataset_path: str) -> int:
    from agentloop.batch import BatchStats
    from agentloop.cli.batch import AgentFromTarget, absolute_target
    from agentloop.evals import Chaos, Dataset
    from agentloop.evals.compare import format_summary

    dataset = Dataset.load(dataset_path)  # a malformed dataset fails before anything runs
    chaos = None
    if args.chaos:
        chaos = Chaos(args.chaos, seed=args.chaos_seed, rate=args.chaos_rate)
    if args.engine == "ray":
        from agentloop.batch.ray_engine import import_ray

        import_ray()
    recipe = AgentFromTarget(
        absolute_target(target),
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
        print_line(recipe.notice)
    log = _log_path(args)
    stats = BatchStats()
    bar: list[Any] = []
    state = None if args.output is None else Path(args.output).with_suffix("")
    try:
        report = dataset.evaluate(
            recipe if args.engine == "ray" else agent,
            workers=args.workers, repeat=args.repeat, engine=args.engine, address=args.address,
            retries=args.retries, rpm=args.rpm, tpm=args.tpm, chaos=chaos, judge=args.judge,
            log=log, state=state, force=args.force, target=target, stats=stats,
            on_start=lambda engine: bar.append(_start_bar(args, stats, engine)),
        )  # fmt: skip
    except KeyboardInterrupt:
        where = (
            f"kept in {state}.cases.jsonl; rerun the command to resume"
            if state
            else ("not kept (give -o REPORT to resume an interrupted evaluation)")
        )
        print_line(f"interrupted: finished cases are {where}")
        return EXIT_INTERRUPTED
    finally:
        if bar:
            bar[0].close()
    return _finish(args, report, format_summary)


def _finish(args: argparse.Namespace, report: Any, fmt: Any) -> int:
    import json

    if args.output:
        report.save(args.output)
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), default=str) + "\n")
        print_line(fmt(report))
    else:
        sys.stdout.write(fmt(report) + "\n")
    sys.stdout.flush()
    if args.output:
        print_line(f"report: {args.output} (agentloop view {args.output})")
    if args.fail_under is not None and report.score < args.fail_under:
        print_line(f"score {report.score:.3f} is under --fail-under {args.fail_under}")
        return 1
    return 0


def _start_bar(args: argparse.Namespace, stats: Any, engine: Any) -> Any:
    from agentloop.batch.progress import ProgressBar

    bar = ProgressBar(
        sys.stderr, stats, lambda: engine.running, enabled=False if args.no_progress else None
    )
    bar.start()
    return bar


def _log_path(args: argparse.Namespace) -> str | None:
    """The run log to record runs in: --log, else the user's (unless turned off)."""
    from agentloop.errors import ConfigurationError
    from agentloop.logs import log_path, logging_enabled

    if args.no_log:
        if args.engine == "ray":
            raise ConfigurationError("--engine ray reads each run from the run log: drop --no-log")
        return None
    if args.log:
        return str(Path(args.log).resolve())
    if not logging_enabled() and args.engine != "ray":
        return None
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def view_report(args: argparse.Namespace, *, desktop: Any) -> int:
    """``agentloop view report.json``: the report's HTML page, each case linked to its run."""
    from agentloop.errors import ConfigurationError
    from agentloop.evals import load_report
    from agentloop.evals.page import write_report_page
    from agentloop.logs import log_path

    source = Path(args.source)
    report = load_report(source)
    out = Path(args.output) if args.output else source.with_suffix(".html")
    log = Path(args.log) if args.log else log_path()
    try:
        write_report_page(report, out, log=log)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {out}: {exc.strerror}") from exc
    print(out)
    if args.open if args.open is not None else desktop():
        import webbrowser

        webbrowser.open(out.resolve().as_uri())
    return 0
