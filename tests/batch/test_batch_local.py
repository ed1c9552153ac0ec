"""agent.batch / stream_batch on the local engine: order, failures, retries, resume, limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from batch_support import echo_agent, echo_server, read_jsonl, write_jsonl
from fakeserver import json_reply

from agentloop.batch import BatchItem, BatchStats, RateLimiter, read_items, run_batch
from agentloop.batch.local import run_item
from agentloop.batch.scope import CancelScope
from agentloop.errors import BatchInputError, ConfigurationError


@pytest.fixture
def server() -> Any:
    s = echo_server()
    yield s
    s.stop()


def test_batch_returns_results_in_input_order_and_a_failure_does_not_stop_it(
    server: Any,
) -> None:
    agent = echo_agent(server.base_url)
    prompts = [f"p{n}" for n in range(12)]
    prompts[5] = "please fail"
    results = agent.batch(prompts, workers=4)
    assert [r.id for r in results] == [str(n) for n in range(12)]
    assert [r.output for r in results if r.ok] == [f"done: P{n}" for n in range(12) if n != 5]
    failed = results[5]
    assert failed.error == {"type": "BadRequestError", "message": "Error code: 400 - bad prompt"}
    assert failed.output is None and failed.stop_reason == "error"


def test_output_lines_use_the_run_result_vocabulary(server: Any, tmp_path: Path) -> None:
    agent = echo_agent(server.base_url)
    out = tmp_path / "out.jsonl"
    [result] = agent.batch([{"id": "a", "prompt": "hi"}], output=out)
    [line] = read_jsonl(out)
    run = result.result.to_dict()
    for key in ("output", "stop_reason", "usage", "run_id"):
        assert line[key] == run[key]
    assert line["id"] == "a" and line["error"] is None and line["attempts"] == 1
    assert line["usage"]["requests"] == 2 and line["duration"] > 0
    assert set(line["batch"]) == {"agent", "input"}


def test_history_and_deps_reach_the_run(server: Any) -> None:
    agent = echo_agent(server.base_url)
    history = [{"role": "user", "content": "before"}, {"role": "assistant", "content": "ok"}]
    [result] = agent.batch([{"id": "x", "prompt": "now", "history": history, "deps": {"k": 1}}])
    assert [m["content"] for m in result.result.messages[:3]] == ["before", "ok", "now"]
    assert server.requests[0].json["messages"][0]["content"] == "before"


def test_transient_errors_are_retried_within_the_item_budget(server: Any) -> None:
    agent = echo_agent(server.base_url)
    server.script(json_reply({"error": {"message": "overloaded"}}, status=503))
    item = BatchItem(id="a", prompt="hi")
    result = run_item(agent, item, scope=CancelScope(), retries=1, backoff=0.001)
    assert result.ok and result.attempts == 2 and result.output == "done: HI"
    server.script(*[json_reply({"error": {"message": "down"}}, status=500)] * 3)
    result = run_item(agent, item, scope=CancelScope(), retries=2, backoff=0.001)
    assert not result.ok and result.attempts == 3
    assert result.error and result.error["type"] == "InternalServerError"


def test_non_transient_errors_are_not_retried(server: Any) -> None:
    agent = echo_agent(server.base_url)
    result = run_item(agent, BatchItem(id="a", prompt="fail"), scope=CancelScope(), retries=3)
    assert result.attempts == 1 and len(server.requests) == 1


def test_rerunning_with_the_same_output_resumes(server: Any, tmp_path: Path) -> None:
    agent = echo_agent(server.base_url)
    out = tmp_path / "out.jsonl"
    prompts = [{"id": f"i{n}", "prompt": f"p{n}"} for n in range(6)]
    agent.batch(prompts[:3], output=out, fingerprint={"agent": "a", "input": "i"})
    assert len(server.requests) == 6
    results = agent.batch(prompts, output=out, fingerprint={"agent": "a", "input": "i"})
    assert len(server.requests) == 12  # only the 3 new items ran
    assert [r.id for r in results] == [p["id"] for p in prompts]
    assert [r.output for r in results] == [f"done: P{n}" for n in range(6)]
    assert len(read_jsonl(out)) == 6


def test_a_partial_last_line_is_run_again(server: Any, tmp_path: Path) -> None:
    agent = echo_agent(server.base_url)
    out = tmp_path / "out.jsonl"
    batch = {"agent": "a", "input": "i"}
    agent.batch(["p0", "p1"], output=out, fingerprint=batch, workers=1)
    text = out.read_text()
    out.write_text(text[: len(text) - 20])  # the process died while writing the last line
    agent.batch(["p0", "p1"], output=out, fingerprint=batch, workers=1)
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["id"] == "0"
    assert [json.loads(line)["id"] for line in lines[2:]] == ["1"]  # line 2 is the partial one


def test_an_output_of_another_agent_or_input_is_refused_without_force(
    server: Any, tmp_path: Path
) -> None:
    agent = echo_agent(server.base_url)
    other = echo_agent(server.base_url, instructions="Be different.")
    out = tmp_path / "out.jsonl"
    agent.batch(["p0"], output=out)
    with pytest.raises(BatchInputError, match="different agent.*--force"):
        other.batch(["p0"], output=out)
    with pytest.raises(BatchInputError, match="different input"):
        agent.batch(["p0", "p1"], output=out)
    assert [r.output for r in other.batch(["p0", "p1"], output=out, force=True)] == [
        "done: P0",
        "done: P1",
    ]


def test_duplicate_ids_are_refused(server: Any) -> None:
    agent = echo_agent(server.base_url)
    with pytest.raises(BatchInputError, match="duplicate id 'a' \\(items 1 and 3\\)"):
        agent.batch([{"id": "a", "prompt": "x"}, "y", {"id": "a", "prompt": "z"}])
    assert server.requests == []


def test_malformed_lines_are_reported_with_their_number(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "in.jsonl",
        ["first", b"{not json", {"id": 7, "prompt": "ok"}, {"prompt": ""}, {"id": "x", "p": 1}],
    )
    items, problems, digest = read_items(path)
    assert [(i.id, i.prompt) for i in items] == [("line-1", "first"), ("7", "ok")]
    assert [p.line for p in problems] == [2, 4, 5]
    assert "prompt" in problems[1].message and "unknown keys" in problems[2].message
    assert len(digest) == 16


def test_the_rate_limiter_is_asked_before_every_model_request(server: Any) -> None:
    agent = echo_agent(server.base_url)
    stats = BatchStats()
    list(agent.stream_batch(["a", "b", "c"], workers=3, rpm=60_000, tpm=10**9, stats=stats))
    assert stats.done == 3 and stats.tokens == 3 * 30
    limiter = RateLimiter(rpm=60_000)
    for n in range(3):
        run_item(agent, BatchItem(id=str(n), prompt="x"), scope=CancelScope(), limiter=limiter)
    assert (limiter.requests, limiter.tokens) == (6, 6 * 15)  # 2 model calls per item


def test_token_bucket_spaces_requests_and_charges_tokens() -> None:
    now = [0.0]
    limiter = RateLimiter(rpm=60, tpm=600, clock=lambda: now[0])  # 1 request/s, 10 tokens/s
    assert limiter.reserve() == 0.0  # the burst: one request at once
    assert limiter.reserve() == pytest.approx(1.0)  # reserved slots queue up in order
    assert limiter.reserve() == pytest.approx(2.0)
    now[0] = 10.0
    assert limiter.reserve() == 0.0
    limiter.charge(55)  # 10-token bucket, now 45 in debt: 4.5 s until it is back at zero
    assert limiter.reserve() == pytest.approx(4.5)


def test_bad_options_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="rpm must be a positive number"):
        RateLimiter(rpm=0)
    agent = echo_agent("http://127.0.0.1:9/v1")
    with pytest.raises(ConfigurationError, match="workers"):
        run_batch(agent, ["x"], workers=0)
    with pytest.raises(ConfigurationError, match="engine"):
        run_batch(agent, ["x"], engine="spark")
    with pytest.raises(ConfigurationError, match="picklable function"):
        run_batch(agent, ["x"], engine="ray")


def test_stats_summary_has_counts_tokens_and_latency_percentiles(server: Any) -> None:
    agent = echo_agent(server.base_url)
    stats = BatchStats()
    list(agent.stream_batch(["a", "fail", "c", "d"], stats=stats))
    summary = stats.to_dict()
    assert (summary["done"], summary["failed"], summary["remaining"]) == (3, 1, 0)
    assert summary["tokens"] == 90
    assert 0 < summary["p50"] <= summary["p95"]


def test_answer_helper_is_deterministic(server: Any) -> None:
    # the echo model underlies the Ray-equals-local test: same request, same reply,
    # and a different prompt a different reply (a constant answer would prove nothing there)
    agent = echo_agent(server.base_url)
    first, again, other = agent.run("same"), agent.run("same"), agent.run("other")
    assert first.output == again.output == "done: SAME"
    assert other.output == "done: OTHER"
    wire = [[m for m in r.to_dict()["messages"] if m["role"] != "system"] for r in (first, again)]
    assert wire[0] == wire[1]


def test_a_stop_interrupts_a_run_waiting_for_the_rate_limit(server: Any) -> None:
    import threading

    from agentloop.errors import RunCancelled

    agent = echo_agent(server.base_url)
    limiter = RateLimiter(rpm=1)  # one request a minute
    limiter.reserve()  # ... and it was just used
    scope = CancelScope()
    threading.Timer(0.05, scope.cancel).start()
    with pytest.raises(RunCancelled):
        run_item(agent, BatchItem(id="a", prompt="x"), scope=scope, limiter=limiter)
    assert server.requests == []  # it never went out
