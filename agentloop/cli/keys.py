"""``agentloop models`` (providers and what each needs) and ``agentloop keys`` (the key store).

::

    agentloop models [--json]            providers: base URL, key variables, quirks, key set?
    agentloop keys set PROVIDER          read a key (hidden on a terminal, else stdin) and store it
    agentloop keys list [--json]         which providers have a stored key (never the values)
    agentloop keys remove PROVIDER
    agentloop keys path                  where the store is

The provider table is read from :data:`agentloop.providers.registry.PROVIDERS`
when the command runs, so every provider there is listed. Keys are stored in
a file only its owner can read (see :mod:`agentloop.providers.keys`) and are
used after the environment's key variables. This module imports only the
standard library at load time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

__all__ = ["add_parser", "keys_command", "models_command", "provider_rows"]


def add_parser(sub: Any, shared: Any) -> None:
    """Add the ``models`` and ``keys`` commands."""
    models = sub.add_parser(
        "models",
        parents=[shared.common],
        help="list the model providers and what each needs",
        description="Each provider prefix of a model string (provider:model): its default base "
        "URL, the key variables read (then the key store), and the request quirks applied.",
    )
    models.add_argument(
        "words", nargs="*", metavar="default [MODEL]",
        help="'default' shows the default model, 'default MODEL' sets it (stored in the user "
        "config; used when no --model, AGENTLOOP_MODEL or config file names one)",
    )  # fmt: skip
    models.add_argument("--unset", action="store_true", help="with 'default': forget it")
    models.add_argument("--json", action="store_true", help="print the table as JSON")
    models.set_defaults(handler="agentloop.cli.keys:models_command")

    keys = sub.add_parser(
        "keys",
        parents=[shared.common],
        help="store API keys in the user's key store (mode 0600)",
        description="Keys are used after the environment's key variables. Values are never shown.",
    )
    actions = keys.add_subparsers(dest="keys_action", metavar="ACTION")
    actions.required = True
    store = actions.add_parser("set", help="store a key (read hidden from the terminal, or stdin)")
    store.add_argument("provider", metavar="PROVIDER", help="a provider name (agentloop models)")
    listing = actions.add_parser("list", help="which providers have a stored key")
    listing.add_argument("--json", action="store_true", help="print JSON")
    remove = actions.add_parser("remove", help="delete a stored key")
    remove.add_argument("provider", metavar="PROVIDER")
    actions.add_parser("path", help="print where the key store is")
    keys.set_defaults(handler="agentloop.cli.keys:keys_command")


def provider_rows() -> list[dict[str, Any]]:
    """One row per provider: name, base URL, key variables, key status, quirks, description."""
    from agentloop.providers.keys import load_keys
    from agentloop.providers.registry import PROVIDERS

    stored = load_keys()
    rows = []
    for name, spec in PROVIDERS.items():
        key_env = list(getattr(spec, "key_env", ()) or ())
        from_env = next((v for v in key_env if os.environ.get(v, "").strip()), None)
        rows.append(
            {
                "provider": name,
                "model_string": f"{name}:MODEL",
                "base_url": getattr(spec, "base_url", None),
                "key_env": key_env,
                "requires_key": bool(getattr(spec, "requires_key", False)),
                "key": f"env {from_env}" if from_env else ("key store" if name in stored else None),
                "quirks": _quirks(spec),
                "description": getattr(spec, "description", ""),
            }
        )
    return rows


def _quirks(spec: Any) -> list[str]:
    """What the provider's spec changes in requests, in words (read from its fields)."""
    quirks = []
    for old, new in dict(getattr(spec, "renamed_params", {}) or {}).items():
        quirks.append(f"sends {old} as {new}")
    allowed = getattr(spec, "allowed_params", None)
    if allowed:
        quirks.append(f"only {len(allowed)} known body parameters are sent")
    rejected = sorted(getattr(spec, "rejected_params", ()) or ())
    if rejected:
        quirks.append(f"never sends {', '.join(rejected)}")
    gemini = getattr(spec, "gemini", False)
    if gemini:
        when = " for gemini-* models" if gemini == "auto" else ""
        quirks.append(f"Gemini schema sanitizing, no strict, developer->system{when}")
    if getattr(spec, "stream_usage", True) is False:
        quirks.append("no usage in streams")
    if getattr(spec, "tool_call_content", None) == "":
        quirks.append('tool-call-only turns send content ""')
    if getattr(spec, "streams_tool_choice_auto", True) is False:
        quirks.append("requests with tools are not streamed")
    profile = getattr(spec, "profile", None)
    if profile is not None:
        import dataclasses

        default = type(profile)()
        for f in dataclasses.fields(profile):
            value = getattr(profile, f.name)
            if value != getattr(default, f.name):
                quirks.append(f"{f.name}={value}")
    return quirks


