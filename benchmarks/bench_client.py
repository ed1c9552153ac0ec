"""ChatClient.create / .stream against a raw ``requests`` + ``sseclient-py`` loop, same server.

Both sides talk to one local scripted HTTP server (``tests/fakeserver.py``) in
this process over keep-alive connections. The baselines do the minimum a
correct hand-written client does: ``session.post`` + ``resp.json()`` for a
completion, and ``SSEClient(resp)`` + ``json.loads`` per event (collecting the
text) for a stream. agentloop additionally validates parameters, checks
statuses, assembles tool calls, builds typed events and the final response.

Times are CPU seconds of this process per call (client and server threads;
the server's share is the same on both sides) because wall time is at the
mercy of whatever else runs on the machine; ``--wall`` measures wall time.

Usage: ``python benchmarks/bench_client.py [--quick] [--wall]``; ``benchmarks/run.py`` runs it too.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import sseclient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakeserver import FakeServer, chunk, completion, json_reply, sse_reply  # noqa: E402

from agentloop.client.chat import ChatClient  # noqa: E402

Row = tuple[str, float, float, str]
MESSAGES = [{"role": "user", "content": "Say something long."}]


#: ``time.process_time`` (CPU of this process: client and server threads) is
#: robust against other processes loading the machine; ``--wall`` uses wall time.
TIMER = time.perf_counter if "--wall" in sys.argv else time.process_time


def _best(fn: Callable[[], Any], calls: int, rounds: int) -> float:
    """Best per-call time over ``rounds`` rounds of ``calls`` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = TIMER()
        for _ in range(calls):
            fn()
        best = min(best, (TIMER() - start) / calls)
    return best


def _raw_create(session: requests.Session, url: str) -> str:
    resp = session.post(
        url,
        json={"model": "m", "messages": MESSAGES},
        headers={"Authorization": "Bearer k"},
        timeout=(5, 300),
    )
    resp.raise_for_status()
    return resp.json()["choices"][0]["message"]["content"]


def _raw_stream(session: requests.Session, url: str) -> str:
    resp = session.post(
        url,
        json={"model": "m", "messages": MESSAGES, "stream": True},
        headers={"Authorization": "Bearer k", "Accept": "text/event-stream"},
        stream=True,
        timeout=(5, 300),
    )
    try:
        text = []
        for event in sseclient.SSEClient(resp).events():
            if event.data == "[DONE]":
                continue  # read to the end so the connection is reused, like agentloop
            for choice in json.loads(event.data)["choices"]:
                piece = choice["delta"].get("content")
                if piece:
                    text.append(piece)
        return "".join(text)
    finally:
        resp.close()


def _bench(
    server: FakeServer,
    name: str,
    reply: Any,
    calls: int,
    rounds: int,
    ours: Callable[[ChatClient], str],
    raw: Callable[[requests.Session, str], str],
) -> Row:
    server.default = reply
    url = server.base_url + "/chat/completions"
    with ChatClient(base_url=server.base_url, api_key="k") as client, requests.Session() as session:
        assert ours(client) == raw(session, url)  # same answer, and warm connections
        ours_t = raw_t = float("inf")
        for _ in range(3):  # interleave to share any drift in machine load
            ours_t = min(ours_t, _best(lambda: ours(client), calls, rounds))
            raw_t = min(raw_t, _best(lambda: raw(session, url), calls, rounds))
    return (name, ours_t, raw_t, "requests+sseclient-py loop")


def _stream_text(client: ChatClient) -> str:
    stream = client.stream(model="m", messages=MESSAGES)
    return "".join(e.delta for e in stream if type(e).__name__ == "TextDelta")  # type: ignore[attr-defined]


def main(quick: bool = False) -> list[Row]:
    """Run the client benchmarks.

    Args:
        quick: Fewer iterations.

    Returns:
        Rows of ``(name, agentloop_seconds, baseline_seconds, baseline_name)`` per call.
    """
    calls, rounds = (20, 2) if quick else (100, 3)
    words = [f"word{i} " for i in range(200)]
    with FakeServer() as server:
        return [
            _bench(
                server,
                "client: create (JSON completion)",
                json_reply(completion("".join(words[:50]))),
                calls,
                rounds,
                lambda c: c.create(model="m", messages=MESSAGES).message.content or "",
                _raw_create,
            ),
            _bench(
                server,
                "client: stream (20 chunks)",
                sse_reply([chunk(w) for w in words[:20]] + [chunk(finish="stop")]),
                calls,
                rounds,
                _stream_text,
                _raw_stream,
            ),
            _bench(
                server,
                "client: stream (200 chunks)",
                sse_reply([chunk(w) for w in words] + [chunk(finish="stop")]),
                max(calls // 4, 5),
                rounds,
                _stream_text,
                _raw_stream,
            ),
        ]


if __name__ == "__main__":
    rows = main(quick="--quick" in sys.argv)
    print(f"{'benchmark':<36} {'agentloop':>12} {'raw':>12} {'ratio':>7}")
    for name, ours, base, _ in rows:
        print(f"{name:<36} {ours * 1e6:>10.1f}us {base * 1e6:>10.1f}us {ours / base:>7.2f}")
