"""Seeing runs: the trace-event vocabulary, the recorder plugin that emits it, and its readers.

Every observer of a run (the JSONL trace, the SQLite run log, the viewer, OpenTelemetry) reads
the same :class:`~agentloop.tracing.events.TraceEvent` stream, produced by one plugin on the
public hooks (:class:`~agentloop.tracing.recorder.TraceRecorder`), never by code in the loop.

* :mod:`~agentloop.tracing.events`: the vocabulary (``TraceEvent``, ``EVENT_FIELDS``);
* :mod:`~agentloop.tracing.recorder`: the plugin that emits it;
* :mod:`~agentloop.tracing.jsonl`: the ``--trace`` file (``JsonlTrace``, ``read_trace``);
* :mod:`~agentloop.tracing.viewer` and :mod:`~agentloop.tracing.page`: the HTML viewer;
* :mod:`~agentloop.tracing.otel`: OpenTelemetry GenAI spans (with ``agentloop[otel]``);
* :mod:`~agentloop.tracing.cassette`, :mod:`~agentloop.tracing.diff` and
  :mod:`~agentloop.tracing.tape`: record and replay of
  HTTP traffic as transport adapters on :attr:`ChatClient.transport
  <agentloop.client.chat.ChatClient.transport>`.

Only the vocabulary and the recorder are imported with this package; the rest on use.
"""

from __future__ import annotations

from .events import TRACE_VERSION, TraceEvent
from .recorder import TraceRecorder

__all__ = ["TRACE_VERSION", "TraceEvent", "TraceRecorder"]