def models_command(args: argparse.Namespace) -> int:
    """Print the provider table, or show/set the default model (``models default [MODEL]``)."""
    words = list(getattr(args, "words", None) or ())
    if words:
        return _default_command(words, unset=args.unset)
    rows = provider_rows()
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    sys.stdout.write("offline: the built-in offline model (no network, no key)\n")
    for row in rows:
        if row["key_env"]:
            need = "required" if row["requires_key"] else "optional"
            key = f"key {need}: {' or '.join(row['key_env'])} or `agentloop keys set {row['provider']}`"
        else:
            key = "no key"
        state = f" [key from {row['key']}]" if row["key"] else ""
        sys.stdout.write(f"{row['model_string']}: {row['description']}\n")
        sys.stdout.write(
            f"  base URL: {row['base_url'] or 'none: give --base-url or AGENTLOOP_BASE_URL'}\n"
        )
        sys.stdout.write(f"  {key}{state}\n")
        if row["quirks"]:
            sys.stdout.write(f"  quirks: {'; '.join(row['quirks'])}\n")
    _saved_profiles()
    return 0


def _saved_profiles() -> None:
    """The profiles ``agentloop probe --save`` wrote, with what each changes."""
    from agentloop.providers.registry import saved_profiles

    for saved in saved_profiles():
        table = {k: v for k, v in saved.table.items() if k not in ("base_url", "model")}
        sys.stdout.write(f"saved profile: {saved.model} at {saved.base_url} ({saved.path})\n")
        sys.stdout.write(f"  {json.dumps(table)}\n")


def keys_command(args: argparse.Namespace) -> int:
    """``agentloop keys set|list|remove|path``."""
    from agentloop.providers.keys import delete_key, key_store_path, load_keys, save_key

    if args.keys_action == "path":
        sys.stdout.write(f"{key_store_path()}\n")
        return 0
    if args.keys_action == "list":
        names = sorted(load_keys())
        if args.json:
            sys.stdout.write(json.dumps({"path": str(key_store_path()), "providers": names}) + "\n")
        else:
            for name in names:
                sys.stdout.write(f"{name}: set\n")
            if not names:
                sys.stdout.write("no keys stored (agentloop keys set PROVIDER)\n")
        return 0
    provider = _known_provider(args.provider)
    if args.keys_action == "remove":
        removed = delete_key(provider)
        sys.stdout.write(f"{provider}: {'removed' if removed else 'no key was stored'}\n")
        return 0
    path = save_key(provider, _read_key(provider))
    sys.stdout.write(f"{provider}: key stored in {path}\n")
    return 0


def _known_provider(name: str) -> str:
    import difflib

    from agentloop.errors import ConfigurationError
    from agentloop.providers.registry import PROVIDERS

    lowered = name.strip().lower()
    if lowered in PROVIDERS:
        return lowered
    close = difflib.get_close_matches(lowered, list(PROVIDERS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigurationError(
        f"unknown provider {name!r}{hint}; providers: {', '.join(PROVIDERS)} (agentloop models)"
    )


def _read_key(provider: str) -> str:
    """The key: typed without echo on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"API key for {provider} (not shown): ")
    return sys.stdin.readline().strip()


def _default_command(words: list[str], *, unset: bool) -> int:
    """``models default`` (show), ``models default MODEL`` (set), ``--unset`` (forget)."""
    from agentloop.cli.defaults import load_default_model, save_default_model
    from agentloop.errors import ConfigurationError

    if words[0] != "default" or len(words) > 2 or (unset and len(words) > 1):
        raise ConfigurationError(
            f"unknown models action {' '.join(words)!r}; use: agentloop models default [MODEL] "
            "or agentloop models default --unset"
        )
    if unset:
        path = save_default_model(None)
        print(f"no default model (removed from {path})")
        return 0
    if len(words) == 1:
        current = load_default_model()
        print(current or "no default model; set one with: agentloop models default MODEL")
        return 0
    model = _checked_model(words[1])
    path = save_default_model(model)
    print(f"default model: {model} (stored in {path})")
    return 0


def _checked_model(text: str) -> str:
    """A model string whose provider exists (the key is checked when a run uses it)."""
    from agentloop.errors import ConfigurationError
    from agentloop.providers.registry import find_provider

    model = text.strip()
    if model.lower() == "offline":
        return "offline"
    try:
        _, name = find_provider(model)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{exc} (agentloop models lists the providers)") from None
    if not name:
        raise ConfigurationError(f"model {model!r} names no model: write provider:MODEL")
    return model
