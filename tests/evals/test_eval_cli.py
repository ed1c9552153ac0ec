"""``agentloop eval`` as a user runs it: real subprocesses, the example agents, the run log on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "examples" / "evals" / "calculator.jsonl"
CHANGED = '''"""The calculator with its tool taken away: the changed agent a compare must catch."""

from agentloop import Agent

agent = Agent("offline", name="calculator", instructions="Answer arithmetic questions.")
'''


def agentloop(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTLOOP_HOME": str(cwd / "home")}
    for name in ("AGENTLOOP_MODEL", "AGENTLOOP_BASE_URL"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "agentloop", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both example evaluations: the calculator, then the changed agent."""
    folder = tmp_path_factory.mktemp("eval")
    (folder / "changed.py").write_text(CHANGED)
    first = agentloop(
        "eval", str(ROOT / "examples/calculator.py"), str(DATASET), "-o", "a.json", cwd=folder
    )
    assert first.returncode == 0, first.stderr
    (folder / "a.out").write_text(first.stdout)
    second = agentloop(
        "eval", "changed.py", str(DATASET), "-o", "b.json", "--fail-under", "0.9", cwd=folder
    )
    assert second.returncode == 1, second.stderr  # the changed agent scores under 0.9
    assert "under --fail-under 0.9" in second.stderr
    return folder


def test_twenty_cases_give_the_summary_and_the_json_report(reports: Path) -> None:
    summary = (reports / "a.out").read_text()
    for row in ("all", "evaluator max_tool_calls", "evaluator tool_trajectory", "tag powers"):
        assert f"\n{row} " in "\n" + summary, summary
    assert "20 runs of 20 cases" in summary
    data = json.loads((reports / "a.json").read_text())
    assert data["agentloop_eval"] == 1 and len(data["cases"]) == 20
    assert {c["tool_calls"][0] for c in data["cases"]} == {"calculate"}
    assert all(c["run_id"] for c in data["cases"])
    assert not (reports / "a.cases.jsonl").exists()  # the journal goes once the report is whole


def test_compare_names_the_regressed_cases(reports: Path) -> None:
    result = agentloop("eval", "compare", "a.json", "b.json", cwd=reports)
    assert result.returncode == 1
    regressed = [
        line.split()[1].rstrip(":")
        for line in result.stdout.splitlines()
        if line.startswith("regressed")
    ]
    assert sorted(regressed) == sorted(
        json.loads(line)["id"] for line in DATASET.read_text().splitlines()[1:]
    )
    same = agentloop("eval", "compare", "a.json", "a.json", cwd=reports)
    assert same.returncode == 0 and "0 improved, 0 regressed" in same.stdout


def test_view_renders_the_report_linking_each_case_to_its_run(reports: Path) -> None:
    result = agentloop(
        "view", "a.json", "--no-open", "--log", str(reports / "home/logs.db"), cwd=reports
    )
    assert result.returncode == 0, result.stderr
    page = (reports / "a.html").read_text()
    data = json.loads((reports / "a.json").read_text())
    for case in data["cases"]:
        assert f"a-runs/{case['run_id']}.html" in page
        assert (reports / "a-runs" / f"{case['run_id']}.html").is_file()


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"input": "a", "evaluators": [{"type": "regexp"}]}\n')
    result = agentloop("eval", str(ROOT / "examples/calculator.py"), "d.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("agentloop: error: d.jsonl line 1:")
    assert "did you mean regex" in result.stderr
    chaos = agentloop(
        "eval", str(ROOT / "examples/calculator.py"), str(DATASET), "--chaos", "nope", cwd=tmp_path
    )
    assert chaos.returncode == 2 and "unknown chaos fault 'nope'" in chaos.stderr


def test_chaos_on_the_command_line_is_recorded_and_reproducible(tmp_path: Path) -> None:
    runs = []
    for name in ("x.json", "y.json"):
        result = agentloop(
            "eval", str(ROOT / "examples/calculator.py"), str(DATASET), "-o", name,
            "--chaos", "tool-timeout,tool-error,empty-response", "--chaos-seed", "5",
            "--chaos-rate", "0.5", "--retries", "0", cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        data = json.loads((tmp_path / name).read_text())
        assert data["chaos"] == {
            "faults": ["tool-timeout", "tool-error", "empty-response"],
            "seed": 5,
            "rate": 0.5,
        }
        runs.append([(c["id"], c["faults"], c["score"]) for c in data["cases"]])
    assert runs[0] == runs[1] and any(faults for _, faults, _ in runs[0])
