"""Built-in plugins, registered first in every agent's plugin manager, by these dotted names."""

from __future__ import annotations

__all__ = ["DEFAULT_PLUGINS"]

DEFAULT_PLUGINS: tuple[str, ...] = (
    "agentloop.plugins.functions",
    "agentloop.plugins.approval",
)
