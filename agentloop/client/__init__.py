"""The HTTP client: requests + sseclient-py, request bodies, retries, timeouts, SSE reading."""

from __future__ import annotations

from .chat import (
    DEFAULT_TIMEOUT,
    ChatClient,
    Timeout,
)

__all__ = [
    "ChatClient",
    "DEFAULT_TIMEOUT",
    "Timeout",
]
