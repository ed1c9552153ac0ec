"""The viewer in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Where the browser or Playwright is missing these tests FAIL and say how to install them
(``apt-get install chromium``, ``pip install playwright``); ``AGENTLOOP_ALLOW_SKIP=1`` turns that
into a skip. The screenshot in docs/seeing-runs.md is taken here, from a real recorded run, into
the test's temporary folder; ``AGENTLOOP_UPDATE_SCREENSHOT=1`` also copies it to
``docs/images/viewer.png`` (a test run never rewrites a tracked file by itself).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tracing_support import BIG, SCRIPT_RESULT, long_run, recorded_run

from agentloop.tracing.jsonl import read_trace, write_trace
from agentloop.tracing.viewer import write_html

CHROMIUM = os.environ.get("AGENTLOOP_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _missing(what: str) -> None:
    message = (
        f"the viewer tests need {what}: apt-get install chromium; pip install playwright "
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


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run's trace file, written and read back as JSONL."""
    folder = tmp_path_factory.mktemp("viewer")
    trace = folder / "evening.jsonl"
    write_trace(trace, recorded_run())
    return write_html(read_trace(trace), folder / "evening.html")


class Page:
    """A page opened on a file, with every console message and page error kept."""

    def __init__(self, browser: Any, path: Path, **viewport: int) -> None:
        self.page = browser.new_page(viewport=viewport or {"width": 1280, "height": 900})
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready='1']", timeout=10_000)

    def render_ms(self) -> float:
        return float(self.page.evaluate("document.body.dataset.renderMs"))


def test_the_page_shows_a_recorded_run_with_no_console_errors(
    browser: Any, recorded: Path, tmp_path: Path
) -> None:
    view = Page(browser, recorded)
    page = view.page
    assert view.problems == []
    assert view.requests == [recorded.as_uri()]  # nothing but the file itself: no network
    names = page.locator(".tool-name").all_text_contents()
    assert names == [
        "get_weather",
        "get_weather",
        "fetch_page",
        "fetch_page",
        "book_table",
        "send_email",
    ]
    text = page.locator("main").inner_text()
    assert "You plan evenings out." in text  # instructions
    assert "What's the weather in Paris and Lyon" in text  # the user turn
    assert "Let me check both cities." in text  # the model's text
    assert "Paris: 18 °C, light rain" in text  # a tool result
    assert "Chez Nous is fully booked tonight" in text
    assert '"city": "Paris"' in text  # pretty-printed arguments
    # errors and denials are set apart
    assert page.locator(".call.error .tool-name").all_text_contents() == ["book_table"]
    assert page.locator(".call.denied .tool-name").all_text_contents() == ["send_email"]
    # the timeline: 4 model bars, and parallel calls drawn side by side in one row
    assert page.locator(".timeline .row[data-kind='model']").count() == 4
    assert [page.locator(".timeline .row[data-kind='tool']").nth(i).locator(".bar").count()
            for i in range(3)] == [2, 2, 2]  # fmt: skip
    # usage per step and in total, reasoning included, and the stop reason
    rows = page.locator("table.usage tr").all_inner_texts()
    assert rows[1].split("\t")[:4] == ["1", "212", "41", "16"]
    assert rows[-1].split("\t")[:4] == ["total", "3465", "132", "36"]
    assert rows[-1].split("\t")[-1] == "stop"
    assert "stop: stop" in page.locator(".run-meta").inner_text()
    shot = tmp_path / "viewer.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    if os.environ.get("AGENTLOOP_UPDATE_SCREENSHOT") == "1":
        DOCS.joinpath("images").mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS / "images" / "viewer.png")


def test_a_long_result_is_collapsed_until_asked_for(browser: Any, recorded: Path) -> None:
    page = Page(browser, recorded).page
    sizes = [
        int(s) for s in page.eval_on_selector_all(".collapsible", "l => l.map(e => e.dataset.size)")
    ]
    big = [s for s in sizes if s > BIG]
    assert len(big) == 1
    collapsible = page.locator(f".collapsible[data-size='{big[0]}']")
    assert "show all (1.0 MB)" in collapsible.locator("button").inner_text()
    shown = collapsible.locator("pre").inner_text()
    assert len(shown) < 1000  # a preview, not the megabyte
    collapsible.locator("button").click()
    assert len(collapsible.locator("pre").inner_text()) > BIG
    collapsible.locator("button", has_text="show less").click()
    assert len(collapsible.locator("pre").inner_text()) < 1000


def test_a_script_in_a_tool_result_does_not_run(browser: Any, recorded: Path) -> None:
    view = Page(browser, recorded)
    page = view.page
    assert page.evaluate("window.__pwned") is None
    assert page.title() == "agentloop run"  # the injected script would have set "pwned"
    assert SCRIPT_RESULT in page.locator("main").inner_text()  # shown as text
    assert page.locator("main script, main img").count() == 0
    assert view.problems == []


def test_a_1000_step_run_renders(browser: Any, tmp_path: Path) -> None:
    path = write_html(long_run(1000), tmp_path / "long.html")
    view = Page(browser, path)
    assert view.problems == []
    assert view.page.locator(".tool-name").count() == 999
    assert view.page.locator(".timeline .row").count() == 1999
    ms = view.render_ms()
    print(f"\n1,000-step run rendered in {ms:.0f} ms in headless Chromium")  # measured, reported
    (tmp_path / "render_ms.txt").write_text(f"{ms}\n")
