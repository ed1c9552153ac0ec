"""Model strings to Model objects, with each provider's defaults and quirks.

A model string is ``offline`` or ``provider:model``. Each provider in
:data:`PROVIDERS` has a default base URL, the environment variables its API
key is read from, and the request quirks :class:`ChatModel` applies::

    offline                     the built-in offline model (no network)
    openai:gpt-4o-mini          https://api.openai.com/v1            OPENAI_API_KEY
    gemini:gemini-2.5-flash     Google's OpenAI-compatible endpoint  GEMINI_API_KEY
    kkiai:gemini-2.5-pro        https://www.kkiai.com/v1             KKIAI_API_KEY
    ollama:llama3.2             http://localhost:11434/v1            (no key)
    vllm:Qwen/Qwen3-8B          http://localhost:8000/v1             (key optional)
    llamacpp:MODEL              http://localhost:8080/v1             (key optional)
    local:MODEL                 AGENTLOOP_BASE_URL / base_url=       (key optional)

For every provider an explicit ``base_url`` (or ``AGENTLOOP_BASE_URL``)
replaces the default, and ``AGENTLOOP_API_KEY`` is the last place a key is
looked for. The key never appears in a ``repr`` or an error message.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentloop.errors import (
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    ContextWindowExceeded,
)
from agentloop.messages import ChatResponse
from agentloop.protocols import ChatStreamLike
from agentloop.providers.gemini import GEMINI_PARAMS as _GEMINI_PARAMS
from agentloop.providers.gemini import gemini_params as _gemini_params
from agentloop.providers.gemini import gemini_tool as _gemini_tool
from agentloop.providers.gemini import sanitize_schema_for_gemini
from agentloop.providers.quirks import (
    AdaptedStream,
    adapt_messages,
    empty_tool_content,
    enforce_tool_choice,
    fix_messages,
    key_hint,
    not_a_later_call,
    rejects_tool_call_content,
    replay_as_stream,
    response_fix,
    streams_badly,
)
from agentloop.providers.specs import GEMINI_PROFILE, PROVIDERS, ProviderSpec, spec_from_table
from agentloop.userdirs import user_dir

if TYPE_CHECKING:
    from agentloop.client.chat import ChatClient
    from agentloop.protocols import Model

__all__ = [
    "PROVIDERS",
    "ChatModel",
    "PROFILES_FILE",
    "ProviderSpec",
    "SavedProfile",
    "find_provider",
    "find_saved_profile",
    "provider_tool_definitions",
    "resolve_model",
    "sanitize_schema_for_gemini",
    "saved_profiles",
]

PROFILES_FILE = "profiles.toml"
"""The user's saved endpoint profiles, in agentloop's config folder (``agentloop probe --save``)."""


def find_provider(model: str) -> tuple[ProviderSpec, str]:
    """Split a ``provider:model`` string and look the provider up.

    Args:
        model: A model string such as ``gemini:gemini-2.5-flash``.

    Returns:
        The provider and the model name sent to it.

    Raises:
        ConfigurationError: No prefix, an unknown prefix, or an empty model name.
    """
    known = ", ".join(["offline", *(f"{name}:MODEL" for name in PROVIDERS)])
    prefix, sep, name = model.partition(":")
    if not sep:
        raise ConfigurationError(
            f"model {model!r} has no provider prefix; write provider:model, "
            f"e.g. openai:{model} (known: {known})"
        )
    spec = PROVIDERS.get(prefix.strip().lower())
    if spec is None:
        raise ConfigurationError(f"unknown model provider {prefix!r} in {model!r} (known: {known})")
    if not name.strip():
        raise ConfigurationError(f"model {model!r} names no model after {prefix!r}:")
    return spec, name.strip()


def resolve_model(
    spec: str | Model,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    headers: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Model:
    """Turn a model string into a ready :class:`~agentloop.Model`.

    Args:
        spec: ``offline``, ``provider:model``, or a Model (returned unchanged).
        base_url: Overrides the provider's default base URL (and ``AGENTLOOP_BASE_URL``).
        api_key: The key; when None it is read from the provider's variables.
        timeout: Client timeout in seconds (the client's default when None).
        max_retries: Client retries (the client's default when None).
        headers: Extra HTTP headers.
        env: Where variables are read (default ``os.environ``).

    Returns:
        The model.

    Raises:
        ConfigurationError: Bad model string, no base URL for ``local:``, or a
            missing key for a provider that needs one (naming the variable).
    """
    if not isinstance(spec, str):
        return spec
    env = os.environ if env is None else env
    text = spec.strip()
    if text.lower() == "offline":
        from agentloop.offline.model import OfflineModel

        return OfflineModel()
    provider, model_name = find_provider(text)
    url = base_url or env.get("AGENTLOOP_BASE_URL") or provider.base_url
    if not url:
        raise ConfigurationError(
            f"model {text!r} needs a base URL: pass --base-url URL or set AGENTLOOP_BASE_URL "
            "(e.g. http://localhost:8000/v1)"
        )
    saved = find_saved_profile(url, model_name, env)
    if saved is not None:
        provider = spec_from_table(provider, saved.table)
    key = api_key or _key_from_env(provider, env)
    if not key and provider.requires_key:
        names = " or ".join(provider.key_env)
        raise ConfigurationError(f"model {text!r} needs an API key: set {names}")
    from agentloop.client.chat import ChatClient

    options: dict[str, Any] = {"timeout": timeout, "max_retries": max_retries, "headers": headers}
    client = ChatClient(
        base_url=url,
        api_key=key or None,
        **{k: v for k, v in options.items() if v is not None},
    )
    return ChatModel(client, model_name, provider)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class SavedProfile:
    """One endpoint profile saved by ``agentloop probe --save`` (docs/probe.md).

    Attributes:
        base_url: The endpoint it was probed at (no trailing slash).
        model: The model name it was probed with.
        path: The file it is saved in.
        table: Its findings, as :func:`~agentloop.providers.specs.spec_from_table` reads them.
    """

    base_url: str
    model: str
    path: Path
    table: Mapping[str, Any]


def saved_profiles(
    env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> list[SavedProfile]:
    """Every saved profile: ``agentloop.toml``'s ``[[profiles]]`` first, then the user's.

    Raises:
        ConfigurationError: A profile file that does not parse, or an entry without
            ``base_url`` and ``model`` (naming the file).
    """
    places = [
        (Path.cwd() if cwd is None else cwd) / "agentloop.toml",
        user_dir("config", env) / PROFILES_FILE,
    ]
    found: list[SavedProfile] = []
    for path in places:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"cannot read profiles in {path}: {exc}") from exc
        entries = data.get("profiles", [])
        for entry in entries if isinstance(entries, list) else [entries]:
            if not (isinstance(entry, dict) and entry.get("base_url") and entry.get("model")):
                raise ConfigurationError(
                    f"{path}: every [[profiles]] entry needs base_url and model "
                    "(rewrite it with agentloop probe MODEL --base-url URL --save)"
                )
            url = str(entry["base_url"]).rstrip("/")
            found.append(
                SavedProfile(base_url=url, model=str(entry["model"]), path=path, table=entry)
            )
    return found


def find_saved_profile(
    base_url: str, model: str, env: Mapping[str, str] | None = None
) -> SavedProfile | None:
    """The saved profile for this endpoint and model (the project's file wins), or None."""
    url = base_url.rstrip("/")
    return next((p for p in saved_profiles(env) if p.base_url == url and p.model == model), None)


def _key_from_env(provider: ProviderSpec, env: Mapping[str, str]) -> str | None:
    """The provider's key variables, then the user's key store (``agentloop keys set``)."""
    for name in provider.key_env:
        value = env.get(name, "").strip()
        if value:
            return value
    from agentloop.providers.keys import stored_key

    return stored_key(provider.name, env)


class ChatModel:
    """A model behind an OpenAI-compatible endpoint, with its provider's quirks applied.

    Before every request it drops parameters the provider rejects, renames
    ``max_tokens``/``max_completion_tokens`` to the one the provider takes, sends ``name`` on
    every ``tool`` message (whether ``parallel_tool_calls`` is sent is the loop's decision), and
    for Gemini sends ``developer`` messages as ``system``, strips ``strict``
    and sanitizes every JSON Schema (:func:`sanitize_schema_for_gemini`).

    Args:
        client: The HTTP client (base URL and key).
        model_name: The model name sent to the server.
        provider: The provider whose quirks apply: a :class:`ProviderSpec`, a provider
            name such as ``"gemini"``, or None for a generic OpenAI-compatible server.

    Raises:
        ConfigurationError: ``provider`` names no known provider.
    """

    def __init__(
        self, client: ChatClient, model_name: str, provider: ProviderSpec | str | None = None
    ) -> None:
        if provider is None or isinstance(provider, str):
            provider = _provider_named(provider or "local")
        # "absent" (content left out by adapt_messages) must not be refilled with ""
        self._empty_tool_content = (
            provider.tool_call_content == "" and not provider.omit_tool_call_content
        )
        self._adapts = (
            provider.string_content_only
            or provider.merge_system
            or provider.omit_tool_call_content
            or provider.reasoning_field is not None
        )
        self._enforces = bool(provider.unenforced_tool_choices) or (
            "tool_choice" in provider.rejected_params
        )
        # parallel_tool_calls: false accepted and ignored: enforced on the response
        self._serial = "parallel_tool_calls" in provider.unenforced_tool_choices
        self.client = client
        self.model_name = model_name
        self.provider = provider
        self.is_gemini = provider.uses_gemini_quirks(model_name)
        self.profile = GEMINI_PROFILE if self.is_gemini else provider.profile

    @property
    def name(self) -> str:
        """The model string, ``provider:model``."""
        return f"{self.provider.name}:{self.model_name}"

    def __repr__(self) -> str:
        return f"ChatModel({self.name!r})"

    def create(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatResponse:
        """Send one request and return the whole response."""
        fix = response_fix(
            self.provider, self._serial and params.get("parallel_tool_calls") is False
        )
        messages, params = self.prepare(messages, params)
        response: ChatResponse = self._send(self.client.create, messages, params)
        return response if fix is None else fix(response)

    def stream(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatStreamLike:
        """Send one streamed request (asking for usage); iterate the result for events.

        A request the provider cannot stream (see
        :attr:`ProviderSpec.streams_tool_choice_auto`) is sent unstreamed; the
        result still yields the response's events.
        """
        serial = self._serial and params.get("parallel_tool_calls") is False
        fix = response_fix(self.provider, serial)
        if streams_badly(self.provider.streams_tool_choice_auto, params):
            params = {k: v for k, v in params.items() if k != "stream_options"}
            messages, params = self.prepare(messages, params)
            response = self._send(self.client.create, messages, params)
            stream: ChatStreamLike = replay_as_stream(response.raw)
        else:
            if self.provider.stream_usage and "stream_options" not in params:
                params = {**params, "stream_options": {"include_usage": True}}
            messages, params = self.prepare(messages, params)
            stream = self._send(self.client.stream, messages, params)
        if fix is None:
            return stream
        return AdaptedStream(stream, fix, not_a_later_call if serial else None)

    def _send(self, send: Any, messages: list[dict[str, Any]], params: dict[str, Any]) -> Any:
        """Send, falling back once to ``content: ""`` on tool-call-only assistant turns.

        Servers disagree on ``content: null`` next to ``tool_calls`` (Gemini's
        layers have flip-flopped, docs/providers.md; llama-cpp-python's validation
        refuses it with a 500). Unless the provider's profile says ``""``, ``null``
        is sent first; a rejection that names the content or the message (by
        what the server says, whatever the status) is retried once with ``""``,
        and this model object remembers the choice for later requests.
        """
        if self._empty_tool_content:
            messages = empty_tool_content(messages)
        try:
            return send(model=self.model_name, messages=messages, **params)
        except AuthenticationError as exc:
            exc.add_note(self._key_hint())
            raise
        except ContextWindowExceeded as exc:
            if exc.window is None:
                exc.window = self.profile.context_tokens  # known from the endpoint's profile
            raise
        except APIStatusError as exc:
            if self._empty_tool_content or not rejects_tool_call_content(exc):
                raise
            fixed = empty_tool_content(messages)
            if fixed == messages:
                raise
            self._empty_tool_content = True
            return send(model=self.model_name, messages=fixed, **params)

    def _key_hint(self) -> str:
        return key_hint(self.provider.name, self.provider.key_env, self.client.has_api_key)

    def prepare(
        self, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Apply the provider's quirks to a request (the inputs are not changed).

        Args:
            messages: Wire-format messages.
            params: Body parameters other than ``model``, ``messages`` and ``stream``.

        Returns:
            The messages and parameters to send.
        """
        out = {k: v for k, v in params.items() if v is not None}
        for old, new in self.provider.renamed_params.items():
            if old in out:
                value = out.pop(old)
                out.setdefault(new, value)
        if self._enforces:
            out = enforce_tool_choice(self.provider, out)
        if self.is_gemini:
            out = _gemini_params(out)
        allowed = self.provider.allowed_params or (_GEMINI_PARAMS if self.is_gemini else None)
        out = {
            k: v
            for k, v in out.items()
            if k not in self.provider.rejected_params and (allowed is None or k in allowed)
        }
        if self._adapts:
            messages = adapt_messages(self.provider, messages)
        return fix_messages(messages, developer_as_system=self.is_gemini), out


def provider_tool_definitions(model: str, definitions: list[Any]) -> list[Any]:
    """Return tool definitions as they are sent to ``model``'s provider (no key needed).

    Args:
        model: A model string (``offline`` and providers without quirks change nothing).
        definitions: Tool definitions (``{"type": "function", "function": {...}}``).

    Returns:
        The definitions after the provider's quirks (for Gemini: sanitized schemas, no ``strict``).
    """
    if model.strip().lower() == "offline":
        return list(definitions)
    provider, model_name = find_provider(model.strip())
    if not provider.uses_gemini_quirks(model_name):
        return list(definitions)
    return [_gemini_tool(t) for t in definitions]


def _provider_named(name: str) -> ProviderSpec:
    spec = PROVIDERS.get(name.strip().lower())  # spelled as in find_provider's prefixes
    if spec is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigurationError(f"unknown provider {name!r}; known providers: {known}")
    return spec
