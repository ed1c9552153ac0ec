"""A hand-written 2025-11-25 MCP stdio server that breaks its stdout mid-answer, by its argument.

``python race_server.py MODE``; it lists ``echo`` (answers at once) and ``wait``
(answers after ``seconds``), each answer from its own thread so calls overlap. On a
call of ``break``, by mode:

- ``cut-exit``: writes the first half of the answer line, then exits.
- ``cut-close``: writes the first half of the answer line, then closes stdout and keeps
  running (reading stdin, never answering again).
- ``close``: closes stdout without a word and keeps running.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time

MODE = sys.argv[1] if len(sys.argv) > 1 else ""
TOOLS = [
    {"name": "echo", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
    {
        "name": "wait",
        "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}},
    },
    {"name": "break", "inputSchema": {"type": "object"}},
]
_out = threading.Lock()


def send(message: dict) -> None:
    with _out:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def text_result(rid: object, text: str) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": text}]}}


def break_stdout(rid: object) -> None:
    line = json.dumps(text_result(rid, "x" * 1000))
    with _out:
        if MODE.startswith("cut"):
            sys.stdout.write(line[: len(line) // 2])
            sys.stdout.flush()
        if MODE == "cut-exit":
            os._exit(1)
        os.close(1)
    print(f"race server: stdout closed ({MODE})", file=sys.stderr, flush=True)


def call(rid: object, params: dict) -> None:
    name, arguments = params["name"], params.get("arguments") or {}
    if name == "break":
        break_stdout(rid)
        return
    if name == "wait":
        time.sleep(float(arguments.get("seconds", 0)))
    with contextlib.suppress(OSError, ValueError):  # stdout is closed: nobody hears it
        send(text_result(rid, f"{name}: {arguments.get('text', arguments.get('seconds', ''))}"))


def answer(request: dict) -> None:
    method, rid = request.get("method"), request.get("id")
    if rid is None:
        return
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": rid, "result": {
            "protocolVersion": "2025-11-25",
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "race", "version": "1"},
        }})  # fmt: skip
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": rid, "result": {"tools": TOOLS}})
    elif method == "tools/call":
        threading.Thread(target=call, args=(rid, request["params"]), daemon=True).start()
    else:
        send({"jsonrpc": "2.0", "id": rid, "result": {}})


for raw in sys.stdin:
    if raw.strip():
        with contextlib.suppress(OSError, ValueError):  # stdout closed
            answer(json.loads(raw))
