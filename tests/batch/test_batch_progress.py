"""The progress line and the summary of a batch."""

from __future__ import annotations

import io
import time

from agentloop.batch import BatchStats, ItemResult
from agentloop.batch.progress import ProgressBar, format_progress, format_summary


def _stats() -> BatchStats:
    stats = BatchStats(total=12, skipped=2)
    usage = {"total_tokens": 100}
    for n in range(4):
        stats.add(ItemResult(id=str(n), usage=usage, duration=0.1 * (n + 1)))
    stats.add(ItemResult(id="x", error={"type": "E", "message": "m"}, duration=2.0))
    return stats


def test_progress_line_has_done_failed_running_rate_eta_and_tokens() -> None:
    line = format_progress(_stats(), running=3, elapsed=2.5, width=10)
    assert line == "[#####.....] 5/10 done 4, failed 1, running 3, 2.0/s, ETA 0:02, 400 tokens"


def test_progress_before_anything_finished_has_no_eta() -> None:
    assert "ETA --:--" in format_progress(BatchStats(total=3), running=3, elapsed=0.0)


def test_summary_has_counts_tokens_and_latency_percentiles() -> None:
    text = format_summary(_stats(), elapsed=3.0, malformed=1)
    assert text.startswith("batch: 4 done, 1 failed, 2 resumed, 5 not run, 1 malformed lines")
    assert (
        "400 tokens" in text and "p50 0.30 s" in text and "p95 1.68 s" in text
    )  # linear interpolation


def test_the_bar_draws_on_a_terminal_and_erases_itself() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, _stats(), lambda: 2, enabled=True)
    bar.start()
    deadline = time.monotonic() + 5
    while "running 2" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    bar.note("a note")
    bar.close()
    text = out.getvalue()
    assert "running 2" in text and "a note\n" in text and text.endswith("\r\x1b[2K")


def test_the_bar_is_silent_when_not_a_terminal() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, _stats(), lambda: 0)
    bar.start()
    bar.close()
    assert out.getvalue() == ""
