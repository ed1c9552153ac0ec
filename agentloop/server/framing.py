"""How ``agentloop serve`` reads a request's framing and body: refuse, never guess.

A guess is how a second request hides in the body of the first, so any ambiguity in the
headers is a 4xx and the connection is closed; a body nested too deeply is a 400.
"""

from __future__ import annotations

from email.message import Message
from typing import Any

from agentloop.messages import depth_exceeds
from agentloop.server.wire import error_body, parse_request

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "depth_exceeds", "framing_refusal", "parse_bounded"]

#: Request bodies larger than this get 413.
MAX_BODY_BYTES = 32 * 1024 * 1024
#: Request bodies with arrays or objects nested deeper than this get 400.
MAX_JSON_DEPTH = 100
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def framing_refusal(headers: Message, method: str) -> tuple[int, str] | None:
    """The status and message refusing a request's framing, or None when it is clear.

    Args:
        headers: The request's parsed headers.
        method: The request method.
    """
    if headers.defects:
        return 400, "The request has a malformed header line."
    lengths = headers.get_all("Content-Length") or []
    if headers.get_all("Transfer-Encoding"):
        if lengths:
            return 400, "A request must not have both Content-Length and Transfer-Encoding."
        if method not in _BODY_METHODS:
            return 400, f"A {method} request has no body; remove Transfer-Encoding."
        return 411, "A Content-Length header is required (chunked bodies are not accepted)."
    if not lengths:
        return None
    if len(lengths) > 1:
        return 400, "The request has more than one Content-Length header; send exactly one."
    text = lengths[0].strip(" \t")
    if not (text.isascii() and text.isdigit()):
        return 400, f"The Content-Length header must be plain digits, got {text[:40]!r}."
    if len(text) > 12 or int(text) > MAX_BODY_BYTES:
        return 413, f"The request body is larger than {MAX_BODY_BYTES} bytes."
    if int(text) and method not in _BODY_METHODS:
        return 400, f"A {method} request has no body; remove it (and its Content-Length)."
    return None


def parse_bounded(raw: bytes) -> dict[str, Any]:
    """:func:`parse_request`, refusing bodies nested deeper than :data:`MAX_JSON_DEPTH` with a 400.

    Raises:
        BadRequestError: The body is malformed (see :func:`parse_request`) or nested too deeply.
    """
    from agentloop.errors import BadRequestError

    message = (
        f"The request body is nested more than {MAX_JSON_DEPTH} levels deep; "
        "flatten it (real chat requests need only a few levels)."
    )
    try:
        request = parse_request(raw)
    except RecursionError:  # the decoder's own limit: deeper than the interpreter allows
        request = None
    if request is None or depth_exceeds(request, MAX_JSON_DEPTH):
        body = error_body(message=message, type="invalid_request_error", code="nested_too_deeply")
        raise BadRequestError(message, status_code=400, body=body) from None
    return request
