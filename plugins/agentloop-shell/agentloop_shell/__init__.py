"""agentloop-shell: an opt-in ``run_command`` tool, approved call by call.

Installing the distribution registers this module under the entry point
``shell``, but the module offers **nothing**. The tool exists only when you
pass an enabled plugin instance::

    from agentloop import Agent
    from agentloop_shell import ShellPlugin

    agent = Agent(model=..., plugins=[ShellPlugin(enabled=True)], approver=ask_user)

``run_command`` is made with ``@tool(requires_approval=True)``: every call is
put to the ``agentloop_approve_tool_call`` hook (``Agent(approver=...)``, the
CLI's terminal prompt, or your own plugin), and with nobody answering it is
denied. This is not a sandbox: an approved command runs with your user's
rights, in ``cwd``. What the plugin does guarantee:

- no shell: the command is split with :func:`shlex.split` and run with
  ``shell=False``, so pipes, redirections, ``$VAR`` and ``;`` are plain
  arguments (run ``sh -c '...'`` explicitly if you mean it; you approve it);
- a cleared environment with only allow-listed variables (:data:`ENV_ALLOWLIST`),
  so API keys and ``AGENTLOOP_*`` settings never reach the command;
- a time limit: on timeout the whole process group is killed, and any
  process left in the group when the command ends is killed too;
- an output cap: stdout and stderr (merged) are kept up to ``max_output``
  bytes, the rest is counted and dropped.

POSIX only (it relies on process groups).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

from agentloop import ConfigurationError, Tool, ToolError, hookimpl, tool

from ._offers import agentloop_register_tools as agentloop_register_tools

__all__ = ["ENV_ALLOWLIST", "ShellPlugin", "clean_environment"]

ENV_ALLOWLIST: tuple[str, ...] = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE",
    "LC_MESSAGES", "TERM", "TZ", "TMPDIR",
)  # fmt: skip
"""The only environment variables a command sees (when they are set)."""

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_READ_SIZE = 65536
_DRAIN_SECONDS = 1.0


def clean_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Return the environment a command runs with: only :data:`ENV_ALLOWLIST` variables.

    Args:
        environ: The environment to filter; defaults to ``os.environ``.

    Returns:
        A new dict; ``PATH`` is always set.
    """
    source = os.environ if environ is None else environ
    env = {name: source[name] for name in ENV_ALLOWLIST if name in source}
    env.setdefault("PATH", DEFAULT_PATH)
    return env


