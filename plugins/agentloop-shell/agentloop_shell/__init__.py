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
- no process left behind: the command runs under a small wrapper
  (:mod:`agentloop_shell._reaper`) that is a child subreaper
  (``prctl(PR_SET_CHILD_SUBREAPER)``), so every process it starts, even in a new
  session or through a double fork, is killed and reaped when the command ends
  or times out;
- resource limits on the command and everything it starts, set with
  ``setrlimit`` before ``exec``: processes, memory, CPU seconds, file size
  (see :class:`ShellPlugin`), and no core dumps;
- an output cap: stdout and stderr (merged) are kept up to ``max_output``
  bytes, the rest is counted and dropped.

POSIX only; the subreaper needs Linux (elsewhere only the process group is killed).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

from agentloop import ConfigurationError, Tool, ToolError, hookimpl, tool

from ._offers import agentloop_register_tools as agentloop_register_tools

__all__ = ["DEFAULT_LIMITS", "ENV_ALLOWLIST", "ShellPlugin", "clean_environment"]

ENV_ALLOWLIST: tuple[str, ...] = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE",
    "LC_MESSAGES", "TERM", "TZ", "TMPDIR",
)  # fmt: skip
"""The only environment variables a command sees (when they are set)."""

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
DEFAULT_LIMITS: dict[str, int] = {
    "max_processes": 256,
    "max_memory_bytes": 2 * 1024**3,
    "max_cpu_seconds": 60,
    "max_file_bytes": 1024**3,
}
"""Resource limits of a command unless configured (``None`` for a limit switches it off)."""

_READ_SIZE = 65536
_DRAIN_SECONDS = 1.0
_WRAPPER_GRACE = 10.0  # seconds past the timeout before the wrapper itself is killed
_REAPER = str(Path(__file__).with_name("_reaper.py"))
_SIGNALS = {
    signal.SIGXCPU: "the CPU time limit of {max_cpu_seconds} s",
    signal.SIGXFSZ: "the file size limit of {max_file_bytes} bytes",
    signal.SIGKILL: "SIGKILL",
}


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
        max_processes: Most processes (and threads) the command may add to those its
            user already runs (``RLIMIT_NPROC``). Linux does not apply it to root; under
            root it is the absolute limit of a command that switches to another user.
        max_memory_bytes: Data memory of each process (``RLIMIT_DATA``: heap and
            private mappings; reserved address space does not count).
        max_cpu_seconds: CPU seconds of each process (``RLIMIT_CPU``); past it the
            process gets SIGXCPU, a second later SIGKILL.
        max_file_bytes: Largest file a process may write (``RLIMIT_FSIZE``).

    Each limit defaults to :data:`DEFAULT_LIMITS`; ``None`` switches it off.

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
        max_processes: int | None = DEFAULT_LIMITS["max_processes"],
        max_memory_bytes: int | None = DEFAULT_LIMITS["max_memory_bytes"],
        max_cpu_seconds: int | None = DEFAULT_LIMITS["max_cpu_seconds"],
        max_file_bytes: int | None = DEFAULT_LIMITS["max_file_bytes"],
    ) -> None:
        limits = {
            "max_processes": max_processes,
            "max_memory_bytes": max_memory_bytes,
            "max_cpu_seconds": max_cpu_seconds,
            "max_file_bytes": max_file_bytes,
        }
        for name, value in limits.items():
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigurationError(f"{name} must be a positive integer or None, got {value}")
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
        self.limits: dict[str, int | None] = limits
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
        status_r, status_w = os.pipe()
        limits = ["-" if value is None else str(value) for value in self.limits.values()]
        wrapper = [sys.executable, "-I", "-S", _REAPER, str(status_w), repr(self.timeout)]
        try:
            process = subprocess.Popen(
                [*wrapper, *limits, "--", *argv],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=clean_environment(),
                start_new_session=True,
                pass_fds=(status_w,),
            )
        except OSError as exc:
            os.close(status_r)
            raise self._start_error(exc) from exc
        finally:
            os.close(status_w)
        with os.fdopen(status_r, "rb") as status_pipe:
            reader = _OutputReader(process, self.max_output)
            # the status line comes when the wrapper is done (and its descendants are gone);
            # a selector, not select.select(), which fails on descriptors above 1023
            with selectors.DefaultSelector() as selector:
                selector.register(status_pipe, selectors.EVENT_READ)
                ready = selector.select(self.timeout + _WRAPPER_GRACE)
            if not ready:  # the wrapper itself is stuck (not yet reaped, so its pid is still
                _kill_group(process.pid)  # its group's id): kill the whole group
            status = _status(status_pipe.read())
            if ready and not status:  # the wrapper died without a word (killed from outside):
                _kill_group(process.pid)  # its command may still run in its process group
            process.wait()
            output = reader.finish()
        if ready and not status:
            raise ToolError(
                f"the command wrapper of {argv[0]!r} (pid {process.pid}) died before reporting "
                f"(exit status {process.returncode}: killed from outside?); the processes left "
                f"in its process group were killed. Output so far:\n{output}"
            )
        return self._describe(argv, status, output)

    def _start_error(self, exc: OSError) -> ToolError:
        """The error for a wrapper that could not start, naming a bad working folder."""
        if self.cwd is not None and (exc.filename == self.cwd or not os.path.isdir(self.cwd)):
            return ToolError(
                f"the working folder {self.cwd!r} of run_command cannot be entered "
                f"({exc.strerror or exc}); it was removed, replaced or made unreadable since the "
                "plugin was configured: create it again or configure another cwd"
            )
        return ToolError(f"could not start the command wrapper: {exc.strerror or exc}")

    def _describe(self, argv: list[str], status: dict[str, object], output: str) -> str:
        """The result text for the wrapper's status, or the ToolError it calls for."""
        if status.get("error") == "not_found":
            raise ToolError(f"command not found: {argv[0]!r}")
        if status.get("error"):
            raise ToolError(f"could not start {argv[0]!r}: {status.get('message')}")
        if status.get("timed_out") or "returncode" not in status:
            raise ToolError(
                f"timed out after {self.timeout:g} s; the command and every process it "
                f"started were killed. Output so far:\n{output}"
            )
        code = status["returncode"]
        note = ""
        if isinstance(code, int) and code < 0 and -code in _SIGNALS:
            why = _SIGNALS[signal.Signals(-code)].format(**self.limits)
            note = f" (killed by {signal.Signals(-code).name}: {why})"
        leftover = status.get("leftover")
        if leftover:
            note += f"\n[{leftover} process(es) it left running were killed]"
        return f"exit code {code}{note}\n{output}"

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


def _status(raw: bytes) -> dict[str, object]:
    """The wrapper's JSON status line; empty when it died before writing one."""
    try:
        value = json.loads(raw.decode("utf-8") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _kill_group(pgid: int) -> None:
    """Kill every process in the wrapper's process group (its leader, not yet reaped, is ``pgid``)."""
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
