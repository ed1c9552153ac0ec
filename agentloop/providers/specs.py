"""Every known provider: its default URL, where its key comes from, its quirks (internal).

:data:`PROVIDERS` is the table :func:`agentloop.providers.registry.find_provider`
looks model-string prefixes up in; docs/providers.md describes each entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentloop.messages import ModelProfile
from agentloop.providers.gemini import GEMINI_PARAMS as _GEMINI_PARAMS

__all__ = [
    "GEMINI_BASE_URL",
    "GEMINI_PROFILE",
    "PROFILE_FIELDS",
    "PROVIDERS",
    "ProviderSpec",
    "spec_from_table",
    "spec_to_table",
]

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta/openai"


@dataclass(frozen=True, kw_only=True, slots=True)
class ProviderSpec:
    """One provider: where it lives, where its key comes from, which quirks apply.

    Attributes:
        name: The prefix in model strings (``openai`` in ``openai:gpt-4o``).
        base_url: The default base URL, or None when the user must give one.
        key_env: Environment variables holding the key, most specific first.
        requires_key: Whether a missing key is an error before any request.
        allowed_params: When set, only these body parameters are sent (an allow-list).
        rejected_params: Body parameters never sent to this provider.
        renamed_params: Parameters sent under another name (``max_tokens`` ->
            ``max_completion_tokens`` for OpenAI, whose reasoning models reject ``max_tokens``).
        gemini: Apply Gemini's quirks (schema sanitizing, no ``developer`` role,
            no ``strict``); ``"auto"`` applies them to models named ``gemini*``.
        stream_usage: Ask for usage in streams (``stream_options.include_usage``).
        tool_call_content: The ``content`` of an assistant turn that only calls
            tools: None sends ``null`` (OpenAI's form; a server that rejects it
            gets ``""`` once and from then on), ``""`` sends ``""`` from the start.
        streams_tool_choice_auto: False when the server cannot stream a request
            with tools and ``tool_choice: "auto"``; such requests are sent
            unstreamed and their events replayed from the whole response.
        omit_tool_call_content: Leave ``content`` out of an assistant turn that only
            calls tools (for a server that refuses both ``null`` and ``""``).
        string_content_only: The server takes only string ``content``: typed content
            parts are flattened to their text (joined by newlines) before sending.
        merge_system: The server takes one system message: every system message is
            merged into the first one (joined by blank lines).
        reasoning_field: The field an assistant turn's reasoning must be echoed under
            (``reasoning_content`` for DeepSeek's thinking mode, ``reasoning`` for vLLM),
            or None to echo none.
        unenforced_tool_choices: The ``tool_choice`` values the server accepts but does
            not obey (``none``, ``required``, ``named``, and ``parallel_tool_calls`` for an
            ignored ``parallel_tool_calls: false``) or refuses for want of a server flag
            (``auto``); agentloop enforces them itself (``none`` and ``auto`` send no tools,
            a named tool narrows ``tools`` to that tool, only a response's first call is
            kept), docs/probe.md.
        profile: What the endpoint supports, for the loop.
        description: One line for help texts.
    """

    name: str
    base_url: str | None
    key_env: tuple[str, ...] = ("AGENTLOOP_API_KEY",)
    requires_key: bool = False
    allowed_params: frozenset[str] | None = None
    rejected_params: frozenset[str] = frozenset()
    renamed_params: Mapping[str, str] = field(default_factory=dict)
    gemini: bool | str = False
    stream_usage: bool = True
    tool_call_content: str | None = None
    streams_tool_choice_auto: bool = True
    omit_tool_call_content: bool = False
    string_content_only: bool = False
    merge_system: bool = False
    reasoning_field: str | None = None
    unenforced_tool_choices: frozenset[str] = frozenset()
    profile: ModelProfile = field(default_factory=ModelProfile)
    description: str = ""

    def uses_gemini_quirks(self, model_name: str) -> bool:
        """Whether requests for ``model_name`` need Gemini's quirks."""
        if self.gemini == "auto":
            return model_name.lower().split("/")[-1].startswith("gemini")
        return bool(self.gemini)


# What a saved profile (``agentloop probe --save``) may set: ProviderSpec fields, then the
# ModelProfile fields the loop reads. One table shape for the user's profiles.toml and the
# ``[[profiles]]`` of agentloop.toml (docs/probe.md).
_SPEC_FIELDS = (
    "tool_call_content",
    "omit_tool_call_content",
    "stream_usage",
    "streams_tool_choice_auto",
    "string_content_only",
    "merge_system",
    "reasoning_field",
    "unenforced_tool_choices",
    "rejected_params",
    "renamed_params",
)
_MODEL_FIELDS = (
    "supports_json_schema",
    "supports_strict",
    "supports_parallel_tool_calls",
    "context_tokens",
)
PROFILE_FIELDS = (*_SPEC_FIELDS, *_MODEL_FIELDS)
"""The keys of a saved profile table besides ``base_url``, ``model`` and ``provider``."""
_SETS = ("unenforced_tool_choices", "rejected_params")


def spec_from_table(base: ProviderSpec, table: Mapping[str, Any]) -> ProviderSpec:
    """``base`` with a saved profile's findings applied (unknown keys are ignored).

    Args:
        base: The provider the model string names (``local`` for most probed servers).
        table: One saved profile (see :data:`PROFILE_FIELDS`); ``tool_call_content`` is
            ``"null"``, ``""`` or ``"absent"``.

    Returns:
        A new :class:`ProviderSpec`: the same type the built-in providers use.
    """
    changes: dict[str, Any] = {}
    for name in _SPEC_FIELDS:
        if name not in table:
            continue
        value = table[name]
        if name in _SETS:
            value = frozenset(str(v) for v in value)
        elif name == "renamed_params":
            value = {str(k): str(v) for k, v in dict(value).items()}
        elif name == "tool_call_content":
            changes["omit_tool_call_content"] = value == "absent"
            value = "" if value in ("", "absent") else None
        changes[name] = value
    model = {k: table[k] for k in _MODEL_FIELDS if k in table}
    if model:
        changes["profile"] = dataclasses.replace(base.profile, **model)
    return dataclasses.replace(base, **changes)


def spec_to_table(spec: ProviderSpec) -> dict[str, Any]:
    """The profile table of ``spec`` (the inverse of :func:`spec_from_table`), TOML-ready."""
    out: dict[str, Any] = {}
    for name in _SPEC_FIELDS:
        value = getattr(spec, name)
        if name in _SETS:
            value = sorted(value)
        elif name == "renamed_params":
            value = dict(value)
        elif name == "tool_call_content":
            value = "absent" if spec.omit_tool_call_content else ("" if value == "" else "null")
        elif name == "omit_tool_call_content" or value is None:
            continue
        out[name] = value
    for name in _MODEL_FIELDS:
        if getattr(spec.profile, name) is not None:
            out[name] = getattr(spec.profile, name)
    return out


GEMINI_PROFILE = ModelProfile(supports_strict=False, supports_parallel_tool_calls=False)

PROVIDERS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec(
            name="openai",
            base_url="https://api.openai.com/v1",
            key_env=("OPENAI_API_KEY", "AGENTLOOP_API_KEY"),
            requires_key=True,
            renamed_params={"max_tokens": "max_completion_tokens"},
            profile=ModelProfile(supports_file_parts=True),  # PDF attachments as file parts
            description="OpenAI (key: OPENAI_API_KEY)",
        ),
        ProviderSpec(
            name="gemini",
            base_url=GEMINI_BASE_URL,
            key_env=("GEMINI_API_KEY", "AGENTLOOP_API_KEY"),
            requires_key=True,
            allowed_params=_GEMINI_PARAMS,
            gemini=True,
            profile=GEMINI_PROFILE,
            description="Google Gemini, OpenAI-compatible endpoint (key: GEMINI_API_KEY)",
        ),
        ProviderSpec(
            name="kkiai",
            base_url="https://www.kkiai.com/v1",
            key_env=("KKIAI_API_KEY", "AGENTLOOP_API_KEY"),
            requires_key=True,
            gemini="auto",
            description="kkiai relay; Gemini quirks for gemini-* models (key: KKIAI_API_KEY)",
        ),
        ProviderSpec(
            name="ollama",
            base_url="http://localhost:11434/v1",
            key_env=(),
            description="Ollama on this machine (no key)",
        ),
        ProviderSpec(
            name="vllm",
            base_url="http://localhost:8000/v1",
            key_env=("VLLM_API_KEY", "AGENTLOOP_API_KEY"),
            description="vLLM server (key optional: VLLM_API_KEY)",
        ),
        ProviderSpec(
            name="llamacpp",
            base_url="http://localhost:8080/v1",
            key_env=("LLAMACPP_API_KEY",),
            # llama-cpp-python's request validation refuses content: null next to
            # tool_calls (with a 500), and it cannot stream tool_choice "auto" (an
            # empty 200); it ignores stream_options and strict, and has no json_schema.
            tool_call_content="",
            streams_tool_choice_auto=False,
            stream_usage=False,
            rejected_params=frozenset({"stream_options", "parallel_tool_calls"}),
            profile=ModelProfile(
                supports_json_schema=False,
                supports_strict=False,
                supports_parallel_tool_calls=False,
            ),
            description="llama.cpp server (llama-cpp-python or llama-server; key optional: "
            "LLAMACPP_API_KEY)",
        ),
        ProviderSpec(
            name="local",
            base_url=None,
            description="any OpenAI-compatible server at --base-url / AGENTLOOP_BASE_URL",
        ),
    )
}
"""Every known provider, by prefix."""
