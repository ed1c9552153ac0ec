"""One fresh install per test session: a copy of the checkout set up by the README's command."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from shellblocks import PAGES, bash, clean_env, console_steps, copy_checkout, shell_blocks


@dataclass(frozen=True, kw_only=True)
class FreshInstall:
    """A copy of the checkout with ``.venv`` made by the README's set-up command.

    Attributes:
        root: The copy's root (blocks run here).
        setup: The set-up command's result (its stdout is checked by a test).
        expected: The output the README shows for it.
        offline: The command prefix that takes the network away (``unshare -n``), or ``[]``.
    """

    root: Path
    setup: object
    expected: list[str]
    offline: list[str]


def setup_command() -> tuple[str, list[str]]:
    """The README's set-up command (its first shell block) and the output it shows."""
    first = shell_blocks([PAGES[0]])[0]
    [(command, expected)] = console_steps(first.code)
    return command, expected


@pytest.fixture(scope="session")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshInstall]:
    from shellblocks import offline_prefix

    root = tmp_path_factory.mktemp("clone")
    copy_checkout(root)
    home = tmp_path_factory.mktemp("setup-home")
    env = clean_env(home)
    # pip's cache is the developer's (or CI's), so the fresh install does not download again
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    env.pop("PIP_RETRIES")
    command, expected = setup_command()
    # the set-up itself needs the package index: it is the one step that may use the network
    result = bash(command, cwd=root, env=env, offline=[], timeout=900, activate=False)
    yield FreshInstall(root=root, setup=result, expected=expected, offline=offline_prefix())