class ShellPlugin:
    """Offers the ``run_command`` tool when ``enabled=True``; nothing otherwise.

    Args:
        enabled: Offer the tool. Off by default so that adding the plugin by
            mistake gives no shell access.
        timeout: Seconds a command may run before its process group is killed.
        max_output: Bytes of combined stdout/stderr kept; the rest is dropped and
            the result says how much.
        cwd: Working directory of commands; None means the current directory at
            call time.

    Raises:
        ConfigurationError: A limit is out of range or ``cwd`` is not a directory.
    """

    def __init__(
        self,
        *,
        enabled: bool = False,
        timeout: float = 10.0,
        max_output: int = 20_000,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        if not timeout > 0:
            raise ConfigurationError(f"timeout must be positive, got {timeout}")
        if max_output < 1:
            raise ConfigurationError(f"max_output must be at least 1, got {max_output}")
        if cwd is not None and not Path(cwd).is_dir():
            raise ConfigurationError(f"cwd {str(cwd)!r} is not a directory")
        if os.name != "posix":
            raise ConfigurationError("agentloop-shell needs a POSIX system (process groups)")
        self.enabled = enabled
        self.timeout = float(timeout)
        self.max_output = max_output
        self.cwd = None if cwd is None else str(cwd)
        self.run_command: Tool = self._make_tool()

    def __repr__(self) -> str:
        return (
            f"ShellPlugin(enabled={self.enabled}, timeout={self.timeout:g}, "
            f"max_output={self.max_output}, cwd={self.cwd!r})"
        )

    @hookimpl
    def agentloop_tools(self) -> list[Tool]:
        """Offer ``run_command`` when enabled."""
        return [self.run_command] if self.enabled else []

    def run(self, command: str) -> str:
        """Run ``command`` (no approval asked here: the agent loop does that) and describe it.

        Args:
            command: A command line, split with :func:`shlex.split`.

        Returns:
            The exit status and the (capped) combined output.

        Raises:
            ToolError: The command is empty, malformed or not found, or it timed out
                (the message then includes the output so far).
        """
        argv = _split(command)
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=clean_environment(),
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise ToolError(f"command not found: {argv[0]!r}") from exc
        except OSError as exc:
            raise ToolError(f"could not start {argv[0]!r}: {exc.strerror or exc}") from exc
        reader = _OutputReader(process, self.max_output)
        timed_out = _wait(process, self.timeout)
        _kill_group(process.pid)
        output = reader.finish()
        if timed_out:
            raise ToolError(
                f"timed out after {self.timeout:g} s; the command's process group was "
                f"killed. Output so far:\n{output}"
            )
        return f"exit code {process.returncode}\n{output}"

    def _make_tool(self) -> Tool:
        @tool(requires_approval=True, sequential=True)
        def run_command(command: str) -> str:
            """Run one program on the user's machine and return its exit code and output.

            Every call must be approved by the user first. The command line is
            split like a POSIX shell would split words, but it is NOT run by a
            shell: pipes (|), redirections (>), variables ($X), globs (*) and
            chaining (; &&) are passed as literal arguments. The environment is
            minimal (PATH, HOME, LANG...; no API keys). Standard output and
            standard error are combined; long output is truncated, and commands
            that run too long are killed.

            Args:
                command: The program and its arguments, e.g. "ls -la src" or
                    "git status --short". Quote arguments containing spaces.

            Returns:
                "exit code N" on the first line, then the command's output.
            """
            return self.run(command)

        return run_command


def _split(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ToolError(f"cannot parse the command line: {exc}") from exc
    if not argv:
        raise ToolError("empty command")
    if any("\x00" in arg for arg in argv):
        raise ToolError("NUL byte in the command line")
    return argv


def _wait(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for the process to exit without reaping it; return True when it ran out of time.

    Not reaping keeps its pid (the process group id) from being reused before
    :func:`_kill_group` runs.
    """
    deadline = time.monotonic() + timeout
    delay = 0.001
    while os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return True
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)
    return False


def _kill_group(pgid: int) -> None:
    """Kill every process still in the command's process group (its leader is ``pgid``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class _OutputReader:
    """Reads a process's output on a thread, keeping at most ``limit`` bytes."""

    def __init__(self, process: subprocess.Popen[bytes], limit: int) -> None:
        assert process.stdout is not None
        self._process = process
        self._stream = process.stdout
        self._limit = limit
        self._kept = bytearray()
        self._dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._read, name="agentloop-shell-output", daemon=True
        )
        self._thread.start()

    def _read(self) -> None:
        # select with a short tick so the thread can stop even if an escaped
        # process (a new session) still holds the write end of the pipe
        with selectors.DefaultSelector() as selector:
            selector.register(self._stream, selectors.EVENT_READ)
            while not self._stop.is_set():
                if not selector.select(timeout=0.05):
                    continue
                data = os.read(self._stream.fileno(), _READ_SIZE)
                if not data:
                    return
                room = self._limit - len(self._kept)
                self._kept += data[:room]
                self._dropped += max(0, len(data) - room)

    def finish(self) -> str:
        """Collect what is left (briefly), close the pipe and return the decoded, capped output."""
        self._thread.join(timeout=_DRAIN_SECONDS)
        self._stop.set()
        self._thread.join()
        self._stream.close()
        self._process.wait()
        text = self._kept.decode("utf-8", errors="replace")
        if self._dropped:
            text += f"\n[output truncated: {self._dropped} more bytes not shown]"
        return text if text else "(no output)"
