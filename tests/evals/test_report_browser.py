"""The report page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Like the viewer's browser tests these FAIL when the browser or Playwright is missing
(``AGENTLOOP_ALLOW_SKIP=1`` turns that into a skip).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from batch_support import echo_agent, echo_server

from agentloop.evals import Dataset
from agentloop.evals.page import write_report_page

CHROMIUM = os.environ.get("AGENTLOOP_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def _missing(what: str) -> None:
    message = f"the report page test needs {what}: apt-get install chromium; pip install playwright"
    if os.environ.get("AGENTLOOP_ALLOW_SKIP") == "1":
        pytest.skip(message)
    pytest.fail(message)


def test_the_report_page_shows_cases_and_links_each_to_its_run(tmp_path: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _missing(f"Chromium at {CHROMIUM}")
    cases = [
        {"id": "ok", "input": "hello", "evaluators": [{"type": "contains", "value": "HELLO"}]},
        {"id": "<b>nope</b>", "input": "hi", "evaluators": [{"type": "contains", "value": "x"}]},
    ]
    log = tmp_path / "runs.db"
    with echo_server() as server:
        report = Dataset.from_cases(cases).evaluate(echo_agent(server.base_url), log=log)
    page_path = write_report_page(report, tmp_path / "report.html", log=log)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(page_path.as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=10_000)
        assert page.locator("tr.case").count() == 2
        assert page.locator("tr.case.fail td").first.inner_text() == "<b>nope</b>"  # escaped
        assert "score 0.500" in page.locator("#score").inner_text()
        page.check("#only-failures")
        assert page.locator("tr.case.pass").first.is_hidden()
        page.locator("tr.case.fail a.run").click()
        page.wait_for_selector("body[data-ready='1']", timeout=10_000)
        assert "runs" in page.url and report.cases[1].run_id in page.url
        assert "hi" in page.content()
        browser.close()
    assert problems == []
