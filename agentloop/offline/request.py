"""Request validation for the offline model, with OpenAI's 400 error bodies.

The offline model checks a request the way an OpenAI-compatible server does, so
code that works offline does not fail on a real endpoint for a malformed
request (and the local server can answer 400 with the same body shape).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from agentloop.errors import BadRequestError
from agentloop.wire.build import error_body

__all__ = ["Request", "bad_request", "validate"]

_CHECKED: set[str] = set()
_ROLES = ("system", "developer", "user", "assistant", "tool")
_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_KNOWN = frozenset(
    re.split(
        r"\s+",
        """model messages tools tool_choice parallel_tool_calls response_format n stop max_tokens
    max_completion_tokens temperature top_p stream stream_options seed user metadata store
    frequency_penalty presence_penalty logit_bias logprobs top_logprobs reasoning_effort
    service_tier prediction modalities audio verbosity prompt_cache_key safety_identifier
    web_search_options""",
    )
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Request:
    """A validated request, with defaults applied.

    Attributes:
        messages: The conversation (wire dicts, unchanged).
        tools: The ``function`` objects of the tools.
        raw_tools: The ``tools`` list as sent (for token counting).
        tool_choice: ``"none"``, ``"auto"``, ``"required"`` or a named-function dict.
        parallel_tool_calls: Whether several calls may be made in one turn.
        response_format: The response format, None for plain text.
        n: The number of choices.
        stop: The stop sequences.
        max_tokens: The output token limit, or None.
    """

    messages: list[Mapping[str, Any]]
    tools: list[Mapping[str, Any]]
    raw_tools: list[Any]
    tool_choice: Any
    parallel_tool_calls: bool
    response_format: Mapping[str, Any] | None
    n: int
    stop: tuple[str, ...]
    max_tokens: int | None


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> NoReturn:
    """Raise a 400 :class:`BadRequestError` whose body is OpenAI's error object."""
    body = error_body(message=message, param=param, code=code)
    raise BadRequestError(message, status_code=400, body=body)


def validate(messages: Any, params: Mapping[str, Any]) -> Request:
    """Check a request and return it with defaults applied.

    Raises:
        BadRequestError: The first problem found, naming the parameter.
    """
    for key in params:
        if key not in _KNOWN:
            bad_request(f"Unrecognized request argument supplied: {key}", param=key)
    _check_messages(messages)
    _check_sampling(params)
    raw_tools = params.get("tools") or []
    tools = _check_tools(raw_tools)
    return Request(
        messages=list(messages),
        tools=tools,
        raw_tools=list(raw_tools),
        tool_choice=_check_tool_choice(params.get("tool_choice"), tools),
        parallel_tool_calls=_check_bool(params, "parallel_tool_calls", default=True),
        response_format=_check_response_format(params.get("response_format")),
        n=_check_int(params, "n", default=1, low=1, high=128) or 1,
        stop=_check_stop(params.get("stop")),
        max_tokens=_max_tokens(params),
    )


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        bad_request("'messages' must be a non-empty array of message objects.", param="messages")
    pending: dict[str, int] = {}
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            bad_request(f"Invalid type for '{where}': expected an object.", param=where)
        role = message.get("role")
        if role not in _ROLES:
            bad_request(f"Invalid value for '{where}.role': {role!r}; expected one of "
                        f"{', '.join(_ROLES)}.", param=f"{where}.role")  # fmt: skip
        if role != "tool" and pending:
            bad_request("An assistant message with 'tool_calls' must be followed by tool messages "
                        f"responding to each 'tool_call_id'. Missing: {', '.join(pending)}.",
                        param=where)  # fmt: skip
        _check_content(message, role, where)
        if role == "assistant":
            pending = {cid: i for cid in _check_calls(message.get("tool_calls"), where)}
        elif role == "tool":
            cid = message.get("tool_call_id")
            if not isinstance(cid, str) or cid not in pending:
                bad_request("Invalid parameter: messages with role 'tool' must be a response to a "
                            f"preceding message with 'tool_calls' (tool_call_id {cid!r}).",
                            param=f"{where}.tool_call_id")  # fmt: skip
            del pending[cid]


def _check_content(message: Mapping[str, Any], role: str, where: str) -> None:
    content = message.get("content")
    if content is None:
        if role == "assistant":  # tool-call and refusal turns carry no content
            return
        bad_request(f"Missing required parameter: '{where}.content'.", param=f"{where}.content")
    if isinstance(content, str):
        return
    if isinstance(content, list) and all(
        isinstance(p, Mapping) and isinstance(p.get("type"), str) for p in content
    ):
        return
    bad_request(f"Invalid type for '{where}.content': expected a string or an array of "
                "content parts.", param=f"{where}.content")  # fmt: skip


def _check_calls(calls: Any, where: str) -> list[str]:
    if calls is None:
        return []
    if not isinstance(calls, list):
        bad_request(f"Invalid type for '{where}.tool_calls': expected an array.",
                    param=f"{where}.tool_calls")  # fmt: skip
    ids = []
    for k, call in enumerate(calls):
        spot = f"{where}.tool_calls[{k}]"
        fn = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(call.get("id"), str):
            bad_request(f"Invalid value for '{spot}': expected an object with 'id' and "
                        "'function'.", param=spot)  # fmt: skip
        if not isinstance(fn.get("name"), str) or not isinstance(fn.get("arguments"), str):
            bad_request(f"Invalid value for '{spot}.function': 'name' and 'arguments' must be "
                        "strings.", param=f"{spot}.function")  # fmt: skip
        ids.append(call["id"])
    return ids


