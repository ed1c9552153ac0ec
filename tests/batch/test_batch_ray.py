"""The Ray engine on a real local Ray instance (2 CPUs, no dashboard) and a real model server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import echo_server, need_ray, read_jsonl, write_agent_file

from agentloop.batch import BatchStats, run_batch, stream_batch
from agentloop.cli.batch import AgentFromTarget

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def ray() -> Iterator[Any]:
    ray = need_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    s = echo_server()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def recipe(server: Any, tmp_path_factory: Any) -> AgentFromTarget:
    target = write_agent_file(tmp_path_factory.mktemp("agent"), server.base_url)
    return AgentFromTarget(target, {}, str(Path.cwd()))


def _comparable(results: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.id, r.output, r.stop_reason, dict(r.usage), r.error, r.attempts) for r in results]


def test_ray_results_equal_the_local_engine_results(ray: Any, recipe: AgentFromTarget) -> None:
    inputs = [{"id": f"i{n}", "prompt": f"p{n}"} for n in range(10)] + ["please fail"]
    local = run_batch(recipe(), inputs, workers=4)
    remote = run_batch(recipe, inputs, workers=4, engine="ray")
    assert _comparable(remote) == _comparable(local)
    assert remote[-1].error and remote[-1].error["type"] == "BadRequestError"


def test_ray_streams_to_the_same_output_and_resumes(
    ray: Any, recipe: AgentFromTarget, server: Any, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    inputs = [f"q{n}" for n in range(6)]
    batch = {"agent": "echo", "input": "q"}
    first = list(stream_batch(recipe, inputs[:4], engine="ray", output=out, fingerprint=batch))
    assert len(first) == 4 and len(read_jsonl(out)) == 4
    before = len(server.requests)
    stats = BatchStats()
    list(stream_batch(recipe, inputs, engine="ray", output=out, fingerprint=batch, stats=stats))
    assert (stats.skipped, stats.done) == (4, 2)
    assert len(server.requests) - before == 4  # two new items, two model calls each
    assert sorted(line["id"] for line in read_jsonl(out)) == [str(n) for n in range(6)]


def test_the_rate_limit_is_one_actor_for_the_whole_cluster(
    ray: Any, recipe: AgentFromTarget
) -> None:
    from agentloop.batch.ray_engine import RayEngine

    items = run_batch(recipe(), [])  # nothing: just to prove an empty batch is fine
    assert items == []
    from agentloop.batch.items import as_items

    engine = RayEngine(recipe, as_items(["a", "b", "c", "d"]), workers=4, rpm=60_000, tpm=10**9)
    try:
        results = list(engine.results())
        counts = ray.get(engine._limiter.counts.remote())
    finally:
        engine.close()
    assert len(results) == 4 and all(r.ok for r in results)
    assert counts == {"requests": 8, "tokens": 8 * 15}  # every request of every actor asked it


def test_stopping_a_ray_batch_keeps_what_finished_and_cancels_the_rest(
    ray: Any, tmp_path_factory: Any
) -> None:
    from agentloop.batch.items import as_items
    from agentloop.batch.ray_engine import RayEngine

    slow = echo_server(delay=0.2)
    try:
        target = write_agent_file(tmp_path_factory.mktemp("slow"), slow.base_url)
        recipe = AgentFromTarget(target, {}, str(Path.cwd()))
        engine = RayEngine(recipe, as_items([f"s{n}" for n in range(30)]), workers=2)
        try:
            results = engine.results()
            first = next(results)
            left = engine.stop()
            rest = list(results)  # nothing new starts after stop()
        finally:
            engine.close()
        done = [first, *left, *rest]
        assert all(r.ok for r in done)
        assert 1 <= len(done) < 30
        assert len({r.id for r in done}) == len(done)
    finally:
        slow.stop()
