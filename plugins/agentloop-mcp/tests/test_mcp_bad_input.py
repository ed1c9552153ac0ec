"""Bad input: each a clear error naming the server and the fix; a broken server never ends a run."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from agentloop_mcp import MCPServer, MCPServerError
from mcp_support import demo, server_script, tool_messages

from agentloop import Agent, AgentloopWarning, ConfigurationError, PluginError, tool
from agentloop.testing import ScriptedModel, tool_call, tool_calls_response


@tool
def local_echo(text: str) -> str:
    """Echo the text back.

    Args:
        text: What to echo.
    """
    return text


def test_a_command_that_does_not_exist() -> None:
    server = MCPServer.stdio("no-such-mcp-server-xyz", args=["--stdio"])
    with pytest.raises(MCPServerError) as info:
        server.tools()
    message = str(info.value)
    assert "MCP server 'no-such-mcp-server-xyz'" in message
    assert "command 'no-such-mcp-server-xyz' was not found" in message
    assert "install it, or give its full path" in message


def test_a_broken_server_never_takes_the_run_down() -> None:
    model = ScriptedModel([tool_calls_response(tool_call("local_echo", {"text": "hi"})), "done"])
    broken = MCPServer.stdio("no-such-mcp-server-xyz", name="gone")
    agent = Agent(model, tools=[local_echo], plugins=[broken])
    with pytest.warns(AgentloopWarning, match="MCP server 'gone'.*running without its tools"):
        result = agent.run("go")
    assert result.output == "done" and list(tool_messages(result).values()) == ["hi"]
    names = [t["function"]["name"] for t in model.requests[0]["tools"]]
    assert names == ["local_echo"]


def test_required_makes_a_server_that_cannot_start_fail_the_run() -> None:
    agent = Agent(ScriptedModel(["x"]), plugins=[MCPServer.stdio("no-such-xyz", required=True)])
    with pytest.raises(PluginError, match="command 'no-such-xyz' was not found"):
        agent.run("go")


def test_a_server_that_never_answers_the_handshake() -> None:
    server = server_script("silent_server.py", name="mute", startup_timeout=3)
    with pytest.raises(MCPServerError) as info:
        server.tools()
    message = str(info.value)
    assert (
        "MCP server 'mute'" in message
        and "did not complete the MCP handshake within 3 s" in message
    )
    assert "silent server: started, will never answer" in message  # its stderr
    assert "raise startup_timeout=" in message


@pytest.fixture
def web_page() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b"<html><body>Not an MCP server</body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/page"
    httpd.shutdown()
    httpd.server_close()


def test_an_http_url_that_is_not_an_mcp_endpoint(web_page: str) -> None:
    server = MCPServer.http(
        web_page + "?token=secret", headers={"Authorization": "Bearer sk-hidden"}, name="web",
    )  # fmt: skip
    with pytest.raises(MCPServerError) as info:
        server.tools()
    message = str(info.value)
    assert "MCP server 'web'" in message and "did not answer as an MCP streamable-HTTP" in message
    assert "MCP endpoints usually end in /mcp" in message
    assert "secret" not in message and "sk-hidden" not in message  # no secrets in messages


def test_a_tool_schema_that_is_not_json_schema_is_left_out_with_a_warning() -> None:
    # a hand-written 2025-06-18 server: the client falls back to the initialize handshake
    server = server_script("legacy_server.py", "--bad-schema", name="old")
    try:
        with pytest.warns(AgentloopWarning) as caught:
            names = [t.name for t in server.tools()]
        assert names == ["echo"]
        (warning,) = [str(w.message) for w in caught]
        assert "MCP server 'old': tool 'broken' left out" in warning
        assert "not a valid JSON Schema" in warning and "fix the tool's inputSchema" in warning
        assert server._conn is not None and server._conn.client.protocol_version == "2025-06-18"
        assert server.call("echo", {"text": "hi"}).text == "echo: hi"
    finally:
        server.close()


def test_two_servers_offering_the_same_tool_name() -> None:
    first, second = demo(name="one"), demo(name="two")
    try:
        agent = Agent(ScriptedModel(["x"]), plugins=[first, second])
        with pytest.raises(PluginError) as info:
            agent.run("go")
        message = str(info.value)
        assert "MCP servers 'two' and 'one' both offer a tool named" in message or (
            "MCP servers 'one' and 'two' both offer a tool named" in message
        )
        assert "prefix=True" in message and "tool_filter" in message
        second_prefixed = demo(name="two", prefix=True)
        try:
            model = ScriptedModel([tool_calls_response(tool_call("two_pid", {})), "ok"])
            assert Agent(model, plugins=[first, second_prefixed]).run("go").output == "ok"
        finally:
            second_prefixed.close()
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MCPServer.stdio(""), "needs a command"),
        (lambda: MCPServer.stdio("python", args="server.py"), "args must be a list"),
        (lambda: MCPServer.http("ftp://host/mcp"), "needs an http"),
        (lambda: demo(timeout=0), "timeout must be seconds > 0"),
        (lambda: demo(tool_filter={"only": ["x"]}), "tool_filter must be"),
        (lambda: demo(tool_filter={"allow": "pid"}), "lists of names"),
        (lambda: demo(prefix=3), "prefix must be"),
    ],
)
def test_bad_options_are_configuration_errors(make, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        make()