def _check_tools(tools: Any) -> list[Mapping[str, Any]]:
    if not isinstance(tools, list):
        bad_request("Invalid type for 'tools': expected an array.", param="tools")
    out = []
    for k, entry in enumerate(tools):
        spot = f"tools[{k}]"
        fn = entry.get("function") if isinstance(entry, Mapping) else None
        if entry.get("type") != "function" or not isinstance(fn, Mapping):  # type: ignore[union-attr]
            bad_request(f"Invalid value for '{spot}': expected a function tool "
                        "({'type': 'function', 'function': {...}}).", param=spot)  # fmt: skip
        if not isinstance(fn.get("name"), str) or not _NAME_RE.match(fn["name"]):
            bad_request(f"Invalid 'tools[{k}].function.name': {fn.get('name')!r}; it must match "
                        "^[a-zA-Z0-9_-]{1,64}$.", param=f"{spot}.function.name")  # fmt: skip
        params = fn.get("parameters")
        if params is not None:
            _check_schema(params, f"{spot}.function.parameters")
        out.append(fn)
    return out


def _check_schema(schema: Any, param: str) -> None:
    from jsonschema import exceptions, validators

    if not isinstance(schema, Mapping):
        bad_request(f"Invalid schema for '{param}': expected an object.", param=param)
    key = json.dumps(schema, sort_keys=True, default=repr)
    if key in _CHECKED:
        return
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        bad_request(f"Invalid schema for '{param}': {exc.message}", param=param)
    except RecursionError:
        bad_request(f"Invalid schema for '{param}': it is nested too deeply.", param=param)
    from agentloop.schema.external import schema_problem

    # a remote $ref, a $ref loop or a backtracking pattern: never fetched, never run
    problem = schema_problem(schema)
    if problem is not None:
        bad_request(f"Invalid schema for '{param}': {problem}.", param=param)
    if len(_CHECKED) >= 512:  # the same few tools come back on every step of a run
        _CHECKED.clear()
    _CHECKED.add(key)


def _check_tool_choice(choice: Any, tools: list[Mapping[str, Any]]) -> Any:
    if choice is None:
        return "auto" if tools else "none"
    if choice in ("none", "auto", "required"):
        if choice == "required" and not tools:
            bad_request("Invalid value for 'tool_choice': 'tool_choice' is only allowed when "
                        "'tools' are specified.", param="tool_choice")  # fmt: skip
        return choice
    name = None
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
    if name is None:
        bad_request(f"Invalid value for 'tool_choice': {choice!r}.", param="tool_choice")
    if name not in {t["name"] for t in tools}:
        bad_request(f"Invalid value for 'tool_choice': no function named {name!r} in 'tools'.",
                    param="tool_choice")  # fmt: skip
    return choice


def _check_response_format(value: Any) -> Mapping[str, Any] | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, Mapping) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return value
    if kind != "json_schema":
        bad_request(f"Invalid value for 'response_format': {value!r}; 'type' must be 'text', "
                    "'json_object' or 'json_schema'.", param="response_format")  # fmt: skip
    spec = value.get("json_schema")
    if not isinstance(spec, Mapping) or not _NAME_RE.match(str(spec.get("name") or "")):
        bad_request("Invalid 'response_format.json_schema': a 'name' matching "
                    "^[a-zA-Z0-9_-]{1,64}$ is required.",
                    param="response_format.json_schema.name")  # fmt: skip
    if spec.get("schema") is not None:
        _check_schema(spec["schema"], "response_format.json_schema.schema")
    return value


def _check_int(params: Mapping[str, Any], key: str, *, default: int | None, low: int,
               high: int | None = None) -> int | None:  # fmt: skip
    value = params.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        bad_request(f"Invalid type for '{key}': expected an integer.", param=key)
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        bad_request(f"Invalid value for '{key}': {value}; it must be {limit}.", param=key,
                    code="invalid_value")  # fmt: skip
    return value


def _check_bool(params: Mapping[str, Any], key: str, *, default: bool) -> bool:
    value = params.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        bad_request(f"Invalid type for '{key}': expected a boolean.", param=key)
    return value


def _check_stop(stop: Any) -> tuple[str, ...]:
    if stop is None:
        return ()
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) for s in stop):
        bad_request("Invalid value for 'stop': expected a string or an array of up to 4 strings.",
                    param="stop")  # fmt: skip
    return tuple(s for s in stop if s)


def _max_tokens(params: Mapping[str, Any]) -> int | None:
    limits = [
        _check_int(params, key, default=None, low=1)
        for key in ("max_tokens", "max_completion_tokens")
    ]
    known = [v for v in limits if v is not None]
    return min(known) if known else None


def _check_sampling(params: Mapping[str, Any]) -> None:
    for key in ("temperature", "top_p"):
        value = params.get(key)
        high = 2 if key == "temperature" else 1
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not 0 <= value <= high):  # fmt: skip
            bad_request(f"Invalid value for '{key}': {value!r}; it must be a number between 0 "
                        f"and {high}.", param=key, code="invalid_value")  # fmt: skip
