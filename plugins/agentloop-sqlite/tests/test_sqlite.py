"""Tests of the agentloop-sqlite plugin: the tools, read-only enforcement, limits, agent runs."""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import sqlite3
import threading
from pathlib import Path

import agentloop_sqlite
import pytest
from agentloop_sqlite import SQLitePlugin

from agentloop import Agent, ConfigurationError, Tool, ToolError
from agentloop.testing import ScriptedModel, tool_call, tool_calls_response


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE products (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            price REAL DEFAULT 0,
            notes TEXT,
            image BLOB
        );
        CREATE INDEX products_by_price ON products(price);
        CREATE VIEW cheap AS SELECT name, price FROM products WHERE price < 5;
        INSERT INTO products (name, price, notes, image) VALUES
            ('apple', 1.5, 'red|green', x'00ff'),
            ('bread', 3.25, 'line one
line two', NULL),
            ('cheese', 12.0, NULL, NULL);
        CREATE TABLE numbers (n INTEGER);
        WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1000)
        INSERT INTO numbers SELECT i FROM r;
        """
    )
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the shop database for each test."""
    path = tmp_path / "shop.db"
    shutil.copyfile(template, path)
    return path


@pytest.fixture
def plugin(db: Path) -> SQLitePlugin:
    return SQLitePlugin(db, max_rows=5, timeout=1.0)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------
# The tools
# ---------------------------------------------------------------------------


def test_tools_offered(plugin: SQLitePlugin) -> None:
    assert [t.name for t in plugin.tools] == ["list_tables", "describe_table", "query"]
    assert all(isinstance(t, Tool) and t.description for t in plugin.tools)
    assert plugin.agentloop_tools(agent=None) == list(plugin.tools)
    query = plugin.tools[2].parameters
    assert query["required"] == ["sql"] and query["properties"]["sql"]["description"]


def test_bad_configuration(tmp_path: Path, db: Path) -> None:
    with pytest.raises(ConfigurationError):
        SQLitePlugin(tmp_path / "missing.db")
    with pytest.raises(ConfigurationError):
        SQLitePlugin(tmp_path)
    with pytest.raises(ConfigurationError):
        SQLitePlugin(db, max_rows=0)
    assert not (tmp_path / "missing.db").exists()


def test_list_tables(plugin: SQLitePlugin) -> None:
    assert plugin.list_tables() == "cheap (view)\nnumbers (table)\nproducts (table)"


def test_list_tables_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    assert SQLitePlugin(path).list_tables() == "(the database has no tables)"


def test_describe_table(plugin: SQLitePlugin) -> None:
    text = plugin.describe_table("products")
    assert text.splitlines()[0] == "table products"
    assert "  id | INTEGER | no | - | 1" in text
    assert "  name | TEXT | yes | - | -" in text
    assert "  price | REAL | no | 0 | -" in text
    assert "CREATE TABLE products (" in text
    assert "CREATE INDEX products_by_price ON products(price);" in text
    assert plugin.describe_table("cheap").startswith("view cheap")


def test_describe_unknown_table(plugin: SQLitePlugin) -> None:
    with pytest.raises(ToolError, match="no table or view named 'nope'; tables: cheap, numbers"):
        plugin.describe_table("nope")
    with pytest.raises(ToolError, match="no table"):
        plugin.describe_table("products; DROP TABLE products")


def test_query_table(plugin: SQLitePlugin) -> None:
    text = plugin.query("SELECT id, name, price, notes, image FROM products ORDER BY id")
    assert text.splitlines() == [
        "id | name | price | notes | image",
        "1 | apple | 1.5 | red\\|green | <blob 2 bytes>",
        "2 | bread | 3.25 | line one\\nline two | NULL",
        "3 | cheese | 12.0 | NULL | NULL",
        "(3 rows)",
    ]
    assert plugin.query("SELECT count(*) AS n FROM cheap") == "n\n2\n(1 row)"
    assert plugin.query("SELECT 1 WHERE 0") == "1\n(0 rows)"
    assert plugin.query("SELECT 1;  -- trailing comment") == "1\n1\n(1 row)"


def test_read_only_pragmas_and_ctes(plugin: SQLitePlugin) -> None:
    assert "| name |" in plugin.query("PRAGMA table_info(products)")
    assert plugin.query("PRAGMA user_version") == "user_version\n0\n(1 row)"
    cte = "WITH t(x) AS (SELECT 2) SELECT x * 21 AS answer FROM t"
    assert plugin.query(cte) == "answer\n42\n(1 row)"


def test_row_limit_says_rows_were_cut(plugin: SQLitePlugin) -> None:
    lines = plugin.query("SELECT n FROM numbers ORDER BY n").splitlines()
    assert lines[:6] == ["n", "1", "2", "3", "4", "5"]
    assert lines[6].startswith("(5 rows shown; the result has more rows")


