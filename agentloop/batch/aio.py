"""Deprecated: ``arun``/``astream`` moved to :mod:`agentloop.aio` (async runs are not batches).

``from agentloop.batch.aio import arun`` still works and warns with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__: list[str] = []


def __getattr__(name: str) -> Any:
    if name not in ("arun", "astream"):
        raise AttributeError(f"module 'agentloop.batch.aio' has no attribute {name!r}")
    warnings.warn(
        f"agentloop.batch.aio is deprecated: import {name} from agentloop.aio "
        "(or call Agent.arun / Agent.astream)",
        DeprecationWarning,
        stacklevel=2,
    )
    from agentloop import aio

    return getattr(aio, name)
