"""``agentloop probe`` as the user runs it, against a real ``agentloop serve``: the report,
``--json``, ``--save``/``--save-local`` and ``agentloop models`` listing what was saved."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTLOOP_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "agentloop", *args], cwd=home, env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[str]:
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentloop", "serve", "--model", "offline", "--port", "0"],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
    try:
        for _ in range(300):
            found = re.search(r"http://\S+/v1", log.read_text())
            if found:
                break
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        else:
            pytest.fail(f"agentloop serve did not start: {log.read_text()}")
        yield found.group(0)
    finally:
        proc.terminate()
        proc.wait(10)


def test_probe_save_json_and_models(serve: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = _cli(home, "probe", "offline", "--base-url", serve, "--runs", "1", "--save")
    assert done.returncode == 0, done.stderr
    assert "probe: [3] chat" in done.stderr  # the progress lines, on stderr
    assert re.search(r"(?m)^ok tool_choice_none .*\[1/1\]$", done.stdout)
    assert "profile saved to" in done.stderr
    saved = tomllib.loads(next(home.rglob("profiles.toml")).read_text())["profiles"]
    assert saved[0]["base_url"] == serve and saved[0]["model"] == "offline"
    as_json = _cli(home, "probe", "offline", "--base-url", serve, "--runs", "1", "--json")
    report = json.loads(as_json.stdout)
    assert report["runs"] == 1 and report["profile"] == {
        k: v for k, v in saved[0].items() if k not in ("base_url", "model")
    }
    checks = {f["check"] for f in report["findings"]}
    assert {"tool_choice_named", "parallel_tool_calls", "stream_tools", "call_ids"} <= checks
    models = _cli(home, "models")
    assert models.returncode == 0 and serve in models.stdout


def test_save_local_writes_agentloop_toml_and_keeps_the_rest(serve: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "agentloop.toml").write_text('model = "offline"\n')
    for _ in range(2):  # saving again replaces the entry
        done = _cli(home, "probe", "offline", "--base-url", serve, "--runs", "1", "--save-local")
        assert done.returncode == 0, done.stderr
    data = tomllib.loads((home / "agentloop.toml").read_text())
    assert data["model"] == "offline" and len(data["profiles"]) == 1


def test_runs_below_one_is_a_one_line_usage_error(tmp_path: Path) -> None:
    done = _cli(tmp_path, "probe", "m", "--base-url", "http://127.0.0.1:9/v1", "--runs", "0")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "--runs must be at least 1" in done.stderr
