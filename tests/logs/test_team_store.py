"""The team store from the CLI: two "machines" share runs and conversations through PostgreSQL.

A real PostgreSQL server (``pg_server``); each "machine" is its own working folder and home.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentloop import Agent
from agentloop.errors import StorageError
from agentloop.logs import RunLog
from agentloop.logs.queries import get_run, list_runs
from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response

ROOT = Path(__file__).resolve().parents[2]
CALC = str(ROOT / "examples" / "calculator.py")


def _machine(tmp_path: Path, name: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    return home


def _cli(home: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AGENTLOOP_DATABASE_URL"}
    env.update(AGENTLOOP_HOME=str(home), HOME=str(home))
    if url:
        env["AGENTLOOP_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "agentloop", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=120,
    )


def test_two_machines_share_one_conversation(pg_server: Any, tmp_path: Path) -> None:
    url = pg_server.create_database("team_share")
    laptop, worker = _machine(tmp_path, "laptop"), _machine(tmp_path, "worker")
    first = _cli(laptop, "run", CALC, "What is 12 * 7?", url=url)
    assert first.returncode == 0, first.stderr
    assert "84" in first.stdout
    listed = _cli(worker, "logs", "--json", "-n", "1", url=url)
    assert listed.returncode == 0, listed.stderr
    [run] = json.loads(listed.stdout)
    follow = _cli(worker, "run", "--cid", run["conversation_id"], "and times 2?", url=url)
    assert follow.returncode == 0, follow.stderr
    assert "168" in follow.stdout
    searched = _cli(laptop, "logs", "-q", "times", url=url)
    assert "and times 2?" in searched.stdout and "What is 12 * 7?" not in searched.stdout
    # nothing was written to either machine's own SQLite file
    assert not list(laptop.rglob("logs.db")) and not list(worker.rglob("logs.db"))
    shown = _cli(worker, "logs", "path", url=url)
    assert shown.stdout.strip().startswith("postgresql://agentloop@127.0.0.1:")
    assert pg_server.url.split(":")[2].split("@")[0] not in shown.stdout + shown.stderr


def test_logs_copy_moves_a_sqlite_log_idempotently(pg_server: Any, tmp_path: Path) -> None:
    laptop = _machine(tmp_path, "laptop")
    for prompt in ("What is 2 + 2?", "What is 3 * 5?"):
        assert _cli(laptop, "run", CALC, prompt).returncode == 0
    url = pg_server.create_database("team_copy")
    once = _cli(laptop, "logs", "copy", "--to", url)
    assert once.returncode == 0, once.stderr
    assert "copied 2 runs (0 already there) and 2 conversations" in once.stderr
    again = _cli(laptop, "logs", "copy", "--to", url)
    assert "copied 0 runs (2 already there)" in again.stderr
    log = RunLog(url)
    try:
        runs = list_runs(log.db, limit=0)
        assert sorted(r["prompt"] for r in runs) == ["What is 2 + 2?", "What is 3 * 5?"]
        assert [e["type"] for e in get_run(log.db, runs[0]["run_id"])["events"]][-1] == (
            "run_finished"
        )
    finally:
        log.close()
    shown = _cli(laptop, "logs", "-n", "5", "--db", url)
    assert "What is 3 * 5?" in shown.stdout


def test_a_wrong_password_or_a_dead_server_is_one_line_without_the_password(
    pg_server: Any, tmp_path: Path
) -> None:
    wrong = pg_server.url.replace("pg-test-secret-7f3a", "not-the-password-91")
    with pytest.raises(StorageError) as caught:
        RunLog(wrong)
    message = str(caught.value)
    assert "password" in message and "not-the-password-91" not in message
    assert "\n" not in message
    proc = _cli(_machine(tmp_path, "m"), "logs", "-n", "1", "--db", wrong)
    assert proc.returncode == 1 and "not-the-password-91" not in proc.stderr + proc.stdout
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    dead = "postgresql://agentloop:sekret-pw-55@127.0.0.1:9/postgres"
    with pytest.raises(StorageError, match="127.0.0.1:9") as caught:
        RunLog(dead)
    assert "sekret-pw-55" not in str(caught.value)
    # a CLI run with the store down goes on unlogged, saying so once
    run = _cli(_machine(tmp_path, "n"), "run", CALC, "What is 1 + 1?", url=dead)
    assert run.returncode == 0 and "2" in run.stdout
    assert "not logged" in run.stderr and "sekret-pw-55" not in run.stderr


def test_a_database_from_a_newer_agentloop_is_refused(pg_server: Any) -> None:
    url = pg_server.create_database("team_newer")
    RunLog(url).close()
    log = RunLog(url)
    with log.db.transaction() as conn:
        conn.execute("UPDATE agentloop_schema SET version = 99 WHERE component = 'logs'")
    log.close()
    from agentloop.postgres import _POOLS

    _POOLS.clear()  # a new process would not know the database was migrated
    with pytest.raises(StorageError, match="version 99.*upgrade agentloop"):
        RunLog(url)


def test_killing_postgres_mid_run_keeps_committed_steps_and_returns_the_result(
    tmp_path: Path,
) -> None:
    from pg_support import start_postgres

    server = start_postgres()  # its own server: this test kills it
    try:
        url = server.create_database("team_kill")
        log = RunLog(url)

        def stop_server() -> str:
            """Stop the store's server, as a crash would."""
            server.stop("immediate")
            return "stopped"

        from agentloop import tool

        killer = tool(stop_server)
        model = ScriptedModel(
            [tool_calls_response(tool_call("stop_server", {}, id="k1")), text_response("done")]
        )
        agent = Agent(model, tools=[killer], plugins=[log.recorder()], load_plugins=False)
        with pytest.warns(Warning, match="not recorded"):
            result = agent.run("stop it")
        assert result.output == "done"
        server.start()
        reread = RunLog(url)
        try:
            [run] = list_runs(reread.db, limit=0)
            events = [e["type"] for e in get_run(reread.db, run["run_id"])["events"]]
            assert events[:3] == ["run_started", "model_request", "model_response"]
            assert run["gap"] is None or "not logged" in run["gap"]
        finally:
            reread.close()
    finally:
        server.close()


def test_view_renders_a_run_of_the_team_store(pg_server: Any, tmp_path: Path) -> None:
    url = pg_server.create_database("team_view")
    home = _machine(tmp_path, "viewer")
    assert _cli(home, "run", CALC, "What is 6 * 7?", url=url).returncode == 0
    [run] = json.loads(_cli(home, "logs", "--json", "-n", "1", url=url).stdout)
    page = tmp_path / "run.html"
    shown = _cli(home, "view", run["run_id"], "-o", str(page), "--no-open", url=url)
    assert shown.returncode == 0, shown.stderr
    assert "What is 6 * 7?" in page.read_text() and "pg-test-secret" not in page.read_text()
    other = _cli(home, "view", run["run_id"], "-o", str(page), "--no-open", "--log", url)
    assert other.returncode == 0, other.stderr
