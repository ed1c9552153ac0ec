"""A hand-written MCP server that speaks only the 2025-06-18 protocol (initialize handshake).

It answers ``server/discover`` with "method not found", as servers from
before 2026-07-28 do, so the client must fall back to ``initialize``. One
extra mode, ``--bad-schema``, lists a tool whose input schema is not valid
JSON Schema next to a good one.
"""

from __future__ import annotations

import json
import sys

BAD = "--bad-schema" in sys.argv
TOOLS = [
    {
        "name": "echo",
        "description": "Echo the text back.",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
    }
]
if BAD:
    TOOLS.append(
        {
            "name": "broken",
            "description": "A tool with an invalid schema.",
            "inputSchema": {"type": "object", "properties": {"x": {"type": "nonsense"}}},
        }
    )


def answer(request: dict) -> dict | None:
    method, rid = request.get("method"), request.get("id")
    if rid is None:
        return None  # a notification
    if method == "initialize":
        result = {
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "legacy", "version": "1"},
        }
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        text = request["params"]["arguments"].get("text", "")
        result = {"content": [{"type": "text", "text": f"echo: {text}"}], "isError": False}
    elif method == "ping":
        result = {}
    else:
        return {
            "jsonrpc": "2.0",
            "id": rid,
            "error": {"code": -32601, "message": "Method not found"},
        }
    return {"jsonrpc": "2.0", "id": rid, "result": result}


for line in sys.stdin:
    if line.strip():
        reply = answer(json.loads(line))
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
