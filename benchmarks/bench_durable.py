"""Durable runs: what the tool-effect ledger costs per tool call, and how fast a resume starts.

* **ledger per tool call** (SQLite file, WAL): the two records a call adds (``started``
  committed before the tool runs, ``completed`` after), timed directly, and end to end as the
  difference per call between a logged run of 200 tool calls with the ledger and without it.
  Target: at most 0.3 ms.
* **resume of a 100-step run**: a logged run of 100 tool-call turns (200 steps) interrupted
  at its next model call; ``Agent.resume`` is timed from the call until the model is asked
  again (the transcript rebuilt from the log, the open calls planned, the run claimed).
  Target: at most 50 ms.

Best of several rounds (a shared machine is noisy). Usage:
``python benchmarks/bench_durable.py [--quick]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agentloop import Agent, tool  # noqa: E402
from agentloop.messages import ToolCall, ToolResult  # noqa: E402
from agentloop.testing import text_response, tool_call, tool_calls_response  # noqa: E402


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


class Turns:
    """A model that asks for ``turns`` tool calls, then answers (or stops the run)."""

    def __init__(self, turns: int, *, interrupt: bool = False) -> None:
        self.turns, self.interrupt, self.n = turns, interrupt, 0
        self.asked_at: float | None = None

    def create(self, messages: list[dict[str, Any]], **params: Any) -> Any:
        self.asked_at = time.perf_counter()
        self.n += 1
        if self.n <= self.turns:
            return tool_calls_response(tool_call("add", {"a": self.n, "b": 1}, id=f"c{self.n}"))
        if self.interrupt:
            raise KeyboardInterrupt
        return _answer()

    def stream(self, messages: list[dict[str, Any]], **params: Any) -> Any:
        raise NotImplementedError


def _answer() -> Any:
    return text_response("done")


def _agent(model: Any, store: str, *, ledger: bool) -> Agent:
    agent = Agent(model, tools=[add], store=store, load_plugins=False, max_steps=1000,
                  tool_timeout=None)  # fmt: skip
    if not ledger:
        agent.plugin_manager.unregister(name="agentloop.ledger")
    return agent


def ledger_record_cost(folder: Path, calls: int, tag: str) -> float:
    """Milliseconds per call of the two ledger records alone."""
    agent = _agent(Turns(0), str(folder / f"records-{tag}.db"), ledger=True)
    ledger = agent.plugin_manager.get_plugin("agentloop.ledger")
    started = time.perf_counter()
    for i in range(calls):
        call = ToolCall(id=f"c{i}", name="add", arguments='{"a": 1, "b": 2}')
        ledger.record("r" * 32, call, "started", arguments={"a": 1, "b": 2})
        result = ToolResult(call_id=call.id, name="add", content="3")
        ledger.record("r" * 32, call, "completed", result=result)
    return (time.perf_counter() - started) * 1000 / calls


def run_cost(folder: Path, calls: int, *, ledger: bool, tag: str) -> float:
    """Milliseconds per tool call of a whole logged run."""
    agent = _agent(Turns(calls), str(folder / f"run-{tag}.db"), ledger=ledger)
    started = time.perf_counter()
    agent.run("add them")
    return (time.perf_counter() - started) * 1000 / calls


def resume_start(folder: Path, turns: int, tag: str) -> float:
    """Milliseconds from ``Agent.resume`` to the resumed run's model call."""
    store = str(folder / f"resume-{tag}.db")
    agent = _agent(Turns(turns, interrupt=True), store, ledger=True)
    try:
        agent.run("add them")
    except KeyboardInterrupt as exc:
        run_id = exc.agentloop_result.run_id  # type: ignore[attr-defined]
    model = Turns(0)
    again = _agent(model, store, ledger=True)
    started = time.perf_counter()
    again.resume(run_id)
    assert model.asked_at is not None
    return (model.asked_at - started) * 1000


def main() -> None:
    quick = "--quick" in sys.argv
    rounds, calls = (3, 100) if quick else (7, 200)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        records = min(ledger_record_cost(folder, calls, str(i)) for i in range(rounds))
        with_ledger, without = [], []
        for i in range(rounds):
            without.append(run_cost(folder, calls, ledger=False, tag=f"off{i}"))
            with_ledger.append(run_cost(folder, calls, ledger=True, tag=f"on{i}"))
        added = min(with_ledger) - min(without)
        resume = min(resume_start(folder, 100, str(i)) for i in range(rounds))
    print(f"ledger records per tool call (started + completed): {records:.3f} ms (target <= 0.3)")
    print(
        f"logged run per tool call: {min(without):.3f} ms without the ledger, "
        f"{min(with_ledger):.3f} ms with it: +{added:.3f} ms (target <= 0.3)"
    )
    print(f"resume of a 100-turn run to its next model call: {resume:.1f} ms (target <= 50)")


if __name__ == "__main__":
    main()
