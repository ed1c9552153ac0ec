"""docs/logs-and-sessions.md documents the schema exactly as a new run log creates it."""

from __future__ import annotations

import re
from pathlib import Path

from agentloop.logs import RunLog

PAGE = Path(__file__).resolve().parents[2] / "docs" / "logs-and-sessions.md"


def _normal(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).replace("( ", "(").replace(" )", ")").strip().rstrip(";")


def test_the_documented_schema_is_the_real_one(tmp_path: Path) -> None:
    [block] = re.findall(r"```sql\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    documented = [_normal(s) for s in block.split(";\n") if s.strip()]
    log = RunLog(tmp_path / "logs.db")
    real = {
        _normal(row["sql"])
        for row in log.db.query("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")
    }
    assert len(documented) >= 5
    missing = [s for s in documented if s not in real]
    assert not missing, f"documented but not created: {missing}"
    tables = {
        r["name"]
        for r in log.db.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    }
    for name in ("runs", "events", "runs_fts", "model_calls", "tool_calls", "conversations"):
        assert name in tables and name in PAGE.read_text()
