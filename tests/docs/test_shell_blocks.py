"""Every shell command of README.md and docs/*.md runs, as written, in a fresh install.

The README's set-up command makes the install (tests/docs/conftest.py); every other shell
block then runs there, offline (see tests/docs/shellblocks.py), and a ``console`` block's
commands must print what the page shows. A block that cannot run offline carries a
``<!-- not-run: REASON -->`` marker, and such markers stay rare.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from shellblocks import PAGES, ROOT, Block, bash, clean_env, console_steps, matches, shell_blocks

BLOCKS = shell_blocks()
SETUP = BLOCKS[0]  # the README's first shell block: run once, by the session fixture
RUN = [b for b in BLOCKS[1:] if b.not_run is None]
RUN_PAGES = list(dict.fromkeys(b.page for b in RUN))
#: A handful: a block the suite cannot run is a block a reader cannot trust.
MAX_NOT_RUN = 12


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if ".venv" not in p.parts and "__pycache__" not in p.parts}


def _remove_new(root: Path, before: set[Path]) -> None:
    """Delete what a block wrote into the copy, so the next block starts from the checkout."""
    for path in sorted(_files(root) - before, key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            path.rmdir() if not any(path.iterdir()) else None
        else:
            path.unlink(missing_ok=True)


def test_the_readme_setup_command_installs_and_runs(fresh_install) -> None:
    """README.md's first command: a fresh venv, scripts/install.sh, the calculator example."""
    assert SETUP.page.name == "README.md" and SETUP.lang == "console"
    assert "python3 -m venv .venv && . .venv/bin/activate && bash scripts/install.sh" in SETUP.code
    result = fresh_install.setup
    assert result.returncode == 0, f"set-up failed:\n{result.stdout}\n{result.stderr}"
    assert matches(fresh_install.expected, result.stdout.splitlines()), result.stdout
    assert (fresh_install.root / ".venv" / "bin" / "agentloop").exists()


def _run_block(block: Block, root: Path, env: dict[str, str], offline: list[str]) -> None:
    if block.lang != "console":
        result = bash(block.code, cwd=root, env=env, offline=offline)
        assert result.returncode == 0, (
            f"{block.id} failed (exit {result.returncode}):\n{block.code}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
        return
    for command, expected in console_steps(block.code):
        result = bash(command, cwd=root, env=env, offline=offline)
        assert result.returncode == 0 and matches(expected, result.stdout.splitlines()), (
            f"{block.id}: `{command}` exited {result.returncode} and printed:\n"
            f"{result.stdout}\nstderr:\n{result.stderr}\nexpected:\n" + "\n".join(expected)
        )


@pytest.mark.parametrize("page", RUN_PAGES, ids=[p.relative_to(ROOT).as_posix() for p in RUN_PAGES])
def test_shell_blocks_run_as_written(page: Path, fresh_install, tmp_path: Path) -> None:
    """A page's blocks run in order, as a reader follows it: one HOME, one working copy."""
    root = fresh_install.root
    assert fresh_install.setup.returncode == 0, "the README's set-up command failed"
    (tmp_path / "home").mkdir()
    env = clean_env(tmp_path / "home")
    before = _files(root)
    try:
        for block in RUN:
            if block.page == page:
                _run_block(block, root, env, fresh_install.offline)
    finally:
        _remove_new(root, before)


def test_not_run_markers_are_rare_and_say_why() -> None:
    marked = [b for b in BLOCKS if b.not_run is not None]
    assert len(marked) <= MAX_NOT_RUN, [f"{b.id}: {b.not_run}" for b in marked]
    for block in marked:
        assert len(block.not_run.split()) >= 2, f"{block.id}: say why it cannot run offline"


def test_every_marker_stands_before_a_shell_block() -> None:
    """A marker that is not right before a shell fence hides nothing and must not linger."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in re.finditer(r"<!--\s*not-run:.*?-->[ \t]*\n(.*)", text):
            assert re.match(r"```(bash|sh|shell|console)\b", match.group(1)), (
                f"{page.name}: a not-run marker without a shell block right after it"
            )


def test_the_readme_commands_are_run() -> None:
    """The README's own commands run: set-up, the tour, -c, record/replay, batch."""
    readme = [b for b in BLOCKS if b.page.name == "README.md"]
    unrun = [b for b in readme if b.not_run is not None]
    assert len(unrun) <= 2, [f"{b.id}: {b.not_run}" for b in unrun]  # the test command, keys
    run = "\n".join(b.code for b in readme if b.not_run is None)
    for command in ("agentloop run -c", "--record run.cassette.jsonl", "--replay", "batch"):
        assert command in run, f"README.md: {command!r} is not in a block that runs"
