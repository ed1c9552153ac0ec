"""The ``agentloop`` command: run, chat with, inspect and serve agents.

::

    agentloop run [TARGET] [PROMPT] run once; the answer streams to stdout
    agentloop run -T calculate "What is 2**10?"   a default agent with a named tool
    agentloop chat [TARGET]         interactive conversation with history
    agentloop tools [TARGET] [-T NAME]   offered tools, or what one agent sends (JSON)
    agentloop plugins               installed plugins, their hooks and tools
    agentloop models                providers and what each needs
    agentloop keys set PROVIDER     store an API key in the user's key store
    agentloop serve                 serve a model over the chat-completions API
    agentloop view RUN_ID|TRACE     a run as one self-contained HTML page
    agentloop --version

TARGET is ``path/to/file.py``, ``file.py:name``, ``package.module`` or
``package.module:name`` (see :mod:`agentloop.cli.target`); it is optional,
and how a lone argument is told from a PROMPT is in :mod:`agentloop.cli.agents`. Settings come
from arguments, then the environment, then ``agentloop.toml`` /
``pyproject.toml`` (see :mod:`agentloop.config`).

Exit codes: 0 success, 1 the run failed, 2 usage or configuration error,
130 interrupted (Ctrl-C, or SIGTERM, which is handled the same way). Errors are one line on stderr; ``--debug`` adds the traceback.
This module imports only the standard library at load time; everything else
is imported by the command that needs it.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Any, NamedTuple

from agentloop.cli.argtypes import money, one_line_warnings, port, positive_int, print_line

__all__ = ["COMMAND_MODULES", "SharedOptions", "build_parser", "main"]

# Modules that add subcommands: each defines ``add_parser(sub, shared: SharedOptions)`` and
# imports only the standard library at load time; its parsers set ``handler="module:function"``.
COMMAND_MODULES: tuple[str, ...] = (
    "agentloop.cli.view",
    "agentloop.cli.mcp",
    "agentloop.cli.batch",
    "agentloop.cli.logs",
    "agentloop.cli.keys",
    "agentloop.cli.probe",
    "agentloop.cli.eval",
    "agentloop.cli.resume",
    "agentloop.cli.approve",
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_MODEL_CHOICE = (
    "Model: --model always wins. An agent whose model is unset or 'offline' follows "
    "AGENTLOOP_MODEL, the config file, then `agentloop models default`; an agent naming another "
    "model keeps it. With no model anywhere the offline model is used (a notice once per "
    "terminal session, or with -v). Tools that require approval are asked about on the "
    "terminal, and denied when stdin is not a terminal (unless --approve-all). Exit codes: 0 ok, "
    "1 run failed, 2 usage/configuration error, 130 interrupted."
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``agentloop`` command."""
    from agentloop.version import __version__

    parser = argparse.ArgumentParser(
        prog="agentloop",
        description="Run, chat with, inspect and serve agentloop agents.",
        epilog="Settings: arguments, then AGENTLOOP_* environment variables, then "
        "agentloop.toml or [tool.agentloop] in pyproject.toml.",
    )
    parser.add_argument("--version", action="version", version=f"agentloop {__version__}")
    from agentloop.cli.parsing import CommandParser  # options anywhere, the command's usage

    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    sub.required = True
    shared = _shared_options()
    _add_commands(sub, shared.common, shared.model, shared.looping)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub, shared)
    return parser


class SharedOptions(NamedTuple):
    """Parent parsers that commands share (``parents=[shared.common, ...]``)."""

    common: argparse.ArgumentParser
    model: argparse.ArgumentParser
    looping: argparse.ArgumentParser


