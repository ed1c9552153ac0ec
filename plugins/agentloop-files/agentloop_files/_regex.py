"""Regular-expression matching under a hard time limit, in a child process that can be killed.

Python's ``re`` holds the interpreter lock while it matches and never checks a
clock, so a pattern with catastrophic backtracking (``(a+)+$`` on a long line of
``a``) cannot be interrupted from inside the process. :class:`RegexWorker` runs
the matching in a small child interpreter instead: the parent sends each file's
text, the child answers with the numbers of the matching lines, and when the
search's deadline passes the parent kills the child. The child is started once
per search (a few tens of milliseconds) and only for regex searches; plain-text
searches stay in-process.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import struct
import subprocess
import sys
import time
from types import TracebackType

from agentloop import ToolError

__all__ = ["RegexTimeout", "RegexWorker"]

_HEADER = struct.Struct("!Q")

# The child: compile the pattern, then per frame (8-byte length + UTF-8 text) answer one
# JSON line with the matching line numbers (at most ``limit``). No site, no environment.
_CHILD = r"""
import json, re, struct, sys
read, write = sys.stdin.buffer.read, sys.stdout.buffer
head = struct.Struct("!Q")
def frame():
    raw = read(head.size)
    return None if len(raw) < head.size else read(head.unpack(raw)[0])
pattern, limit = json.loads(frame())
compiled = re.compile(pattern)
write.write(b"ready\n"); write.flush()
while (data := frame()) is not None:
    hits = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if compiled.search(line) is not None:
            hits.append(number)
            if len(hits) >= limit:
                break
    write.write(json.dumps(hits).encode() + b"\n"); write.flush()
"""


class RegexTimeout(ToolError):
    """A regular-expression search ran past its time limit and was stopped."""


class RegexWorker:
    """A child process matching one pattern against texts, killed at ``deadline``.

    Use as a context manager; :meth:`matches` raises :class:`RegexTimeout` once the
    deadline (a ``time.monotonic()`` value) has passed, and the child is gone then.

    Args:
        pattern: The regular expression (already known to compile).
        limit: Most line numbers returned per text.
        deadline: ``time.monotonic()`` value when matching must stop.
        seconds: The budget, for messages.
    """

    def __init__(self, pattern: str, *, limit: int, deadline: float, seconds: float) -> None:
        self.deadline = deadline
        self.seconds = seconds
        self._buffer = b""
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={},
                close_fds=True,
            )
        except OSError as exc:
            raise ToolError(f"cannot start the regex search: {exc.strerror or exc}") from None
        assert self._process.stdin is not None and self._process.stdout is not None
        self._stdin = self._process.stdin.fileno()
        self._stdout = self._process.stdout.fileno()
        os.set_blocking(self._stdin, False)
        self._send(json.dumps([pattern, limit]).encode())
        if self._line() != b"ready":
            raise ToolError(f"invalid regular expression {pattern!r}")

    def __enter__(self) -> RegexWorker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def matches(self, text: str) -> list[int]:
        """The numbers (from 1) of the lines of ``text`` the pattern matches.

        Raises:
            RegexTimeout: The deadline passed; the child was killed.
        """
        self._send(text.encode("utf-8"))
        line = self._line()
        if not line:  # the child died (out of memory, killed from outside)
            raise ToolError("the regex search stopped unexpectedly; try a simpler pattern")
        return [int(n) for n in json.loads(line)]

    def close(self) -> None:
        """Kill the child (if it still runs) and reap it."""
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._process.wait()

    def _send(self, payload: bytes) -> None:
        data = memoryview(_HEADER.pack(len(payload)) + payload)
        while data:
            self._wait(self._stdin, writing=True)
            try:
                sent = os.write(self._stdin, data)
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise ToolError("the regex search stopped unexpectedly") from None
            data = data[sent:]

    def _line(self) -> bytes:
        while b"\n" not in self._buffer:
            self._wait(self._stdout, writing=False)
            piece = os.read(self._stdout, 65536)
            if not piece:
                return b""
            self._buffer += piece
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _wait(self, fd: int, *, writing: bool) -> None:
        remaining = self.deadline - time.monotonic()
        readers, writers = ([], [fd]) if writing else ([fd], [])
        ready = select.select(readers, writers, [], remaining) if remaining > 0 else ([], [], [])
        if not (ready[0] or ready[1]):
            self.close()
            raise RegexTimeout(
                f"the regular expression took longer than {self.seconds:g} s and was stopped "
                "(nested repetition such as '(a+)+' can take exponential time); simplify it, "
                "or search for plain text with regex=false"
            )
