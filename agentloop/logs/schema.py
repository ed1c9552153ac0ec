"""The run log's schema (component ``logs`` in ``agentloop_schema``) and its forward migrations.

``MIGRATIONS[n]`` takes a file from version ``n`` to ``n + 1``; never edit a released entry,
append a new one (and document the change in ``docs/logs-and-sessions.md``). The tables:

* ``runs``: one row per run, written when it starts and completed when it finishes
  (``finished_at`` NULL: the run is still going, or the process died);
* ``events``: every trace event of the run (:mod:`agentloop.tracing.events`), one row each,
  written as the fact completes; ``data`` is the event's JSON without the envelope;
* ``runs_fts``: FTS5 index over ``runs.prompt`` and ``runs.answer`` (external content);
* ``tool_effects`` (v2): the tool-effect ledger, one row per ``(run_id, call_id, state)``:
  ``started`` committed before a tool runs, ``completed``/``failed`` with the result after,
  ``deferred`` for a call awaiting approval;
* ``run_resumes`` (v2): which run was resumed as which (``resumed_as``), one row per run;
* views ``model_calls``, ``tool_calls`` and ``conversations`` for reading with ``sqlite3``.
"""

from __future__ import annotations

__all__ = ["COMPONENT", "MIGRATIONS", "SCHEMA_VERSION"]

COMPONENT = "logs"

_V1 = (
    """CREATE TABLE runs (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT,
    started_at REAL NOT NULL,
    finished_at REAL,
    agent TEXT,
    model TEXT,
    provider TEXT,
    instructions TEXT,
    prompt TEXT,
    answer TEXT,
    stop_reason TEXT,
    error TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    reasoning_tokens INTEGER,
    total_tokens INTEGER,
    steps INTEGER,
    duration REAL,
    gap TEXT
)""",
    "CREATE INDEX runs_started ON runs (started_at)",
    "CREATE INDEX runs_conversation ON runs (conversation_id, started_at)",
    """CREATE TABLE events (
    run INTEGER NOT NULL REFERENCES runs (n),
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    time REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID""",
    """CREATE VIRTUAL TABLE runs_fts USING fts5(
    prompt, answer, content='runs', content_rowid='n'
)""",
    """CREATE TRIGGER runs_fts_insert AFTER INSERT ON runs BEGIN
    INSERT INTO runs_fts (rowid, prompt, answer) VALUES (new.n, new.prompt, new.answer);
END""",
    """CREATE TRIGGER runs_fts_delete AFTER DELETE ON runs BEGIN
    INSERT INTO runs_fts (runs_fts, rowid, prompt, answer)
    VALUES ('delete', old.n, old.prompt, old.answer);
END""",
    """CREATE TRIGGER runs_fts_update AFTER UPDATE OF prompt, answer ON runs BEGIN
    INSERT INTO runs_fts (runs_fts, rowid, prompt, answer)
    VALUES ('delete', old.n, old.prompt, old.answer);
    INSERT INTO runs_fts (rowid, prompt, answer) VALUES (new.n, new.prompt, new.answer);
END""",
    """CREATE VIEW model_calls AS SELECT
    runs.id AS run_id, events.seq, events.time,
    json_extract(events.data, '$.step') AS step,
    json_extract(events.data, '$.model') AS model,
    json_extract(events.data, '$.text') AS text,
    json_extract(events.data, '$.tool_calls') AS tool_calls,
    json_extract(events.data, '$.finish_reason') AS finish_reason,
    json_extract(events.data, '$.usage') AS usage,
    json_extract(events.data, '$.duration') AS duration
FROM events JOIN runs ON runs.n = events.run WHERE events.type = 'model_response'""",
    """CREATE VIEW tool_calls AS SELECT
    runs.id AS run_id, events.seq, events.time,
    json_extract(events.data, '$.step') AS step,
    json_extract(events.data, '$.call_id') AS call_id,
    json_extract(events.data, '$.name') AS name,
    json_extract(events.data, '$.arguments') AS arguments,
    json_extract(events.data, '$.status') AS status,
    json_extract(events.data, '$.is_error') AS is_error,
    json_extract(events.data, '$.content') AS content,
    json_extract(events.data, '$.duration') AS duration
FROM events JOIN runs ON runs.n = events.run WHERE events.type = 'tool_call'""",
    """CREATE VIEW conversations AS SELECT
    conversation_id AS id, count(*) AS runs,
    min(started_at) AS started_at, max(started_at) AS last_run_at
FROM runs WHERE conversation_id IS NOT NULL GROUP BY conversation_id""",
)

# the tool-effect ledger and the resume claims (docs/durable-runs.md): appends only; a run
# moves on (is resumed, or its pending calls decided) once: run_resumes.run_id is the key
_V2 = (
    """CREATE TABLE tool_effects (
    run_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    state TEXT NOT NULL,
    name TEXT NOT NULL,
    arguments TEXT,
    result TEXT,
    time REAL NOT NULL,
    PRIMARY KEY (run_id, call_id, state)
) WITHOUT ROWID""",
    """CREATE TABLE run_resumes (
    run_id TEXT PRIMARY KEY,
    claim TEXT NOT NULL UNIQUE,
    resumed_as TEXT UNIQUE,
    decisions TEXT,
    time REAL NOT NULL
)""",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)
