"""The shell blocks of README.md and docs/*.md, and how the docs tests run them.

A shell block is a fenced ``bash`` (or ``sh``/``shell``) block, run as one bash script with
``set -e -o pipefail``, or a ``console`` block: ``$ command`` lines, each followed by the
output it must print (a line ``...`` stands for any number of lines).

A block that cannot run offline says so on the line right before its fence, with the reason::

    <!-- not-run: needs an OpenAI key -->

Blocks run from the root of a fresh copy of the checkout, in the virtual environment the
README's set-up command made there (see tests/docs/conftest.py), with a fresh ``HOME``, no
agentloop or provider settings from the developer's shell, no standard input and, where the
machine allows it (``unshare -n``), no network but loopback.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELLS = ("bash", "sh", "shell", "console")
FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!--\s*not-run:\s*(?P<reason>.*?)\s*-->\s*\n\s*\Z")
# Settings a developer's shell may hold: the docs must not depend on them.
DROPPED = re.compile(
    r"^(AGENTLOOP_|VIRTUAL_ENV$|PYTHON|PIP_REQUIRE|CONDA|.*_API_KEY$|.*_BASE_URL$)"
)


@dataclass(frozen=True, kw_only=True)
class Block:
    """One shell block of a page.

    Attributes:
        page: The Markdown file.
        line: The line number of the block's first line.
        lang: ``bash``, ``sh``, ``shell`` or ``console``.
        code: The block's text.
        not_run: The reason the block is not run, or None (it is run).
    """

    page: Path
    line: int
    lang: str
    code: str
    not_run: str | None

    @property
    def id(self) -> str:
        """``docs/cli.md:28``."""
        return f"{self.page.relative_to(ROOT).as_posix()}:{self.line}"


def shell_blocks(pages: list[Path] = PAGES) -> list[Block]:
    """Every shell block of ``pages``, in page order."""
    out = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group(1) not in SHELLS:
                continue
            marker = MARKER.search(text, 0, match.start())
            out.append(
                Block(
                    page=page,
                    line=text.count("\n", 0, match.start(2)) + 1,
                    lang=match.group(1),
                    code=match.group(2),
                    not_run=marker.group("reason") if marker else None,
                )
            )
    return out


def console_steps(code: str) -> list[tuple[str, list[str]]]:
    """Split a console block into ``(command, expected output lines)``."""
    steps: list[tuple[str, list[str]]] = []
    for raw in code.splitlines():
        if raw.startswith("$ "):
            steps.append((raw[2:], []))
        elif steps:
            steps[-1][1].append(raw)
    return steps


def matches(expected: list[str], actual: list[str]) -> bool:
    """Match output lines; an expected line ``...`` stands for any number of lines."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0].rstrip() == head.rstrip() and matches(rest, actual[1:])


def clean_env(home: Path) -> dict[str, str]:
    """The developer's environment without agentloop/provider settings, with ``home``."""
    env = {k: v for k, v in os.environ.items() if not DROPPED.match(k)}
    env.update(HOME=str(home), PIP_RETRIES="0", PYTHONIOENCODING="utf-8", NO_COLOR="1")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env.pop(name, None)
    return env


def offline_prefix() -> list[str]:
    """``unshare -n`` with loopback up, when this machine allows it; else nothing."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return []
    probe = subprocess.run(
        ["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=30
    )
    return ["unshare", "-n"] if probe.returncode == 0 else []


def bash(
    script: str,
    *,
    cwd: Path,
    env: dict[str, str],
    offline: list[str],
    timeout: float = 180,
    activate: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with bash (in the fresh environment, activated), offline when possible."""
    lead = "ip link set lo up 2>/dev/null || true\n" if offline else ""
    if activate:
        lead += ". .venv/bin/activate\n"
    full = f"{lead}set -e -o pipefail\n{script}"
    return subprocess.run(
        [*offline, "bash", "-c", full],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


def checkout_files() -> list[str]:
    """The files of the checkout as a fresh clone of it holds them (work tree, no ignored ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return [name for name in listed.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


def copy_checkout(dest: Path) -> None:
    """Copy the checkout's files (uncommitted edits included) to ``dest``."""
    for name in checkout_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
