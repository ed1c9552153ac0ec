"""The offline model: a deterministic, rule-based stand-in for a chat endpoint."""

from __future__ import annotations

from .model import (
    OfflineModel,
    count_tokens,
)

__all__ = [
    "OfflineModel",
    "count_tokens",
]
