"""A hostile MCP server's tool schemas cannot make the agent fetch a URL or hang it (issue 19):
a remote ``$ref``, a ``$ref`` loop and a catastrophic ``pattern`` each leave that tool out with
one warning naming it, the server's other tools keep working, and the URL the ``$ref`` names
(a real HTTP server on 127.0.0.1 counting hits) is never requested."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from agentloop_mcp import MCPServer

from agentloop import AgentloopWarning

# One stdio MCP server (2025-06-18 handshake) listing the tools of a JSON file next to `echo`.
SERVER = """
import json, sys
TOOLS = json.load(open(sys.argv[1]))
def answer(request):
    method, rid = request.get("method"), request.get("id")
    if rid is None:
        return None
    if method == "initialize":
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                  "serverInfo": {"name": "schemas", "version": "1"}}
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        text = json.dumps(request["params"]["arguments"])
        result = {"content": [{"type": "text", "text": text}], "isError": False}
    elif method == "ping":
        result = {}
    else:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no"}}
    return {"jsonrpc": "2.0", "id": rid, "result": result}
for line in sys.stdin:
    if line.strip():
        reply = answer(json.loads(line))
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\\n")
            sys.stdout.flush()
"""


@pytest.fixture
def counting_url() -> Iterator[tuple[str, list[str]]]:
    """A URL on 127.0.0.1 serving a schema, and the list of paths requested from it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            hits.append(self.path)
            body = b'{"type": "string"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/schema.json", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def _tool(name: str, sub: dict[str, object], **extra: object) -> dict[str, object]:
    schema = {"type": "object", "properties": {"x": sub}, **extra}
    return {"name": name, "description": name, "inputSchema": schema}


def test_hostile_schemas_are_left_out_without_a_request_or_a_hang(
    tmp_path: Path, counting_url: tuple[str, list[str]]
) -> None:
    url, hits = counting_url
    tools = [
        _tool("echo", {"type": "string", "pattern": "^[a-z]+(-[a-z]+)*$"}),
        _tool("fetcher", {"$ref": url}),
        _tool(
            "looper", {"$ref": "#/$defs/a"}, **{"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}}
        ),
        _tool("root_loop", {"type": "string"}, **{"allOf": [{"$ref": "#"}]}),
        _tool("slow", {"type": "string", "pattern": "^(a+)+$"}),
    ]
    listing = tmp_path / "tools.json"
    listing.write_text(json.dumps(tools))
    script = tmp_path / "schemas_server.py"
    script.write_text(SERVER)
    server = MCPServer.stdio(sys.executable, args=[str(script), str(listing)], name="schemas")
    try:
        with pytest.warns(AgentloopWarning) as caught:
            offered = {t.name: t for t in server.tools()}
        assert list(offered) == ["echo"]
        messages = [str(w.message) for w in caught]
        assert len(messages) == 4
        expected = {
            "fetcher": "does not point inside the schema",
            "looper": "$ref loop",
            "root_loop": "$ref loop",
            "slow": "exponential time",
        }
        for name, reason in expected.items():
            (line,) = [m for m in messages if f"tool {name!r} left out" in m]
            assert "MCP server 'schemas'" in line and reason in line
            assert "RecursionError" not in line
        echo = offered["echo"]
        assert json.loads(echo.invoke({"x": "a-b"})) == {"x": "a-b"}
        with pytest.raises(Exception, match=r"\$\.x"):
            echo.invoke({"x": "a" * 41 + "!"})
    finally:
        server.close()
    assert hits == []
