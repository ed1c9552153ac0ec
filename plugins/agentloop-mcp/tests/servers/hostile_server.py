"""A hand-written 2025-11-25 MCP server that misbehaves in one way, chosen by its argument.

``python hostile_server.py MODE``; every mode also lists a good tool ``echo``:

- ``banner``: writes a banner and a stray line to stdout before and between messages.
- ``tasks``: lists ``slow_job``, whose ``execution.taskSupport`` is ``"required"``.
- ``string-schema``: lists ``broken``, whose ``inputSchema`` is a string.
- ``long-names``: lists two tools whose names share their first 64 characters.
- ``stderr-flood``: writes 200 MB to stderr without a newline, then ``flood done``.
"""

from __future__ import annotations

import json
import sys

MODE = sys.argv[1] if len(sys.argv) > 1 else ""
LONG = "a" * 70
TOOLS: list[dict] = [
    {
        "name": "echo",
        "description": "Echo the text back.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
    }
]
if MODE == "tasks":
    TOOLS.append(
        {
            "name": "slow_job",
            "description": "Needs task augmentation.",
            "inputSchema": {"type": "object"},
            "execution": {"taskSupport": "required"},
        }
    )
if MODE == "string-schema":
    TOOLS.append({"name": "broken", "description": "Bad schema.", "inputSchema": "a string"})
if MODE == "long-names":
    for tail in ("_first", "_second"):
        TOOLS.append({"name": LONG + tail, "inputSchema": {"type": "object"}})


def answer(request: dict) -> dict | None:
    method, rid = request.get("method"), request.get("id")
    if rid is None:
        return None
    if method == "initialize":
        result: dict = {
            "protocolVersion": "2025-11-25",
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "hostile", "version": "1"},
        }
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        params = request["params"]
        text = f"{params['name']}: {params.get('arguments', {}).get('text', '')}"
        result = {"content": [{"type": "text", "text": text}], "isError": False}
    elif method == "ping":
        result = {}
    else:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no"}}
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


if MODE == "banner":
    say("Welcome to the hostile MCP server v1.0!")
    say("{not json either")
if MODE == "stderr-flood":
    chunk = "x" * (1 << 20)
    for _ in range(200):
        sys.stderr.write(chunk)
    sys.stderr.write("\nflood done\n")
    sys.stderr.flush()
for line in sys.stdin:
    if line.strip():
        reply = answer(json.loads(line))
        if MODE == "banner":
            say("stray debug output")
        if reply is not None:
            say(json.dumps(reply))
