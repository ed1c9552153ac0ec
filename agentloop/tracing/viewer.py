"""The run viewer: a trace's events as one self-contained HTML page (no network, no CDN).

The events are embedded as JSON inside ``<script type="application/json">`` with ``<``, ``>``
and ``&`` written as ``\\u003c``-style escapes, so no text can close the block; the page's own
script (:mod:`agentloop.tracing.page`) renders them with ``textContent`` only.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
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


def render_html(events: Iterable[TraceEvent], *, title: str = "agentloop run") -> str:
    """Return the viewer page for ``events`` (one or more runs, in trace order).

    Args:
        events: The trace events, e.g. from :func:`~agentloop.tracing.jsonl.read_trace`.
        title: The page title (escaped).

    Returns:
        A complete HTML document with its CSS, script and data inline.
    """
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style></head>\n"
        '<body><div id="app"></div>\n'
        f'<script type="application/json" id="trace-data">{embed_json(events)}</script>\n'
        f"<script>{SCRIPT % {'preview': PREVIEW}}</script>\n</body></html>\n"
    )


def write_html(
    events: Iterable[TraceEvent], path: str | Path, *, title: str = "agentloop run"
) -> Path:
    """Write the viewer page for ``events`` to ``path``; return the path."""
    target = Path(path)
    target.write_text(render_html(events, title=title), encoding="utf-8")
    return target


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
