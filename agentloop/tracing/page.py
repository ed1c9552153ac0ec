"""The viewer's static page: its CSS and JavaScript, inlined into every HTML file it writes.

The script reads the trace from a ``<script type="application/json">`` block and builds the page
with ``textContent`` and ``createElement`` only: nothing from a model or a tool ever reaches
``innerHTML``, so a ``<script>`` in a tool result is shown as text and never runs. Long texts
(over :data:`PREVIEW` characters or 12 lines) start collapsed: the page holds only a preview
until "show all" is pressed, so a 1 MB result costs nothing until it is asked for.
"""

from __future__ import annotations

__all__ = ["CSS", "PREVIEW", "SCRIPT"]

PREVIEW = 600

CSS = """
:root { --fg:#1d2430; --muted:#667085; --line:#e4e7ec; --bg:#f8f9fb; --model:#3b6fd8;
  --tool:#2f9e6e; --err:#c0392b; --deny:#b7791f; --card:#fff; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif; color:var(--fg);
  background:var(--bg); }
header { padding:14px 24px; background:#111827; color:#f9fafb; }
header h1 { margin:0 0 4px; font-size:18px; }
header .meta { color:#cbd5e1; font-size:13px; }
main { display:grid; grid-template-columns:minmax(0,3fr) minmax(0,2fr); gap:18px; padding:18px 24px; }
section.run { grid-column:1 / -1; display:contents; }
h2 { font-size:15px; margin:0 0 10px; }
.panel { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px; min-width:0; }
.msg { border-left:4px solid var(--line); padding:6px 10px; margin:8px 0; background:#fcfcfd; }
.msg .who { font-size:12px; font-weight:600; color:var(--muted); text-transform:uppercase; letter-spacing:.03em; }
.msg.system { border-color:#8b5cf6; } .msg.user { border-color:#0ea5e9; }
.msg.assistant { border-color:var(--model); } .msg.tool { border-color:var(--tool); }
.msg.error { border-color:var(--err); background:#fdf2f1; }
.msg.denied { border-color:var(--deny); background:#fdf8ec; }
.badge { display:inline-block; font-size:11px; padding:0 6px; border-radius:9px; margin-left:6px;
  background:#eef2f6; color:var(--fg); font-weight:600; text-transform:none; letter-spacing:0; }
.badge.error { background:var(--err); color:#fff; } .badge.denied { background:var(--deny); color:#fff; }
.stepinfo { font-size:12px; color:var(--muted); margin:10px 0 2px; border-top:1px dashed var(--line); padding-top:6px; }
pre { margin:4px 0; white-space:pre-wrap; word-break:break-word; font:12.5px/1.4 ui-monospace,Menlo,Consolas,monospace; }
.text { white-space:pre-wrap; word-break:break-word; }
.call { margin:6px 0; padding:6px 8px; border:1px solid var(--line); border-radius:6px; background:#fff; }
.call .name { font-weight:600; font-family:ui-monospace,Menlo,monospace; }
button.more { font-size:12px; border:1px solid var(--line); background:#fff; border-radius:4px; cursor:pointer; }
.banner { padding:8px 12px; border-radius:6px; margin:8px 0; background:#fdf2f1; color:var(--err); border:1px solid var(--err); }
.notice { font-size:12px; color:var(--deny); margin:6px 0; }
.handoff { font-size:13px; font-weight:600; margin:10px 0; padding:4px 8px; border-left:3px solid var(--accent, #36c); }
.guardrail { font-size:12px; margin:6px 0; color:#555; }
.guardrail.block, .guardrail.retry { color:var(--deny); }
.timeline .row { position:relative; height:18px; margin:2px 0; }
.timeline .label { position:absolute; left:0; width:110px; font-size:11px; color:var(--muted);
  overflow:hidden; white-space:nowrap; text-overflow:ellipsis; line-height:18px; }
.timeline .track { position:absolute; left:114px; right:0; top:0; bottom:0; background:#f2f4f7; border-radius:3px; }
.timeline .bar { position:absolute; top:2px; bottom:2px; min-width:2px; border-radius:3px; background:var(--model); }
.timeline .bar.tool { background:var(--tool); } .timeline .bar.error { background:var(--err); }
.timeline .bar.denied { background:var(--deny); }
.timeline .lane { display:flex; gap:2px; }
.timeline-body { max-height:45vh; overflow:auto; }
table.usage { border-collapse:collapse; width:100%; font-size:12px; }
table.usage td, table.usage th { border-bottom:1px solid var(--line); padding:3px 6px; text-align:right; }
table.usage td:first-child, table.usage th:first-child { text-align:left; }
table.usage tr.total td { font-weight:700; }
.usage-body { max-height:30vh; overflow:auto; }
.muted { color:var(--muted); }
.chain-nav, .chain-usage, .resume-divider, .anchor { grid-column:1 / -1; }
.anchor { height:0; margin-bottom:-18px; }
.chain-nav a { color:#93c5fd; margin-right:12px; }
.resume-divider { margin:6px 0; padding:10px 14px; border:2px dashed var(--deny); border-radius:8px;
  background:#fdf8ec; font-weight:600; }
.resume-divider .decision { font-weight:400; font-size:13px; margin:4px 0 0 12px; }
.resume-divider .decision.denied { color:var(--deny); } .resume-divider .decision.approved { color:var(--tool); }
.part-title { font-size:13px; font-weight:600; color:var(--muted); margin:0 0 6px; }
.side { display:flex; flex-direction:column; gap:18px; min-width:0; position:sticky; top:12px; align-self:start; }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var t0 = performance.now();
  var PREVIEW = %(preview)d;
  var events = JSON.parse(document.getElementById("trace-data").textContent);
  // a resumed run's chain (agentloop view RUN_ID): one story, a divider before each continuation
  var chainNode = document.getElementById("chain-data");
  var chain = chainNode ? JSON.parse(chainNode.textContent) : null;
  var links = {};
  (chain || []).forEach(function (p, i) { if (p && typeof p === "object") { p.index = i + 1; links[p.run_id] = p; } });

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function secs(s) { return s === null || s === undefined ? "" : (s < 1 ? (s * 1000).toFixed(0) + " ms" : s.toFixed(2) + " s"); }
  function size(n) { return n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " KB" : (n / 1048576).toFixed(1) + " MB"; }
  function pretty(text) {
    if (typeof text !== "string") return JSON.stringify(text, null, 2);
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }
  function contentText(c) {
    if (c === null || c === undefined) return "";
    if (typeof c === "string") return c;
    if (Array.isArray(c)) return c.map(function (p) { return p && p.text !== undefined ? p.text : JSON.stringify(p); }).join("");
    return JSON.stringify(c, null, 2);
  }
  // A text block; long texts show a preview and a button that reveals (or hides) the rest.
  function block(text, tag) {
    var node = el(tag || "pre", tag === "div" ? "text" : "");
    var lines = 0, i = -1;
    while (lines < 13 && (i = text.indexOf("\n", i + 1)) !== -1) lines++;
    if (text.length <= PREVIEW && lines < 12) { node.textContent = text; return node; }
    var wrap = el("div", "collapsible collapsed");
    wrap.dataset.size = String(text.length);
    var cut = text.slice(0, PREVIEW);
    var nl = cut.split("\n").slice(0, 10).join("\n");
    node.textContent = nl + " …";
    var button = el("button", "more", "show all (" + size(text.length) + ")");
    button.type = "button";
    button.addEventListener("click", function () {
      var open = wrap.classList.toggle("collapsed");
      node.textContent = open ? nl + " …" : text;
      button.textContent = open ? "show all (" + size(text.length) + ")" : "show less";
    });
    return add(wrap, node, button);
  }
  // usage is the wire form: reasoning tokens sit in completion_tokens_details
  function reasoningOf(u) {
    if (!u) return null;
    var d = u.completion_tokens_details;
    var r = d && d.reasoning_tokens !== undefined ? d.reasoning_tokens : u.reasoning_tokens;
    return r === undefined ? null : r;
  }
  function usageLine(u) {
    if (!u) return "";
    var parts = [u.prompt_tokens + " prompt", u.completion_tokens + " completion"];
    var r = reasoningOf(u);
    if (r !== null) parts.push(r + " reasoning");
    // cost: known only when the trace has it (the provider's figure or the price table)
    return parts.join(" + ") + " tokens" + (typeof u.cost === "number" ? " · cost " + u.cost : "");
  }
  function statusClass(call) {
    if (!call) return "";
    if (call.status === "denied") return "denied";
    return call.is_error ? "error" : "";
  }
  function message(role, label, body, cls) {
    var box = el("div", "msg " + role + (cls ? " " + cls : ""));
    box.dataset.role = role;
    add(box, el("div", "who", label), body);
    return box;
  }

  function groupRuns(list) {
    var runs = [], byId = {};
    list.forEach(function (e) {
      var run = byId[e.run_id];
      if (!run) { run = byId[e.run_id] = { id: e.run_id, events: [] }; runs.push(run); }
      run.events.push(e);
    });
    return runs;
  }

  function conversation(run) {
    var panel = el("div", "panel conversation");
    add(panel, el("h2", "", "Conversation"));
    var start = run.events.find(function (e) { return e.type === "run_started"; }) || {};
    var results = {};
    run.events.forEach(function (e) { if (e.type === "tool_call") results[e.call_id] = e; });
    var link = links[run.id];
    var resumed = link && link.resumed_from;  // its history is the parts above: not shown twice
    if (link) add(panel, el("div", "part-title", "part " + link.index + " of " + chain.length + " \u00b7 run " + run.id));
    if (start.instructions && !resumed) panel.appendChild(message("system", "instructions", block(start.instructions, "div")));
    var history = (start.messages || []).filter(function (m) { return m.role !== "system" && m.role !== "developer"; });
    if (resumed) panel.appendChild(el("div", "muted continues", "continues part " + (link.index - 1) + " (its " + history.length + " messages are above)"));
    else if (history.length > 1) {
      var earlier = history.slice(0, -1);
      var details = el("details", "history");
      add(details, el("summary", "muted", "earlier conversation: " + earlier.length + " messages"));
      earlier.forEach(function (m) {
        details.appendChild(message(m.role, m.role, block(contentText(m.content) || (m.tool_calls ? pretty(m.tool_calls) : ""), "div")));
      });
      panel.appendChild(details);
    }
    if (start.prompt !== null && start.prompt !== undefined && !resumed) panel.appendChild(message("user", "user", block(contentText(start.prompt), "div")));
    var shown = {};
    var agent = null;  // after a handoff: the agent that has the run
    run.events.forEach(function (e) {
      if (e.type === "model_response") {
        var info = "step " + e.step + (agent ? " · agent " + agent : "") + (e.model ? " · " + e.model : "") + (e.duration !== null ? " · " + secs(e.duration) : "") +
          (e.usage ? " · " + usageLine(e.usage) : "") + (e.finish_reason ? " · finish: " + e.finish_reason : "");
        panel.appendChild(el("div", "stepinfo", info));
        var body = el("div");
        if (e.text) body.appendChild(block(e.text, "div"));
        if (e.refusal) body.appendChild(add(el("div", "banner"), el("strong", "", "refusal: "), el("span", "", e.refusal)));
        (e.tool_calls || []).forEach(function (c) {
          var r = results[c.id];
          shown[c.id] = true;
          var cls = statusClass(r);
          var call = el("div", "call " + cls);
          call.dataset.kind = "tool-call";
          call.dataset.status = r ? r.status : "";
          add(call, el("span", "name tool-name", c.name));
          if (r && r.duration !== null) call.appendChild(el("span", "badge", secs(r.duration)));
          if (r && r.status !== "ok") call.appendChild(el("span", "badge " + cls, r.status));
          add(call, block(pretty(c.arguments || "")));
          if (r) call.appendChild(message("tool", "result", block(contentText(r.content)), cls));
          else if (link) call.appendChild(el("span", "badge denied no-result", noResult(link, c.id, run)));
          body.appendChild(call);
        });
        panel.appendChild(message("assistant", "assistant", body));
      } else if (e.type === "tool_call" && !shown[e.call_id]) {
        var answers = resumed && e.step === 0 ? " \u00b7 answers call " + e.call_id + " of part " + (link.index - 1) : "";
        panel.appendChild(message("tool", e.name + " (" + e.status + ")" + answers, block(contentText(e.content)), statusClass(e)));
      } else if (e.type === "handoff") {
        agent = e.to_agent;
        panel.appendChild(el("div", "handoff", "handoff: " + e.from_agent + " \u2192 " + e.to_agent));
      } else if (e.type === "guardrail") {
        panel.appendChild(el("div", "guardrail " + e.outcome, "guardrail " + e.guardrail + " (" + e.point + "): " + e.outcome + (e.detail ? " \u2014 " + e.detail : "")));
      } else if (e.type === "context_trimmed") {
        panel.appendChild(el("div", "notice", "context trimmed: " + (Array.isArray(e.dropped_messages) ? e.dropped_messages.length : (e.dropped_messages || 0)) + " messages dropped" + (e.reason ? " (" + e.reason + ")" : "")));
      } else if (e.type === "run_finished" && e.error) {
        var banner = el("div", "banner run-error");
        add(banner, el("strong", "", e.error.type + ": "), el("span", "", e.error.message));
        panel.appendChild(banner);
      }
    });
    return panel;
  }

  function timeline(run) {
    var panel = el("div", "panel timeline");
    add(panel, el("h2", "", "Timeline"));
    var spans = [];
    run.events.forEach(function (e) {
      if ((e.type === "model_response" || e.type === "tool_call") && e.started_at !== null && e.duration !== null) {
        spans.push({ e: e, start: e.started_at, end: e.started_at + e.duration });
      }
    });
    if (!spans.length) { panel.appendChild(el("div", "muted", "no timings recorded")); return panel; }
    var begin = Math.min.apply(null, spans.map(function (s) { return s.start; }));
    var end = Math.max.apply(null, spans.map(function (s) { return s.end; }));
    var total = Math.max(end - begin, 1e-6);
    panel.appendChild(el("div", "muted", "wall time " + secs(end - begin) + "; parallel tool calls share a row"));
    var body = el("div", "timeline-body");
    var rows = [], current = null;
    spans.forEach(function (s) {
      if (s.e.type === "model_response") { current = null; rows.push({ label: "model · step " + s.e.step, spans: [s], kind: "model" }); return; }
      if (!current) { current = { label: "", spans: [], kind: "tool" }; rows.push(current); }
      current.spans.push(s);
    });
    rows.forEach(function (r) {
      if (r.kind === "tool") r.label = r.spans.length > 1 ? r.spans.length + " tools in parallel" : r.spans[0].e.name;
      var lanes = r.kind === "tool" ? r.spans.length : 1;
      var row = el("div", "row");
      row.style.height = (lanes * 14 + 4) + "px";
      row.dataset.kind = r.kind;
      add(row, el("div", "label", r.label));
      var track = el("div", "track");
      r.spans.forEach(function (s, i) {
        var bar = el("div", "bar " + (r.kind === "tool" ? "tool " + statusClass(s.e) : "model"));
        bar.style.left = ((s.start - begin) / total * 100) + "%%";
        bar.style.width = (Math.max(s.end - s.start, 0) / total * 100) + "%%";
        bar.style.top = (2 + i * 14) + "px";
        bar.style.height = "12px";
        bar.style.bottom = "auto";
        bar.title = (s.e.type === "tool_call" ? s.e.name : "model step " + s.e.step) + " · " + secs(s.e.duration);
        track.appendChild(bar);
      });
      add(row, track);
      body.appendChild(row);
    });
    panel.appendChild(body);
    return panel;
  }

  function usage(run) {
    var panel = el("div", "panel usage");
    add(panel, el("h2", "", "Usage"));
    var table = el("table", "usage");
    var head = el("tr");
    ["step", "prompt", "completion", "reasoning", "cost", "time", "finish"].forEach(function (h) { head.appendChild(el("th", "", h)); });
    table.appendChild(head);
    var sum = { p: 0, c: 0, r: 0, any: false };
    run.events.forEach(function (e) {
      if (e.type !== "model_response") return;
      var u = e.usage || {};
      var tr = el("tr");
      var r = reasoningOf(u);
      if (r !== null && r !== undefined) { sum.any = true; sum.r += r; }
      sum.p += u.prompt_tokens || 0; sum.c += u.completion_tokens || 0;
      [e.step, u.prompt_tokens, u.completion_tokens, r, u.cost, secs(e.duration), e.finish_reason].forEach(function (v) {
        tr.appendChild(el("td", "", v === null || v === undefined ? "–" : v));
      });
      table.appendChild(tr);
    });
    var fin = run.events.find(function (e) { return e.type === "run_finished"; });
    var fu = (fin && fin.usage) || {};
    var total = el("tr", "total");
    ["total", fu.prompt_tokens !== undefined ? fu.prompt_tokens : sum.p, fu.completion_tokens !== undefined ? fu.completion_tokens : sum.c,
     reasoningOf(fu) !== null ? reasoningOf(fu) : (sum.any ? sum.r : "–"),
     typeof fu.cost === "number" ? fu.cost : "–",  // the run's own total: unknown if any call's is
     fin ? secs(fin.duration) : "", fin ? (fin.stop_reason || "") : ""].forEach(function (v) { total.appendChild(el("td", "", v)); });
    table.appendChild(total);
    add(panel, add(el("div", "usage-body"), table));
    return panel;
  }

  // why a call of a chain's part has no result: the ledger's record says
  function noResult(link, id, run) {
    var state = (link.effects || {})[id];
    if (state === "deferred") return "awaiting approval";
    if (state === "started") return "outcome unknown: the run stopped while it ran";
    return run.events.some(function (e) { return e.type === "run_finished"; }) ? "no result" : "no result: the run stopped";
  }
  function divider(link) {
    var box = el("div", "resume-divider");
    box.dataset.runId = link.run_id;
    box.dataset.why = link.why || "";
    add(box, el("div", "", "resumed from " + link.resumed_from + " (why: " + (link.why || "unknown") + "), at " + (link.at || "an unrecorded time")));
    (Array.isArray(link.decisions) ? link.decisions : []).forEach(function (d) {
      var text = "decision: call " + d.call_id + (d.name ? " (" + d.name + ")" : "") + ": " + d.decision + (d.detail ? " \u2014 " + d.detail : "");
      var item = el("div", "decision " + (d.decision === "approved" ? "approved" : "denied"), text);
      item.dataset.callId = String(d.call_id);
      item.dataset.decision = String(d.decision);
      box.appendChild(item);
    });
    return box;
  }
  // each part's own usage (a resumed run's usage holds only its own calls): summed once
  function partUsage(run) {
    var fin = run.events.find(function (e) { return e.type === "run_finished"; });
    if (fin && fin.usage) return { p: fin.usage.prompt_tokens || 0, c: fin.usage.completion_tokens || 0, cost: typeof fin.usage.cost === "number" ? fin.usage.cost : null, stop: fin.stop_reason || "" };
    var u = { p: 0, c: 0, cost: 0, stop: fin ? (fin.stop_reason || "") : "unfinished" };
    run.events.forEach(function (e) {
      if (e.type !== "model_response") return;
      var x = e.usage || {};
      u.p += x.prompt_tokens || 0; u.c += x.completion_tokens || 0;
      u.cost = typeof x.cost === "number" && u.cost !== null ? u.cost + x.cost : null;
    });
    return u;
  }
  function chainUsage(runs) {
    var panel = el("div", "panel chain-usage");
    add(panel, el("h2", "", "Usage of the whole chain (each call counted once)"));
    var table = el("table", "usage chain");
    var head = el("tr");
    ["part", "run", "prompt", "completion", "cost", "stop"].forEach(function (h) { head.appendChild(el("th", "", h)); });
    table.appendChild(head);
    var sum = { p: 0, c: 0, cost: 0 };
    runs.forEach(function (run, i) {
      var u = partUsage(run);
      sum.p += u.p; sum.c += u.c;
      sum.cost = u.cost === null || sum.cost === null ? null : sum.cost + u.cost;  // unknown once any part's is
      var tr = el("tr");
      var cell = el("td");
      var a = el("a", "", "part " + (i + 1));
      a.href = "#part-" + (i + 1);
      cell.appendChild(a);
      tr.appendChild(cell);
      [run.id, u.p, u.c, u.cost === null ? "\u2013" : u.cost, u.stop].forEach(function (v) { tr.appendChild(el("td", "", v)); });
      table.appendChild(tr);
    });
    var total = el("tr", "total");
    ["chain total", runs.length + " runs", sum.p, sum.c, sum.cost === null ? "\u2013" : +sum.cost.toFixed(10), ""].forEach(function (v) { total.appendChild(el("td", "", v)); });
    table.appendChild(total);
    return add(panel, table);
  }

  function render() {
    var root = document.getElementById("app");
    var runs = groupRuns(events);
    var header = el("header");
    var first = (runs[0] && runs[0].events[0]) || {};
    add(header, el("h1", "", (chain ? "agentloop resumed run (" + runs.length + " parts)" : "agentloop run") + (first.agent ? ": " + first.agent : "")));
    if (chain) {
      var nav = el("nav", "meta chain-nav");
      runs.forEach(function (run, i) {
        var a = el("a", "", "part " + (i + 1) + ": " + run.id);
        a.href = "#part-" + (i + 1);
        nav.appendChild(a);
      });
      header.appendChild(nav);
    }
    runs.forEach(function (run) {
      var fin = run.events.find(function (e) { return e.type === "run_finished"; });
      var start = run.events.find(function (e) { return e.type === "run_started"; }) || {};
      var steps = run.events.filter(function (e) { return e.type === "model_response"; }).length;
      var bits = ["run " + run.id, start.model || "", steps + " model call(s)"];
      if (fin) {
        bits.push("stop: " + (fin.stop_reason || (fin.error ? "error" : "?")));
        if (fin.usage) bits.push(usageLine(fin.usage));
        if (fin.duration !== null) bits.push(secs(fin.duration));
      } else bits.push("unfinished");
      header.appendChild(el("div", "meta run-meta", bits.filter(Boolean).join(" · ")));
    });
    root.appendChild(header);
    var main = el("main");
    if (chain) main.appendChild(chainUsage(runs));
    runs.forEach(function (run, i) {
      var link = links[run.id];
      if (link && link.resumed_from) main.appendChild(divider(link));
      var section = el("section", "run");
      section.dataset.runId = run.id;
      if (chain) {  // the section is display:contents (no box to scroll to): a row of its own
        var anchor = el("div", "anchor");
        anchor.id = "part-" + (i + 1);
        section.appendChild(anchor);
      }
      var side = el("div", "side");
      add(side, timeline(run), usage(run));
      var talk = conversation(run);
      if (chain) talk.id = "run-" + run.id;
      add(section, talk, side);
      main.appendChild(section);
    });
    if (!runs.length) main.appendChild(el("div", "panel muted", "this trace has no events"));
    root.appendChild(main);
  }

  render();
  document.body.dataset.renderMs = (performance.now() - t0).toFixed(1);
  document.body.dataset.ready = "1";
})();
"""
