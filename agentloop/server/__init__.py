"""``agentloop serve``: an OpenAI-compatible HTTP server in front of any model."""

from __future__ import annotations

from .app import (
    MAX_BODY_BYTES,
    ModelServer,
    make_server,
    serve,
)

__all__ = [
    "MAX_BODY_BYTES",
    "ModelServer",
    "make_server",
    "serve",
]