def _shared_options() -> SharedOptions:
    """The option groups several commands share: common, model, looping."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", help="offline or provider:model (env AGENTLOOP_MODEL)")
    model.add_argument("--base-url", help="server base URL (env AGENTLOOP_BASE_URL)")
    looping = argparse.ArgumentParser(add_help=False)
    looping.add_argument("--max-steps", type=positive_int, help="model calls allowed per run")
    looping.add_argument(
        "--max-cost",
        type=money,
        metavar="AMOUNT",
        help='money allowed per run, e.g. 0.50 (the model needs a [prices."provider:model"] '
        "entry in agentloop.toml; env AGENTLOOP_MAX_COST)",
    )
    looping.add_argument("--tool-choice", help="auto, required, none, or a tool name")
    looping.add_argument("--no-stream", action="store_true", help="do not stream model replies")
    looping.add_argument(
        "-v", "--verbose", action="store_true", help="tool results, timings, usage"
    )
    looping.add_argument(
        "--trace", metavar="FILE", help="write the run's trace (versioned JSONL, agentloop view)"
    )
    return SharedOptions(common, model, looping)


_TARGET_HELP = (
    "file.py, file.py:name or module:name (optional: a lone argument that is no file or "
    "module is the PROMPT, for a default agent)"
)


def _add_commands(
    sub: Any,
    common: argparse.ArgumentParser,
    model: argparse.ArgumentParser,
    looping: argparse.ArgumentParser,
) -> None:
    """Add the run and chat commands, then the others."""
    from agentloop.cli.agents import add_agent_options  # -T, --tool-option, --block, -s
    from agentloop.cli.model_options import add_request_options  # -o KEY VALUE, -a PATH|URL

    run = sub.add_parser(
        "run",
        parents=[common, model, looping],
        help="run an agent once",
        description="Run an agent once. The answer streams to stdout; each tool call is one "
        "line on stderr.",
        epilog=_MODEL_CHOICE,
    )
    run.add_argument("target", metavar="TARGET", nargs="?", help=_TARGET_HELP)
    run.add_argument("prompt", metavar="PROMPT", nargs="?", help="the prompt (default: stdin)")
    run.add_argument("--json", action="store_true", help="print the RunResult as JSON")
    add_agent_options(run)
    add_request_options(run)
    _add_approve_all(run)
    from agentloop.cli.observers import add_run_options  # --record/--replay (stdlib only)

    add_run_options(run)
    run.set_defaults(handler="run")

    chat = sub.add_parser(
        "chat",
        parents=[common, model, looping],
        help="talk with an agent",
        description="A conversation with history. Ctrl-C stops a reply; Ctrl-D or /exit quits.",
        epilog=_MODEL_CHOICE,
    )
    chat.add_argument("target", metavar="TARGET", nargs="?", help=_TARGET_HELP)
    add_agent_options(chat)
    add_request_options(chat)
    _add_approve_all(chat)
    chat.set_defaults(handler="chat")
    _add_info_commands(sub, common, model)


def _add_approve_all(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--approve-all",
        action="store_true",
        help="run every tool call that requires approval without asking (careful: shell, files)",
    )


def _add_info_commands(
    sub: Any, common: argparse.ArgumentParser, model: argparse.ArgumentParser
) -> None:
    """Add the tools, plugins and serve commands."""
    from agentloop.cli.agents import add_agent_options

    tools = sub.add_parser(
        "tools",
        parents=[common],
        help="list the tools plugins offer, or show what one agent sends",
        description="Without TARGET or -T: every tool and toolset the installed plugins offer. "
        "With TARGET and/or -T NAME: the tool definitions that agent sends (JSON).",
    )
    tools.add_argument("target", metavar="TARGET", nargs="?", help=_TARGET_HELP)
    tools.add_argument("--model", help="show the definitions as sent to this model's provider")
    tools.add_argument("--json", action="store_true", help="the listing as JSON, exact definitions")
    add_agent_options(tools, system=False)
    tools.set_defaults(handler="agentloop.cli.catalog:tools_command")

    plugins = sub.add_parser(
        "plugins",
        parents=[common],
        help="list installed plugins (exit 1 when one is broken)",
        description="Each installed plugin's distribution, version, hooks and the tools it "
        "offers; a plugin that cannot load or is invalid is marked broken (exit code 1).",
    )
    plugins.add_argument("--json", action="store_true", help="print the list as JSON")
    plugins.set_defaults(handler="agentloop.cli.catalog:plugins_command")

    serve = sub.add_parser("serve", parents=[common, model], help="serve a model over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8000, help="port (default 8000; 0 = any)")
    serve.add_argument("--api-key", help="require this bearer key from clients")
    serve.add_argument("--model-name", help="the model id clients use (default: the model's name)")
    serve.add_argument(
        "--any-model",
        action="store_true",
        help="answer requests whatever model they name (default: 404 model_not_found)",
    )
    serve.set_defaults(handler="serve")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        0 success, 1 failure, 2 usage error, 130 interrupted.
    """
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    one_line_warnings()
    previous = _handle_sigterm()
    try:
        args = build_parser().parse_args(argv)
        return _dispatch(args)
    except KeyboardInterrupt:
        _print_error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        from agentloop.cli.output import to_devnull

        to_devnull(sys.stdout)
        return EXIT_OK
    except Exception as exc:
        if debug:
            traceback.print_exc()
        return _report(exc, debug=debug)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _handle_sigterm() -> Any:
    """Treat SIGTERM like Ctrl-C (trace flushed, exit 130); return the previous handler."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except (ValueError, OSError):
        return None


def _dispatch(args: argparse.Namespace) -> int:
    if ":" in args.handler:  # "module:function", set by a COMMAND_MODULES parser
        module, _, function = args.handler.partition(":")
        result: int = getattr(importlib.import_module(module), function)(args)
        return result
    if args.handler in ("run", "chat"):
        from agentloop.cli import run as _cli_run

        if args.handler == "run":
            return _cli_run.run_command(args)
        return _cli_run.chat_command(args)
    from agentloop.cli import serve as _cli_serve

    handler = {
        "serve": _cli_serve.serve_command,
    }[args.handler]
    return handler(args)


def _report(exc: Exception, *, debug: bool) -> int:
    """Print one line for an error and return its exit code."""
    from agentloop.cli.target import TargetImportError
    from agentloop.errors import AgentloopError, ConfigurationError
    from agentloop.secrets import redact

    message = redact(str(exc) or type(exc).__name__)  # every key the process knows
    if isinstance(exc, TargetImportError):
        _print_error(message + _debug_hint(exc, debug))
        return EXIT_FAILED
    if isinstance(exc, ConfigurationError):
        _print_error(message)
        return EXIT_USAGE
    if isinstance(exc, AgentloopError):
        _print_error(f"{message}{_hint(exc)}")
        return EXIT_FAILED
    _print_error(f"internal error: {type(exc).__name__}: {message}" + _debug_hint(exc, debug))
    return EXIT_FAILED


def _hint(exc: Exception) -> str:
    """A "how to fix it" suffix for the common run failures.

    A model that knows more (the key variables its provider reads) adds it to the
    exception as a note, which wins over the generic hint.
    """
    from agentloop import errors

    notes = [n for n in getattr(exc, "__notes__", ()) if isinstance(n, str)]
    if isinstance(exc, errors.AuthenticationError) and notes:
        return f" ({notes[-1]})"
    hints: list[tuple[type[Exception], str]] = [
        (errors.AuthenticationError, "check the API key: the provider's variable (e.g. OPENAI_API_KEY, GEMINI_API_KEY, KKIAI_API_KEY) or AGENTLOOP_API_KEY"),
        (errors.NotFoundError, "check the model name and --base-url"),
        (errors.APITimeoutError, "the server is slow or unreachable; check --base-url"),
        (errors.APIConnectionError, "is the server running? check --base-url or AGENTLOOP_BASE_URL"),
        (errors.RateLimitError, "rate limited or out of quota; wait and retry"),
        (errors.MaxStepsExceeded, "raise --max-steps, or simplify the task"),
        (errors.CostBudgetExceeded, "raise --max-cost, or use a cheaper model"),
        (errors.PluginError, "fix or uninstall the plugin; AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD=1 skips installed plugins"),
    ]  # fmt: skip
    for kind, hint in hints:
        if isinstance(exc, kind):
            if kind is errors.PluginError and type(exc) is not errors.PluginError:
                return ""  # a plugin's own error (an MCP server's) already names the fix
            return f" ({hint})"
    return ""


def _debug_hint(exc: Exception, debug: bool) -> str:
    return "" if debug else " (run with --debug for the traceback)"


def _print_error(message: str) -> None:
    line = "agentloop: interrupted" if message == "interrupted" else f"agentloop: error: {message}"
    print_line(line)
