"""A handoff as every observer sees it: OpenTelemetry spans, the CLI on a team file, the run
log, and the viewer in a real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest
from cli_support import agentloop
from teams_support import agent, text, transfer

from agentloop.tracing.recorder import TraceRecorder
from agentloop.tracing.viewer import write_html

TEAM = """
import os

from agentloop import Agent

URL = os.environ["TEAM_URL"]
billing = Agent("local:fake-model", base_url=URL, api_key="sk-team", name="billing",
                instructions="You handle billing.", load_plugins=False)
refunds = Agent("local:fake-model", base_url=URL, api_key="sk-team", name="refunds",
                instructions="You handle refunds.", load_plugins=False)
triage = Agent("local:fake-model", base_url=URL, api_key="sk-team", name="triage",
               instructions="Route the user.", handoffs=[billing, refunds], load_plugins=False)
"""


def _scripted_triage(server, **kwargs):
    billing = agent(server, name="billing", instructions="You handle billing.")
    refunds = agent(server, name="refunds", instructions="You handle refunds.")
    triage = agent(server, name="triage", handoffs=[billing, refunds], **kwargs)
    server.script(
        transfer("accounting", stream=True, prefix="bad"),
        transfer("refunds", stream=True),
        text("Your refund is on its way.", stream=True),
    )
    return triage


def test_otel_has_an_invoke_agent_span_per_agent(fake_server):
    sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentloop.tracing.otel import OtelPlugin

    provider = sdk.TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    triage = _scripted_triage(fake_server, plugins=[OtelPlugin(provider)], stream=True)
    assert triage.run("Refund my order").agent == "refunds"
    spans = {s.name: s for s in exporter.get_finished_spans()}
    root, specialist = spans["invoke_agent triage"], spans["invoke_agent refunds"]
    assert specialist.parent.span_id == root.context.span_id
    assert specialist.attributes["agentloop.handoff.from_agent"] == "triage"
    chats = [s for s in exporter.get_finished_spans() if s.name.startswith("chat")]
    assert [c.parent.span_id for c in chats] == [root.context.span_id] * 2 + [
        specialist.context.span_id
    ]


def test_the_cli_runs_a_team_file_from_its_entry_agent(fake_server, tmp_path):
    team = tmp_path / "team.py"
    team.write_text(textwrap.dedent(TEAM))
    fake_server.script(
        transfer("billing", stream=False), text("Paid twice, refunded.", stream=False)
    )
    data_home = str(tmp_path / "data")  # this test's own run log
    proc = agentloop("run", str(team), "I was charged twice", "--json", cwd=tmp_path,
                     TEAM_URL=fake_server.base_url, XDG_DATA_HOME=data_home)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["output"], data["agent"]) == ("Paid twice, refunded.", "billing")
    assert [s["kind"] for s in data["steps"]] == ["model", "tool", "handoff", "model"]
    # the run log shows the switch
    shown = agentloop("logs", "show", data["run_id"], cwd=tmp_path, XDG_DATA_HOME=data_home)
    assert shown.returncode == 0, shown.stderr
    assert "handoff: triage -> billing" in shown.stdout


CHROMIUM = os.environ.get("AGENTLOOP_CHROMIUM", "/usr/bin/chromium")


def test_the_viewer_shows_both_agents(fake_server, tmp_path: Path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("AGENTLOOP_ALLOW_SKIP") == "1":
            pytest.skip("Playwright missing")
        raise
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("AGENTLOOP_ALLOW_SKIP") == "1":
            pytest.skip("Chromium missing")
        pytest.fail(f"the viewer test needs Chromium at {CHROMIUM}: apt-get install chromium")
    events = []
    triage = _scripted_triage(fake_server, plugins=[TraceRecorder(events.append)], stream=True)
    triage.run("Refund my order")
    page_file = write_html(events, tmp_path / "team.html")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(page_file.as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=10_000)
        handoffs = page.locator(".handoff").all_text_contents()
        main = page.locator("main").inner_text()
        browser.close()
    assert problems == []
    assert handoffs == ["handoff: triage \u2192 refunds"]
    assert "agent refunds" in main  # the specialist's step is labelled with its agent
    assert "Your refund is on its way." in main
    assert "is not one of" in main  # the invented name, rejected back to the model
