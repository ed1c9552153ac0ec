"""The user's folders for agentloop: ``$AGENTLOOP_HOME``, else the platform's own directory.

================  ======================================  ======================================
platform          data (the run log)                      config (keys, chat history)
================  ======================================  ======================================
any               ``$AGENTLOOP_HOME`` when set            ``$AGENTLOOP_HOME`` when set
Linux, BSD        ``$XDG_DATA_HOME/agentloop``            ``$XDG_CONFIG_HOME/agentloop``
                  (``~/.local/share/agentloop``)          (``~/.config/agentloop``)
macOS             ``~/Library/Application Support/agentloop`` (both)
Windows           ``%LOCALAPPDATA%\\agentloop``             ``%APPDATA%\\agentloop``
================  ======================================  ======================================
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

__all__ = ["HOME_ENV", "user_dir"]

HOME_ENV = "AGENTLOOP_HOME"

# kind -> (the XDG variable and its default under HOME, Windows variables, their default)
_PLACES = {
    "data": (
        "XDG_DATA_HOME",
        (".local", "share"),
        ("LOCALAPPDATA", "APPDATA"),
        ("AppData", "Local"),
    ),
    "config": ("XDG_CONFIG_HOME", (".config",), ("APPDATA",), ("AppData", "Roaming")),
}


def user_dir(
    kind: Literal["data", "config"],
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> Path:
    """The folder of agentloop's user data or configuration (not created here).

    Args:
        kind: ``"data"`` or ``"config"``.
        env: The environment (default ``os.environ``).
        platform: ``sys.platform`` (for tests).
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if env.get(HOME_ENV, "").strip():
        return Path(env[HOME_ENV].strip()).expanduser()
    home = Path(env.get("HOME") or Path.home())
    xdg, xdg_default, windows, windows_default = _PLACES[kind]
    if platform == "darwin":
        return home / "Library" / "Application Support" / "agentloop"
    if platform.startswith("win"):
        base = next((env[v] for v in windows if env.get(v)), None)
        return Path(base or home.joinpath(*windows_default)) / "agentloop"
    return Path(env.get(xdg, "").strip() or home.joinpath(*xdg_default)) / "agentloop"
