"""Benchmark: the loop's own time per step, next to the model call, on a local HTTP server.

Each run is two model calls with one tool call between them (ask -> tool -> answer).
The loop's own time is the run's wall time minus the model calls and the tool
calls, divided by the model calls: request building, hooks, dispatch,
transcript bookkeeping. It is measured against a local HTTP server (the real
client stack) and against a scripted in-process model (no HTTP at all).

    python benchmarks/bench_loop.py [--runs 200] [--json]     (or: python benchmarks/run.py)
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agentloop import Agent, RunResult, tool
from agentloop.testing import FunctionModel, text_response, tool_call, tool_calls_response


@tool
def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: The key.
    """
    return f"value-of-{key}"


def _answer(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The server's reply body: a tool call after the user's message, else a final answer."""
    usage = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
    if messages[-1]["role"] == "user":
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "lookup", "arguments": json.dumps({"key": "k"})},
        }
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    else:
        message, finish = {"role": "assistant", "content": "done"}, "stop"
    return {
        "id": "b",
        "object": "chat.completion",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body are separate writes: without this, Nagle + delayed ACK add ~40 ms
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        data = json.dumps(_answer(body["messages"])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _scripted(request: dict[str, Any]) -> Any:
    if request["messages"][-1]["role"] == "user":
        return tool_calls_response(tool_call("lookup", {"key": "k"}))
    return text_response("done")


def measure(agent: Agent, runs: int) -> dict[str, float]:
    """Run ``agent`` ``runs`` times; return median seconds per loop step, model call, tool, run."""
    loop, model_calls, tool_calls, walls = [], [], [], []
    agent.run("warm-up")
    for _ in range(runs):
        started = time.perf_counter()
        result: RunResult = agent.run("go")
        wall = time.perf_counter() - started
        model = [s.duration for s in result.steps if s.kind == "model"]
        tools = [s.duration for s in result.steps if s.kind == "tool"]
        loop.append((wall - sum(model) - sum(tools)) / len(model))
        model_calls.append(statistics.mean(model))
        tool_calls.append(statistics.mean(tools))
        walls.append(wall)
    return {
        "loop_per_step": statistics.median(loop),
        "model_call": statistics.median(model_calls),
        "tool_call": statistics.median(tool_calls),
        "run": statistics.median(walls),
    }


def measure_raw(url: str, runs: int) -> float:
    """The same exchange without agentloop: two ``requests.post`` and a direct function call."""
    import requests

    session = requests.Session()
    headers = {"Authorization": "Bearer bench"}
    tools = [lookup.definition]
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        messages: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
        body = {"model": "bench", "messages": messages, "tools": tools}
        reply = session.post(url + "/chat/completions", json=body, headers=headers).json()
        message = reply["choices"][0]["message"]
        messages.append(message)
        for call in message["tool_calls"]:
            value = lookup.fn(**json.loads(call["function"]["arguments"]))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": value})
        session.post(url + "/chat/completions", json=body, headers=headers).json()
        times.append(time.perf_counter() - started)
    session.close()
    return statistics.median(times[1:])


def measure_all(runs: int) -> dict[str, dict[str, float]]:
    """Measure the loop over a local HTTP server and over a scripted model."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        http_agent = Agent(
            "local:bench", base_url=url, api_key="bench", tools=[lookup], load_plugins=False
        )
        scripted = Agent(FunctionModel(_scripted), tools=[lookup], load_plugins=False)
        results = {"http": measure(http_agent, runs), "scripted": measure(scripted, runs)}
        results["raw"] = {"run": measure_raw(url, runs)}
    finally:
        server.shutdown()
        server.server_close()
    return results


def main(quick: bool = False) -> list[tuple[str, float, float, str]]:
    """Rows for ``benchmarks/run.py``: ``(name, agentloop seconds, baseline seconds, baseline)``."""
    r = measure_all(30 if quick else 200)
    return [
        (
            "loop own time per step (local HTTP)",
            r["http"]["loop_per_step"],
            r["http"]["model_call"],
            "the model call (HTTP)",
        ),
        (
            "loop own time per step (scripted model)",
            r["scripted"]["loop_per_step"],
            r["scripted"]["model_call"],
            "the scripted model call",
        ),
        (
            "run: 2 model calls + 1 tool (local HTTP)",
            r["http"]["run"],
            r["raw"]["run"],
            "2 requests.post + direct call",
        ),
    ]


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = measure_all(args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{args.runs} runs of: model call -> 1 tool call -> model call (median ms)")
    print(f"{'model':10} {'loop/step':>10} {'model call':>11} {'tool call':>10} {'run':>9}")
    for name in ("http", "scripted"):
        m = {k: v * 1000 for k, v in results[name].items()}
        print(
            f"{name:10} {m['loop_per_step']:10.3f} {m['model_call']:11.3f} "
            f"{m['tool_call']:10.3f} {m['run']:9.3f}"
        )
    print(f"{'raw HTTP':10} {'':10} {'':11} {'':10} {results['raw']['run'] * 1000:9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
