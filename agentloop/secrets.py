"""The one redaction rule: what never reaches a file, a log line or an error message.

Every writer (the JSONL trace, the run log ``logs.db``, session messages, cassettes, OpenTelemetry
spans, the CLI's error lines, error bodies echoed by servers) passes what it writes through a
:class:`Redactor`. A redactor replaces with ``[REDACTED]``:

* every secret the process knows, whatever its source: values of key-like environment variables
  (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*_PASSWORD``, ``*_ACCESS_KEY``), and every value
  given to :func:`remember` (the key store's keys, ``api_key`` from ``agentloop.toml``, the
  credential a client sends, a key inside a base URL), plus the redactor's own ``secrets``;
* what has the shape of a credential even when nobody named it (:data:`PATTERNS`): ``Bearer``
  tokens, well-known provider key formats (``sk-...``, ``AIza...``, ``ghp_...``, ...), the password
  of a URL (``https://user:PASSWORD@host``) and key-like query parameters (``?key=...``).

The registry is process-wide on purpose: a key loaded by the configuration must be redacted by a
trace writer that was built before it, in another module, without anyone passing it along.
Strings shorter than :data:`MIN_LENGTH` are never treated as secrets (redacting ``"1"`` would
destroy every text).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "MASK",
    "MIN_LENGTH",
    "PATTERNS",
    "SECRET_SUFFIXES",
    "Redactor",
    "env_secrets",
    "known_secrets",
    "redact",
    "redact_value",
    "remember",
    "url_secrets",
]

MASK = "[REDACTED]"
MIN_LENGTH = 4
SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_ACCESS_KEY", "_SECRET_KEY")
# query parameters that carry a key (Google's ?key=, signed URLs, gateways)
_KEY_PARAMS = {"key", "api_key", "apikey", "api-key", "token", "access_token", "auth", "sig"}

#: Shapes of credentials, redacted wherever they appear (group 1, when present, is kept).
PATTERNS: tuple[re.Pattern[str], ...] = (
    # a bearer token: at least 8 characters with a digit or a token punctuation mark
    re.compile(r"(?i)\b(bearer\s+)(?=[^\s\"',;\\]*[0-9._\-+/=~])[^\s\"',;\\]{8,}"),
    # OpenAI / Anthropic / DeepSeek style keys
    re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"),
    # Google API keys
    re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"),
    # GitHub, Hugging Face, Groq, Slack tokens
    re.compile(r"\b(?:gh[pousr]_|github_pat_|hf_|gsk_|xox[abprs]-)[A-Za-z0-9_\-]{16,}"),
    # AWS access key ids
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    # the password of a URL: scheme://user:PASSWORD@host
    re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s:/@\"'\\]*:)[^\s/@\"'\\]+(?=@)"),
    # key-like query parameters: ?key=VALUE, &api_key=VALUE, ...
    re.compile(
        r"(?i)([?&](?:key|api_key|apikey|api-key|token|access_token|auth|sig)=)[^&\s\"'#\\]+"
    ),
)
_BYTE_PATTERNS = tuple(re.compile(p.pattern.encode("ascii"), p.flags & ~re.U) for p in PATTERNS)
# What every match of PATTERNS contains (a superset, case-folded): a string without any of
# these skips the seven substitutions. Most strings a run writes (roles, names, short texts)
# are such strings, and a run log redacts every one of them.
_MAYBE = re.compile(r"(?i)bearer|sk-|aiza|gh[pousr]_|github_pat_|hf_|gsk_|xox|akia|://|[?&]")

_lock = threading.Lock()
_remembered: set[str] = set()


def remember(*values: str | None) -> None:
    """Add secrets to the process-wide registry every :class:`Redactor` consults.

    Args:
        *values: Keys, tokens, passwords; ``None``, non-strings and strings shorter than
            :data:`MIN_LENGTH` are ignored. Surrounding whitespace is stripped.
    """
    fresh = {v.strip() for v in values if isinstance(v, str) and len(v.strip()) >= MIN_LENGTH}
    with _lock:
        _remembered.update(fresh)


def env_secrets(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The values of environment variables that hold keys (``*_API_KEY``, ``*_TOKEN``, ...)."""
    if env is None:
        return _process_env_secrets()
    return tuple(
        v.strip()
        for k, v in env.items()
        if k.upper().endswith(SECRET_SUFFIXES) and len(v.strip()) >= MIN_LENGTH
    )


_env_cache: list[Any] = [None, ()]  # [the environment's items when last read, its secrets]


def _process_env_secrets() -> tuple[str, ...]:
    """``env_secrets(os.environ)``, read again only when the environment changed.

    Every redaction asks (a logged run redacts dozens of values); comparing a C-level copy of
    the environment's raw items is much cheaper than decoding and testing every variable.
    """
    raw = getattr(os.environ, "_data", None)  # CPython's os._Environ keeps the raw items here
    if not isinstance(raw, dict):
        return env_secrets(dict(os.environ))
    items = tuple(raw.items())
    if items != _env_cache[0]:
        _env_cache[1] = env_secrets(dict(os.environ))
        _env_cache[0] = items
    return _env_cache[1]  # type: ignore[no-any-return]


def known_secrets() -> tuple[str, ...]:
    """Every secret of the process now: the environment's and the remembered ones."""
    with _lock:
        remembered = tuple(_remembered)
    return (*env_secrets(), *remembered)


