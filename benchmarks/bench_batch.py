"""Many runs: batch wall time against the ideal, per-item and async overhead, Ray against local.

* **batch vs ideal**: 1,000 items, 32 workers, against a model server in a
  separate process that answers every request after 50 ms; each item is two
  model calls (a tool call, then the answer), so the ideal is
  ``1000 x 2 x 50 ms / 32 = 3.125 s``. Target: within 1.2x.
* **overhead per item**: ``agent.batch(items, workers=1)`` against a plain
  ``for`` loop of ``agent.run`` over the same items on an in-process model
  (no HTTP): the difference per item is what the batch machinery costs.
  Target: under 1 ms.
* **async overhead per run**: ``await agent.arun`` one after another against
  ``agent.run`` on the same in-process model. Target: at most 0.2 ms more.
* **Ray vs local**: the same 50 ms server, 32 workers, Ray on a local 2-CPU
  instance (started before timing; actor start-up is timed) against the local
  engine. Target: Ray throughput at least half the local one.

The two overheads are CPU seconds of this process (all its threads), the best
of several interleaved rounds, because wall time on a shared machine is at the
mercy of everything else running; ``--wall`` measures them in wall time.

Usage: ``python benchmarks/bench_batch.py [--quick] [--no-ray] [--wall]``; ``benchmarks/run.py`` runs it too.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from agentloop import Agent, ChatResponse, tool  # noqa: E402
from agentloop.messages import Choice, Message, ToolCall, Usage  # noqa: E402

Row = tuple[str, float, float, str]
DELAY = 0.05
#: CPU time of the process for the in-process overheads (``--wall``: wall time).
TIMER = time.perf_counter if "--wall" in sys.argv else time.process_time

SERVER = """
import sys, time
sys.path.insert(0, {tests!r})
from batch_support import echo_server
server = echo_server({delay!r})
print(server.base_url, flush=True)
sys.stdin.read()
"""


@tool
def shout(text: str) -> str:
    """Shout the text.

    Args:
        text: What to shout.
    """
    return text.upper()


class InstantModel:
    """An in-process model: a tool call, then an answer (no HTTP, no sleeping)."""

    name = "instant"

    def create(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatResponse:
        last = messages[-1]
        usage = Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
        if last["role"] == "tool":
            message = Message(role="assistant", content=f"done: {last['content']}")
            finish = "stop"
        else:
            arguments = json.dumps({"text": last["content"]})
            call = ToolCall(id="call_1", name="shout", arguments=arguments)
            message = Message(role="assistant", content=None, tool_calls=(call,))
            finish = "tool_calls"
        choice = Choice(index=0, message=message, finish_reason=finish)
        return ChatResponse(id="x", model="instant", choices=(choice,), usage=usage)

    def stream(self, *, messages: list[dict[str, Any]], **params: Any) -> Any:
        raise NotImplementedError


def _start_server(delay: float) -> tuple[subprocess.Popen[str], str]:
    code = SERVER.format(tests=str(ROOT / "tests"), delay=delay)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _agent_file(base_url: str, directory: Path) -> str:
    from batch_support import write_agent_file

    return write_agent_file(directory, base_url)


def batch_vs_ideal(items: int, workers: int, base_url: str) -> tuple[float, float]:
    """(wall seconds, ideal seconds) of a local batch against the 50 ms server."""
    from batch_support import echo_agent

    agent = echo_agent(base_url)
    agent.batch(["warm"] * workers, workers=workers)  # open the keep-alive connections
    start = time.perf_counter()
    results = agent.batch([f"p{n}" for n in range(items)], workers=workers)
    wall = time.perf_counter() - start
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    return wall, items * 2 * DELAY / workers


def overhead_per_item(items: int, rounds: int = 7) -> tuple[float, float]:
    """(seconds per item through agent.batch, seconds per item of a plain loop of agent.run)."""
    agent = Agent(InstantModel(), tools=[shout], load_plugins=False)
    prompts = [f"p{n}" for n in range(items)]
    best_batch = best_loop = float("inf")
    for _ in range(rounds):
        start = TIMER()
        for prompt in prompts:
            agent.run(prompt)
        best_loop = min(best_loop, (TIMER() - start) / items)
        start = TIMER()
        agent.batch(prompts, workers=1)
        best_batch = min(best_batch, (TIMER() - start) / items)
    return best_batch, best_loop


def async_overhead(runs: int, rounds: int = 7) -> tuple[float, float]:
    """(seconds per ``await arun``, seconds per ``run``), one after another."""
    agent = Agent(InstantModel(), tools=[shout], load_plugins=False)

    async def arun_all() -> float:
        start = TIMER()
        for n in range(runs):
            await agent.arun(f"p{n}")
        return (TIMER() - start) / runs

    best_async = best_sync = float("inf")
    for _ in range(rounds):
        start = TIMER()
        for n in range(runs):
            agent.run(f"p{n}")
        best_sync = min(best_sync, (TIMER() - start) / runs)
        best_async = min(best_async, asyncio.run(arun_all()))
    return best_async, best_sync


def ray_vs_local(items: int, workers: int, base_url: str) -> tuple[float, float]:
    """(Ray seconds per item, local seconds per item) against the 50 ms server."""
    import ray

    from agentloop.batch import run_batch
    from agentloop.cli.batch import AgentFromTarget

    with tempfile.TemporaryDirectory() as tmp:
        recipe = AgentFromTarget(_agent_file(base_url, Path(tmp)), {}, str(Path.cwd()))
        prompts = [f"r{n}" for n in range(items)]
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            start = time.perf_counter()
            remote = run_batch(recipe, prompts, workers=workers, engine="ray")
            ray_time = time.perf_counter() - start
        finally:
            ray.shutdown()
        start = time.perf_counter()
        local = run_batch(recipe(), prompts, workers=workers)
        local_time = time.perf_counter() - start
    assert [r.output for r in remote] == [r.output for r in local]
    return ray_time / items, local_time / items


def measure(quick: bool, with_ray: bool = True) -> dict[str, tuple[float, float]]:
    """Run every measurement; values are (agentloop, baseline) seconds."""
    items = 200 if quick else 1000
    out: dict[str, tuple[float, float]] = {}
    out["overhead"] = overhead_per_item(200 if quick else 1000)
    out["async"] = async_overhead(200 if quick else 1000)
    proc, base_url = _start_server(DELAY)
    try:
        out["ideal"] = batch_vs_ideal(items, 32, base_url)
        if with_ray:
            out["ray"] = ray_vs_local(items, 32, base_url)
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=10)
    return out


def main(quick: bool = False) -> list[Row]:
    """Rows for ``benchmarks/run.py``: ``(name, agentloop seconds, baseline seconds, baseline)``."""
    r = measure(quick)
    rows: list[Row] = [
        ("batch 1000 x 2 calls, 32 workers (wall)", *r["ideal"], "ideal 1000x2x50ms/32"),
        ("batch per item (workers=1, no HTTP)", *r["overhead"], "a loop of agent.run"),
        ("arun per run (no HTTP)", *r["async"], "agent.run"),
    ]
    if "ray" in r:
        rows.append(("ray engine per item (2 CPUs, 32 workers)", *r["ray"], "local engine"))
    return rows


def _cli() -> int:
    quick = "--quick" in sys.argv
    r = measure(quick, with_ray="--no-ray" not in sys.argv)
    wall, ideal = r["ideal"]
    print(f"batch: {wall:.3f} s for ideal {ideal:.3f} s: {wall / ideal:.3f}x (target <= 1.2x)")
    batch, loop = r["overhead"]
    print(f"overhead per item: {(batch - loop) * 1e3:.3f} ms (target < 1 ms)")
    arun, run = r["async"]
    print(f"async overhead per run: {(arun - run) * 1e3:.3f} ms (target <= 0.2 ms)")
    if "ray" in r:
        ray_item, local_item = r["ray"]
        share = local_item / ray_item
        print(f"ray throughput: {share:.2f} of local (target >= 0.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli())
