"""Data analyst: answers questions about a small shop database with read-only SQL tools.

Run it::

    agentloop run examples/data_analyst.py 'Run the query "SELECT country, COUNT(*) FROM customers GROUP BY country"'
    python examples/data_analyst.py "What tables are there?"
    AGENTLOOP_MODEL=openai:gpt-4o-mini python examples/data_analyst.py "Which category earns the most?"

The example creates its own sample database (``customers``, ``products`` and
``orders`` of a small shop) in a temporary folder each time it is loaded, or
at ``SHOP_DB`` when that is set and the file does not exist yet. The
``agentloop-sqlite`` plugin opens it read-only and offers ``list_tables``,
``describe_table`` and ``query``; writes of any kind are refused.

On the offline model, quoted SQL becomes the ``query`` argument, a quoted
table name the ``describe_table`` argument, and "What tables are there?"
calls ``list_tables``; the answer is the tool's result table. The offline
model cannot write SQL from a question in plain words; a real model can,
looking at the schema first and checking its numbers with a second query.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from agentloop_sqlite import SQLitePlugin

from agentloop import Agent, RunFinished, ToolCallFinished

DEFAULT_PROMPT = (
    'Run the query "SELECT p.category, ROUND(SUM(o.quantity * p.price), 2) AS revenue '
    'FROM orders o JOIN products p ON p.id = o.product_id GROUP BY p.category ORDER BY revenue DESC"'
)

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price REAL NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    ordered_on TEXT NOT NULL
);
"""

CUSTOMERS = [
    (1, "Ada Lovelace", "UK"),
    (2, "Grace Hopper", "US"),
    (3, "Alan Turing", "UK"),
    (4, "Katherine Johnson", "US"),
    (5, "Emmy Noether", "DE"),
]

PRODUCTS = [
    (1, "Mechanical keyboard", "hardware", 89.0),
    (2, "USB-C hub", "hardware", 35.5),
    (3, "27-inch monitor", "hardware", 249.0),
    (4, "Python in Depth", "books", 42.0),
    (5, "SQL Pocket Guide", "books", 19.9),
    (6, "Code editor licence", "software", 59.0),
]

ORDERS = [
    (1, 1, 1, 1, "2026-01-04"),
    (2, 1, 4, 2, "2026-01-04"),
    (3, 2, 3, 2, "2026-01-11"),
    (4, 3, 5, 3, "2026-01-19"),
    (5, 4, 6, 5, "2026-02-02"),
    (6, 5, 2, 4, "2026-02-09"),
    (7, 2, 4, 1, "2026-02-14"),
    (8, 3, 1, 1, "2026-03-01"),
    (9, 5, 6, 2, "2026-03-08"),
    (10, 4, 3, 1, "2026-03-15"),
]


def create_database(path: Path) -> Path:
    """Create the sample shop database at ``path`` and return the path."""
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?)", CUSTOMERS)
        conn.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", PRODUCTS)
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", ORDERS)
    conn.close()
    return path


def _database() -> Path:
    wanted = os.environ.get("SHOP_DB")
    if wanted:
        path = Path(wanted)
        return path if path.exists() else create_database(path)
    folder = tempfile.mkdtemp(prefix="agentloop-shop-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return create_database(Path(folder) / "shop.db")


DATABASE = _database()

agent = Agent(
    model=os.environ.get("AGENTLOOP_MODEL", "offline"),
    name="analyst",
    instructions=(
        "You are a data analyst for a small online shop. Answer questions from its "
        "SQLite database: look at the tables and their columns first, then run "
        "read-only SELECT queries. Give the numbers you found and the query you used."
    ),
    plugins=[SQLitePlugin(DATABASE)],
    max_steps=12,
)


def main(argv: list[str]) -> int:
    """Answer the question in ``argv`` (or the default one), showing each tool call."""
    prompt = " ".join(argv) or DEFAULT_PROMPT
    for event in agent.stream(prompt):
        if isinstance(event, ToolCallFinished):
            print(f"tool call: {event.call.name}({event.call.arguments})")
        elif isinstance(event, RunFinished):
            print(event.result.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
