"""agentloop-sqlite: value sizes, statement length and memory bounded by SQLite itself (issue 10).

Each bound is hit on purpose with a small limit; none of these tests waits for a timeout.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from agentloop_sqlite import MAX_SQL_CHARS, SQLitePlugin

from agentloop import ConfigurationError, ToolError


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "big.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (name TEXT, payload BLOB)")
        conn.execute("INSERT INTO t VALUES ('small', x'00ff'), ('large', zeroblob(50000))")
    conn.close()
    return path


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT length(randomblob(2000000000))",  # gigabytes, refused before allocating
        "SELECT length(zeroblob(20000))",
        "SELECT length(randomblob(20000))",
        "SELECT length(replace(hex(randomblob(4000)), 'A', 'AAAAAAAAAA'))",
        "SELECT length(group_concat(x)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
        "SELECT x + 1 FROM c LIMIT 100000) SELECT x FROM c)",
        "SELECT length(json_group_array(x)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
        "SELECT x + 1 FROM c LIMIT 100000) SELECT x FROM c)",
        "SELECT payload FROM t WHERE name = 'large'",  # a stored value over the limit
    ],
)
def test_values_larger_than_max_value_bytes_stop_the_statement(database: Path, sql: str) -> None:
    plugin = SQLitePlugin(database, max_value_bytes=10_000, timeout=30)
    with pytest.raises(ToolError, match="larger than 10000 bytes .*max_value_bytes"):
        plugin.query(sql)


def test_values_within_the_limit_are_fine(database: Path) -> None:
    plugin = SQLitePlugin(database, max_value_bytes=100_000)
    assert plugin.query("SELECT length(payload) FROM t ORDER BY name") == (
        "length(payload)\n50000\n2\n(2 rows)"
    )
    assert "<blob 50000 bytes>" in plugin.query("SELECT payload FROM t WHERE name = 'large'")


def test_statement_length_is_bounded(database: Path) -> None:
    plugin = SQLitePlugin(database)
    long_sql = "SELECT " + " + ".join(["1"] * (MAX_SQL_CHARS // 4 + 1))
    with pytest.raises(ToolError, match=f"the limit is {MAX_SQL_CHARS}"):
        plugin.query(long_sql)


def test_endless_rows_are_fetched_only_up_to_max_rows(database: Path) -> None:
    plugin = SQLitePlugin(database, max_rows=3, timeout=30)
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
    assert plugin.query(endless).splitlines()[:4] == ["x", "1", "2", "3"]


def test_heap_limit_stops_a_statement_that_needs_more_memory(database: Path) -> None:
    """In a child process: SQLite's heap limit is process-wide, and only ever lowered."""
    script = textwrap.dedent(
        f"""
        from agentloop import ToolError
        from agentloop_sqlite import SQLitePlugin

        plugin = SQLitePlugin({str(database)!r}, max_value_bytes=50_000_000,
                              max_memory_bytes=4_000_000)
        assert plugin.query("SELECT length(randomblob(1000))").splitlines()[1] == "1000"
        try:
            plugin.query("SELECT length(randomblob(20000000))")
        except ToolError as exc:
            print("refused:", exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "refused: the statement needed more memory than allowed" in done.stdout


@pytest.mark.parametrize(
    "kwargs", [{"max_value_bytes": 0}, {"max_memory_bytes": 0}, {"max_row_bytes": 0}]
)
def test_bad_limits_are_configuration_errors(database: Path, kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        SQLitePlugin(database, **kwargs)


def test_a_gigabyte_row_of_printf_padding_is_refused_at_once(database: Path) -> None:
    """printf('%.*c', 9e8, 'x') loops inside one call, where no progress handler runs."""
    plugin = SQLitePlugin(database, timeout=5.0)  # the plugin's own wall-time bound
    sql = "SELECT " + ", ".join(["printf('%.*c', 900000000, 'x')"] * 4)
    with pytest.raises(ToolError) as info:
        plugin.query(sql)
    assert "larger than 1000000 bytes (the plugin's max_value_bytes)" in str(info.value)
    with pytest.raises(ToolError, match="max_value_bytes"):
        plugin.query("SELECT format('%*d', 2000000, 1)")


def test_printf_and_format_still_format(database: Path) -> None:
    plugin = SQLitePlugin(database)
    out = plugin.query(
        "SELECT printf('%d-%s %5.2f %%', 3, 'a', 2.5), format('%.*c', 3, 'y'), "
        "length(printf('%.*c', 999999, 'x')), printf(NULL)"
    )
    assert out.splitlines()[1] == "3-a  2.50 % | yyy | 999999 | NULL"


GIGABYTE_ROW = "SELECT " + ", ".join(["randomblob(999999)"] * 1100)
"""1,100 values of just under the 1 MB value limit: a 1.1 GB row."""


def test_a_gigabyte_row_is_refused_before_it_is_built(database: Path) -> None:
    """In a child process, so its peak memory is its own: the row must never be built."""
    script = textwrap.dedent(
        f"""
        import resource
        from agentloop import ToolError
        from agentloop_sqlite import SQLitePlugin

        plugin = SQLitePlugin({str(database)!r}, timeout=5.0)  # the plugin's wall-time bound
        try:
            plugin.query({GIGABYTE_ROW!r})
        except ToolError as exc:
            print("refused:", exc)
        print("peak KiB:", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (
        "refused: a row of 1100 columns may hold at most 16000000 bytes (the plugin's "
        "max_row_bytes), so each value at most 14545 bytes" in done.stdout
    ), done.stdout
    peak_kib = int(done.stdout.rsplit("peak KiB:", 1)[1])
    assert peak_kib < 1_000_000, done.stdout  # the row (1.1 GB) was never held (2.2 GB before)


def test_wide_rows_within_the_row_limit_still_work(database: Path) -> None:
    plugin = SQLitePlugin(database, max_row_bytes=40_000)
    out = plugin.query("SELECT " + ", ".join(["length(randomblob(9000))"] * 4))
    assert out.splitlines()[1] == " | ".join(["9000"] * 4)
    with pytest.raises(ToolError, match="a row of 5 columns may hold at most 40000 bytes"):
        plugin.query("SELECT " + ", ".join(["randomblob(9000)"] * 5))
    assert "<blob 50000 bytes>" in SQLitePlugin(database, max_row_bytes=100_000).query(
        "SELECT payload FROM t WHERE name = 'large'"
    )


def test_a_statement_that_cannot_be_explained_still_runs_or_fails_as_itself(
    database: Path,
) -> None:
    plugin = SQLitePlugin(database)
    assert "Init" in plugin.query("EXPLAIN SELECT 1")
    with pytest.raises(ToolError, match="read-only"):
        plugin.query("DELETE FROM t")
    with pytest.raises(ToolError, match="syntax error"):
        plugin.query("SELEC 1")
