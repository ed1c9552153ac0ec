"""Check what the caller passed and build the JSON body of a request (internal).

Only parameters the caller set are sent (``None`` counts as not set). Values
outside what the real API accepts are rejected here, before any request, with
a :class:`~agentloop.errors.ConfigurationError` naming the parameter and the
fix. Unknown keywords are rejected with a pointer to ``extra_body``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from agentloop.errors import ConfigurationError
from agentloop.messages import Message

__all__ = [
    "PARAMETERS",
    "build_body",
    "check_base_url",
    "check_headers",
    "check_key",
    "encode_body",
    "secret_values",
]

_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
_TOOL_CHOICES = ("none", "auto", "required")
_FORMATS = ("text", "json_object", "json_schema")
_SECRET_HEADER_HINTS = ("auth", "key", "token", "secret", "cookie")


def _fail(name: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"parameter {name!r}: {problem}")


def _number(name: str, value: Any, low: float, high: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(name, f"expected a number between {low} and {high}, got {value!r}")
    if not low <= value <= high:
        raise _fail(name, f"{value!r} is out of range; expected {low} to {high}")
    return value


def _integer(name: str, value: Any, low: int = 1) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, f"expected an integer, got {value!r}")
    if value < low:
        raise _fail(name, f"{value!r} is too small; expected at least {low}")
    return value


def _boolean(name: str, value: Any) -> Any:
    if not isinstance(value, bool):
        raise _fail(name, f"expected True or False, got {value!r}")
    return value


def _string(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        raise _fail(name, f"expected a string, got {value!r}")
    return value


def _stop(name: str, value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and all(isinstance(s, str) for s in value):
        if not 1 <= len(value) <= 4:
            raise _fail(name, f"expected 1 to 4 stop sequences, got {len(value)}")
        return list(value)
    raise _fail(name, f"expected a string or a list of up to 4 strings, got {value!r}")


def _logit_bias(name: str, value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise _fail(name, "expected a mapping of token id to a bias between -100 and 100")
    out = {}
    for token, bias in value.items():
        if not str(token).isdigit():
            raise _fail(name, f"token id {token!r} is not a non-negative integer")
        out[str(token)] = _number(f"{name}[{token}]", bias, -100, 100)
    return out


def _response_format(name: str, value: Any) -> Any:
    kind = value.get("type") if isinstance(value, Mapping) else None
    if kind not in _FORMATS:
        raise _fail(name, f"expected {{'type': one of {', '.join(_FORMATS)}}}, got {value!r}")
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise _fail(
                name, "type 'json_schema' needs 'json_schema': {'name': ..., 'schema': {...}}"
            )
        if "schema" in spec and not isinstance(spec["schema"], Mapping):
            raise _fail(name, "'json_schema.schema' must be a JSON Schema object")
    return dict(value)


def _tools(name: str, value: Any) -> Any:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise _fail(name, "expected a list of tool definitions")
    out = []
    for pos, tool in enumerate(value):
        definition = getattr(tool, "definition", tool)
        kind = definition.get("type") if isinstance(definition, Mapping) else None
        if kind is None:
            raise _fail(
                f"{name}[{pos}]",
                "expected {'type': 'function', 'function': {...}} or an agentloop Tool",
            )
        if kind == "function":
            fn = definition.get("function")
            if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str) or not fn["name"]:
                raise _fail(f"{name}[{pos}]", "a function tool needs 'function': {'name': ...}")
            if not isinstance(fn.get("parameters", {}), Mapping):
                raise _fail(f"{name}[{pos}]", "'function.parameters' must be a JSON Schema object")
        out.append(definition)
    return out


def _tool_choice(name: str, value: Any) -> Any:
    if isinstance(value, str):
        if value not in _TOOL_CHOICES:
            raise _fail(
                name, f"expected one of {', '.join(_TOOL_CHOICES)} or a dict, got {value!r}"
            )
        return value
    if isinstance(value, Mapping) and isinstance(value.get("type"), str):
        return dict(value)
    raise _fail(
        name,
        f"expected 'none', 'auto', 'required' or {{'type': 'function', "
        f"'function': {{'name': ...}}}}, got {value!r}",
    )


def _effort(name: str, value: Any) -> Any:
    if value not in _EFFORTS:
        raise _fail(name, f"expected one of {', '.join(_EFFORTS)}, got {value!r}")
    return value


def _mapping(name: str, value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise _fail(name, f"expected a dict, got {value!r}")
    return dict(value)


PARAMETERS: dict[str, Callable[[str, Any], Any]] = {
    "temperature": lambda n, v: _number(n, v, 0, 2),
    "top_p": lambda n, v: _number(n, v, 0, 1),
    "n": _integer,
    "stream": _boolean,
    "stop": _stop,
    "max_tokens": _integer,
    "max_completion_tokens": _integer,
    "presence_penalty": lambda n, v: _number(n, v, -2, 2),
    "frequency_penalty": lambda n, v: _number(n, v, -2, 2),
    "logit_bias": _logit_bias,
    "user": _string,
    "response_format": _response_format,
    "seed": lambda n, v: _integer(n, v, -(2**63)),
    "tools": _tools,
    "tool_choice": _tool_choice,
    "reasoning_effort": _effort,
    "parallel_tool_calls": _boolean,
    "stream_options": _mapping,
}


def _messages(messages: Any) -> list[Any]:
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Sequence):
        raise _fail("messages", "expected a list of message dicts or Message objects")
    if not messages:
        raise _fail("messages", "at least one message is required")
    out: list[Any] = []
    for pos, msg in enumerate(messages):
        if isinstance(msg, Message):
            out.append(msg.to_dict())
        elif isinstance(msg, Mapping) and isinstance(msg.get("role"), str):
            out.append(msg)
        else:
            raise _fail(f"messages[{pos}]", f"expected a dict with a 'role', got {msg!r:.80}")
    return out


def _unknown(name: str) -> ConfigurationError:
    close = difflib.get_close_matches(name, list(PARAMETERS), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return _fail(
        name,
        f"unknown parameter; {hint}pass endpoint-specific fields with extra_body={{{name!r}: ...}}",
    )


def build_body(
    model: Any, messages: Any, params: Mapping[str, Any], *, streaming: bool
) -> dict[str, Any]:
    """Return the request body for ``params`` after checking every value.

    Args:
        model: The model name.
        messages: Wire-format dicts or :class:`Message` objects.
        params: Body parameters as keywords, plus ``extra_body``.
        streaming: Whether this is a streamed call (sets ``stream: true``).

    Returns:
        The JSON-ready body; parameters that are None are left out.

    Raises:
        ConfigurationError: A value is invalid, or a keyword is unknown.
    """
    if not isinstance(model, str) or not model:
        raise _fail("model", f"expected a non-empty model name, got {model!r}")
    body: dict[str, Any] = {"model": model, "messages": _messages(messages)}
    extra = params.get("extra_body")
    for name, value in params.items():
        if name == "extra_body" or value is None:
            continue
        check = PARAMETERS.get(name)
        if check is None:
            raise _unknown(name)
        body[name] = check(name, value)
    _check_combinations(body, streaming)
    if streaming:
        body["stream"] = True
    if extra is not None:
        body.update(_mapping("extra_body", extra))
    return body


def _check_combinations(body: Mapping[str, Any], streaming: bool) -> None:
    if streaming and body.get("stream") is False:
        raise _fail("stream", "stream() always streams; call create() for one response")
    if "stream_options" in body and not (streaming or body.get("stream")):
        raise _fail("stream_options", "only valid for streamed calls (use stream())")
    if "parallel_tool_calls" in body and not body.get("tools"):
        raise _fail("parallel_tool_calls", "only valid together with 'tools'")


def encode_body(body: Mapping[str, Any]) -> bytes:
    """Serialize a body to UTF-8 JSON.

    Raises:
        ConfigurationError: The body holds a value JSON cannot express
            (an object, NaN, infinity).
    """
    try:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"the request body is not valid JSON: {exc}") from exc
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: let JSON escapes carry them; the server decides.
        return json.dumps(body, allow_nan=False, separators=(",", ":")).encode("ascii")


def check_base_url(url: str | None) -> str:
    """Return the base URL without a trailing slash, after checking it."""
    if not url:
        raise ConfigurationError(
            "ChatClient needs base_url= (e.g. 'https://api.openai.com/v1') "
            "or the AGENTLOOP_BASE_URL environment variable"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url {url!r} must be an http:// or https:// URL")
    if parts.username or parts.password:
        raise ConfigurationError("base_url must not contain credentials; use api_key=")
    return url.rstrip("/")


def check_key(key: str | None) -> str | None:
    """Return the stripped API key (None when empty); reject characters a header cannot carry.

    The message never quotes the key.
    """
    key = (key or "").strip()
    if any(c.isspace() or ord(c) < 32 for c in key):
        raise ConfigurationError("the API key contains whitespace or control characters")
    if not key.isascii():
        raise ConfigurationError("the API key contains non-ASCII characters; check for a typo")
    return key or None


def check_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Return the extra headers as a dict, after checking that HTTP can carry them.

    Raises:
        ConfigurationError: A name or value is not a string, or a value holds
            characters outside Latin-1 or line breaks. Values are never quoted
            (they may be credentials).
    """
    out: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ConfigurationError(f"header {name!r}: names and values must be strings")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ConfigurationError(
                f"header {name!r}: the value has characters HTTP headers cannot carry"
            ) from None
        if "\r" in value or "\n" in value:
            raise ConfigurationError(f"header {name!r}: the value contains a line break")
        out[name] = value
    return out


def secret_values(headers: Mapping[str, str]) -> list[str]:
    """Return header values that look like credentials (to redact them everywhere)."""
    return [
        str(value)
        for name, value in headers.items()
        if any(h in name.lower() for h in _SECRET_HEADER_HINTS) and len(str(value)) >= 8
    ]
