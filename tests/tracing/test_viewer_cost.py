"""The viewer shows each call's cost and the run's, and "–" (unknown) where a cost is not known.

Runs in a real headless Chromium like ``test_viewer_browser.py`` (same requirements).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakeserver import FakeServer, chunk, sse_reply, tool_call_chunk

from agentloop import Agent, tool
from agentloop.tracing import TraceEvent, TraceRecorder
from agentloop.tracing.viewer import write_html

CHROMIUM = os.environ.get("AGENTLOOP_CHROMIUM", "/usr/bin/chromium")


@tool
def lookup(city: str) -> str:
    """Look a city up.

    Args:
        city: The city.
    """
    return f"{city}: sunny"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("AGENTLOOP_ALLOW_SKIP") == "1":
            pytest.skip("Playwright is not installed")
        raise
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("AGENTLOOP_ALLOW_SKIP") == "1":
            pytest.skip(f"no Chromium at {CHROMIUM}")
        pytest.fail(f"the viewer tests need Chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        yield instance
        instance.close()


def _traced_run(second_cost: float | None) -> list[TraceEvent]:
    first = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25, "cost": 0.0125}
    second: dict[str, Any] = {"prompt_tokens": 30, "completion_tokens": 2, "total_tokens": 32}
    if second_cost is not None:
        second["cost"] = second_cost
    events: list[TraceEvent] = []
    with FakeServer() as server:
        server.script(
            sse_reply(
                [
                    tool_call_chunk("c1", "lookup", '{"city": "Oslo"}'),
                    chunk(finish="tool_calls", usage=first),
                ]
            ),
            sse_reply([chunk(content="Oslo is sunny."), chunk(finish="stop", usage=second)]),
        )
        agent = Agent(
            "local:cost-model", base_url=server.base_url, api_key="sk-viewer-cost-key",
            tools=[lookup], plugins=[TraceRecorder(events.append)], load_plugins=False, stream=True,
        )  # fmt: skip
        agent.run("weather in Oslo?")
    return events


def _rows(browser: Any, events: list[TraceEvent], path: Path) -> tuple[list[list[str]], str]:
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(write_html(events, path).as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=10_000)
    rows = [r.split("\t") for r in page.locator("table.usage tr").all_inner_texts()]
    text = page.locator("main").inner_text()
    page.close()
    assert problems == []
    return rows, text


def test_the_viewer_shows_each_calls_cost_and_the_runs(browser: Any, tmp_path: Path) -> None:
    rows, text = _rows(browser, _traced_run(0.0025), tmp_path / "priced.html")
    assert rows[0][4] == "cost"
    assert [r[4] for r in rows[1:]] == ["0.0125", "0.0025", "0.015"]
    assert "cost 0.0125" in text  # the step's line


def test_an_unknown_cost_shows_as_unknown_never_zero(browser: Any, tmp_path: Path) -> None:
    rows, _ = _rows(browser, _traced_run(None), tmp_path / "unknown.html")
    assert [r[4] for r in rows[1:]] == ["0.0125", "–", "–"]  # one unknown call: total unknown