def test_long_values_are_shortened(db: Path) -> None:
    text = SQLitePlugin(db, max_cell_chars=10).query("SELECT printf('%.50c', 'x') AS s")
    assert text.splitlines()[1] == "x" * 10 + "..."


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("SELECT * FROM missing", "no such table"),
        ("SELEC 1", "syntax error"),
        ("SELECT 1; SELECT 2", "one SQL statement"),
        ("SELECT 1; DROP TABLE products", "one SQL statement"),
    ],
)
def test_query_errors(plugin: SQLitePlugin, sql: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        plugin.query(sql)


# ---------------------------------------------------------------------------
# Read-only enforcement and limits
# ---------------------------------------------------------------------------

WRITES = [
    "INSERT INTO products (name) VALUES ('x')",
    "REPLACE INTO products (id, name) VALUES (1, 'x')",
    "UPDATE products SET price = 0",
    "DELETE FROM products",
    "DROP TABLE products",
    "DROP VIEW cheap",
    "DROP INDEX products_by_price",
    "CREATE TABLE t (x)",
    "CREATE TEMP TABLE t (x)",
    "CREATE TRIGGER tr AFTER INSERT ON products BEGIN SELECT 1; END",
    "ALTER TABLE products ADD COLUMN y",
    "ALTER TABLE products RENAME TO goods",
    "CREATE INDEX i ON products(name)",
    "REINDEX",
    "ANALYZE",
    "VACUUM",
    "BEGIN",
    "SAVEPOINT s",
    "PRAGMA query_only = OFF",
    "PRAGMA user_version = 7",
    "PRAGMA journal_mode = WAL",
    "PRAGMA writable_schema = ON",
    "UPDATE sqlite_master SET sql = ''",
    "SELECT load_extension('/tmp/evil')",
    "WITH x AS (SELECT 1) INSERT INTO products (name) SELECT 'y' FROM x",
]


@pytest.mark.parametrize("sql", WRITES)
def test_writes_are_refused(plugin: SQLitePlugin, db: Path, sql: str) -> None:
    before = _digest(db)
    with pytest.raises(ToolError, match="read-only|not allowed|may not be modified|authoriz"):
        plugin.query(sql)
    assert _digest(db) == before
    assert plugin.query("SELECT count(*) FROM products").splitlines()[1] == "3"


def test_each_layer_alone_stops_writes(plugin: SQLitePlugin, db: Path) -> None:
    """The file is opened read-only: with the authorizer and query_only lifted, writes still fail."""
    before = _digest(db)
    with pytest.raises(ToolError, match="readonly|read-only"), plugin._session() as (conn, _):
        conn.set_authorizer(None)
        conn.execute("PRAGMA query_only = OFF")
        conn.execute("DELETE FROM products")  # only mode=ro is left
    with pytest.raises(ToolError, match="readonly|read-only"), plugin._session() as (conn, _):
        conn.set_authorizer(None)
        conn.execute("DELETE FROM products")  # only query_only (and mode=ro) left
    assert _digest(db) == before


def test_write_messages_are_clear(plugin: SQLitePlugin) -> None:
    with pytest.raises(ToolError, match="^the database is read-only: INSERT is not allowed"):
        plugin.query("INSERT INTO products (name) VALUES ('x')")
    for sql in ("DROP TABLE products", "CREATE TABLE t (x)", "ALTER TABLE products ADD y"):
        with pytest.raises(ToolError, match="^the database is read-only: (changing|ALTER)"):
            plugin.query(sql)
    with pytest.raises(ToolError, match="PRAGMA user_version cannot be set"):
        plugin.query("PRAGMA user_version = 7")


def test_attach_is_refused(plugin: SQLitePlugin, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    for sql in (f"ATTACH DATABASE '{other}' AS o", "ATTACH ':memory:' AS m", "DETACH main"):
        with pytest.raises(ToolError, match="ATTACH|DETACH"):
            plugin.query(sql)
    assert not other.exists()


def test_vacuum_into_writes_nothing(plugin: SQLitePlugin, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    with pytest.raises(ToolError):
        plugin.query(f"VACUUM INTO '{target}'")
    assert not target.exists()


@pytest.mark.timeout(10)
def test_slow_query_is_stopped(plugin: SQLitePlugin) -> None:
    forever = (
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r"
    )
    # The query never ends by itself: only the time limit can stop it.
    with pytest.raises(ToolError, match="longer than 1 s and was stopped"):
        plugin.query(forever)
    assert plugin.query("SELECT 1 AS ok") == "ok\n1\n(1 row)"  # the next call has a fresh budget


def test_tools_can_run_in_parallel_threads(plugin: SQLitePlugin) -> None:
    results: list[str] = []

    def work() -> None:
        results.append(plugin.query("SELECT count(*) AS n FROM numbers"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["n\n1000\n(1 row)"] * 8


# ---------------------------------------------------------------------------
# Plugin wiring and agent runs
# ---------------------------------------------------------------------------


def test_entry_point_module_offers_no_tools() -> None:
    entry_points = importlib.metadata.entry_points(group="agentloop")
    assert any(ep.name == "sqlite" and ep.value == "agentloop_sqlite" for ep in entry_points)
    assert not hasattr(agentloop_sqlite, "agentloop_tools")


def test_agent_run(db: Path) -> None:
    model = ScriptedModel(
        [
            tool_calls_response(
                tool_call("list_tables"), tool_call("describe_table", {"table": "cheap"})
            ),
            tool_calls_response(
                tool_call("query", {"sql": "SELECT name FROM cheap ORDER BY name"}),
                tool_call("query", {"sql": "DELETE FROM products"}),
            ),
            "apple and bread",
        ]
    )
    agent = Agent(model, plugins=[SQLitePlugin(db)], load_plugins=False)
    result = agent.run("What is cheap?")
    contents = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert contents[0] == "cheap (view)\nnumbers (table)\nproducts (table)"
    assert contents[1].startswith("view cheap")
    assert contents[2] == "name\napple\nbread\n(2 rows)"
    assert "read-only" in contents[3]
    assert result.output == "apple and bread"
    offered = [t["function"]["name"] for t in model.requests[0]["tools"]]
    assert offered == ["list_tables", "describe_table", "query"]
