"""Helpers shared by the ``agentloop`` command tests: a clean environment and a subprocess runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "cli"
CALC = str(FIXTURES / "calc_agent.py")


def cli_env(**extra: str) -> dict[str, str]:
    """The environment without any agentloop/provider setting, plugins autoload off."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AGENTLOOP_") and not k.endswith("_API_KEY")
    }
    env["AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def agentloop(
    *args: str, stdin: str = "", cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m agentloop ARGS`` to completion, in :func:`cli_env` plus ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "agentloop", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=cli_env(**env),
        cwd=cwd,
        timeout=60,
    )
