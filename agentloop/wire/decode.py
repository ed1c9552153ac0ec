"""Decoding JSON from a server with a bound on nesting (internal).

``json.loads`` of a deeply nested document raises ``RecursionError``, and one
nested just below the interpreter's limit breaks later, in whatever walks it
(redaction, merging, encoding the next request). Everything agentloop reads from
a server goes through :func:`loads`, which refuses nesting past
:data:`MAX_DEPTH` with a ``ValueError`` the caller turns into its own error.
"""

from __future__ import annotations

import json
from typing import Any

from agentloop.messages import depth_exceeds

__all__ = ["MAX_DEPTH", "depth_exceeds", "loads"]

MAX_DEPTH = 100
"""The deepest nesting of objects and arrays accepted from a server."""


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode JSON text, refusing nesting deeper than ``max_depth``.

    Args:
        text: The JSON document.
        max_depth: The deepest nesting of objects and arrays allowed.

    Returns:
        The decoded value.

    Raises:
        ValueError: Not JSON, or nested too deeply (the message says which).
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
    # Each level needs a bracket: text with few of them cannot be deep (the common case).
    if isinstance(text, bytes):
        brackets = text.count(b"{") + text.count(b"[")
    else:
        brackets = text.count("{") + text.count("[")
    if brackets > max_depth and depth_exceeds(value, max_depth):
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return value
