"""Deprecated: renamed :mod:`agentloop.agent_options` ("arguments" means tool-call arguments).

Importing a name from here still works and warns once per name with a
:class:`DeprecationWarning`; ``check_limits`` is now :class:`agentloop.runspec.RunLimits`,
which checks itself.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__: list[str] = []

_MOVED = {
    "DEFAULT_TOOL_TIMEOUT",
    "Prompt",
    "as_tool",
    "initial_messages",
    "normalize_tool_choice",
    "resolve_model_arg",
}


def __getattr__(name: str) -> Any:
    from agentloop import agent_options
    from agentloop.runspec import LIMIT_NAMES, RunLimits

    if name == "check_limits":
        warnings.warn(
            "agentloop.arguments.check_limits is deprecated: build a RunLimits "
            "(agentloop.runspec), which checks itself",
            DeprecationWarning,
            stacklevel=2,
        )
        return lambda agent: RunLimits(
            **{n: getattr(agent, n) for n in LIMIT_NAMES if hasattr(agent, n)}
        )
    if name not in _MOVED:
        raise AttributeError(f"module 'agentloop.arguments' has no attribute {name!r}")
    warnings.warn(
        f"agentloop.arguments is deprecated: import {name} from agentloop.agent_options",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(agent_options, name)
