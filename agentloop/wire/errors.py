"""Turn what a server said about a failure into the right :mod:`agentloop.errors` class (internal).

Error bodies come in many shapes: an OpenAI object
``{"error": {...}}``, Google's list ``[{"error": {...}}]``, LiteLLM strings,
plain text or an HTML page. Everything here is pure (no HTTP), so the stream
assembler and the client share it. Every text that leaves this module has the
caller's secrets redacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from agentloop.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from agentloop.secrets import redact_value as _redact_value
from agentloop.wire.decode import loads

__all__ = [
    "error_detail",
    "error_message",
    "is_request_validation_error",
    "make_status_error",
    "parse_error_body",
    "redact_value",
    "status_from_error",
]

_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
_MAX_MESSAGE = 500
_MAX_SCAN = 20_000
# How request validators word a rejected request (pydantic, FastAPI, OpenAI, jsonschema).
_VALIDATION = re.compile(
    r"(?i)\bvalidation errors?\b|validationerror|input should be|field required|"
    r"string_type|missing_argument|invalid type for|is not of type|unprocessable|"
    r"expected an? (?:string|object|array)"
)

_GOOGLE_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_TYPE_STATUS = {
    "server_error": 500,
    "overloaded_error": 503,
    "api_error": 500,
    "rate_limit_error": 429,
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
}

_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def redact_value(value: Any, *secrets: str | None) -> Any:
    """Return ``value`` with every string in it redacted (dicts and lists are copied).

    Args:
        value: A decoded JSON value or text.
        *secrets: The secrets to hide.

    Returns:
        The same structure with secrets and ``Bearer`` tokens replaced, in
        values and in object keys alike.
    """
    return _redact_value(value, *secrets)


def parse_error_body(raw: bytes, *secrets: str | None) -> Any:
    """Decode an error body: JSON when it parses, else text; secrets redacted.

    Args:
        raw: The response body bytes.
        *secrets: The secrets to hide.

    Returns:
        A dict, a list or a string.
    """
    text = raw.decode("utf-8", "replace")
    try:
        value: Any = loads(text)
    except ValueError:  # not JSON, or nested too deeply to walk: kept as text
        value = text.strip()
    return redact_value(value, *secrets)


def error_detail(body: Any) -> Any:
    """Return the error object inside a body (``body["error"]``, unwrapping a list), or the body."""
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, Mapping) and body.get("error"):
        return body["error"]
    return body


def error_message(detail: Any) -> str:
    """Return a one-line, length-capped message for an error object or text."""
    if isinstance(detail, Mapping):
        msg = detail.get("message") or detail.get("msg") or detail.get("detail")
        text = msg if isinstance(msg, str) else json.dumps(detail, default=str)[:_MAX_MESSAGE]
    elif isinstance(detail, str):
        text = _TAGS.sub(" ", detail) if "<" in detail else detail
    else:
        text = json.dumps(detail, default=str)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + "..."
    return text


def is_request_validation_error(detail: Any) -> bool:
    """Whether an error object (or text) says the request failed validation.

    Such a request fails the same way every time, whatever its status (some
    servers answer 500 for it), so it is never retried.
    """
    if detail is None:
        return False
    text = detail if isinstance(detail, str) else json.dumps(detail, default=str)
    return _VALIDATION.search(text[:_MAX_SCAN]) is not None


def status_from_error(detail: Any) -> int | None:
    """Derive an HTTP status from an error object (numeric code, Google status, OpenAI type)."""
    if not isinstance(detail, Mapping):
        return None
    code = detail.get("code")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return code
    for key, table in (("status", _GOOGLE_STATUS), ("type", _TYPE_STATUS)):
        value = detail.get(key)
        if isinstance(value, str) and value in table:
            return table[value]
    return None


def _has_reason(detail: Any, reason: str) -> bool:
    if not isinstance(detail, Mapping):
        return False
    for item in detail.get("details") or ():
        if isinstance(item, Mapping) and item.get("reason") == reason:
            return True
    return False


def _error_class(status: int, detail: Any) -> type[APIStatusError]:
    if status == 400 and _has_reason(detail, "API_KEY_INVALID"):
        return AuthenticationError
    if status >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status, APIStatusError)


def make_status_error(
    status: int, body: Any, *, request_id: str | None = None, prefix: str = ""
) -> APIStatusError:
    """Build the :class:`APIStatusError` subclass for a status and an (already redacted) body.

    Args:
        status: The HTTP status (or the one derived from an error object).
        body: The decoded error body (dict, list or text).
        request_id: The server's request id, if any.
        prefix: Extra context put before the message.

    Returns:
        The exception, not raised. ``.body`` is the error object when the body
        wraps one (openai-python's convention), else the whole body.
    """
    detail = error_detail(body)
    cls = _error_class(status, detail)
    text = error_message(detail) or "(empty body)"
    message = f"{prefix}Error code: {status} - {text}"
    if request_id:
        message += f" (request id {request_id})"
    return cls(message, status_code=status, body=detail, request_id=request_id)
