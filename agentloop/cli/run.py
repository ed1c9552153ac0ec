"""``agentloop run`` and ``agentloop chat``: settings, model choice, the event loop, Ctrl-C.

Model choice (documented in docs and ``--help``): ``--model`` always wins.
Otherwise an agent whose model is unset or ``"offline"`` follows the
configured model (``AGENTLOOP_MODEL`` or the config file), and an agent that
names a real model keeps it (with ``--base-url``/``AGENTLOOP_BASE_URL`` and
the provider's key variable applied). When nothing names a model the offline
model is used, and one line on stderr says so: with ``-v``, or once per terminal session
(:func:`agentloop.cli.defaults.notice_due`). ``agentloop models default MODEL`` sets the
model used when none of these names one.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentloop.cli.agents import build_agent, split_positionals
from agentloop.cli.argtypes import print_line
from agentloop.cli.defaults import load_default_model, notice_due
from agentloop.cli.mcp import add_plugins, collect_tools, mcp_servers
from agentloop.cli.model_options import parse_model_options
from agentloop.cli.observers import Observers
from agentloop.cli.output import Renderer, StatusLine, Style, approval_prompt, to_jsonable
from agentloop.config import Settings, load_settings
from agentloop.errors import ConfigurationError, RunError
from agentloop.hookspecs import hookimpl

__all__ = [
    "ApproveAll",
    "TerminalApprover",
    "chat_command",
    "choose_model",
    "configure_agent",
    "report_end",
    "resume_hint",
    "run_command",
    "start_session",
    "write_json",
]

NOT_A_TERMINAL = "stdin is not a terminal; pass --approve-all or use an approver"
OFFLINE_NOTICE = (
    "agentloop: no model configured (--model, AGENTLOOP_MODEL or agentloop.toml); "
    "using the offline model"
)


def run_command(args: argparse.Namespace) -> int:
    """``agentloop run [TARGET] [PROMPT]``: run once, stream the answer, return the exit code."""
    session = _Session.start(args)
    prompt = _read_prompt(args.prompt)
    renderer = session.renderer(show_text=not args.json, show_calls=not args.json)
    try:
        result = session.run_turn(prompt, None, renderer)
    except KeyboardInterrupt as exc:  # say how to continue it (agentloop resume)
        session.status.clear()
        resume_hint(getattr(exc, "agentloop_result", None), logged=session.logged)
        raise
    except RunError as exc:
        if args.json and exc.result is not None:
            failed = {
                **exc.result.to_dict(),
                "error": {"type": type(exc).__name__, "message": str(exc)},
            }
            _write_json(renderer, failed)
        raise
    finally:
        session.close()
    if args.json:
        _write_json(renderer, result)
    renderer.finish_text()
    if args.verbose:
        renderer.note(_summary(result))
    report_end(result, logged=session.logged)  # deferred approvals: how to decide
    return 0


def start_session(args: argparse.Namespace) -> Any:
    """The configured agent, output and log of ``agentloop run`` for ``args`` (resume uses it)."""
    return _Session.start(args)


def chat_command(args: argparse.Namespace) -> int:
    """``agentloop chat [TARGET]``: a conversation until EOF or ``/exit`` (see :mod:`.chat`)."""
    from agentloop.cli.chat import run_chat

    return run_chat(_Session.start(args))


class _Session:
    """What a run or chat needs: the agent configured from settings, output and trace."""

    def __init__(self, args: argparse.Namespace, settings: Settings, agent: Any) -> None:
        self.args = args
        self.settings = settings
        self.agent = agent
        self.style = Style(sys.stderr)  # colours on a terminal, never with NO_COLOR
        self.status = StatusLine(sys.stderr, style=self.style)
        self.observers = Observers(args)  # --trace, --record, --replay
        self.memory: Any = None  # cli.memory.Memory: --no-log, -c, --cid
        self.attachments: list[Any] = []  # -a PATH|URL: sent with the first turn
        self._ok = False
        self._renderer: Renderer | None = None

    @classmethod
    def start(cls, args: argparse.Namespace) -> _Session:
        from agentloop.cli.memory import Memory  # run log, -c/--cid (issue #12)
        from agentloop.config import read_tools

        split_positionals(args)  # a lone PROMPT: a default agent (cli.agents)
        memory = Memory.prepare(args)  # -c/--cid: TARGET and settings from the conversation
        options = parse_model_options(getattr(args, "model_options", None) or ())
        cli_args = {
            "model": args.model,
            "base_url": args.base_url,
            "max_steps": args.max_steps,
            "max_cost": args.max_cost,
            "tool_choice": args.tool_choice,
            "stream": False if args.no_stream else None,
        }
        settings = load_settings(cli_args, os.environ, Path.cwd())
        servers = mcp_servers(getattr(args, "mcp", None))
        agent = build_agent(args, config_tools=read_tools())
        model, notice = choose_model(getattr(agent, "model", None), settings)
        session = cls(args, settings, agent)
        replayed = session.observers.model_override(model, agent)  # --replay: recorded model
        if replayed is not model:
            model, notice = replayed, None
        if notice and notice_due(bool(getattr(args, "verbose", False))):
            sys.stderr.write(notice + "\n")
        approver = (
            ApproveAll() if getattr(args, "approve_all", False) else TerminalApprover(session)
        )
        session.agent = configure_agent(agent, model, settings, [approver])
        if options:  # -o KEY VALUE, over the agent's own settings
            session.agent.model_settings = {**session.agent.model_settings, **options}
        session.attachments = _attachments(getattr(args, "attachments", None) or ())
        session.check_attachments()  # a missing file or a string-only model: before any run
        add_plugins(session.agent, servers)
        collect_tools(session.agent)  # unknown -T names and bad options fail here (exit 2)
        session.observers.attach(session.agent)
        session.memory = memory
        memory.attach(session.agent, settings)  # the run log and the conversation's session
        return session

    def renderer(self, *, show_text: bool, show_calls: bool) -> Renderer:
        self._renderer = Renderer(
            sys.stdout,
            sys.stderr,
            self.status,
            show_text=show_text,
            show_calls=show_calls,
            verbose=self.args.verbose,
            style=self.style,
        )
        return self._renderer

    def check_attachments(self) -> None:
        """Check ``-a`` attachments against the model before anything runs (one-line errors)."""
        if self.attachments:
            from agentloop.attachments import with_attachments

            with_attachments("", self.attachments, self.agent.model)

    def run_turn(
        self, prompt: str, history: list[dict[str, Any]] | None, renderer: Renderer
    ) -> Any:
        """Run the agent once, rendering every event; return the RunResult."""
        renderer.show_status("waiting for model")
        self._ok = False
        result = self.render(self._events(prompt, history), renderer)
        self.attachments = []  # chat: they went with the first turn
        return result

    @property
    def logged(self) -> bool:
        """Whether this session's runs are recorded in the run log (so they can be resumed)."""
        return bool(getattr(self.memory, "logged", False))

    def render(self, events: Iterator[Any], renderer: Renderer) -> Any:
        """Render the events of a run driven elsewhere (a resume); return its RunResult."""
        result = None
        try:
            for event in events:
                renderer.handle(event)
                if type(event).__name__ == "RunFinished":
                    result = event.result
        finally:
            self.status.clear()
        if result is None:
            raise RunError("the run ended without a result")
        self._ok = True
        return result

    def _events(self, prompt: str, history: list[dict[str, Any]] | None) -> Iterator[Any]:
        attached = {"attachments": self.attachments} if self.attachments else {}
        if self.memory is not None:  # the conversation's session holds the history
            return iter(self.agent.stream(prompt, session=self.memory.session, **attached))
        return iter(self.agent.stream(prompt, history=history, **attached))

    def close(self) -> None:
        self.status.close()
        self.observers.finish(self._ok)
        if self.memory is not None:
            self.memory.close()
        close_agent = getattr(self.agent, "close", None)
        if callable(close_agent):
            close_agent()  # stops the agent's MCP servers and other plugin resources