def url_secrets(url: str | None) -> tuple[str, ...]:
    """The secrets inside a URL: its password and the values of key-like query parameters.

    Example:
        ``url_secrets("https://u:pw12@h/v1?key=abcd")`` is ``("pw12", "abcd")``.
    """
    if not url or not isinstance(url, str):
        return ()
    try:
        parts = urlsplit(url.strip())
        found = [parts.password or ""]
    except ValueError:
        return ()
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in _KEY_PARAMS]
    return tuple(v for v in found if len(v) >= MIN_LENGTH)


@functools.lru_cache(maxsize=64)
def _matcher(secrets: frozenset[str]) -> tuple[re.Pattern[str] | None, re.Pattern[bytes] | None]:
    if not secrets:
        return None, None
    ordered = sorted(secrets, key=len, reverse=True)  # the longest first: no partial leftovers
    text = re.compile("|".join(re.escape(s) for s in ordered))
    raw = re.compile(b"|".join(re.escape(s.encode("utf-8")) for s in ordered))
    return text, raw


class Redactor:
    """Replace every known secret and every credential-shaped string by ``[REDACTED]``.

    The secrets are read when a value is redacted (not when the redactor is built), so a key
    remembered later, or set in the environment later, is still caught.

    Args:
        secrets: More strings to hide, for this redactor only (``None`` and short ones ignored).
        patterns: False applies only the exact secrets, not :data:`PATTERNS`.

    Example:
        ``Redactor(["sk-my-key"]).value({"echo": "sk-my-key"})`` is ``{"echo": "[REDACTED]"}``.
    """

    __slots__ = ("_own", "patterns")

    def __init__(self, secrets: Iterable[str | None] = (), *, patterns: bool = True) -> None:
        self._own: set[str] = set()
        self.patterns = patterns
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Hide these strings too (in this redactor; see :func:`remember` for every writer)."""
        self._own.update(
            s.strip() for s in secrets if isinstance(s, str) and len(s.strip()) >= MIN_LENGTH
        )

    @property
    def secrets(self) -> frozenset[str]:
        """Every exact string this redactor hides right now."""
        return frozenset((*self._own, *known_secrets()))

    def text(self, text: str) -> str:
        """``text`` with every secret and credential shape replaced."""
        return self._text(text, _matcher(self.secrets)[0])

    def value(self, value: Any) -> Any:
        """A JSON-like value copied with every string (values and object keys) redacted.

        Tuples become lists; other values are returned unchanged.
        """
        return self._value(value, _matcher(self.secrets)[0])

    def bytes(self, data: bytes) -> bytes:
        """Raw bytes (a body that is not UTF-8) with every secret's UTF-8 bytes replaced."""
        exact = _matcher(self.secrets)[1]
        if exact is not None:
            data = exact.sub(MASK.encode(), data)
        if self.patterns:
            for pattern in _BYTE_PATTERNS:
                data = pattern.sub(_byte_mask if pattern.groups else MASK.encode(), data)
        return data

    def _text(self, text: str, exact: re.Pattern[str] | None) -> str:
        if len(text) <= _CACHED_LENGTH:  # names, roles, ids: the same few strings every event
            return _short_text(text, exact, self.patterns)
        return _redact_text(text, exact, self.patterns)

    def _value(self, value: Any, exact: re.Pattern[str] | None) -> Any:
        kind = type(value)  # exact types first: an ABC isinstance check costs ten times more
        if kind is str:
            return self._text(value, exact)
        if kind is dict:
            return {self._text(str(k), exact): self._value(v, exact) for k, v in value.items()}
        if kind is list or kind is tuple:
            return [self._value(v, exact) for v in value]
        if kind in _SCALARS:
            return value
        return self._other(value, exact)

    def _other(self, value: Any, exact: re.Pattern[str] | None) -> Any:
        """:meth:`_value` of subclasses and other mappings (the same rules, slower checks)."""
        if isinstance(value, str):
            return self._text(value, exact)
        if isinstance(value, Mapping):
            return {self._text(str(k), exact): self._value(v, exact) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._value(v, exact) for v in value]
        return value

    def __repr__(self) -> str:
        return f"Redactor({len(self._own)} own secrets, patterns={self.patterns})"


_CACHED_LENGTH = 200


def _byte_mask(match: re.Match[bytes]) -> bytes:
    return match.group(1) + MASK.encode()


_SCALARS = frozenset({int, float, bool, type(None)})


def _redact_text(text: str, exact: re.Pattern[str] | None, patterns: bool) -> str:
    if exact is not None:
        text = exact.sub(MASK, text)
    if patterns and _MAYBE.search(text):
        for pattern in PATTERNS:
            if pattern.groups:
                text = pattern.sub(lambda m: m.group(1) + MASK, text)
            else:
                text = pattern.sub(MASK, text)
    return text


# keyed by the exact-secrets pattern too: a new secret gives new keys, never a stale answer
_short_text = functools.lru_cache(maxsize=4096)(_redact_text)


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every known secret, every given one and every credential shape replaced."""
    return Redactor(secrets).text(text)


def redact_value(value: Any, *secrets: str | None) -> Any:
    """A JSON-like value with every string redacted (see :meth:`Redactor.value`)."""
    return Redactor(secrets).value(value)
