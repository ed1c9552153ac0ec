"""Guardrails and handoffs: what they cost a run against an instant local server.

* **two allowing guardrails**: the same run (a tool call, then the answer: two model calls
  over real HTTP to a local server that answers at once) with and without two ``Guardrail``
  objects that check every point (input, each tool call, output) and allow. Measured in one
  process, interleaved rounds, best round of each; the ratio is the cost. Target: at most
  1.05.
* **a handoff's model calls**: a triage agent hands off to a specialist who answers; the
  server counts the requests. Target: 2 (the transfer turn and the answer): no model call of
  the handoff's own.

Usage: ``python benchmarks/bench_guardrails.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakeserver import FakeServer, completion, json_reply  # noqa: E402

from agentloop import Agent, Allow, Guardrail, tool  # noqa: E402


@tool
def lookup(account: str) -> str:
    """Look an account up.

    Args:
        account: The account number.
    """
    return f"account {account}: 12 EUR"


class AllowAll(Guardrail):
    """Checks every point and allows."""

    def check_input(self, context: Any, text: str) -> Allow:
        return Allow()

    def check_tool_call(self, context: Any, call: Any, tool: Any, arguments: Any) -> Allow:
        return Allow()

    def check_output(self, context: Any, output: Any) -> Allow:
        return Allow()


def _reply(request: Any) -> Any:
    """A tool call first, the answer once the tool result is there."""
    messages = request.json["messages"]
    if messages[-1]["role"] == "tool" or any(
        m.get("name") == "transfer_to_agent" for m in messages if m["role"] == "tool"
    ):
        return json_reply(completion("12 EUR."))
    tools = [t["function"]["name"] for t in request.json.get("tools", ())]
    name, args = ("lookup", {"account": "1"})
    if tools == ["transfer_to_agent"]:
        name, args = "transfer_to_agent", {"agent_name": "billing"}
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }
    return json_reply(completion(None, tool_calls=[call], finish="tool_calls"))


def _agent(server: FakeServer, **kwargs: Any) -> Agent:
    return Agent("local:fake-model", base_url=server.base_url, api_key="sk-bench",
                 load_plugins=False, stream=False, **kwargs)  # fmt: skip


def _round(agent: Agent, runs: int) -> float:
    started = time.perf_counter()
    for _ in range(runs):
        agent.run("balance of account 1?")
    return (time.perf_counter() - started) / runs


def guardrail_ratio(quick: bool) -> tuple[float, float, float]:
    """Seconds per run without and with two allowing guardrails, and their ratio."""
    runs, rounds = (30, 5) if quick else (100, 9)
    with FakeServer() as server:
        server.default = _reply
        plain = _agent(server, tools=[lookup])
        guarded = _agent(server, tools=[lookup], guardrails=[AllowAll(), AllowAll()])
        _round(plain, 10), _round(guarded, 10)  # warm up both (connections, imports)
        best_plain = best_guarded = float("inf")
        for _ in range(rounds):  # interleaved: the machine's noise hits both alike
            best_plain = min(best_plain, _round(plain, runs))
            best_guarded = min(best_guarded, _round(guarded, runs))
    return best_plain, best_guarded, best_guarded / best_plain


def handoff_requests() -> int:
    """Model requests of one run that hands off once and is answered by the specialist."""
    with FakeServer() as server:
        server.default = _reply
        billing = _agent(server, name="billing")
        triage = _agent(server, name="triage", handoffs=[billing])
        result = triage.run("balance?")
        assert result.agent == "billing", result
        return len(server.requests)


def main(quick: bool = False) -> list[tuple[str, float, float]]:
    """Run both measurements; print and return ``(name, value, target)`` rows."""
    plain, guarded, ratio = guardrail_ratio(quick)
    requests = handoff_requests()
    print(f"run without guardrails        {plain * 1e3:8.3f} ms")
    print(f"run with two allowing ones    {guarded * 1e3:8.3f} ms")
    print(f"ratio                         {ratio:8.3f}   (target <= 1.05)")
    print(f"model requests of a handoff   {requests:8d}   (target 2: transfer + answer)")
    return [("guardrail ratio", ratio, 1.05), ("handoff requests", float(requests), 2.0)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    main(parser.parse_args().quick)
