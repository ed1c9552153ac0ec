"""Seeing runs: the trace-event vocabulary, the recorder plugin that emits it, and its readers.

Every observer of a run (the JSONL trace, the SQLite run log, the viewer, OpenTelemetry) reads
the same :class:`~agentloop.tracing.events.TraceEvent` stream, produced by one plugin on the
public hooks (:class:`~agentloop.tracing.recorder.TraceRecorder`), never by code in the loop.
"""

from __future__ import annotations

from .events import TRACE_VERSION, TraceEvent
from .recorder import TraceRecorder

__all__ = ["TRACE_VERSION", "TraceEvent", "TraceRecorder"]
