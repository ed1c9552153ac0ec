"""``agentloop view``: a trace file or a run of the run log, to one self-contained HTML file."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_support import CALC, agentloop
from loop_support import add

from agentloop import Agent
from agentloop.logs import RunLog
from agentloop.testing import ScriptedModel, text_response, tool_call, tool_calls_response
from agentloop.tracing.viewer import embed_json

PROMPT = "What is 12 * (3 + 4)?"


def _data(page: str) -> list[dict]:
    found = re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_view_a_trace_file(tmp_path: Path) -> None:
    trace = tmp_path / "run.jsonl"
    assert agentloop("run", CALC, PROMPT, "--trace", str(trace), cwd=tmp_path).returncode == 0
    proc = agentloop("view", str(trace), "--no-open", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "run.html"
    assert proc.stdout.strip() == str(trace.with_suffix(".html"))
    page = out.read_text()
    # self-contained: nothing loaded from elsewhere (the browser test also watches requests)
    assert not re.search(r"<link|<script[^>]* src=|@import|url\(", page)
    assert "default-src 'none'" in page
    events = _data(page)
    assert [e["type"] for e in events][0] == "run_started"
    assert events == [json.loads(line) for line in trace.read_text().splitlines()]

    other = tmp_path / "elsewhere.html"
    proc = agentloop("view", str(trace), "-o", str(other), "--no-open", cwd=tmp_path)
    assert proc.returncode == 0 and other.is_file()


def test_view_runs_from_the_run_log(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    log = RunLog(db)
    ids = []
    for turn in ("first", "second"):
        model = ScriptedModel(
            [tool_calls_response(tool_call("add", {"a": 1, "b": 2})), text_response(turn)]
        )
        agent = Agent(
            model, tools=[add], plugins=[log.recorder(conversation_id="cid-7")], load_plugins=False
        )
        ids.append(agent.run(f"{turn} question").run_id)
    log.close()

    proc = agentloop("view", ids[1][:8], "--log", str(db), "--no-open", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = _data(Path(tmp_path, proc.stdout.strip()).read_text())
    assert {e["run_id"] for e in events} == {ids[1]}
    assert [e["type"] for e in events][-1] == "run_finished"
    assert events[-1]["output"] == "second"

    proc = agentloop("view", "--cid", "cid-7", "--log", str(db), "--no-open", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = _data(Path(tmp_path, proc.stdout.strip()).read_text())
    assert [e["run_id"] for e in events if e["type"] == "run_started"] == ids  # oldest first


def test_view_usage_errors_are_one_line(tmp_path: Path) -> None:
    for args in (["view"], ["view", "missing.jsonl"], ["view", "abcdef", "--log", "none.db"]):
        proc = agentloop(*args, "--no-open", cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"v": 1, "type": "run_started"}\n')
    proc = agentloop("view", str(bad), "--no-open", cwd=tmp_path)
    assert proc.returncode in (1, 2) and "bad.jsonl:1" in proc.stderr


def test_embedded_data_cannot_close_its_script_element() -> None:
    from agentloop.tracing import TraceEvent

    event = TraceEvent(
        type="tool_call", run_id="r", seq=0, time=0.0, data={"content": "</script><b>&"}
    )
    text = embed_json([event])
    assert "</script>" not in text and "<" not in text and "&" not in text
    assert json.loads(text)[0]["content"] == "</script><b>&"


def test_open_hands_the_page_to_the_browser(tmp_path: Path) -> None:
    import sys

    trace = tmp_path / "run.jsonl"
    assert agentloop("run", CALC, PROMPT, "--trace", str(trace), cwd=tmp_path).returncode == 0
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])\n")
    proc = agentloop(
        "view", str(trace), "--open", cwd=tmp_path, BROWSER=f"{sys.executable} {browser} %s"
    )
    assert proc.returncode == 0, proc.stderr
    assert opened.read_text() == (tmp_path / "run.html").as_uri()
