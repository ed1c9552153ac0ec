"""``agentloop chat`` in a real pseudo-terminal: line editing, history, slash commands, colour.

Each test forks the real command on a pty (``pty.fork``), types at it as a
person would (arrow keys are their escape sequences) and reads what the
terminal shows.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import sys
import time
from pathlib import Path

import pytest
from cli_support import cli_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

SGR = re.compile(r"\x1b\[[0-9;]*m")  # colour codes (not readline's cursor movements)
UP, CTRL_A = b"\x1b[A", b"\x01"

APPROVAL_AGENT = '''
from agentloop import Agent, tool


@tool(requires_approval=True)
def delete_file(path: str) -> str:
    """Delete a file.

    Args:
        path: The file to delete.
    """
    return f"deleted {path}"


agent = Agent(tools=[delete_file])
'''


class Terminal:
    """The chat on a pty: ``type`` keys, ``expect`` output."""

    def __init__(self, args: list[str], home: Path, cwd: Path | None = None, **env: str) -> None:
        import pty

        full_env = cli_env(
            AGENTLOOP_HOME=str(home), AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD="0", TERM="xterm", **env
        )
        if "NO_COLOR" not in env:
            full_env.pop("NO_COLOR", None)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            if cwd is not None:
                os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "agentloop", *args], full_env)
        self.seen = ""
        self.pos = 0

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def expect(self, needle: str, timeout: float = 30) -> str:
        """Read until ``needle`` shows after the last match; return the text up to its end."""
        deadline = time.monotonic() + timeout
        while True:
            plain = SGR.sub("", self.seen[self.pos :])
            if needle in plain:
                # advance past the needle in the raw text (colour codes may sit inside it)
                raw = self.seen[self.pos :]
                end = next(i for i in range(len(raw) + 1) if needle in SGR.sub("", raw[:i]))
                self.pos += end
                return raw[:end]
            assert time.monotonic() < deadline, f"never saw {needle!r} in {self.seen[self.pos :]!r}"
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.seen += os.read(self.fd, 4096).decode("utf-8", "replace")
                except OSError:
                    break
        raise AssertionError(f"the chat ended before {needle!r}:\n{self.seen[self.pos :]}")

    def close(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                with contextlib.suppress(OSError):
                    self.seen += os.read(self.fd, 4096).decode("utf-8", "replace")
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        raise AssertionError(f"the chat did not exit:\n{self.seen}")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_line_editing_history_slash_commands_and_colour(home: Path, tmp_path: Path) -> None:
    term = Terminal(["chat", "-T", "calculate", "--no-log"], home)
    try:
        banner = term.expect("you> ")
        assert "\x1b[1;32m" in banner  # the prompt is coloured on a terminal
        term.type(b"What is 2+3?\r")
        shown = term.expect("= 5")
        assert "\x1b[36m→ calculate(expression='2+3') = 5" in shown  # a tool call, in cyan
        term.expect("you> ")
        term.type(UP + b"\r")  # Up recalls the last entry: readline, not "^[[A"
        shown = term.expect("= 5")
        assert "^[[A" not in shown
        term.expect("you> ")
        term.type(b"hat is 4*4?" + CTRL_A + b"W\r")  # Ctrl-A: start of the line
        term.expect("calculate(expression='4*4') = 16")
        term.expect("you> ")
        term.type(b"What is \\\r")  # a line ending in \ continues
        term.expect("...> ")
        term.type(b"6*7?\r")
        term.expect("= 42")
        term.expect("you> ")
        term.type(b"/help\r")
        help_text = term.expect("/exit")
        for command in ("/tools", "/model", "/system", "/reset", "/save"):
            assert command in help_text
        term.type(b"/tools\r")
        term.expect("calculate: Evaluate an arithmetic expression")
        term.type(b"/model\r")
        term.expect("model: offline")
        term.type(b"/system Answer briefly.\r")
        term.expect("system: set for the next turns")
        saved = tmp_path / "chat.json"
        term.type(f"/save {saved}\r".encode())
        term.expect("saved ")
        term.type(b"/bogus\r")
        assert "\x1b[1;31m" in term.expect("unknown command /bogus")  # errors in red
        term.type(b"/reset\r")
        term.expect("conversation reset")
        term.type(b"/exit\r")
        assert term.close() == 0
    except BaseException:
        if term.pid:
            os.kill(term.pid, signal.SIGKILL)
        raise
    messages = json.loads(saved.read_text())
    assert messages[0] == {"role": "system", "content": "Answer briefly."}
    assert [m["content"] for m in messages if m["role"] == "user"][-1] == "What is \n6*7?"
    history = (home / "chat_history").read_text()
    assert "What is 4*4?" in history and "/exit" in history


def test_history_is_kept_across_chats(home: Path) -> None:
    first = Terminal(["chat", "-T", "calculate", "--no-log"], home)
    first.expect("you> ")
    first.type(b"What is 10-3?\r")
    first.expect("= 7")
    first.expect("you> ")  # Ctrl-D must reach readline, not the tty's line discipline
    first.type(b"\x04")  # Ctrl-D quits
    assert first.close() == 0
    second = Terminal(["chat", "-T", "calculate", "--no-log"], home)
    second.expect("you> ")
    second.type(UP + b"\r")
    second.expect("calculate(expression='10-3') = 7")
    second.type(b"/quit\r")
    assert second.close() == 0


def test_no_color_turns_the_colours_off(home: Path) -> None:
    term = Terminal(["chat", "-T", "calculate", "--no-log"], home, NO_COLOR="1")
    term.expect("you> ")
    term.type(b"What is 2+3?\r")
    term.expect("= 5")
    term.type(b"/bogus\r")
    term.expect("unknown command")
    term.type(b"/exit\r")
    assert term.close() == 0
    assert not SGR.search(term.seen), repr(term.seen)
    assert "→ calculate(expression='2+3') = 5" in term.seen  # still readable


def test_approval_prompt_shows_the_exact_arguments(home: Path, tmp_path: Path) -> None:
    (tmp_path / "del_agent.py").write_text(APPROVAL_AGENT)
    term = Terminal(["chat", "del_agent.py", "--no-log"], home, cwd=tmp_path)
    term.expect("you> ")
    term.type(b'Delete the file "notes.txt"\r')
    term.expect("Allow delete_file(path='notes.txt')? [y/N]")
    term.type(b"y\r")
    term.expect("= deleted notes.txt")
    term.expect("you> ")
    term.type(b'Delete the file "other.txt"\r')
    term.expect("Allow delete_file(path='other.txt')? [y/N]")
    term.type(b"n\r")
    term.expect("! denied: the user did not approve this call")
    term.expect("you> ")
    term.type(b"/exit\r")
    assert term.close() == 0
