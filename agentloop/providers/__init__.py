"""Model strings, provider profiles and their quirks (Gemini, llama.cpp, ...)."""

from __future__ import annotations

from .registry import (
    PROVIDERS,
    ChatModel,
    ProviderSpec,
    find_provider,
    provider_tool_definitions,
    resolve_model,
    sanitize_schema_for_gemini,
)

__all__ = [
    "ChatModel",
    "PROVIDERS",
    "ProviderSpec",
    "find_provider",
    "provider_tool_definitions",
    "resolve_model",
    "sanitize_schema_for_gemini",
]