class TerminalApprover:
    """Plugin: asks on the terminal whether a tool that requires approval may run.

    When stdin is not a terminal it does not answer, so the call is denied
    (the built-in approval plugin's default). Questions are asked one at a time.
    """

    def __init__(self, session: Any) -> None:
        self._session = session
        self._lock = threading.Lock()

    @hookimpl
    def agentloop_approve_tool_call(self, call: Any, tool: Any) -> bool | None:
        """Ask ``Allow tool(args)? [y/N]`` with the exact arguments; anything but y/yes denies."""
        if not sys.stdin.isatty():
            self._session.status.clear()
            print_line(f"agentloop: {call.name} denied: {NOT_A_TERMINAL}")
            return None
        with self._lock:
            self._session.status.clear()
            try:
                question = approval_prompt(call.name, call.arguments)
                sys.stderr.write(self._session.style.paint(question, "notice"))
                sys.stderr.flush()
                answer = sys.stdin.readline()
            except (OSError, ValueError):
                return False
        return answer.strip().lower() in ("y", "yes")


class ApproveAll:
    """Plugin of ``--approve-all``: every call of a tool that requires approval runs."""

    @hookimpl
    def agentloop_approve_tool_call(self, call: Any, tool: Any) -> bool:
        """Allow the call."""
        return True


def _attachments(texts: Any) -> list[Any]:
    """``-a`` values as :class:`~agentloop.Attachment` objects (checked when a turn starts)."""
    if not texts:
        return []
    from agentloop.attachments import Attachment

    return [Attachment.from_text(text) for text in texts]


