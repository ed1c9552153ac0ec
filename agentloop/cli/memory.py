"""What the run log and conversations add to ``agentloop run`` and ``agentloop chat``.

* every run and chat turn is recorded in the run log (:mod:`agentloop.logs`) unless
  ``--no-log``, ``agentloop logs off``, ``AGENTLOOP_LOG=0`` or ``log = false`` in the config;
* each CLI conversation is a session in the same file (:class:`~agentloop.SQLiteSession`), so
  ``run -c PROMPT`` continues the latest one, ``--cid ID`` a given one, and ``chat -c``
  resumes one, with the TARGET, model and limits stored with it unless given again;
* when only logging fails (a corrupt, locked or full file) the run goes on: one warning line,
  and the log marks the gap.

This module imports only the standard library at load time.
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path
from typing import Any

from agentloop.cli.argtypes import one_line_warnings, print_line

__all__ = ["Memory", "add_memory_options"]

_SETTINGS = ("model", "base_url", "max_steps", "tool_choice")
_AGENT_OPTIONS = ("tools", "tool_options", "system", "model_options")


def add_memory_options(sub: Any) -> None:
    """Add ``--no-log``, ``-c/--continue`` and ``--cid`` to ``run`` and ``chat``."""
    for command in ("run", "chat"):
        parser = sub.choices.get(command)
        if parser is None:
            continue
        group = parser.add_argument_group("conversation and run log")
        group.add_argument("--no-log", action="store_true", help="do not record this run")
        group.add_argument(
            "-c",
            "--continue",
            dest="continue_conversation",
            action="store_true",
            help="continue the latest conversation (same TARGET and settings unless given)",
        )
        group.add_argument("--cid", metavar="ID", help="continue the conversation with this id")
        for action in parser._actions:
            if action.dest == "target":
                action.nargs = "?"  # with -c/--cid the conversation knows its TARGET


class Memory:
    """The run log and the conversation of one CLI run or chat."""

    def __init__(self, args: argparse.Namespace, conversation_id: str, history: list[Any]):
        self.args = args
        self.conversation_id = conversation_id
        self.history = history
        self.continuing = bool(history) or bool(getattr(args, "cid", None))
        self.session: Any = None
        self.logged = False  # the run log records the runs (agentloop resume can continue them)
        self._closing: list[Any] = []

    @classmethod
    def prepare(cls, args: argparse.Namespace) -> Memory:
        """Before settings are read: with ``-c``/``--cid`` load the conversation and its settings.

        Raises:
            ConversationNotFoundError: ``-c`` with no previous conversation, or an unknown ``--cid``.
            ConfigurationError: Both ``-c`` and ``--cid``.
        """
        from agentloop.cli.store import shown, store_exists, store_target
        from agentloop.errors import ConfigurationError, ConversationNotFoundError
        from agentloop.sessions import latest_session, open_session

        latest, cid = getattr(args, "continue_conversation", False), getattr(args, "cid", None)
        if cid is not None and not cid.strip():
            raise ConfigurationError(
                "--cid needs a conversation id (agentloop logs -n 10 lists them; -c continues "
                "the latest)"
            )
        if latest and cid:
            raise ConfigurationError("give -c (the latest conversation) or --cid ID, not both")
        if not (latest or cid):
            return cls(args, uuid.uuid4().hex, [])
        _prompt_first(args)
        path = store_target()
        cid = cid or latest_session(path)
        store = open_session(path, cid) if store_exists(path) else None
        try:
            if store is None or not store.exists():
                raise ConversationNotFoundError(
                    f"there is no conversation {cid!r} in {shown(path)}; list them with: "
                    "agentloop logs -n 10"
                )
            stored = store.metadata.get("cli", {})
            history = store.get_messages()
        finally:
            if store is not None:
                store.close()
        if getattr(args, "target", None) is None:
            args.target = stored.get("target")
        for name in _SETTINGS:
            if getattr(args, name, None) is None and stored.get(name) is not None:
                setattr(args, name, stored[name])
        if stored.get("stream") is False:
            args.no_stream = True
        for name in _AGENT_OPTIONS:  # -T, --tool-option, -s of the conversation (cli.agents)
            if not getattr(args, name, None) and stored.get(name):
                setattr(args, name, stored[name])
        memory = cls(args, cid, history)
        memory.continuing = True
        return memory

    def attach(self, agent: Any, settings: Any) -> None:
        """Record the agent's runs in the log and give it the conversation's session."""
        from agentloop.cli.store import store_target
        from agentloop.errors import StorageError
        from agentloop.logs.paths import logging_enabled
        from agentloop.sessions import InMemorySession, open_session

        one_line_warnings()
        self.session = InMemorySession(self.conversation_id, self.history)
        if self.args.no_log or not logging_enabled() or getattr(settings, "log", None) is False:
            return
        from agentloop.logs import RunLog

        path, secrets = store_target(), [getattr(settings, "api_key", None)]
        opened: list[Any] = []
        try:
            # both files open and written once before the recorder is registered: a failure
            # (a newer schema, a lock held past the busy timeout) then really means "not logged"
            log = RunLog(path)
            opened.append(log)
            session = open_session(path, self.conversation_id, secrets=secrets)
            opened.append(session)
            session.set_metadata({"cli": self._settings(settings)})
        except StorageError as exc:
            for item in opened:
                item.close()
            _warn(f"{exc}; this run is not logged (--no-log runs without the log)")
            return
        self._closing += opened
        recorder = log.recorder(conversation_id=self.conversation_id, secrets=secrets)
        agent.plugin_manager.register(recorder, "agentloop-cli-log")
        from agentloop.durable import Ledger  # the tool-effect ledger: runs can be resumed

        agent.plugin_manager.register(Ledger(log), "agentloop-cli-ledger")
        self.logged = True
        self.session = session

    def close(self) -> None:
        """Close the log and session files."""
        for item in self._closing:
            item.close()
        self._closing.clear()

    def _settings(self, settings: Any) -> dict[str, Any]:
        stored: dict[str, Any] = {"target": _absolute(self.args.target)}
        for name in _SETTINGS:
            stored[name] = getattr(settings, name, None)
        stored["stream"] = getattr(settings, "stream", None)
        for name in _AGENT_OPTIONS:
            stored[name] = getattr(self.args, name, None)
        return stored


def _prompt_first(args: argparse.Namespace) -> None:
    """``run -c "and times 2?"``: one positional is the PROMPT unless it names a target file."""
    if not hasattr(args, "prompt") or args.prompt is not None or args.target is None:
        return
    target = str(args.target)
    if not (target.endswith(".py") or ":" in target or Path(target).exists()):
        args.prompt, args.target = target, None


def _absolute(target: Any) -> Any:
    """A TARGET file as an absolute path (so ``-c`` works from another folder)."""
    if not target:
        return target
    path, sep, name = str(target).partition(":")
    if path.endswith(".py") and Path(path).is_file():
        return str(Path(path).resolve()) + sep + name
    return target


def _warn(message: str) -> None:
    print_line(f"agentloop: warning: {message}")
