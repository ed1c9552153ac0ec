"""The run log: every run's trace events in SQLite, and the queries ``agentloop logs`` runs.

* :class:`RunLog`: the store, a sink for :class:`~agentloop.tracing.TraceRecorder`
  (``Agent(plugins=[RunLog(path).recorder()])``);
* :mod:`agentloop.logs.queries`: latest runs, full-text search, one whole run;
* :mod:`agentloop.logs.paths`: where the database lives (``$AGENTLOOP_HOME`` or the
  platform's user data directory);
* :mod:`agentloop.logs.schema`: the versioned schema and its migrations.
"""

from __future__ import annotations

from agentloop.logs.paths import data_dir, log_path, logging_enabled
from agentloop.logs.store import RunLog

__all__ = ["RunLog", "data_dir", "log_path", "logging_enabled"]