def choose_model(agent_model: Any, settings: Settings) -> tuple[Any, str | None]:
    """Decide which model a CLI run uses (see the module docstring).

    Args:
        agent_model: The agent's own model (a Model object; a string is resolved).
        settings: The resolved settings.

    Returns:
        ``(model, notice)``: the model to set on the agent (None to keep the
        agent's), and the one-line notice to print, if any.
    """
    from agentloop.providers.registry import ChatModel, resolve_model

    options: dict[str, Any] = {
        "base_url": settings.base_url,
        "timeout": settings.timeout,
        "max_retries": settings.max_retries,
    }
    explicit = settings.sources.get("model") == "--model"
    default = agent_model is None or _is_offline(agent_model)
    configured, source = settings.model, settings.sources.get("model")
    if not configured and default:
        configured, source = load_default_model(), "agentloop models default"
    if configured and (explicit or default):
        try:
            return resolve_model(configured, api_key=settings.api_key, **options), None
        except ConfigurationError as exc:
            raise ConfigurationError(f"{exc} [model from {source}]") from exc
    if default:
        return resolve_model("offline"), OFFLINE_NOTICE
    if isinstance(agent_model, str):
        return resolve_model(agent_model, **options), None
    if isinstance(agent_model, ChatModel) and (settings.base_url or settings.timeout):
        # the agent names a provider model: apply --base-url / AGENTLOOP_BASE_URL and timeouts
        return resolve_model(agent_model.name, **options), None
    return None, None


def _is_offline(model: Any) -> bool:
    from agentloop.offline.model import OfflineModel

    if isinstance(model, str):
        return model.strip().lower() == "offline"
    return isinstance(model, OfflineModel)


def configure_agent(agent: Any, model: Any, settings: Settings, plugins: list[Any]) -> Any:
    """Apply the CLI's model, limits, streaming and plugins to the loaded agent.

    The agent object belongs to this process (it was just loaded from TARGET),
    so it is changed in place rather than rebuilt.
    """
    if model is not None:
        agent.model = model
    if settings.max_steps is not None:
        agent.max_steps = settings.max_steps
    if settings.max_cost is not None:
        agent.max_cost = settings.max_cost
    if agent.max_cost is not None:  # a budget needs a price: say so before anything runs
        _check_price(agent, settings)
    if settings.tool_choice is not None:
        choice = settings.tool_choice
        forced = choice in ("auto", "none", "required")
        agent.tool_choice = choice if forced else {"type": "function", "function": {"name": choice}}
    if settings.stream is not None:
        agent.stream_mode = settings.stream
    for plugin in plugins:
        agent.plugin_manager.register(plugin)
    return agent


def _check_price(agent: Any, settings: Settings) -> None:
    """Raise ``Agent(max_cost=...)``'s error when the (possibly new) model has no price."""
    from agentloop.pricing import CostBudget

    try:
        CostBudget.of(agent.max_cost, agent.price, agent.model)
    except ConfigurationError as exc:
        if "max_cost" not in settings.sources:
            raise
        raise ConfigurationError(f"{exc} [max_cost from {settings.sources['max_cost']}]") from exc


def _model_name(agent: Any) -> str:
    model = getattr(agent, "model", None)
    return str(getattr(model, "name", model))


def _read_prompt(prompt: str | None) -> str:
    if prompt is not None and prompt != "-":
        return prompt
    if sys.stdin.isatty() and prompt is None:
        raise ConfigurationError("no prompt: give PROMPT after TARGET, or pipe it on stdin")
    text = sys.stdin.read()
    if not text.strip():
        raise ConfigurationError("the prompt read from stdin is empty")
    return text.strip()


def _write_json(renderer: Renderer, value: Any) -> None:
    import json

    renderer.write_raw(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2) + "\n")


write_json = _write_json  # the RunResult as ``--json`` prints it (agentloop resume too)


def _summary(result: Any) -> str:
    usage = result.usage
    return (
        f"agentloop: {usage.requests} model call(s), {usage.prompt_tokens} prompt + "
        f"{usage.completion_tokens} completion tokens, stop: {result.stop_reason}"
    )


def report_end(result: Any, *, logged: bool) -> None:
    """After a run or resume: say how to continue one that waits for approval."""
    if result is None or getattr(result, "stop_reason", None) != "awaiting_approval":
        return
    for call in result.pending:
        print_line(f"agentloop: waiting for approval: {call.id} {call.name}({call.arguments})")
    if logged:
        print_line(
            f"agentloop: decide with: agentloop approve {result.run_id} [CALL_ID ...] "
            "[--deny REASON] [--edit ARGS_JSON]"
        )


def resume_hint(result: Any, *, logged: bool) -> None:
    """After Ctrl-C: the command that continues the run (or why there is none)."""
    run_id = getattr(result, "run_id", None)
    if not run_id:
        return
    if logged:
        print_line(f"agentloop: continue it with: agentloop resume {run_id}")
    else:
        print_line("agentloop: this run was not logged (--no-log), so it cannot be resumed")
