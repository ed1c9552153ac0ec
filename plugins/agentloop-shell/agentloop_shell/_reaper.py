"""The wrapper every command runs under: resource limits, a time limit, and no process left behind.

Run as ``python -I -S _reaper.py STATUS_FD TIMEOUT NPROC DATA CPU FSIZE -- ARGV...``
(a limit is ``-`` when off). It uses only built-in modules (no ``subprocess``, ``json``
or ``re``, whose imports would cost more than the rest of its work) and imports
nothing of the caller's. It

1. makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``, Linux): every
   process the command starts, even one that leaves with ``setsid`` or a double
   fork, is re-parented to the wrapper when its parent exits, instead of to init;
2. starts the command with ``resource.setrlimit`` applied in the child before
   ``exec`` (processes, memory, CPU time, file size, no core dumps);
3. waits for it until the time limit;
4. kills every descendant still alive (found through ``/proc``) and reaps them,
   until the wrapper has no child at all;
5. writes one JSON status line to the status descriptor:
   ``{"returncode", "timed_out", "leftover", "subreaper"}`` or ``{"error", "message"}``.

The command inherits stdin, stdout and stderr from the wrapper, so its output goes
straight to the caller's pipe; the wrapper writes nothing there.
"""

from __future__ import annotations

import ctypes
import os
import resource
import select
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
KILL_ROUNDS_SECONDS = 5.0

_RLIMITS = (resource.RLIMIT_NPROC, resource.RLIMIT_DATA, resource.RLIMIT_CPU, resource.RLIMIT_FSIZE)
"""The limits given on the command line, in order."""


def main(argv: list[str]) -> int:
    """Run the command described by ``argv`` (see the module docstring); always exits 0."""
    status_fd, timeout, *given = argv[1:7]
    command = argv[argv.index("--") + 1 :]
    os.set_inheritable(int(status_fd), False)
    subreaper = _become_subreaper()
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_w, False)
    signal.set_wakeup_fd(wakeup_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    limits = _limits([None if value == "-" else int(value) for value in given])
    pid, error = _spawn(command, limits)
    if error is not None:
        return _report(int(status_fd), error)
    returncode = _wait(pid, time.monotonic() + float(timeout), wakeup_r)
    leftover = _kill_descendants()
    code = "null" if returncode is None else str(returncode)
    return _report(
        int(status_fd),
        f'{{"returncode": {code}, "timed_out": {str(returncode is None).lower()}, '
        f'"leftover": {leftover}, "subreaper": {str(subreaper).lower()}}}',
    )


def _spawn(command: list[str], limits: list[tuple[int, int, int]]) -> tuple[int, str | None]:
    """Fork and exec ``command`` with the limits; ``(pid, None)`` or ``(0, error JSON)``."""
    errors_r, errors_w = os.pipe()  # close-on-exec: EOF means exec succeeded
    pid = os.fork()
    if pid == 0:  # the child: only async-signal-safe-ish work until exec
        try:
            os.close(errors_r)
            # Python ignores SIGPIPE and SIGXFSZ; a command gets the defaults (as subprocess
            # gives them), so `yes | head` ends and a file past the size limit stops it
            for number in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(number, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            _apply(limits)
            os.execvp(command[0], command)
        except OSError as exc:
            os.write(errors_w, str(exc.errno).encode())
        finally:
            os._exit(127)
    os.close(errors_w)
    with os.fdopen(errors_r, "rb") as errors:
        failed = errors.read()
    if not failed:
        return pid, None
    os.waitpid(pid, 0)
    number = int(failed)
    if number == 2:  # ENOENT
        return 0, '{"error": "not_found"}'
    return 0, f'{{"error": "start", "message": "{os.strerror(number)}"}}'


def _become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False  # not Linux: the process group is still killed by the caller


def _limits(given: list[int | None]) -> list[tuple[int, int, int]]:
    """``(resource, soft, hard)`` triples to apply, computed before the fork."""
    limits = [(resource.RLIMIT_CORE, 0, 0)]
    for kind, value in zip(_RLIMITS, given, strict=True):
        if value is None:
            continue
        if kind == resource.RLIMIT_NPROC and os.getuid() != 0:
            # counted per user: allow this many *more* tasks than the user runs now. Linux
            # never applies it to root, only to a command that switches to another user
            # (setpriv, su), and that user's count is unknown here: the value stays absolute.
            value += _tasks_of_user(os.getuid())
        _, hard = resource.getrlimit(kind)
        hard_value = value + 1 if kind == resource.RLIMIT_CPU else value  # SIGXCPU, then KILL
        if hard != resource.RLIM_INFINITY:
            value, hard_value = min(value, hard), min(hard_value, hard)
        limits.append((kind, value, hard_value))
    return limits


def _apply(limits: list[tuple[int, int, int]]) -> None:
    """In the forked child, before exec: lower the limits (no allocation-heavy work here)."""
    for kind, soft, hard in limits:
        resource.setrlimit(kind, (soft, hard))


def _tasks_of_user(uid: int) -> int:
    """How many tasks ``uid`` runs now (threads count too, as for ``RLIMIT_NPROC``).

    One ``stat`` per process: ``/proc/PID/task`` is owned by the process's user and
    has two links more than the process has threads.
    """
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                info = os.stat(f"/proc/{entry}/task")
            except OSError:
                continue
            if info.st_uid == uid:
                count += max(1, info.st_nlink - 2)
    return count


def _wait(pid: int, deadline: float, wakeup: int) -> int | None:
    """Wait for ``pid`` (reaping any orphan meanwhile); its exit code, or None at the deadline."""
    while True:
        while True:
            try:
                done, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return None
            if done == 0:
                break
            if done == pid:
                return os.waitstatus_to_exitcode(status)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        if select.select([wakeup], [], [], min(remaining, 0.5))[0]:
            try:  # noqa: SIM105 - contextlib would cost more to import than the whole run
                os.read(wakeup, 4096)
            except BlockingIOError:
                pass


def _kill_descendants() -> int:
    """SIGKILL every descendant and reap it, until no child is left; how many were killed."""
    killed: set[int] = set()
    deadline = time.monotonic() + KILL_ROUNDS_SECONDS
    while time.monotonic() < deadline:
        try:
            while os.waitpid(-1, os.WNOHANG)[0] != 0:
                pass
        except ChildProcessError:
            return len(killed)  # no child at all: every descendant is gone
        pids = _descendants(os.getpid())
        for pid in pids:
            try:  # noqa: SIM105 - see above
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        killed.update(pids)
        time.sleep(0.002 if pids else 0.01)
    return len(killed)


def _descendants(root: int) -> list[int]:
    """Every live process below ``root``, from one scan of ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for pid in children.get(stack.pop(), ()):
            found.append(pid)
            stack.append(pid)
    return found


def _report(status_fd: int, payload: str) -> int:
    os.write(status_fd, payload.encode() + b"\n")
    os.close(status_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
