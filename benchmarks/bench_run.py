"""Benchmark: a whole agent run against a raw ``requests`` + ``sseclient-py`` loop, same server.

One run is ask -> one tool call -> answer: two model calls and one tool. The raw loop does the
same exchange by hand (``requests.post``, ``sseclient.SSEClient`` for streams, assembling the
tool call's deltas, ``json.loads``, calling the function). The two alternate run by run in one
process, so machine load hits both alike; the ratio of their medians is printed.

    python benchmarks/bench_run.py [--runs 300]     (or: python benchmarks/run.py)
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

import requests
import sseclient

from agentloop import Agent, tool


@tool
def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: The key.
    """
    return f"value-of-{key}"


_USAGE = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
_CALL = {
    "index": 0,
    "id": "call_1",
    "type": "function",
    "function": {"name": "lookup", "arguments": ""},
}


def _body(first: bool) -> dict[str, Any]:
    if first:
        call = {**_CALL, "function": {"name": "lookup", "arguments": '{"key": "k"}'}}
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
    else:
        message = {"role": "assistant", "content": "done"}
    finish = "tool_calls" if first else "stop"
    choice = {"index": 0, "message": message, "finish_reason": finish}
    return {
        "id": "b",
        "object": "chat.completion",
        "created": 0,
        "model": "bench",
        "choices": [choice],
        "usage": _USAGE,
    }


def _chunks(first: bool) -> list[dict[str, Any]]:
    base = {"id": "b", "object": "chat.completion.chunk", "created": 0, "model": "bench"}
    if first:
        deltas = [
            {"role": "assistant", "tool_calls": [_CALL]},
            {"tool_calls": [{"index": 0, "function": {"arguments": '{"key": '}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": '"k"}'}}]},
        ]
        finish = "tool_calls"
    else:
        deltas = [{"role": "assistant", "content": "do"}, {"content": "ne"}]
        finish = "stop"
    out = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    out.append({**base, "choices": [], "usage": _USAGE})
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        first = body["messages"][-1]["role"] == "user"
        if body.get("stream"):
            data = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in _chunks(first))
            data += b"data: [DONE]\n\n"
            kind = "text/event-stream"
        else:
            data, kind = json.dumps(_body(first)).encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _raw_call(session: requests.Session, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """One model call by hand: the assistant message (tool calls assembled from deltas)."""
    headers = {"Authorization": "Bearer bench"}
    if not body.get("stream"):
        reply = session.post(url, json=body, headers=headers, timeout=30).json()
        message: dict[str, Any] = reply["choices"][0]["message"]
        return message
    response = session.post(url, json=body, headers=headers, stream=True, timeout=30)
    text, calls = [], {}  # type: ignore[var-annotated]
    for event in sseclient.SSEClient(response).events():
        if event.data == "[DONE]":
            break
        chunk = json.loads(event.data)
        for choice in chunk["choices"]:
            delta = choice["delta"]
            if delta.get("content"):
                text.append(delta["content"])
            for part in delta.get("tool_calls") or ():
                call = calls.setdefault(
                    part["index"],
                    {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
                )
                call["id"] = part.get("id") or call["id"]
                function = part.get("function") or {}
                call["function"]["name"] += function.get("name") or ""
                call["function"]["arguments"] += function.get("arguments") or ""
    response.close()
    message = {"role": "assistant", "content": "".join(text) or None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return message


def raw_run(session: requests.Session, url: str, stream: bool) -> None:
    """The run by hand: ask, run the tool, ask again."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    body: dict[str, Any] = {"model": "bench", "messages": messages, "tools": [lookup.definition]}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    message = _raw_call(session, url, body)
    messages.append(message)
    for call in message["tool_calls"]:
        value = lookup.fn(**json.loads(call["function"]["arguments"]))
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": value})
    _raw_call(session, url, body)


def measure(runs: int, stream: bool, clock: Any = time.perf_counter) -> tuple[float, float]:
    """Median seconds of an agentloop run and of the raw run, alternated.

    Args:
        runs: Runs of each.
        stream: Stream the model calls.
        clock: ``time.perf_counter`` (wall time) or ``time.thread_time`` (CPU time of the
            calling thread: what the caller pays, and much less sensitive to machine load).
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    agent = Agent(
        "local:bench",
        base_url=base,
        api_key="bench",
        tools=[lookup],
        load_plugins=False,
        stream=stream,
    )
    session = requests.Session()
    ours, raw = [], []
    try:
        for _ in range(5):  # warm both paths
            agent.run("go")
            raw_run(session, base + "/chat/completions", stream)
        for _ in range(runs):
            started = clock()
            agent.run("go")
            ours.append(clock() - started)
            started = clock()
            raw_run(session, base + "/chat/completions", stream)
            raw.append(clock() - started)
    finally:
        session.close()
        server.shutdown()
        server.server_close()
    return statistics.median(ours), statistics.median(raw)


def main(quick: bool = False) -> list[tuple[str, float, float, str]]:
    """Rows for ``benchmarks/run.py``: ``(name, agentloop seconds, baseline seconds, baseline)``."""
    runs = 40 if quick else 300
    rows = []
    for label, stream in (("JSON", False), ("streamed", True)):
        base = "raw requests+sseclient-py loop" if stream else "raw requests loop"
        rows.append((f"run: 2 model calls + 1 tool ({label}, wall)", *measure(runs, stream), base))
        cpu = measure(runs, stream, time.thread_time)
        rows.append((f"run: 2 model calls + 1 tool ({label}, CPU)", *cpu, base))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    n = parser.parse_args().runs
    for label, stream in (("json", False), ("stream", True)):
        for clock_name, clock in (("wall", time.perf_counter), ("cpu", time.thread_time)):
            ours, raw = measure(n, stream, clock)
            print(
                f"{label:7} {clock_name:4} agentloop {ours * 1000:.3f} ms  raw {raw * 1000:.3f} ms  "
                f"ratio {ours / raw:.3f}"
            )
    sys.exit(0)
