"""Settings: where the model, base URL, key and run options come from.

Each setting is taken from the first of these that sets it:

1. command-line arguments (``--model``, ``--base-url``, ``--max-steps``, ...);
2. environment variables: ``AGENTLOOP_MODEL``, ``AGENTLOOP_BASE_URL``,
   ``AGENTLOOP_API_KEY`` (and the provider's own key variable, e.g.
   ``OPENAI_API_KEY`` / ``GEMINI_API_KEY``, which wins over
   ``AGENTLOOP_API_KEY`` for that provider), ``AGENTLOOP_MAX_STEPS``,
   ``AGENTLOOP_MAX_COST``, ``AGENTLOOP_TIMEOUT``;
3. a config file: ``agentloop.toml`` (top-level keys) or else the
   ``[tool.agentloop]`` table of ``pyproject.toml``, in the current folder or
   the nearest folder above it that has one. The walk up stops at the home
   folder and at the root of a repository (a folder with ``.git`` or ``.hg``),
   both still searched, so a project's file is found from any of its
   subfolders and a file outside the project is never picked up.

Config file example::

    [tool.agentloop]
    model = "gemini:gemini-2.5-flash"
    max_steps = 8
    tool_choice = "auto"

Keep keys out of files you commit: ``api_key`` is accepted in the file but
the environment is the better place.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from agentloop.errors import ConfigurationError
from agentloop.pricing import Price, parse_prices
from agentloop.secrets import remember, url_secrets

__all__ = [
    "CONFIG_KEYS",
    "CONFIG_NAMES",
    "CONFIG_TABLES",
    "Settings",
    "find_config_file",
    "load_settings",
    "name_config_file",
    "price_of_model",
    "read_config_table",
    "read_prices",
    "read_tools",
]

#: The files a config is read from, in the order they are looked for in each folder.
CONFIG_NAMES = ("agentloop.toml", "pyproject.toml")
# settings that must be at least this (max_steps = -1 is not a run)
_MINIMUM: dict[str, float] = {"max_steps": 1, "max_retries": 0, "timeout": 0, "max_cost": 0}
# ... and these must be more than it (a zero timeout or budget is no run either)
_ABOVE = frozenset({"timeout", "max_cost"})

#: Every setting, with the type a config file must give it.
CONFIG_KEYS: dict[str, type] = {
    "model": str,
    "base_url": str,
    "api_key": str,
    "max_steps": int,
    "max_cost": Decimal,
    "tool_choice": str,
    "timeout": float,
    "max_retries": int,
    "stream": bool,
    "log": bool,
    "database_url": str,
}

#: Tables a config file may also hold, read by their owners with :func:`read_config_table`
#: (``[mcp.servers.NAME]``: the agentloop-mcp plugin's servers; ``[tool_options.TOOLSET]``:
#: settings of toolsets chosen by name), and ``tools``: the list of tool names a
#: CLI run without TARGET gets (read with :func:`read_tools`).
CONFIG_TABLES: tuple[str, ...] = ("mcp", "prices", "profiles", "tool_options", "tools")

_ENV: dict[str, str] = {
    "model": "AGENTLOOP_MODEL",
    "base_url": "AGENTLOOP_BASE_URL",
    "max_steps": "AGENTLOOP_MAX_STEPS",
    "max_cost": "AGENTLOOP_MAX_COST",
    "timeout": "AGENTLOOP_TIMEOUT",
    "max_retries": "AGENTLOOP_MAX_RETRIES",
    "log": "AGENTLOOP_LOG",
    "database_url": "AGENTLOOP_DATABASE_URL",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Resolved settings; None means "not set anywhere" (the library default applies).

    Attributes:
        model: A model string (``offline``, ``provider:model``), or None.
        base_url: Overrides the provider's default base URL.
        api_key: The key for ``model`` (never shown in ``repr``).
        max_steps: Model calls allowed per run.
        max_cost: Money allowed per run (``Agent(max_cost=...)``, docs/cost.md); the model needs
            a price (``[prices."provider:model"]``).
        tool_choice: ``auto``, ``required``, ``none`` or a tool name.
        timeout: HTTP timeout in seconds.
        max_retries: HTTP retries.
        stream: Whether to stream (the CLI default is True).
        log: False: the CLI does not record runs in the run log (``AGENTLOOP_LOG=0``).
        database_url: The team store (``postgresql://...``) for the run log and sessions,
            instead of the SQLite file (never shown in ``repr``: it may hold a password).
        sources: Where each set value came from (``--model``,
            ``env AGENTLOOP_MODEL``, ``agentloop.toml``, ...).
        config_file: The config file read, or None.
    """

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    max_steps: int | None = None
    max_cost: Decimal | None = None
    tool_choice: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    stream: bool | None = None
    log: bool | None = None
    database_url: str | None = field(default=None, repr=False)
    sources: Mapping[str, str] = field(default_factory=dict)
    config_file: Path | None = None

    def describe(self, name: str) -> str:
        """Say where a setting came from, e.g. ``"model=openai:gpt-4o (from --model)"``."""
        value = "***" if name == "api_key" else getattr(self, name)
        if name == "database_url" and value:
            from agentloop.postgres import display_url

            value = display_url(value)
        return f"{name}={value} (from {self.sources.get(name, 'default')})"


