"""``agentloop view RUN_ID`` draws a resumed run's whole chain as one story, in real Chromium.

The chains are made with real parts: a worker process SIGKILLed inside a tool, resumed in a new
process (which then defers a call for approval), then decided in a third process or by
``agentloop approve``; the model is a real HTTP server on 127.0.0.1, the store a real SQLite
file or a real PostgreSQL database. ``agentloop view`` runs in a subprocess for the first, the
middle and the last run id, and the page it writes is opened in headless Chromium (Debian's
``chromium`` through Playwright; where either is missing the tests FAIL and say how to install
it, or skip with ``AGENTLOOP_ALLOW_SKIP=1``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import agentloop
from durable_support import HERE
from fakeserver import FakeServer, completion, json_reply

from agentloop.logs import RunLog
from agentloop.logs.queries import chain_of, get_run
from agentloop.tracing.events import TraceEvent
from agentloop.tracing.viewer import render_html

CHROMIUM = os.environ.get("AGENTLOOP_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
EVIL = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
UNKNOWN = "the outcome of this call is unknown"


def _missing(what: str) -> None:
    message = (
        f"the chain viewer tests need {what}: apt-get install chromium; pip install playwright "
        "(set AGENTLOOP_ALLOW_SKIP=1 to skip them)"
    )
    if os.environ.get("AGENTLOOP_ALLOW_SKIP") == "1":
        pytest.skip(message)
    pytest.fail(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _missing(f"Chromium at {CHROMIUM}")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


class Page:
    """A page opened on a file, with every console message, page error and request kept."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready='1']", timeout=10_000)


def _call(name: str, arguments: dict[str, Any], id_: str) -> dict[str, Any]:
    return {"id": id_, "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}  # fmt: skip


def _worker(mode: str, store: str, server: FakeServer, effects: Path, *rest: str,
            **env: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [sys.executable, str(HERE), mode, store, server.base_url, str(effects), *rest],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=60, check=False,
    )  # fmt: skip


def _run_ids(store: str) -> list[str]:
    log = RunLog(store)
    try:
        return [str(r[0]) for r in log.db.query("SELECT id FROM runs ORDER BY n")]
    finally:
        log.close()


def _usage(prompt: int, completion: int, cost: float) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion, "cost": cost}  # fmt: skip


def _three_part_chain(store: str, tmp_path: Path) -> list[str]:
    """Crash inside ``charge`` (SIGKILL), resume (it defers ``refund``), deny it: 3 runs."""
    effects = tmp_path / "effects.txt"
    with FakeServer().start() as server:
        server.script(
            json_reply(completion(None, tool_calls=[_call("charge", {"amount": 3}, "call_c")],
                                  finish="tool_calls", usage=_usage(100, 1, 0.001))),
            json_reply(completion(None, tool_calls=[_call("refund", {"amount": 5}, "call_r")],
                                  finish="tool_calls", usage=_usage(200, 2, 0.002))),
        )  # fmt: skip
        server.default = lambda request: json_reply(
            completion("all done", usage=_usage(400, 4, 0.004))
        )
        killed = _worker("run", store, server, effects, KILL_AT="in_tool")
        assert killed.returncode == -9, killed.stdout + killed.stderr
        [first] = _run_ids(store)
        deferred = _worker("resume", store, server, effects, first, DEFER="1")
        assert deferred.returncode == 0, deferred.stdout + deferred.stderr
        middle = json.loads(deferred.stdout.splitlines()[-1])
        assert middle["stop_reason"] == "awaiting_approval"
        decided = _worker("resume", store, server, effects, middle["run_id"],
                          json.dumps({"call_r": {"deny": EVIL}}), DEFER="1")  # fmt: skip
        assert decided.returncode == 0, decided.stdout + decided.stderr
        last = json.loads(decided.stdout.splitlines()[-1])
    assert effects.read_text().splitlines() == ["charge 3"]  # once; the refund was denied
    return [first, middle["run_id"], last["run_id"]]


