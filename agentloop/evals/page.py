"""An eval report as one self-contained HTML page, each case linked to its run.

``write_report_page(report, "report.html", log="runs.db")`` writes the summary tables and one
row per run; when the run log holds a case's run, that run is written as a viewer page
(``report-runs/RUN_ID.html``, the same page ``agentloop view RUN_ID`` writes) and the case
links to it. The page loads nothing from the network; every text is escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentloop.evals.report import CaseResult, EvalReport, GroupStats

__all__ = ["render_report", "write_report_page"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d1d1f;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;margin:4px 0 12px;min-width:50%}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td.verdict{color:#b00020;font-weight:600}tr.pass td.verdict{color:#0a7d32}
tr.error td.verdict{color:#8a4b00;font-weight:600}.muted{color:#666}
code{background:#f4f4f6;padding:0 3px;border-radius:3px}
ul.scores{margin:0;padding-left:16px}
"""

_SCRIPT = """
document.getElementById('only-failures').addEventListener('change', function (e) {
  document.querySelectorAll('tr.case').forEach(function (row) {
    row.hidden = e.target.checked && row.classList.contains('pass');
  });
});
document.body.dataset.ready = '1';
"""


def render_report(report: EvalReport, links: dict[str, str] | None = None) -> str:
    """The page's HTML; ``links`` maps run ids to the pages of their runs."""
    links = links or {}
    e = html.escape
    chaos = report.chaos
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
        f"<title>agentloop eval: {e(str(report.dataset.get('name')))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>agentloop eval: {e(str(report.dataset.get('name')))}</h1>",
        f"<p class='muted'>{e(report.target)} on {e(report.model)}; "
        f"{report.overall.runs} runs, repeat {report.repeat}, {report.seconds:.1f} s"
        + (f"; chaos {e(json.dumps(chaos))}" if chaos else "")
        + ("" if report.deterministic else "; <b>includes non-deterministic LLM-judge scores</b>")
        + "</p>",
        f"<p id='score'>score <b>{report.score:.3f}</b>, "
        f"{report.overall.runs - len(report.failures)} passed, "
        f"{len(report.failures) - len(report.errored)} failed, {len(report.errored)} errored</p>",
        "<h2>Summary</h2>",
        _groups([report.overall, *report.evaluators], "evaluators"),
    ]
    if report.tags:
        parts += ["<h2>Tags</h2>", _groups(report.tags, "tags")]
    parts += [
        "<h2>Cases</h2>",
        "<label><input type='checkbox' id='only-failures'> only failures</label>",
        "<table id='cases'><tr><th>case</th><th>verdict</th><th>score</th><th>scores</th>"
        "<th>output</th><th>tools</th><th>run</th></tr>",
        *(_case_row(c, links) for c in report.cases),
        "</table>",
        f"<script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)


def write_report_page(
    report: EvalReport, path: str | Path, *, log: str | Path | None = None
) -> Path:
    """Write the report page (and the pages of the runs the run log ``log`` holds); return it."""
    out = Path(path)
    links: dict[str, str] = {}
    if log is not None and Path(log).is_file():
        links = _run_pages(report.cases, Path(log), out.with_name(out.stem + "-runs"))
        links = {k: f"{out.stem}-runs/{v}" for k, v in links.items()}
    out.write_text(render_report(report, links), encoding="utf-8")
    return out


def _run_pages(cases: Iterable[CaseResult], log: Path, folder: Path) -> dict[str, str]:
    from agentloop.errors import AgentloopError
    from agentloop.logs import RunLog
    from agentloop.logs.queries import get_run
    from agentloop.tracing.events import TraceEvent
    from agentloop.tracing.viewer import write_html

    links: dict[str, str] = {}
    store = RunLog(log)
    try:
        for case in cases:
            if not case.run_id or case.run_id in links:
                continue
            try:
                run = get_run(store.db, case.run_id)
            except AgentloopError:
                continue  # not in this log: the case shows the id only
            events = [
                TraceEvent(type=r["type"], run_id=run["run_id"], seq=r["seq"], time=r["time"],
                           data={k: v for k, v in r.items() if k not in ("seq", "type", "time")})
                for r in run["events"]
            ]  # fmt: skip
            folder.mkdir(parents=True, exist_ok=True)
            write_html(events, folder / f"{case.run_id}.html", title=f"agentloop: case {case.id}")
            links[case.run_id] = f"{case.run_id}.html"
    finally:
        store.close()
    return links


def _groups(groups: Iterable[GroupStats], kind: str) -> str:
    rows = [
        f"<table class='{kind}'><tr><th></th><th>runs</th><th>score</th><th>pass rate</th>"
        "<th>unknown</th><th>tokens</th><th>cost</th><th>time</th></tr>"
    ]
    for g in groups:
        rows.append(
            f"<tr><td>{html.escape(g.name)}</td><td class='num'>{g.runs}</td>"
            f"<td class='num'>{_num(g.mean)}</td>"
            f"<td class='num'>{'-' if g.pass_rate is None else f'{g.pass_rate:.0%}'}</td>"
            f"<td class='num'>{g.unknown}</td><td class='num'>{g.tokens:,}</td>"
            f"<td class='num'>{'unknown' if g.cost is None else f'{g.cost:.4f}'}</td>"
            f"<td class='num'>{g.seconds:.2f} s</td></tr>"
        )
    return "".join(rows) + "</table>"


def _case_row(case: CaseResult, links: dict[str, str]) -> str:
    e = html.escape
    verdict = "error" if case.errored else "pass" if case.passed else "fail"
    scores = "".join(
        f"<li>{e(s.name)}: {'unknown' if s.score is None else f'{s.score:.2f}'} "
        f"<span class='muted'>{e(s.reason)}</span></li>"
        for s in case.scores
    )
    name = case.id + (f" #{case.repeat + 1}" if case.repeat else "")
    output = case.output if isinstance(case.output, str) else json.dumps(case.output)
    if case.errored and case.error:
        output = f"{case.error.get('type')}: {case.error.get('message')}"
    if case.run_id in links:
        run = f"<a class='run' href='{e(links[case.run_id])}'>{e(case.run_id[:12])}</a>"
    elif case.run_id:
        run = f"<code>agentloop view {e(case.run_id[:12])}</code>"
    else:
        run = "<span class='muted'>no run</span>"
    faults = ", ".join(f["kind"] for f in case.faults)
    return (
        f"<tr class='case {verdict}' data-case='{e(case.id)}'><td>{e(name)}"
        + (f"<br><span class='muted'>{e(', '.join(case.tags))}</span>" if case.tags else "")
        + f"</td><td class='verdict'>{verdict}</td><td class='num'>{case.score:.2f}</td>"
        f"<td><ul class='scores'>{scores}</ul></td><td>{e(str(output)[:500])}</td>"
        f"<td>{e(', '.join(case.tool_calls))}"
        + (f"<br><span class='muted'>chaos: {e(faults)}</span>" if faults else "")
        + f"</td><td>{run}</td></tr>"
    )


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"
