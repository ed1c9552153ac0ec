"""``agentloop chat``: line editing, history, multi-line input, slash commands, colour.

On a terminal the input line is edited with the standard library's
``readline`` (arrows, Ctrl-A/E, Ctrl-R search), and entries are kept in a
history file (``chat_history`` in the user config folder, see
:mod:`agentloop.providers.keys`; up to 1000 entries) so Up recalls earlier
sessions too. An entry spans several lines when a line ends with ``\\`` or
between two lines of ``\"\"\"``. Colours (prompt, tool calls, errors, status
line) are used only on a terminal and never with ``NO_COLOR``. Slash commands:

=====================  =================================================
``/help``              the commands
``/tools``             the tools the model is offered
``/model [NAME]``      show or switch the model (``provider:model``)
``/system [TEXT]``     show or set the instructions
``/reset``             forget the conversation so far
``/save FILE``         write the conversation's messages as JSON
``/exit``, ``/quit``   leave (Ctrl-D too)
=====================  =================================================
"""

from __future__ import annotations

import contextlib
import difflib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agentloop.cli.output import Style

__all__ = ["COMMANDS", "ChatInput", "run_chat"]

COMMANDS: dict[str, str] = {
    "/help": "show these commands",
    "/tools": "list the tools the model is offered",
    "/model": "/model [provider:model]: show or switch the model",
    "/system": "/system [TEXT]: show or set the instructions",
    "/reset": "forget the conversation so far",
    "/save": "/save FILE: write the conversation's messages as JSON",
    "/exit": "leave the chat (also /quit, Ctrl-D)",
}
HISTORY_FILE = "chat_history"
HISTORY_LENGTH = 1000
_BLOCK = '"""'


class ChatInput:
    """Reads the user's entries: one line, a ``\\``-continued line, or a ``\"\"\"`` block.

    Args:
        interactive: stdin is a terminal: prompt, use readline, keep history.
        style: Colours of the prompt.
        history: The history file (None: no history kept).
    """

    def __init__(self, interactive: bool, style: Style, history: Path | None) -> None:
        self.interactive = interactive
        self.style = style
        self.history = history if interactive else None
        self._readline: Any = None
        if interactive:
            self._readline = _load_readline(self.history)

    def entries(self) -> Iterator[str]:
        """Yield entries until EOF; Ctrl-C at the prompt starts a fresh one."""
        while True:
            try:
                entry = self._entry()
            except KeyboardInterrupt:
                if not self.interactive:
                    raise
                sys.stderr.write("\n")
                continue
            except EOFError:
                if self.interactive:
                    sys.stderr.write("\n")
                return
            yield entry

    def _entry(self) -> str:
        first = self._line("you> ")
        if first.strip() == _BLOCK:
            lines = []
            while (line := self._line("...> ")).strip() != _BLOCK:
                lines.append(line)
            return "\n".join(lines)
        lines = [first]
        while lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1]
            lines.append(self._line("...> "))
        return "\n".join(lines)

    def _line(self, prompt: str) -> str:
        if self.interactive:
            return input(self.style.prompt(prompt))
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def close(self) -> None:
        """Save the history file (best effort: a read-only home loses only the history)."""
        if self._readline is None or self.history is None:
            return
        with contextlib.suppress(OSError):
            self.history.parent.mkdir(parents=True, exist_ok=True)
            self._readline.write_history_file(str(self.history))


def _load_readline(history: Path | None) -> Any:
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input()
        return None
    readline.set_history_length(HISTORY_LENGTH)
    if history is not None and history.is_file():
        with contextlib.suppress(OSError):
            readline.read_history_file(str(history))
    return readline


def run_chat(session: Any) -> int:
    """The chat loop of a started CLI session (``agentloop.cli.run._Session``); exit code 0."""
    from agentloop.errors import AgentloopError
    from agentloop.providers.keys import config_dir

    interactive = sys.stdin.isatty()
    style = Style(sys.stderr)
    prompt_style = Style(sys.stdout)
    renderer = session.renderer(show_text=True, show_calls=True)
    reader = ChatInput(interactive, prompt_style, config_dir() / HISTORY_FILE)
    chat = _Chat(session, renderer, style)
    if interactive:
        sys.stderr.write(
            style.paint("agentloop chat: /help for commands; Ctrl-C stops a reply, "
                        "Ctrl-D or /exit quits.", "notice") + "\n"
        )  # fmt: skip
    try:
        for entry in reader.entries():
            if not entry.strip():
                continue
            if entry.lstrip().startswith("/") and "\n" not in entry.strip():
                if chat.command(entry.strip()) == "exit":
                    break
                continue
            try:
                chat.turn(entry)
            except KeyboardInterrupt:
                renderer.finish_text()
                renderer.note("[interrupted]", "notice")
            except AgentloopError as exc:  # the failed turn is dropped; the chat goes on
                renderer.finish_text()
                renderer.note(f"agentloop: error: {exc}", "error")
    finally:
        reader.close()
        session.close()
    return 0


