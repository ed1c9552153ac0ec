"""The HTTP client: requests, request bodies, retries, timeouts, and a spec-compliant SSE reader."""

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
