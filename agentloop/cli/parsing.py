"""How a subcommand reads its arguments: options anywhere, and usage errors of its own.

``argparse`` reads ``agentloop run TARGET --model offline "PROMPT"`` as TARGET followed by
an unknown argument, because it fills every optional positional at its first positional
chunk; and the "unrecognized arguments" error then comes from the top-level parser, with the
top-level usage. :class:`CommandParser`, the class of every subcommand's parser, reads
options first and positionals after (``parse_known_intermixed_args``) when the command's
positionals allow it, and reports leftovers itself, with its own usage and a close match
for a mistyped option. ``--`` ends the options as usual, so a prompt may start with ``-``.

Standard library only: command modules import this at load time.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

__all__ = ["CommandParser"]

_UNRECOGNIZED = re.compile(r"^unrecognized arguments: (.*)$")


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` for one subcommand: options anywhere, its own usage on errors."""

    _depth = 0  # parse_known_intermixed_args calls parse_known_args again: read once

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse this command's arguments; leftovers are this command's usage error."""
        if self._depth:
            return super().parse_known_args(args, namespace)
        self._depth += 1
        try:
            if self._intermixable():
                parsed, extras = self.parse_known_intermixed_args(args, namespace)
            else:
                parsed, extras = super().parse_known_args(args, namespace)
        finally:
            self._depth -= 1
        if extras and not self._has_subcommands():
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        """Print this command's usage and one error line (with the fix), then exit 2."""
        match = _UNRECOGNIZED.match(message)
        if match:
            message = self._unrecognized(match.group(1).split())
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")

    def _unrecognized(self, words: list[str]) -> str:
        """Name the first stray argument, a close option for a typo, and where the help is."""
        options = [s for a in self._actions for s in a.option_strings]
        first = words[0]
        if first.startswith("-") and first != "-":
            name = first.split("=", 1)[0]
            close = difflib.get_close_matches(name, options, n=1, cutoff=0.7)
            hint = f" (did you mean {close[0]}?)" if close else ""
            return f"unknown option {name}{hint}; `{self.prog} --help` lists the options"
        return (
            f"unexpected argument {first!r}: {self.prog} takes no more positional arguments "
            "(quote a PROMPT with spaces; `--` before a PROMPT that starts with -)"
        )

    def _positional_actions(self) -> list[argparse.Action]:
        return [a for a in self._actions if not a.option_strings]

    def _has_subcommands(self) -> bool:
        return any(isinstance(a, argparse._SubParsersAction) for a in self._actions)

    def _intermixable(self) -> bool:
        """Whether ``parse_known_intermixed_args`` can read this parser (no subcommands)."""
        if self._has_subcommands():
            return False
        positional = self._positional_actions()
        if any(a.nargs in (argparse.PARSER, argparse.REMAINDER) for a in positional):
            return False
        grouped: list[Any] = [a for g in self._mutually_exclusive_groups for a in g._group_actions]
        return not any(a in positional for a in grouped)
