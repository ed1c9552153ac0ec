"""The run log's queries take absurd limits and ids on a real, non-empty log (issue 19).

tests/cli/test_cli_options.py checks the CLI's own refusal of ``logs -n 10**22`` and a
100 kB id, with no log at all; these go to the queries themselves over a log that holds a
run, where an unbounded LIMIT overflowed SQLite's integer and a huge id went to SQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agentloop import ConfigurationError
from agentloop.logs import RunLog
from agentloop.logs.queries import get_run, list_runs
from agentloop.tracing.events import TraceEvent


@pytest.fixture
def log(tmp_path: Path):
    log = RunLog(tmp_path / "logs.db")
    log.write_all(
        [
            TraceEvent(
                type="run_started",
                run_id="run-1",
                seq=0,
                time=1.0,
                data={"prompt": "hi", "messages": []},
            ),
            TraceEvent(type="run_finished", run_id="run-1", seq=1, time=2.0, data={"output": "ok"}),
        ]  # fmt: skip
    )
    yield log
    log.close()


def test_a_limit_beyond_sqlites_integers_lists_every_run(log: RunLog) -> None:
    assert [r["run_id"] for r in list_runs(log.db, limit=10**22)] == ["run-1"]


def test_a_100_kb_id_is_one_configuration_error_naming_its_length(log: RunLog) -> None:
    with pytest.raises(ConfigurationError, match=r"\(100000 characters\)") as caught:
        get_run(log.db, "a" * 100_000)
    assert len(str(caught.value)) < 300
    assert get_run(log.db, "run-1")["run_id"] == "run-1"
