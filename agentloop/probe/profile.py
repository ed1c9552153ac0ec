"""Findings to a profile, and a profile to a file (``agentloop probe --save``).

A profile is a table of :data:`~agentloop.providers.specs.PROFILE_FIELDS`: the same fields the
built-in providers' :class:`~agentloop.providers.specs.ProviderSpec` carries, read back by
:func:`~agentloop.providers.specs.spec_from_table` when a model string names this base URL and
model. It is saved as one ``[[profiles]]`` entry, in the user's ``profiles.toml`` or in the
project's ``agentloop.toml`` (``--save-local``); an entry for the same endpoint is replaced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentloop.errors import ConfigurationError
from agentloop.probe.findings import Finding
from agentloop.providers.registry import PROFILES_FILE
from agentloop.userdirs import user_dir

__all__ = ["profile_path", "profile_table", "save_profile", "toml_entry"]

_CHOICES = {"tool_choice_none": "none", "tool_choice_required": "required",
            "tool_choice_named": "named"}  # fmt: skip


def _is(findings: Mapping[str, Finding], check: str, outcome: str) -> bool:
    found = findings.get(check)
    return found is not None and found.outcome == outcome


def _value(findings: Mapping[str, Finding], check: str) -> Any:
    found = findings.get(check)
    return found.value if found is not None else None


def profile_table(findings: Mapping[str, Finding]) -> dict[str, Any]:
    """The profile the findings call for; a check that could not tell changes nothing.

    Args:
        findings: The probe's findings, by check name.

    Returns:
        A table of :data:`~agentloop.providers.specs.PROFILE_FIELDS` (only what was learned).
    """
    table: dict[str, Any] = {}
    for check, value in (
        ("content_null", "null"),
        ("content_empty", ""),
        ("content_absent", "absent"),
    ):
        if _is(findings, check, "yes"):
            table["tool_call_content"] = value
            break
    rejected: set[str] = set()
    if _is(findings, "stream_include_usage", "no"):
        table["stream_usage"] = False
        rejected.add("stream_options")
    if _is(findings, "stream_tools", "no"):
        table["streams_tool_choice_auto"] = False
    if _is(findings, "typed_content", "no"):
        table["string_content_only"] = True
    if _is(findings, "two_system", "no"):
        table["merge_system"] = True
    if _value(findings, "reasoning_echo") in ("required", "accepted"):
        # echoed wherever the server takes it back: DeepSeek refuses a tool-call turn
        # without it; vLLM drops a missing one silently, so "accepted" counts too
        table["reasoning_field"] = _value(findings, "reasoning_field")
    unenforced = {name for check, name in _CHOICES.items() if _is(findings, check, "no")}
    if _value(findings, "server_config") == "auto_tool_choice":
        unenforced.add("auto")  # refused for want of a server flag; the finding names it
    elif _is(findings, "tool_choice_auto", "no"):
        rejected.add("tool_choice")
    parallel = findings.get("parallel_tool_calls")
    if parallel is not None and parallel.value == "ignored":
        unenforced.add("parallel_tool_calls")  # accepted and ignored: agentloop enforces it
    elif parallel is not None and parallel.outcome != "unknown":
        table["supports_parallel_tool_calls"] = parallel.outcome == "yes"
    if unenforced:
        table["unenforced_tool_choices"] = sorted(unenforced)
    if _is(findings, "max_tokens", "no") and _is(findings, "max_completion_tokens", "yes"):
        table["renamed_params"] = {"max_tokens": "max_completion_tokens"}
    elif _is(findings, "max_completion_tokens", "no") and _is(findings, "max_tokens", "yes"):
        table["renamed_params"] = {"max_completion_tokens": "max_tokens"}
    if rejected:
        table["rejected_params"] = sorted(rejected)
    for check, key in (("strict", "supports_strict"), ("json_schema", "supports_json_schema")):
        if findings.get(check) is not None and findings[check].outcome in ("yes", "no"):
            table[key] = findings[check].outcome == "yes"
    if isinstance(_value(findings, "context_window"), int):
        table["context_tokens"] = _value(findings, "context_window")
    return table


def profile_path(
    local: bool, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path:
    """Where ``--save`` writes: the user's ``profiles.toml``, or ``./agentloop.toml``."""
    if local:
        return (Path.cwd() if cwd is None else cwd) / "agentloop.toml"
    return user_dir("config", env) / PROFILES_FILE


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items())
            + "}"
        )
    raise ConfigurationError(f"cannot write {value!r} to a profile")


def toml_entry(base_url: str, model: str, table: Mapping[str, Any], note: str = "") -> str:
    """One ``[[profiles]]`` entry as TOML text."""
    lines = ["[[profiles]]"]
    if note:
        lines.insert(0, f"# {note}")
    fields = {"base_url": base_url.rstrip("/"), "model": model, **table}
    lines += [f"{key} = {_toml_value(value)}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


_ENTRY = re.compile(r"(?m)^(?:#[^\n]*\n)?\[\[profiles\]\]\n(?:(?!\[)[^\n]*\n?)*")


def save_profile(
    path: Path, base_url: str, model: str, table: Mapping[str, Any], note: str = ""
) -> Path:
    """Write the profile into ``path``, replacing an entry for the same endpoint and model.

    The rest of the file (other settings, other profiles) is kept as it is.

    Raises:
        ConfigurationError: The file cannot be read or written (naming it).
    """
    import tomllib

    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    url = base_url.rstrip("/")

    def same(match: re.Match[str]) -> bool:
        try:
            entry = tomllib.loads(match.group(0).replace("[[profiles]]", "", 1))
        except tomllib.TOMLDecodeError:
            return False
        return str(entry.get("base_url", "")).rstrip("/") == url and entry.get("model") == model

    kept = _ENTRY.sub(lambda m: "" if same(m) else m.group(0), text).rstrip("\n")
    new = (kept + "\n\n" if kept else "") + toml_entry(url, model, table, note)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new, encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot write the profile to {path}: {exc}") from exc
    return path
