"""The agent a ``run``, ``chat`` or ``tools`` command uses: a TARGET's, or a default one.

TARGET is optional. With two positional arguments the first is the TARGET
and the second the PROMPT. With one, it is the TARGET when it names an
existing file, ends in ``.py`` (optionally ``file.py:name``), or is a dotted
or ``module:name`` reference whose top-level module can be imported;
anything else (text with spaces, a single word) is the PROMPT, and the
command runs a default agent::

    agentloop run -T calculate "What is 12 * (3 + 4)?"     # default agent, one tool
    agentloop run examples/calculator.py "What is 2**10?"  # the file's agent
    agentloop run mymodule:agent "..."                     # a one-word module: say :agent

Tools by name: ``-T NAME`` (repeatable) adds tools or toolsets offered by
installed plugins (``agentloop tools`` lists them) to the agent, TARGET or
default; ``--tool-option TOOLSET.OPTION=VALUE`` sets a toolset's option;
``--block NAME`` turns an installed plugin off. The config file may give
``tools = [...]`` (for the default agent only: a TARGET's agent keeps the
tools it asks for) and ``[tool_options.TOOLSET]`` tables (for any agent).
``-s/--system`` sets the instructions.

This module imports only the standard library at load time.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["add_agent_options", "build_agent", "looks_like_target", "split_positionals"]

_MODULE_REF = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(:[A-Za-z_][\w.]*)?")


def add_agent_options(parser: argparse.ArgumentParser, *, system: bool = True) -> None:
    """Add ``-T/--tool``, ``--tool-option``, ``--block`` (and ``-s/--system``) to a parser."""
    group = parser.add_argument_group("tools by name (see `agentloop tools`)")
    group.add_argument(
        "-T", "--tool", dest="tools", action="append", default=[], metavar="NAME",
        help="add a tool or toolset offered by an installed plugin (repeatable)",
    )  # fmt: skip
    group.add_argument(
        "--tool-option", dest="tool_options", action="append", default=[],
        metavar="TOOLSET.OPTION=VALUE", help="set a toolset's option, e.g. files.root=./src",
    )  # fmt: skip
    group.add_argument(
        "--block", action="append", default=[], metavar="PLUGIN",
        help="do not load this installed plugin (repeatable; env AGENTLOOP_BLOCK_PLUGINS)",
    )  # fmt: skip
    if system:
        parser.add_argument("-s", "--system", metavar="TEXT", help="the agent's instructions")


def looks_like_target(text: str) -> bool:
    """Whether a lone positional argument names a TARGET rather than being the PROMPT."""
    if not text or text != text.strip() or any(c.isspace() for c in text):
        return False
    where = text.split(":", 1)[0] if not re.match(r"^[A-Za-z]:\\", text) else text
    if where.endswith(".py") or Path(where).is_file():
        return True
    if not _MODULE_REF.fullmatch(text) or ("." not in where and ":" not in text):
        return False
    try:
        return importlib.util.find_spec(where.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def split_positionals(args: argparse.Namespace) -> None:
    """Decide whether a lone positional is the TARGET or the PROMPT (sets ``args`` in place)."""
    target = getattr(args, "target", None)
    if target is None or not hasattr(args, "prompt") or args.prompt is not None:
        return
    if not looks_like_target(str(target)):
        args.prompt, args.target = target, None


def build_agent(args: argparse.Namespace, *, config_tools: Sequence[str] = ()) -> Any:
    """Return the command's agent with ``-T``, ``--tool-option``, ``-s`` and ``--block`` applied.

    Args:
        args: The parsed arguments (``target`` may be None: a default agent).
        config_tools: The config file's ``tools`` (used for a default agent only).

    Raises:
        ConfigurationError: A malformed ``--tool-option`` or config value.
        TargetError: The TARGET does not exist or defines no agent.
    """
    from agentloop.agent import Agent
    from agentloop.cli.target import load_target
    from agentloop.config import read_config_table
    from agentloop.plugins.manager import BLOCK_ENV
    from agentloop.plugins.registry import ToolSelection

    blocked = list(getattr(args, "block", None) or ())
    if blocked:  # before any agent is built, so a broken plugin is never even imported
        os.environ[BLOCK_ENV] = ",".join([os.environ.get(BLOCK_ENV, ""), *blocked]).strip(",")
    names = list(getattr(args, "tools", None) or ())
    target = getattr(args, "target", None)
    if target is None:
        agent = Agent(name="agentloop", tools=[*config_tools, *names])
        names = []
    else:
        agent = load_target(target)
    system = getattr(args, "system", None)
    if system is not None:
        agent.instructions = system
    path, table = read_config_table("tool_options", Path.cwd())
    options = merge_options(
        agent.tool_selection.options,
        _config_options(table, path),
        cli_options(getattr(args, "tool_options", None) or ()),
    )
    chosen = [
        *agent.tool_selection.names,
        *(n for n in names if n not in agent.tool_selection.names),
    ]
    agent.tool_selection = ToolSelection(chosen, options)
    return agent


def cli_options(texts: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``["files.root=./src"]`` -> ``{"files": {"root": "./src"}}`` (values stay text)."""
    from agentloop.plugins.registry import parse_tool_option

    options: dict[str, dict[str, Any]] = {}
    for text in texts:
        toolset, option, value = parse_tool_option(text)
        options.setdefault(toolset, {})[option] = value
    return options


def _config_options(table: Mapping[str, Any], path: Path | None) -> dict[str, dict[str, Any]]:
    from agentloop.errors import ConfigurationError

    options: dict[str, dict[str, Any]] = {}
    for toolset, values in table.items():
        if not isinstance(values, Mapping):
            raise ConfigurationError(
                f"[tool_options.{toolset}] in {path} must be a table of option values"
            )
        options[toolset] = dict(values)
    return options


def merge_options(*layers: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Merge option layers; later layers win, option by option."""
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for toolset, values in layer.items():
            merged.setdefault(toolset, {}).update(values)
    return merged
