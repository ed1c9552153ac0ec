"""``agentloop batch`` as a user runs it: real subprocesses, a real local model server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from batch_support import echo_server, need_ray, read_jsonl, write_agent_file, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "batch" / "questions.jsonl"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOOP_")}
    env["AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.update(extra)
    return {k: v for k, v in env.items() if v}  # "": unset


def agentloop(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentloop", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_env(**env),
        timeout=120,
    )


@pytest.fixture
def server() -> Any:
    s = echo_server()
    yield s
    s.stop()


def test_the_example_batch_runs_on_the_offline_model(tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    # the calculator example takes its tool from the installed agentloop-calculator plugin
    example = ("batch", "examples/calculator.py", str(EXAMPLE), "-o", str(out), "--json")
    proc = agentloop(*example, AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD="")
    assert proc.returncode == 0, proc.stderr
    lines = read_jsonl(out)
    assert [line["id"] for line in sorted(lines, key=lambda x: x["id"])] == sorted(
        ["line-1", "powers", "mixed", "division", "sum", "difference"]
    )
    outputs = {line["id"]: line["output"] for line in lines}
    assert "84" in outputs["line-1"] and "1024" in outputs["powers"]
    summary = json.loads(proc.stdout)
    assert (summary["done"], summary["failed"], summary["malformed"]) == (6, 0, 0)
    assert "batch: 6 done, 0 failed" in proc.stderr and "p95" in proc.stderr
    again = agentloop(*example, AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD="")
    assert json.loads(again.stdout)["skipped"] == 6 and len(read_jsonl(out)) == 6


def test_malformed_lines_are_reported_and_the_batch_goes_on(server: Any, tmp_path: Path) -> None:
    target = write_agent_file(tmp_path, server.base_url)
    rows = ["a", b"{oops", {"id": "b", "prompt": "b"}, {"id": "c", "prompt": "fail"}]
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    proc = agentloop("batch", target, path, "-o", str(out))
    assert proc.returncode == 1
    assert f"{path} line 2: " in proc.stderr and "(skipped)" in proc.stderr
    by_id = {line["id"]: line for line in read_jsonl(out)}
    assert by_id["line-1"]["output"] == "done: A" and by_id["b"]["output"] == "done: B"
    assert by_id["c"]["error"]["type"] == "BadRequestError"
    assert "2 done, 1 failed" in proc.stderr and "1 malformed lines" in proc.stderr


def test_duplicate_ids_are_a_usage_error(server: Any, tmp_path: Path) -> None:
    target = write_agent_file(tmp_path, server.base_url)
    path = write_jsonl(
        tmp_path / "in.jsonl", [{"id": "x", "prompt": "a"}, {"id": "x", "prompt": "b"}]
    )
    proc = agentloop("batch", target, path, "-o", str(tmp_path / "out.jsonl"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("agentloop: error: duplicate id 'x'")
    assert "Traceback" not in proc.stderr and server.requests == []


def test_an_output_of_another_input_is_refused_without_force(server: Any, tmp_path: Path) -> None:
    target = write_agent_file(tmp_path, server.base_url)
    first = write_jsonl(tmp_path / "one.jsonl", ["a"])
    second = write_jsonl(tmp_path / "two.jsonl", ["b", "c"])
    out = str(tmp_path / "out.jsonl")
    assert agentloop("batch", target, first, "-o", out).returncode == 0
    refused = agentloop("batch", target, second, "-o", out)
    assert refused.returncode == 2 and "different input" in refused.stderr
    assert "--force" in refused.stderr
    forced = agentloop("batch", target, second, "-o", out, "--force")
    assert forced.returncode == 0
    assert [line["output"] for line in read_jsonl(out)] == ["done: A", "done: C"]  # line-1 done


def test_ray_not_installed_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    fake = tmp_path / "noray" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    out = tmp_path / "out.jsonl"
    proc = agentloop(
        "batch", "examples/calculator.py", str(EXAMPLE), "-o", str(out), "--engine", "ray",
        PYTHONPATH=str(fake.parent),
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "agentloop: error: the Ray engine needs Ray: pip install -e '.[ray]'"
    )
    assert not out.exists()


def test_an_unreachable_ray_cluster_is_reported(tmp_path: Path) -> None:
    need_ray()
    proc = agentloop(
        "batch", "examples/calculator.py", str(EXAMPLE), "-o", str(tmp_path / "o.jsonl"),
        "--engine", "ray", "--address", "127.0.0.1:1",
    )  # fmt: skip
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("agentloop: error: cannot reach the Ray cluster at '127.0.0.1:1'")


def test_ctrl_c_flushes_every_finished_item_and_a_rerun_completes(tmp_path: Path) -> None:
    slow = echo_server(delay=0.1)
    try:
        target = write_agent_file(tmp_path, slow.base_url)
        path = write_jsonl(tmp_path / "in.jsonl", [f"p{n}" for n in range(40)])
        out = tmp_path / "out.jsonl"
        args = [sys.executable, "-m", "agentloop", "batch", target, path, "-o", str(out)]
        proc = subprocess.Popen(
            [*args, "--workers", "2"], cwd=ROOT, env=_env(), stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while (not out.exists() or len(out.read_text().splitlines()) < 3) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        assert "interrupted: finished items are in" in stderr
        written = read_jsonl(out)  # every line is whole JSON
        assert 3 <= len(written) < 40
        assert all(line["error"] is None for line in written)  # cancelled items are not results
        requests_before = len(slow.requests)
        rerun = subprocess.run(args, cwd=ROOT, env=_env(), capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        ids = [line["id"] for line in read_jsonl(out)]
        assert sorted(ids) == sorted(f"line-{n}" for n in range(1, 41))  # none lost, none twice
        assert len(slow.requests) - requests_before == 2 * (40 - len(written))
    finally:
        slow.stop()
