"""The eval harness's overhead per case over the batch engine it runs on.

The same N items run twice on an in-process scripted model (no HTTP), one worker:

* ``stream_batch`` alone (what ``agentloop batch`` does);
* ``Dataset.evaluate``: the same batch, plus turning each run into facts, scoring it with five
  evaluators (contains, tool trajectory, tool arguments, max tool calls, max tokens) and
  journaling the scored case (``state=``), then the summaries.

The difference per case is the harness's cost. Target: at most 1 ms. CPU seconds of this
process (best of several interleaved rounds), because wall time on a shared machine is noisy.

Usage: ``python benchmarks/bench_eval.py [--quick]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from agentloop import Agent, tool
from agentloop.batch import stream_batch
from agentloop.evals import Dataset
from agentloop.testing import FunctionModel, tool_call, tool_calls_response


@tool
def shout(text: str) -> str:
    """Shout the text.

    Args:
        text: What to shout.
    """
    return text.upper()


def answer(request: dict) -> object:
    last = request["messages"][-1]
    if last["role"] == "tool":
        return f"done: {last['content']}"
    return tool_calls_response(tool_call("shout", {"text": last["content"]}))


def main(argv: list[str]) -> int:
    n = 200 if "--quick" in argv else 1000
    rounds = 3 if "--quick" in argv else 5
    agent = Agent(FunctionModel(answer), tools=[shout], load_plugins=False)
    cases = [
        {
            "id": f"c{i}",
            "input": f"hello {i}",
            "expected_tools": [{"name": "shout", "arguments": {"text": f"hello {i}"}}],
            "evaluators": [{"type": "contains", "value": f"HELLO {i}"}],
        }
        for i in range(n)
    ]
    dataset = Dataset.from_cases(
        cases,
        evaluators=[{"type": "max_tool_calls", "max": 2}, {"type": "max_tokens", "max": 10**6}],
    )
    prompts = [{"id": c["id"], "prompt": c["input"]} for c in cases]
    best_batch = best_eval = float("inf")
    with tempfile.TemporaryDirectory() as folder:
        for r in range(rounds):
            start = time.process_time()
            for _ in stream_batch(agent, prompts, workers=1):
                pass
            best_batch = min(best_batch, time.process_time() - start)
            start = time.process_time()
            report = dataset.evaluate(agent, workers=1, state=Path(folder) / f"s{r}")
            best_eval = min(best_eval, time.process_time() - start)
            assert report.score == 1.0 and len(report.cases) == n
    overhead_ms = (best_eval - best_batch) / n * 1000
    print(json.dumps({
        "cases": n,
        "batch_ms_per_case": round(best_batch / n * 1000, 4),
        "eval_ms_per_case": round(best_eval / n * 1000, 4),
        "overhead_ms_per_case": round(overhead_ms, 4),
        "target_ms": 1.0,
        "ok": overhead_ms <= 1.0,
    }))  # fmt: skip
    return 0 if overhead_ms <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
