"""Run one tool call in a child process that can be killed (``@tool(isolated=True)``).

A tool thread cannot be stopped, and a thread stuck in C code that holds the GIL (a
catastrophic regex, a native library) stops every other thread of the process, the loop's
timeout included. A forked child has its own interpreter: the parent waits on a pipe with
its own deadline and kills the child, and its whole process group, when it is reached.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import time
from collections.abc import Callable
from typing import Any

from agentloop.errors import ToolError

__all__ = ["run_isolated"]

_GRACE = 0.5  # the loop reports the timeout itself; the child is killed just after


def run_isolated(fn: Callable[[], Any], *, timeout: float | None, name: str) -> Any:
    """Call ``fn()`` in a forked child process and return its value.

    Args:
        fn: The bound call (the tool's function with its converted arguments).
        timeout: Seconds the child may run, then it is killed; None waits for it.
        name: The tool's name, for error messages.

    Returns:
        What ``fn`` returned (it must pickle).

    Raises:
        ToolError: The child raised (its exception type and message are kept), was
            killed at the timeout, died, or returned a value that does not pickle.
    """
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(fn, writer), name=f"agentloop-{name}", daemon=True)
    child.start()
    writer.close()
    try:
        deadline = None if timeout is None else time.monotonic() + timeout + _GRACE
        while not reader.poll(0.05):
            if not child.is_alive() and not reader.poll(0):
                raise ToolError(f"tool {name!r} died in its process (exit code {child.exitcode})")
            if deadline is not None and time.monotonic() > deadline:
                raise ToolError(
                    f"tool {name!r} timed out after {timeout:.1f} s; its process was killed"
                )
        try:
            ok, payload = reader.recv()
        except (EOFError, OSError) as exc:
            child.join(1)  # its exit code says how it ended (os._exit, a signal, a crash)
            raise ToolError(
                f"tool {name!r} died in its process before answering (exit code {child.exitcode})"
            ) from exc
    finally:
        _kill(child)
        reader.close()
    if ok:
        return payload
    kind, message = payload
    raise ToolError(f"{kind}: {message}")


def _child(fn: Callable[[], Any], writer: Any) -> None:
    """The child: its own process group (so a kill reaches what it starts), then the call."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    try:
        value = fn()
        message: tuple[bool, Any] = (True, value)
        pickle.dumps(message)
    except BaseException as exc:  # everything goes back to the parent as text
        message = (False, (type(exc).__name__, str(exc)))
    try:
        writer.send(message)
    finally:
        writer.close()
        os._exit(0)  # no atexit handlers or inherited threads of the parent


def _kill(child: Any) -> None:
    if child.is_alive():
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            child.kill()
    child.join(1)
