"""Many runs of one agent: the async API, batch runs with resume, and the Ray engine.

Every driver here runs the same synchronous ``Agent.run``; none re-implements a
step of the loop (see :mod:`agentloop.batch.scope`). Nothing here is imported
by ``import agentloop``, and Ray only by ``engine="ray"``.
"""

from __future__ import annotations

from agentloop.batch.driver import BatchStats, run_batch, stream_batch
from agentloop.batch.items import BatchItem, InputProblem, ItemResult, read_items
from agentloop.batch.limiter import RateLimiter
from agentloop.batch.scope import CancelScope

__all__ = [
    "BatchItem",
    "BatchStats",
    "CancelScope",
    "InputProblem",
    "ItemResult",
    "RateLimiter",
    "read_items",
    "run_batch",
    "stream_batch",
]
