"""``-o/--option KEY VALUE`` (model settings) and ``-a/--attach PATH|URL`` on ``run`` and ``chat``.

``-o`` takes two words, as ``llm -o`` does: ``-o temperature 0.2 -o stop '["END"]'``. The
value is read as JSON when it parses (numbers, ``true``, lists, objects), else it is the
text itself; the key must be a request parameter of the chat-completions API (the seed's
table of the reference endpoint, and the widely used additions listed in :data:`MODEL_OPTIONS`),
and the value must have that parameter's type and range. A mistake is one line naming the
key and what it takes (exit code 2), before anything is sent. The values go into the
agent's ``model_settings``, over the agent's own.

This module imports only the standard library at load time.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["MODEL_OPTIONS", "add_request_options", "parse_model_options"]


def add_request_options(parser: argparse.ArgumentParser) -> None:
    """Add ``-o/--option KEY VALUE`` and ``-a/--attach PATH|URL`` to a parser."""
    parser.add_argument(
        "-o", "--option", dest="model_options", nargs=2, action="append", default=[],
        metavar=("KEY", "VALUE"),
        help="a model setting, e.g. -o temperature 0.2 (repeatable; VALUE read as JSON "
        "when it parses); keys: " + ", ".join(sorted(MODEL_OPTIONS)),
    )  # fmt: skip
    parser.add_argument(
        "-a", "--attach", dest="attachments", action="append", default=[], metavar="PATH|URL",
        help="attach an image (png, jpeg, gif, webp) or a PDF to the prompt (repeatable)",
    )  # fmt: skip


Check = Callable[[Any], bool]


def _number(least: float, most: float) -> tuple[str, Check]:
    def check(value: Any) -> bool:
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and least <= value <= most
        )

    return f"a number from {least:g} to {most:g}", check


def _integer(least: int, most: int | None = None) -> tuple[str, Check]:
    def check(value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= least
            and (most is None or value <= most)
        )

    upper = f" to {most}" if most is not None else " or more"
    return f"an integer {least}{upper}", check


def _stop(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value)
    return (
        isinstance(value, list)
        and 1 <= len(value) <= 4
        and all(isinstance(v, str) and v for v in value)
    )


def _response_format(value: Any) -> bool:
    if not isinstance(value, Mapping):
        return False
    kind = value.get("type")
    if kind == "json_schema":
        return isinstance(value.get("json_schema"), Mapping)
    return kind in ("text", "json_object")


def _bias(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        str(k).isdigit()
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
        and -100 <= v <= 100
        for k, v in value.items()
    )


_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")

MODEL_OPTIONS: dict[str, tuple[str, Check]] = {
    "temperature": _number(0, 2),
    "top_p": _number(0, 1),
    "max_tokens": _integer(1),
    "max_completion_tokens": _integer(1),
    "n": _integer(1, 128),
    "stop": ("a non-empty string or a JSON list of up to 4 strings", _stop),
    "seed": _integer(-(2**63), 2**63 - 1),
    "presence_penalty": _number(-2, 2),
    "frequency_penalty": _number(-2, 2),
    "logit_bias": ("a JSON object of token id to a number from -100 to 100", _bias),
    "user": ("a string", lambda v: isinstance(v, str)),
    "reasoning_effort": (f"one of {', '.join(_EFFORTS)}", lambda v: v in _EFFORTS),
    "response_format": (
        'json_object, text, or a JSON object such as {"type": "json_schema", "json_schema": {...}}',
        _response_format,
    ),
    "logprobs": ("true or false", lambda v: isinstance(v, bool)),
    "top_logprobs": _integer(0, 20),
    "service_tier": ("a string such as auto or default", lambda v: isinstance(v, str) and bool(v)),
}
"""Key -> (what it takes, in words; the check of a parsed value)."""

_TEXT_KEYS = frozenset({"stop", "user", "service_tier", "reasoning_effort"})

# Request fields agentloop sets itself, and the option that sets each.
_OWN = {
    "model": "--model",
    "messages": "PROMPT",
    "tools": "-T or TARGET",
    "tool_choice": "--tool-choice",
    "stream": "--no-stream",
    "stream_options": "--no-stream",
    "parallel_tool_calls": "the agent (Agent(...)) itself",
}


def parse_model_options(pairs: Sequence[Sequence[str]]) -> dict[str, Any]:
    """``[["temperature", "0.2"]]`` -> ``{"temperature": 0.2}``, every key and value checked.

    Raises:
        ConfigurationError: An unknown key, or a value of the wrong type or range (one line
            naming the key, what it takes and the value given).
    """
    from agentloop.errors import ConfigurationError

    options: dict[str, Any] = {}
    for key, text in pairs:
        if key in _OWN:
            raise ConfigurationError(f"-o {key}: agentloop sets {key} itself; use {_OWN[key]}")
        if key not in MODEL_OPTIONS:
            close = difflib.get_close_matches(key, list(MODEL_OPTIONS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigurationError(
                f"unknown -o key {key!r}{hint}; keys: {', '.join(sorted(MODEL_OPTIONS))}"
            )
        value = _value(key, text)
        what, check = MODEL_OPTIONS[key]
        if not check(value):
            raise ConfigurationError(f"-o {key} takes {what}, got {text!r}")
        options[key] = value
    return options


def _value(key: str, text: str) -> Any:
    """The JSON value of ``text`` when it parses, else the text (``json_object`` as an object)."""
    if key == "response_format" and text in ("json_object", "text"):
        return {"type": text}
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if key in _TEXT_KEYS and not isinstance(value, (str, list)):
        return text  # -o stop 5: the text "5", not the number
    return value
