"""Every example in ``examples/`` runs on the offline model, from the CLI and as a script.

Each example is run three ways, as separate processes, exactly as a user would:

* ``python -m agentloop run examples/NAME.py PROMPT --json``: the RunResult is
  checked (the answer and every tool call made, with its arguments and status);
* ``python -m agentloop run examples/NAME.py PROMPT``: stdout is the answer only,
  stderr has one line per tool call;
* ``python examples/NAME.py PROMPT``: the script's own output.

The runs autoload the installed plugins, as a user's machine does: installed
plugins offer tools by name and push none into an agent, so what else is
installed changes nothing, and ``test_every_example_sends_exactly_its_tools``
proves it. It records the ``tools`` array of every model request each example
sends (the installed test plugin's ``agentloop_model_request`` hook, which, like
any installed plugin's lifecycle hooks, applies to every run) and compares it
with the tools the example is made for.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass(frozen=True)
class Case:
    """One example run: the prompt, the tool calls it must make and what the answer says."""

    example: str
    prompt: str
    calls: list[tuple[str, dict[str, Any]]]
    answer: list[str]  # substrings of the answer text
    statuses: list[str] = field(default_factory=list)  # per call; default all "ok"
    output: Any = None  # the --json "output" when structured (a set value: any one of these)
    stderr: list[str] = field(default_factory=list)  # substrings of stderr (inner agents' calls)


REVENUE_SQL = (
    "SELECT p.category, ROUND(SUM(o.quantity * p.price), 2) AS revenue FROM orders o "
    "JOIN products p ON p.id = o.product_id GROUP BY p.category ORDER BY revenue DESC"
)

CASES = [
    Case(
        "calculator",
        "What is 12 * (3 + 4)?",
        [("calculate", {"expression": "12 * (3 + 4)"})],
        ["84"],
    ),
    Case(
        "calculator",
        "Compute (1 + 2) * 3, then 10 / 4",
        [("calculate", {"expression": "(1 + 2) * 3"}), ("calculate", {"expression": "10 / 4"})],
        ["9", "2.5"],
    ),
    Case(
        "codebase_explorer",
        'Search the code for "def agentloop_call_tool"',
        [("search_files", {"query": "def agentloop_call_tool"})],
        ["hookspecs.py:", "plugins/functions.py:", "def agentloop_call_tool("],
    ),
    Case(
        "codebase_explorer",
        'List the files in "plugins"',
        [("list_files", {"path": "plugins"})],
        ["plugins/__init__.py", "plugins/functions.py"],
    ),
    Case(
        "codebase_explorer",
        'Read "events.py"',
        [("read_file", {"path": "events.py"})],
        ["class ToolCallFinished"],
    ),
    Case(
        "data_analyst",
        f'Run the query "{REVENUE_SQL}"',
        [("query", {"sql": REVENUE_SQL})],
        ["hardware | 1067.0", "software | 413.0", "books | 185.7"],
    ),
    Case(
        "data_analyst",
        "What tables are there?",
        [("list_tables", {})],
        ["customers (table)", "orders (table)", "products (table)"],
    ),
    Case(
        "data_analyst",
        'Describe the "orders" table',
        [("describe_table", {"table": "orders"})],
        ["table orders", "customer_id | INTEGER"],
    ),
    Case(
        "data_analyst",
        'Run the query "DELETE FROM orders"',
        [("query", {"sql": "DELETE FROM orders"})],
        ["read-only"],
        statuses=["error"],
    ),
    Case(
        "extractor",
        "Hi, I'm Ada Lovelace from Analytical Engines Ltd. "
        "Write to ada@analytical.example or call +44 20 7946 0958.",
        [],
        ['"Ada Lovelace"', '"ada@analytical.example"'],
        output={
            "name": "Ada Lovelace",
            "email": "ada@analytical.example",
            # the offline model may or may not recognize phone numbers; never a wrong one
            "phone": {None, "+44 20 7946 0958"},
            "company": "Analytical Engines Ltd",
        },
    ),
    Case(
        "extractor",
        "Please send the contract to Grace Hopper (grace.hopper@navy.example).",
        [],
        ['"Grace Hopper"'],
        output={
            "name": "Grace Hopper",
            "email": "grace.hopper@navy.example",
            "phone": None,
            "company": None,
        },
    ),
    Case(
        "mcp_countries",
        'What is the capital of "Japan"?',
        [("country_facts", {"country": "Japan"})],
        ['"capital": "Tokyo"'],
    ),
    Case(
        "mcp_countries",
        'What is the capital of "Atlantis"?',
        [("country_facts", {"country": "Atlantis"})],
        ["no facts about 'Atlantis'; known countries: France, Japan, Kenya"],
        statuses=["error"],
    ),
    Case(
        "two_agents",
        "What is 12 * (3 + 4)?",
        [("math_expert", {"prompt": "12 * (3 + 4)"})],
        ["84"],
        stderr=['math agent: calculate({"expression":"12 * (3 + 4)"}) -> 84'],
    ),
]

IDS = [f"{c.example}-{i}" for i, c in enumerate(CASES)]

# The first case of each example uses the example's DEFAULT_PROMPT.
FIRST = {c.example: c for c in reversed(CASES)}


def run(
    args: list[str], *, autoload: bool = True, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """Run a Python command from the repository root on the offline model."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.pop("AGENTLOOP_MODEL", None)
    env.pop("SHOP_DB", None)
    env.pop("EXPLORE_ROOT", None)
    env["PYTHONIOENCODING"] = "utf-8"
    if autoload:
        env.pop("AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD", None)
    else:
        env["AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.update(extra_env)
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def assert_output(actual: Any, expected: Any) -> None:
    """Compare a structured output; an expected ``set`` of values accepts any one of them."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), actual
        for key, value in expected.items():
            assert_output(actual[key], value)
    elif isinstance(expected, set):
        assert actual in expected, (actual, expected)
    else:
        assert actual == expected, (actual, expected)


def tool_steps(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in result["steps"] if s["kind"] == "tool"]


def answer_text(result: dict[str, Any]) -> str:
    output = result["output"]
    return output if isinstance(output, str) else json.dumps(output)


def test_every_example_is_tested() -> None:
    files = {p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert files == {c.example for c in CASES}
    assert len(files) >= 5


@pytest.mark.parametrize("example", sorted({c.example for c in CASES}))
def test_example_layout(example: str) -> None:
    """A module-level ``agent`` for the CLI, a default prompt and a ``__main__`` block."""
    tree = ast.parse((EXAMPLES / f"{example}.py").read_text(encoding="utf-8"))
    assigned = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert {"agent", "DEFAULT_PROMPT"} <= assigned
    assert ast.get_docstring(tree), f"{example}.py needs a docstring saying how to run it"
    assert any(
        isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) for node in tree.body
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_json(case: Case) -> None:
    proc = run(["-m", "agentloop", "run", f"examples/{case.example}.py", case.prompt, "--json"])
    result = json.loads(proc.stdout)
    assert result["stop_reason"] == "stop"
    made = [(s["tool_name"], json.loads(s["arguments"])) for s in tool_steps(result)]
    assert made == case.calls
    statuses = [s["status"] for s in tool_steps(result)]
    assert statuses == (case.statuses or ["ok"] * len(case.calls))
    for text in case.answer:
        assert text in answer_text(result)
    if case.output is not None:
        assert_output(result["output"], case.output)
    # the transcript holds each call and its result, paired by id
    results = {m["tool_call_id"]: m for m in result["messages"] if m["role"] == "tool"}
    assert sorted(results) == sorted(s["call_id"] for s in tool_steps(result))
    for text in case.stderr:
        assert text in proc.stderr


@pytest.mark.parametrize("example", sorted(FIRST))
def test_cli_text(example: str) -> None:
    case = FIRST[example]
    proc = run(["-m", "agentloop", "run", f"examples/{example}.py", case.prompt])
    for text in case.answer:
        assert text in proc.stdout
    assert "→" not in proc.stdout  # tool-call lines go to stderr, the answer alone to stdout
    assert [line.split("(", 1)[0] for line in proc.stderr.splitlines() if "→ " in line] == [
        f"→ {name}" for name, _ in case.calls
    ]
    for text in case.stderr:
        assert text in proc.stderr


@pytest.mark.parametrize("example", sorted(FIRST))
def test_script_default_prompt(example: str) -> None:
    """``python examples/NAME.py`` runs the default prompt: the first case of the example."""
    case = FIRST[example]
    source = (EXAMPLES / f"{example}.py").read_text(encoding="utf-8")
    namespace: dict[str, Any] = {}
    exec(ast.unparse(_default_prompt(source)), namespace)
    assert namespace["DEFAULT_PROMPT"] == case.prompt
    proc = run([f"examples/{example}.py"])
    for text in case.answer:
        assert text in proc.stdout
    shown = [line for line in proc.stdout.splitlines() if line.startswith("tool call: ")]
    assert [line.split("(", 1)[0] for line in shown] == [
        f"tool call: {name}" for name, _ in case.calls
    ]


def test_script_takes_the_prompt_from_argv() -> None:
    case = CASES[1]
    proc = run([f"examples/{case.example}.py", *case.prompt.split()])
    assert proc.stdout.count("tool call: calculate(") == 2
    assert "2.5" in proc.stdout.splitlines()[-1]


def _default_prompt(source: str) -> ast.Assign:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DEFAULT_PROMPT" for t in node.targets
        ):
            return node
    raise AssertionError("no DEFAULT_PROMPT")


def test_two_agents_inner_calls() -> None:
    """The math agent's own calculate call happens inside the math_expert call."""
    proc = run(["examples/two_agents.py", "What is 2**16 - 1?"])
    assert 'math agent: calculate({"expression":"2**16 - 1"}) -> 65535' in proc.stderr
    assert "tool call: math_expert(" in proc.stdout
    assert "65535" in proc.stdout.splitlines()[-1]
    assert "tool call: calculate" not in proc.stdout  # the assistant has no calculator


# The tools array each example's agents send, one entry per agent (sorted names).
SENDS: dict[str, set[tuple[str, ...]]] = {
    "calculator": {("calculate",)},
    "codebase_explorer": {("list_files", "read_file", "search_files")},
    "data_analyst": {("describe_table", "list_tables", "query")},
    "extractor": {()},
    "mcp_countries": {("country_facts",)},
    "two_agents": {("math_expert",), ("calculate",)},
}


def test_sends_covers_every_example_and_every_tool_the_cases_call() -> None:
    assert set(SENDS) == {c.example for c in CASES}
    for case in CASES:
        offered = {name for tools in SENDS[case.example] for name in tools}
        assert {name for name, _ in case.calls} <= offered, case


@pytest.mark.parametrize("example", sorted(FIRST))
def test_every_example_sends_exactly_its_tools(example: str, tmp_path: Path) -> None:
    import agentloop_testplugin

    record = tmp_path / "requests.jsonl"
    case = FIRST[example]
    env = {agentloop_testplugin.RECORD_ENV: str(record)}
    run(["-m", "agentloop", "run", f"examples/{example}.py", case.prompt], **env)
    run([f"examples/{example}.py"], **env)  # as a script too
    sent = [tuple(json.loads(line)) for line in record.read_text().splitlines()]
    assert sent, "no model request was recorded"
    assert {tuple(sorted(names)) for names in sent} == SENDS[example]
    assert all(len(names) == len(set(names)) for names in sent)


def test_calculator_asks_for_its_tool_by_name() -> None:
    """``tools=["calculate"]``: with autoloading off the name is unknown, and the error says why."""
    proc = subprocess.run(
        [sys.executable, "-m", "agentloop", "run", "examples/calculator.py", "What is 2**10?"],
        cwd=ROOT,
        env={**os.environ, "AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 2
    assert "unknown tool 'calculate'" in proc.stderr
    assert "AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD=1" in proc.stderr


def test_data_analyst_uses_shop_db(tmp_path: Path) -> None:
    """SHOP_DB names where the sample database is created (and then reused)."""
    database = tmp_path / "shop.db"
    prompt = 'Run the query "SELECT COUNT(*) AS orders FROM orders"'
    for _ in range(2):
        proc = run(["examples/data_analyst.py", prompt], SHOP_DB=str(database))
        assert "orders\n10\n" in proc.stdout
    assert database.is_file()
