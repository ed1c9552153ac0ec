"""Token counts without a tokenizer: about four characters a token, one rule for every estimate.

The token budget (``max_tokens_total``) and the context window (``max_context_tokens``) both
count a request this way, so a request the context trimming says fits is one the budget
counts the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["CHARS_PER_TOKEN", "MESSAGE_OVERHEAD", "estimate_tokens", "estimate_tools_tokens"]

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
"""Tokens a message costs beyond its text (its role and separators)."""


def estimate_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """A tokenizer-free estimate of the tokens ``messages`` take (about 4 characters each)."""
    total = 0
    for message in messages:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)
        total += len(text) // CHARS_PER_TOKEN + MESSAGE_OVERHEAD
    return total


def estimate_tools_tokens(tools: Sequence[Any] | None) -> int:
    """The same estimate for a request's ``tools`` array (0 without tools)."""
    return len(json.dumps(tools, default=str)) // CHARS_PER_TOKEN if tools else 0