def load_settings(
    cli_args: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve settings from arguments, then environment, then a config file.

    Args:
        cli_args: Values given on the command line, by setting name; None
            values count as not given.
        env: Environment variables (default ``os.environ``).
        cwd: Where the search for a config file starts (default: the current folder; see
            :func:`find_config_file`).

    Returns:
        The settings, with the source of every value that is set.

    Raises:
        ConfigurationError: A config file that does not parse, an unknown key
            in it, or a value of the wrong type (the message names the source).
    """
    env = os.environ if env is None else env
    path, file_values = _read_config_file(Path.cwd() if cwd is None else cwd, env)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in CONFIG_KEYS:
        if name == "api_key":
            continue
        found = _first(name, cli_args or {}, env, file_values, path)
        if found is not None:
            values[name], sources[name] = found
    key = _find_key(values.get("model"), cli_args or {}, env, file_values, path)
    if key is not None:
        values["api_key"], sources["api_key"] = key
    # every writer (trace, run log, cassette, sessions) redacts them, whatever their source
    remember(values.get("api_key"), *url_secrets(values.get("base_url")))
    return Settings(**values, sources=sources, config_file=path)


def _first(
    name: str,
    cli_args: Mapping[str, Any],
    env: Mapping[str, str],
    file_values: Mapping[str, Any],
    path: Path | None,
) -> tuple[Any, str] | None:
    if cli_args.get(name) is not None:
        return _convert(name, cli_args[name], "--" + name.replace("_", "-")), (
            "--" + name.replace("_", "-")
        )
    var = _ENV.get(name)
    if var and env.get(var, "").strip():
        return _convert(name, env[var].strip(), f"env {var}"), f"env {var}"
    if name in file_values:
        source = path.name if path else "config file"
        return _convert(name, file_values[name], source, strict=True), source
    return None


def _find_key(
    model: str | None,
    cli_args: Mapping[str, Any],
    env: Mapping[str, str],
    file_values: Mapping[str, Any],
    path: Path | None,
) -> tuple[str, str] | None:
    """The key: argument, the model's provider variables, the key store, the config file."""
    if cli_args.get("api_key"):
        return str(cli_args["api_key"]), "--api-key"
    for var in _key_vars(model):
        if env.get(var, "").strip():
            return env[var].strip(), f"env {var}"
    stored = _stored_key(model, env)
    if stored is not None:
        return stored
    if file_values.get("api_key"):
        source = path.name if path else "config file"
        return _convert("api_key", file_values["api_key"], source, strict=True), source
    return None


def _stored_key(model: str | None, env: Mapping[str, str]) -> tuple[str, str] | None:
    """The key of the model's provider in the user's key store (``agentloop keys set``)."""
    if not model or ":" not in model:
        return None
    from agentloop.providers.keys import key_store_path, stored_key

    provider = model.partition(":")[0].strip().lower()
    key = stored_key(provider, env)
    return (key, f"key store {key_store_path(env)}") if key else None


def _key_vars(model: str | None) -> tuple[str, ...]:
    if model and ":" in model:
        from agentloop.providers.registry import PROVIDERS

        spec = PROVIDERS.get(model.partition(":")[0].strip().lower())
        if spec is not None:
            return spec.key_env
    return ("AGENTLOOP_API_KEY",)


def _convert(name: str, value: Any, source: str, *, strict: bool = False) -> Any:
    converted = _as_kind(name, value, strict=strict)
    low = _MINIMUM.get(name)
    if (
        low is not None
        and converted is not None
        and not (converted > low if name in _ABOVE else converted >= low)
    ):
        bound = f"> {low:g}" if name in _ABOVE else f">= {low:g}"
        raise ConfigurationError(f"{name} from {source} must be {bound}, got {value!r}")
    if converted is not None:
        return converted
    raise _wrong_type(name, value, source)


def _as_kind(name: str, value: Any, *, strict: bool) -> Any:
    """``value`` as the setting's type, or None when it is not one."""
    kind = CONFIG_KEYS[name]
    if kind is Decimal:  # TOML has no decimal: a number, or a string for exact cents
        return _as_money(value)
    if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not strict and isinstance(value, str):
        try:
            if kind is bool:
                return _parse_bool(value)
            number = kind(value)
        except ValueError:
            return None
        return None if kind is float and number != number else number  # NaN is no timeout
    return None


def _as_money(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        money = Decimal(str(value).strip())  # str(): 0.1 is 0.1, not its binary neighbour
    except InvalidOperation:
        return None
    return money if money.is_finite() else None


def _wrong_type(name: str, value: Any, source: str) -> ConfigurationError:
    kind = CONFIG_KEYS[name]
    return ConfigurationError(
        f"{name} from {source} must be {_type_name(kind)}, got {type(value).__name__} {value!r}"
        if name != "api_key"
        else f"api_key from {source} must be a string"
    )


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _type_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        Decimal: 'a number (e.g. 0.50, or "0.50")',
    }[kind]


def find_config_file(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """The config file a command run in ``cwd`` reads, or None.

    Each folder from ``cwd`` up is searched for ``agentloop.toml``, then for a ``pyproject.toml``
    with a ``[tool.agentloop]`` table; the search ends at the home folder (``$HOME``) and at a
    repository's root (a folder holding ``.git`` or ``.hg``), both included.
    """
    env = os.environ if env is None else env
    for folder in _folders(Path.cwd() if cwd is None else cwd, env):
        for name in CONFIG_NAMES:
            path = folder / name
            if path.is_file() and (name == "agentloop.toml" or _has_table(path)):
                return path
    return None


def _folders(start: Path, env: Mapping[str, str]) -> Iterator[Path]:
    home = Path(env.get("HOME") or Path.home()).expanduser()
    try:
        folder, home = start.resolve(), home.resolve()
    except OSError:
        folder = start
    while True:
        yield folder
        if folder == home or folder.parent == folder:
            return
        if any((folder / vcs).exists() for vcs in (".git", ".hg")):
            return
        folder = folder.parent


def _has_table(path: Path) -> bool:
    """Whether a ``pyproject.toml`` has ``[tool.agentloop]`` (one that does not parse and names
    agentloop counts: reading it then says what is wrong)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if "agentloop" not in text:
        return False
    try:
        tool = tomllib.loads(text).get("tool")
    except (RecursionError, tomllib.TOMLDecodeError):
        return True
    return isinstance(tool, dict) and "agentloop" in tool


def _parse(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ConfigurationError(
            f"cannot read config file {path}: it is nested too deeply (flatten its tables)"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc}") from exc


def _read_config_file(
    cwd: Path, env: Mapping[str, str] | None = None
) -> tuple[Path | None, dict[str, Any]]:
    """Find (see :func:`find_config_file`) and read the config file's settings."""
    path = find_config_file(cwd, env)
    if path is None:
        return None, {}
    parsed = _parse(path)
    tool = parsed.get("tool")
    table = tool.get("agentloop") if isinstance(tool, dict) else None
    data: Any
    if path.name == "pyproject.toml":
        data, label = table, f"{path} [tool.agentloop]"
    else:
        data, label = (table if table is not None else parsed), str(path)
    if not isinstance(data, dict):
        raise ConfigurationError(f"{label} must be a table of settings")
    unknown = sorted(set(data) - set(CONFIG_KEYS) - set(CONFIG_TABLES))
    if unknown:
        known = [*CONFIG_KEYS, *CONFIG_TABLES]
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigurationError(
            f"unknown setting {unknown[0]!r} in {label}; {hint}known: {', '.join(known)}"
        )
    remember(data.get("api_key") if isinstance(data.get("api_key"), str) else None)
    return path, data


def name_config_file(exc: ConfigurationError, cwd: Path | None = None) -> ConfigurationError:
    """``exc`` naming the config file when it is about a name the file's ``tools`` or
    ``[tool_options]`` gave (the registry does not know where a name came from).

    Returns:
        A new error that starts with the file (or ``exc`` itself when the file is not the cause).
    """
    try:
        path, data = _read_config_file(Path.cwd() if cwd is None else cwd)
    except ConfigurationError:
        return exc
    tools, options = data.get("tools"), data.get("tool_options")
    names = [
        *(tools if isinstance(tools, list) else ()),
        *(options if isinstance(options, dict) else ()),
    ]
    message = str(exc)
    if path is None or str(path) in message:
        return exc
    for name in names:
        if isinstance(name, str) and repr(name) in message:
            where = "tools" if name in (tools or ()) else f"[tool_options.{name}]"
            error = ConfigurationError(f"{path} ({where}): {message}")
            error.__cause__ = exc
            return error
    return exc


def read_config_table(name: str, cwd: Path | None = None) -> tuple[Path | None, dict[str, Any]]:
    """Return the config file and its ``[name]`` table (one of :data:`CONFIG_TABLES`), or ``{}``.

    The config file is ``agentloop.toml``, else ``[tool.agentloop]`` of ``pyproject.toml``, in
    ``cwd`` (default: the current directory). Plugins read their own table with it
    (``from agentloop import read_config_table``).

    Raises:
        ConfigurationError: The config file does not parse, or ``[name]`` is not a table.
    """
    path, data = _read_config_file(Path.cwd() if cwd is None else cwd)
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigurationError(f"[{name}] in {path} must be a table")
    return path, table


def read_tools(cwd: Path | None = None) -> list[str]:
    """Return the config file's ``tools = [...]`` (tool names for a CLI run without TARGET).

    Raises:
        ConfigurationError: ``tools`` is not a list of strings.
    """
    path, data = _read_config_file(Path.cwd() if cwd is None else cwd)
    tools = data.get("tools", [])
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise ConfigurationError(f"tools in {path} must be a list of tool names, got {tools!r}")
    return list(tools)


def read_prices(cwd: Path | None = None) -> dict[str, Price]:
    """Return the config file's price table: ``[prices."provider:model"]`` tables of
    ``input``, ``output`` and optionally ``cached``, per million tokens (docs/cost.md).

    Raises:
        ConfigurationError: The table names an unknown model (not ``provider:model`` of a
            known provider) or gives a price that is missing, unknown or not a number >= 0
            (the message names the file and the entry).
    """
    path, table = read_config_table("prices", cwd)
    if not table:
        return {}
    from agentloop.providers.registry import PROVIDERS

    where = str(path) if path is not None else "agentloop.toml"
    return parse_prices(table, where=where, providers=tuple(PROVIDERS))


def price_of_model(model: object, cwd: Path | None = None) -> Price | None:
    """The price table's entry for ``model`` (its ``name``, ``provider:model``), or None."""
    name = getattr(model, "name", None)
    if not isinstance(name, str) or ":" not in name:
        return None
    prices = read_prices(cwd)
    if not prices:
        return None
    prefix, _, rest = name.partition(":")
    return prices.get(f"{prefix.strip().lower()}:{rest.strip()}")