def _view(store: str, run_id: str, out: Path) -> Path:
    proc = agentloop("view", run_id, "--log", store, "-o", str(out), "--no-open", cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    return out


def test_view_draws_a_crashed_deferred_and_denied_chain_as_one_story_from_any_of_its_ids(
    browser: Any, store_target: str, tmp_path: Path
) -> None:
    ids = _three_part_chain(store_target, tmp_path)
    pages = []
    for which, run_id in zip(("first", "middle", "last"), ids, strict=True):
        view = Page(browser, _view(store_target, run_id[:10], tmp_path / f"{which}.html"))
        page = view.page
        assert view.problems == [], which
        assert view.requests == [(tmp_path / f"{which}.html").as_uri()]  # no network
        # every part, in order, each with its anchor
        sections = page.eval_on_selector_all("section.run", "l => l.map(s => s.dataset.runId)")
        assert sections == ids, which
        assert [page.locator(f"#part-{i}").count() for i in (1, 2, 3)] == [1, 1, 1]
        assert [page.locator(f"#run-{i}").count() for i in ids] == [1, 1, 1]
        hrefs = page.eval_on_selector_all(".chain-nav a", "l => l.map(a => a.getAttribute('href'))")
        assert hrefs == ["#part-1", "#part-2", "#part-3"]
        assert "3 parts" in page.locator("header h1").inner_text()
        # a divider before each continuation: from which run, why, and when
        dividers = page.locator(".resume-divider")
        assert dividers.count() == 2
        one, two = dividers.nth(0).inner_text(), dividers.nth(1).inner_text()
        assert re.match(rf"resumed from {ids[0]} \(why: crash\), at \d{{4}}-\d\d-\d\dT", one)
        assert re.match(rf"resumed from {ids[1]} \(why: approval decision\), at \d{{4}}-", two)
        # the decision, with its reason shown as text (never run)
        decision = dividers.nth(1).locator(".decision")
        assert decision.get_attribute("data-decision") == "denied"
        assert decision.inner_text() == f"decision: call call_r (refund): denied \u2014 {EVIL}"
        assert page.evaluate("window.__pwned") is None
        assert page.locator("main img, main script").count() == 0
        # each part's steps: the crash's open call, the unknown outcome, the waiting call, the end
        text = page.locator("main").inner_text()
        assert "outcome unknown: the run stopped while it ran" in text
        assert UNKNOWN in text and "awaiting approval" in text and "all done" in text
        assert f"denied: {EVIL}" in text
        assert page.locator(".tool-name").all_text_contents() == ["charge", "refund"]
        assert text.count("do the thing") == 1  # the prompt once, not once per part
        # usage counted once: one row per part, and one chain total
        rows = page.locator("table.chain tr").all_inner_texts()
        assert [r.split("\t")[0] for r in rows] == ["part", "part 1", "part 2", "part 3",
                                                     "chain total"]  # fmt: skip
        assert [r.split("\t")[1:] for r in rows[1:]] == [
            [ids[0], "100", "1", "0.001", "unfinished"],  # no run_finished: its calls, summed
            [ids[1], "200", "2", "0.002", "awaiting_approval"],
            [ids[2], "400", "4", "0.004", "stop"],
            ["3 runs", "700", "7", "0.007", ""],  # each call once, not the transcript again
        ]
        pages.append(page.locator("body").inner_text())
    assert pages[0] == pages[1] == pages[2]  # the same story from any of its ids


def test_view_shows_an_approval_from_agentloop_approve_and_edited_arguments(
    browser: Any, tmp_path: Path
) -> None:
    store, effects = str(tmp_path / "store.db"), tmp_path / "effects.txt"
    with FakeServer().start() as server:
        server.script(json_reply(completion(None, tool_calls=[_call("refund", {"amount": 5},
                                                                     "call_r")],
                                            finish="tool_calls")))  # fmt: skip
        server.default = lambda request: json_reply(completion("refunded it"))
        assert _worker("run", store, server, effects, DEFER="1").returncode == 0
        [waiting] = _run_ids(store)
        agent_file = tmp_path / "refund_agent.py"
        agent_file.write_text(
            f"import sys\nsys.path.insert(0, {str(HERE.parent)!r})\n"
            "from durable_support import build_agent\n"
            f"agent = build_agent({store!r}, {server.base_url!r}, {str(effects)!r})\n"
        )
        approved = agentloop("approve", waiting, "call_r", "--edit", '{"amount": 4}', "--db",
                             store, "--agent", f"{agent_file}:agent", cwd=tmp_path)  # fmt: skip
        assert approved.returncode == 0, approved.stderr
    assert effects.read_text().splitlines() == ["refund 4"]
    [_, resumed] = _run_ids(store)
    view = Page(browser, _view(store, resumed, tmp_path / "page.html"))
    page = view.page
    assert view.problems == []
    divider = page.locator(".resume-divider")
    assert divider.count() == 1
    assert divider.inner_text().startswith(f"resumed from {waiting} (why: approval decision), at ")
    decision = divider.locator(".decision")
    assert decision.get_attribute("data-decision") == "edited"
    assert decision.inner_text() == 'decision: call call_r (refund): edited \u2014 {"amount": 4}'
    text = page.locator("main").inner_text()
    assert "awaiting approval" in text and "refunded 4" in text and "refunded it" in text


def _one_run(store: str, tmp_path: Path) -> str:
    effects = tmp_path / "effects.txt"
    with FakeServer().start() as server:
        server.script(json_reply(completion(None, tool_calls=[_call("charge", {"amount": 2},
                                                                     "call_1")],
                                            finish="tool_calls")))  # fmt: skip
        server.default = lambda request: json_reply(completion("charged"))
        done = _worker("run", store, server, effects)
    assert done.returncode == 0, done.stdout + done.stderr
    return str(json.loads(done.stdout.splitlines()[-1])["run_id"])


def test_a_run_never_resumed_renders_as_before(browser: Any, tmp_path: Path) -> None:
    store = str(tmp_path / "store.db")
    run_id = _one_run(store, tmp_path)
    out = _view(store, run_id, tmp_path / "page.html")
    html = out.read_text()
    assert 'id="chain-data"' not in html
    # byte for byte the page of its events alone (what view wrote before chains)
    log = RunLog(store)
    try:
        run = get_run(log.db, run_id)
        assert chain_of(log.db, run_id) == [
            {"run_id": run_id, "resumed_from": None, "resumed_as": None, "resumed_at": None,
             "why": None, "decisions": [], "effects": {"call_1": "completed"}}
        ]  # fmt: skip
    finally:
        log.close()
    events = [
        TraceEvent(type=e["type"], run_id=run_id, seq=e["seq"], time=e["time"],
                   data={k: v for k, v in e.items() if k not in ("seq", "type", "time")})
        for e in run["events"]
    ]  # fmt: skip
    assert html == render_html(events, title=f"agentloop: {run_id}")
    view = Page(browser, out)
    page = view.page
    assert view.problems == []
    assert page.locator("header h1").inner_text() == "agentloop run: agent"
    assert page.locator(".resume-divider, .chain-usage, .chain-nav, .part-title").count() == 0
    assert page.locator(".tool-name").all_text_contents() == ["charge"]
    assert "do the thing" in page.locator("main").inner_text()


def test_a_hand_edited_cycle_in_run_resumes_ends_the_chain(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "store.db")
    try:
        with log.db.transaction() as conn:
            for source, continued in (("aaaa", "bbbb"), ("bbbb", "aaaa")):
                conn.execute(
                    "INSERT INTO run_resumes (run_id, claim, resumed_as, decisions, time) "
                    "VALUES (?, ?, ?, 'not json', 1.0)",
                    (source, source + "-claim", continued),
                )
        chain = chain_of(log.db, "aaaa")
    finally:
        log.close()
    assert [p["run_id"] for p in chain] == ["bbbb", "aaaa"]  # each run once, then it stops
    assert chain[1]["resumed_from"] == "bbbb" and chain[1]["decisions"] == []
