"""The run viewer: a trace's events as one self-contained HTML page (no network, no CDN).

The events are embedded as JSON inside ``<script type="application/json">`` with ``<``, ``>``
and ``&`` written as ``\\u003c``-style escapes, so no text can close the block; the page's own
script (:mod:`agentloop.tracing.page`) renders them with ``textContent`` only.

A resumed run (docs/durable-runs.md) is drawn as one story: given its ``chain`` (one dict per
run, from :func:`agentloop.logs.queries.chain_of`), the page puts a divider before each
continuation ("resumed from ..., why, at ...", with the decisions it carried), anchors each
part (``#part-2``, ``#run-<id>``) and counts the chain's usage once, run by run. The chain is
embedded the same way as the events, in a second JSON block.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from agentloop.tracing.events import TraceEvent
from agentloop.tracing.page import CSS, PREVIEW, SCRIPT

__all__ = ["render_html", "write_html"]

_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def embed_json(events: Iterable[TraceEvent]) -> str:
    """The events as JSON that is safe inside a ``<script>`` element."""
    data = json.dumps([_numbers(e.to_dict()) for e in events], ensure_ascii=False, default=repr)
    return data.translate(_SAFE)


def embed_chain(chain: Sequence[dict[str, Any]]) -> str:
    """The resume chain as JSON that is safe inside a ``<script>`` element.

    Each part keeps the fields the page draws, with ``at``: when it was resumed, as local
    ISO time (what the divider says).
    """
    keys = ("run_id", "resumed_from", "resumed_as", "why", "decisions", "effects")
    parts = []
    for part in chain:
        out = {k: part.get(k) for k in keys}
        when = part.get("resumed_at")
        out["at"] = _when(when)
        parts.append(out)
    return json.dumps(parts, ensure_ascii=False, default=repr).translate(_SAFE)


def render_html(
    events: Iterable[TraceEvent],
    *,
    title: str = "agentloop run",
    chain: Sequence[dict[str, Any]] | None = None,
) -> str:
    """Return the viewer page for ``events`` (one or more runs, in trace order).

    Args:
        events: The trace events, e.g. from :func:`~agentloop.tracing.jsonl.read_trace`.
        title: The page title (escaped).
        chain: The runs' resume links (:func:`agentloop.logs.queries.chain_of`); when one of
            them continues another, the page draws the runs as one story. A run that was
            never resumed gives the page it always had.

    Returns:
        A complete HTML document with its CSS, script and data inline.
    """
    block = ""
    if chain and any(part.get("resumed_from") for part in chain):
        block = f'<script type="application/json" id="chain-data">{embed_chain(chain)}</script>\n'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style></head>\n"
        '<body><div id="app"></div>\n'
        f'<script type="application/json" id="trace-data">{embed_json(events)}</script>\n'
        f"{block}"
        f"<script>{SCRIPT % {'preview': PREVIEW}}</script>\n</body></html>\n"
    )


def write_html(
    events: Iterable[TraceEvent],
    path: str | Path,
    *,
    title: str = "agentloop run",
    chain: Sequence[dict[str, Any]] | None = None,
) -> Path:
    """Write the viewer page for ``events`` (and their resume ``chain``) to ``path``."""
    target = Path(path)
    target.write_text(render_html(events, title=title, chain=chain), encoding="utf-8")
    return target


def _when(value: Any) -> str | None:
    """A Unix time as local ISO time to the second (None when it is not a finite number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value).astimezone().isoformat(timespec="seconds")
    except (ValueError, OverflowError, OSError):
        return None


# fields the page computes with: a hand-edited trace's "duration": "1s" must not blank the page
_NUMERIC = ("time", "seq", "step", "started_at", "duration", "steps", "messages_from")


def _numbers(event: dict[str, Any]) -> dict[str, Any]:
    """The event with every numeric field a finite number or null."""
    for key in _NUMERIC:
        value = event.get(key)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value != value
            or value in (float("inf"), float("-inf"))
        ):
            event[key] = None
    return event
