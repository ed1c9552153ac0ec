"""What the CLI writes while a run goes on: answer text, tool-call lines, status line, trace.

Three outputs, kept apart so each works when piped:

* stdout gets the answer only (streamed text, or ``--json``);
* stderr gets one line per tool call (``→ add(a=2, b=3) = 5``), notices, errors,
  and, only when stderr is a terminal, a self-erasing status line;
* ``--trace FILE`` gets the run's trace (:mod:`agentloop.tracing.jsonl`, written by
  :class:`agentloop.cli.observers.Observers`), one event per line, flushed as it is written.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import IO, Any

from agentloop.jsondata import plain_json

__all__ = [
    "Renderer",
    "StatusLine",
    "Style",
    "approval_prompt",
    "format_call",
    "to_devnull",
    "to_jsonable",
]

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_RESULT_WIDTH = 200


_COLOURS = {
    "tool": "36",  # cyan: a tool call that worked
    "failed": "31",  # red: a tool call that failed or was denied
    "error": "1;31",  # bold red: errors
    "status": "2",  # dim: the status line
    "notice": "33",  # yellow: notices, approval questions
    "prompt": "1;32",  # bold green: the chat prompt
}


class Style:
    """ANSI colours for one stream, or none at all.

    Colours are on only when the stream is a terminal, ``NO_COLOR`` is not set
    (https://no-color.org) and ``TERM`` is not ``dumb``. Every line stays
    readable without them: tool calls start with ``→``, failures carry ``!``.

    Args:
        stream: The stream the text goes to.
        enabled: Force colours on or off (default: decided as above).
    """

    def __init__(self, stream: Any, *, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = (
                _isatty(stream)
                and "NO_COLOR" not in os.environ
                and os.environ.get("TERM", "") != "dumb"
            )
        self.enabled = enabled

    def paint(self, text: str, kind: str) -> str:
        """``text`` in the colour of ``kind`` (``tool``, ``failed``, ``error``, ...)."""
        code = _COLOURS.get(kind, "")
        if not self.enabled or not code or not text:
            return text
        return f"\x1b[{code}m{text}\x1b[0m"

    def prompt(self, text: str) -> str:
        """A readline prompt: colour codes wrapped in \\001/\\002 so line editing counts right."""
        if not self.enabled:
            return text
        return f"\001\x1b[{_COLOURS['prompt']}m\002{text}\001\x1b[0m\002"


class StatusLine:
    """A one-line "what is running, for how long" indicator on a terminal.

    It is redrawn by a daemon thread about ten times a second and erased
    (``clear``) before anything else is written. When the stream is not a
    terminal every method does nothing.

    Args:
        stream: Where to draw (stderr).
        enabled: Draw at all (default: when ``stream`` is a terminal).
    """

    def __init__(
        self, stream: IO[str], *, enabled: bool | None = None, style: Style | None = None
    ) -> None:
        self._stream = stream
        self.enabled = _isatty(stream) if enabled is None else enabled
        self.style = style or Style(stream, enabled=False)
        self._lock = threading.Lock()
        self._text: str | None = None
        self._since = 0.0
        self._drawn = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def show(self, text: str) -> None:
        """Start showing ``text`` (the timer restarts)."""
        if not self.enabled:
            return
        with self._lock:
            self._text, self._since = text, time.monotonic()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="agentloop-status", daemon=True)
            self._thread.start()

    def clear(self) -> None:
        """Erase the line and stop showing it until the next ``show``."""
        if not self.enabled:
            return
        with self._lock:
            self._text = None
            self._erase()

    def close(self) -> None:
        """Erase the line and stop the drawing thread."""
        self.clear()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)

    def _run(self) -> None:
        frame = 0
        while not self._stop.wait(0.1):
            with self._lock:
                if self._text is None:
                    continue
                elapsed = time.monotonic() - self._since
                line = f"{_FRAMES[frame % len(_FRAMES)]} {self._text} ({elapsed:.1f}s)"
                line = self.style.paint(line, "status")
                try:
                    self._stream.write("\r\x1b[K" + line)
                    self._stream.flush()
                except (OSError, ValueError):
                    return
                self._drawn = True
            frame += 1

    def _erase(self) -> None:
        if self._drawn:
            try:
                self._stream.write("\r\x1b[K")
                self._stream.flush()
            except (OSError, ValueError):
                pass
            self._drawn = False


class Renderer:
    """Turns run events into terminal output.

    Args:
        out: Where answer text goes (stdout).
        err: Where tool lines and notices go (stderr).
        status: The status line to clear before writing.
        show_text: Print text deltas (False for ``--json``).
        show_calls: Print one line per tool call (False for ``--json``).
        verbose: Add durations, result details, and per-step usage.
        style: Colours of the stderr lines (default: on a terminal, unless ``NO_COLOR``).
    """

    def __init__(
        self,
        out: IO[str],
        err: IO[str],
        status: StatusLine,
        *,
        show_text: bool = True,
        show_calls: bool = True,
        verbose: bool = False,
        style: Style | None = None,
    ) -> None:
        self.out, self.err, self.status = out, err, status
        self.style = style or Style(err)
        self.show_text, self.show_calls, self.verbose = show_text, show_calls, verbose
        self._partial_line = False
        self._out_closed = False
        self.phase = "model_call"

    def handle(self, event: Any) -> None:
        """React to one run event."""
        kind = type(event).__name__
        if kind == "TextDelta":
            self.write_text(event.delta)
        elif kind == "ToolCallStarted":
            self.phase = "tool_call"
            self.show_status(f"running {_tool_name(event)}")
        elif kind == "ToolCallFinished":
            if self.show_calls:
                ok = getattr(event.result, "status", "ok") in ("ok", "answered")
                self.note(self._call_line(event), "tool" if ok else "failed")
            self.phase = "model_call"
            self.show_status("waiting for model")
        elif kind == "StepFinished":
            self.phase = "model_call"
            if self.verbose and getattr(event, "kind", "") == "model":
                self.note(_model_step_line(event.step))
            self.show_status("waiting for model")
        elif kind == "RunFinished":
            self.status.clear()

    def show_status(self, text: str) -> None:
        """Show the status line, unless it would overwrite a partial answer line on the terminal."""
        if self._partial_line and _isatty(self.out):
            self.status.clear()
            return
        self.status.show(text)

    def write_text(self, text: str) -> None:
        """Write answer text to stdout (a closed pipe silently ends stdout output)."""
        if not text or not self.show_text:
            return
        self.status.clear()
        self._partial_line = not text.endswith("\n")
        self._write(self.out, text)

    def write_raw(self, text: str) -> None:
        """Write to stdout regardless of ``show_text`` (``--json`` output)."""
        self.status.clear()
        self._write(self.out, text)

    def finish_text(self) -> None:
        """End the answer with a newline if it does not have one."""
        if self._partial_line:
            self._write(self.out, "\n")
            self._partial_line = False

    def note(self, line: str, kind: str = "") -> None:
        """Write one line to stderr (after ending a partial answer line on a shared terminal).

        Args:
            line: The text.
            kind: Its colour on a terminal (``tool``, ``failed``, ``error``, ``notice``).
        """
        self.status.clear()
        if self._partial_line and _isatty(self.out) and _isatty(self.err):
            self.finish_text()
        self._write(self.err, self.style.paint(line, kind) + "\n")

    def _write(self, stream: IO[str], text: str) -> None:
        if stream is self.out and self._out_closed:
            return
        try:
            stream.write(text)
            stream.flush()
        except BrokenPipeError:
            if stream is self.out:
                self._out_closed = True
                _silence(stream)

    def _call_line(self, event: Any) -> str:
        call = event.call
        result = event.result
        line = f"→ {format_call(call.name, call.arguments)}"
        status = getattr(result, "status", "ok")
        content = _shorten(
            str(getattr(result, "content", "")), None if self.verbose else _RESULT_WIDTH
        )
        if status == "ok" or status == "answered":
            line += f" = {content}"
        else:
            shown = content if content.startswith(status) else f"{status}: {content}"
            line += f" ! {shown}" if content else f" ! {status}"
        if self.verbose:
            line += f"  ({getattr(event, 'duration', 0.0):.2f}s)"
        return line


def format_call(name: str, arguments: str) -> str:
    """Render a call as Python-like text: ``add(a=2, b=3)``.

    Args:
        name: The tool name.
        arguments: The raw JSON arguments (shown as given if they do not parse).

    Returns:
        The one-line rendering.
    """
    try:
        args = json.loads(arguments or "{}")
    except ValueError:
        args = None
    if not isinstance(args, dict):
        return f"{name}({_shorten(arguments, 120)})"
    inner = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return f"{name}({_shorten(inner, 160)})"


def approval_prompt(name: str, arguments: str) -> str:
    """The question asked before a tool that requires approval runs, with its exact arguments.

    Short calls fit one line (``Allow run_command(command='ls')? [y/N] ``); when
    the one-line form would cut or reflow them, or they are no JSON object, the
    exact arguments are shown first (pretty-printed JSON, or the raw text).

    Args:
        name: The tool name.
        arguments: The raw JSON arguments of the call.
    """
    try:
        decoded = json.loads(arguments or "{}")
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        inner = ", ".join(f"{k}={v!r}" for k, v in decoded.items())
        if len(inner) <= 160 and inner == " ".join(inner.split()):
            return f"Allow {name}({inner})? [y/N] "
    shown = json.dumps(decoded, indent=2, ensure_ascii=False) if decoded is not None else arguments
    return f"{name} wants to run with these exact arguments:\n{shown}\nAllow {name}? [y/N] "


def to_jsonable(value: Any) -> Any:
    """Events, results and dataclasses as JSON-ready values (``--json``); unknowns as ``repr``.

    The one lenient conversion, :func:`agentloop.jsondata.plain_json`, with ``repr`` for what
    has no JSON form (a ``--json`` reader debugging a run wants the type, not only ``str``).
    """
    return plain_json(value, fallback=repr)


def _tool_name(event: Any) -> str:
    name = getattr(event, "tool_name", None) or getattr(getattr(event, "call", None), "name", "")
    return f"tool {name}" if name else "tool"


def _model_step_line(step: Any) -> str:
    line = f"  model call {step.index}: {step.duration:.2f}s, finish_reason={step.finish_reason}"
    usage = step.usage
    if usage is not None:
        line += f", {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
    return line


def _shorten(text: str, width: int | None) -> str:
    text = " ".join(text.split())
    if width is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def to_devnull(stream: IO[str]) -> None:
    """After a broken pipe, point the stream's file descriptor at /dev/null (best effort)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _silence(stream: IO[str]) -> None:
    """After a broken pipe, point the stream at /dev/null so the final flush cannot fail."""
    to_devnull(stream)
    if stream is sys.stdout:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (lives for the process)