class _Chat:
    """One conversation: its turns and the slash commands that act on it."""

    def __init__(self, session: Any, renderer: Any, style: Style) -> None:
        self.session = session
        self.renderer = renderer
        self.style = style
        self.history: list[dict[str, Any]] | None = None  # used when there is no session store
        self.handlers: dict[str, Callable[[str], str | None]] = {
            "/help": self._help,
            "/tools": self._tools,
            "/model": self._model,
            "/system": self._system,
            "/reset": self._reset,
            "/save": self._save,
            "/exit": lambda _: "exit",
            "/quit": lambda _: "exit",
        }

    def turn(self, prompt: str) -> None:
        result = self.session.run_turn(prompt, self.history, self.renderer)
        self.renderer.finish_text()
        self.history = [dict(m) for m in result.messages]

    def command(self, line: str) -> str | None:
        name, _, rest = line.partition(" ")
        handler = self.handlers.get(name.lower())
        if handler is None:
            close = difflib.get_close_matches(name.lower(), list(self.handlers), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            self._say(f"unknown command {name}; {hint}/help lists the commands", "error")
            return None
        try:
            return handler(rest.strip())
        except Exception as exc:  # a failed command never ends the chat
            self._say(f"agentloop: error: {name}: {exc}", "error")
            return None

    def _say(self, text: str, kind: str = "") -> None:
        self.renderer.note(text, kind)

    def _help(self, _: str) -> None:
        for name, text in COMMANDS.items():
            self._say(f"  {name:<8} {text}")
        self._say('  end a line with \\ to continue it; """ on its own line starts/ends a block')

    def _tools(self, _: str) -> None:
        from agentloop.plugins.manager import collect_tools

        tools = collect_tools(self.session.agent)
        if not tools:
            self._say("no tools (add some with -T NAME; agentloop tools lists them)")
        for name, tool in tools.items():
            first = (tool.description or "").strip().splitlines()
            self._say(f"  {name}: {first[0] if first else '-'}", "tool")

    def _model(self, name: str) -> None:
        agent = self.session.agent
        if not name:
            model = getattr(agent.model, "name", type(agent.model).__name__)
            self._say(f"model: {model}")
            return
        from agentloop.providers.registry import resolve_model

        settings = self.session.settings
        agent.model = resolve_model(
            name, base_url=settings.base_url, timeout=settings.timeout,
            max_retries=settings.max_retries,
        )  # fmt: skip
        self._say(f"model: {name}", "notice")

    def _system(self, text: str) -> None:
        agent = self.session.agent
        if not text:
            self._say(f"system: {agent.instructions or '(none)'}")
            return
        agent.instructions = text
        for messages in self._stores():
            if messages and messages[0].get("role") == "system":
                messages[0] = {"role": "system", "content": text}
            elif messages:
                messages.insert(0, {"role": "system", "content": text})
        self._say("system: set for the next turns", "notice")

    def _stores(self) -> Iterator[list[dict[str, Any]]]:
        """The conversation's messages, wherever they live; changes are written back."""
        store = getattr(self.session.memory, "session", None)
        if store is not None:
            messages = store.get_messages()
            yield messages
            store.clear()
            store.add_messages(messages)
        if self.history is not None:
            yield self.history

    def _reset(self, _: str) -> None:
        store = getattr(self.session.memory, "session", None)
        if store is not None:
            store.clear()
        self.history = None
        self._say("conversation reset", "notice")

    def _save(self, path: str) -> None:
        if not path:
            self._say("usage: /save FILE", "error")
            return
        store = getattr(self.session.memory, "session", None)
        messages = store.get_messages() if store is not None else (self.history or [])
        Path(path).expanduser().write_text(
            json.dumps(messages, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        self._say(f"saved {len(messages)} messages to {path}", "notice")
