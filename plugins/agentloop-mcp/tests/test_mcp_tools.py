"""MCP tools in agentloop runs: schemas as given, validation, results, options (real stdio server)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from agentloop_mcp import MCPServer
from mcp_support import demo, tool_messages

from agentloop import Agent, ToolResult
from agentloop.testing import ScriptedModel, tool_call, tool_calls_response


@pytest.fixture(scope="module")
def server() -> Iterator[MCPServer]:
    shared = demo()
    yield shared
    shared.close()


def _run(server: MCPServer, *calls: object, **agent_options: object):
    model = ScriptedModel([tool_calls_response(*calls), "done"])
    agent = Agent(model, plugins=[server], **agent_options)
    return agent.run("go"), model


def test_tools_keep_the_servers_names_descriptions_and_schemas(server: MCPServer) -> None:
    tools = {t.name: t for t in server.tools()}
    assert {"place_order", "fail", "slow", "forecast", "picture", "crash"} <= set(tools)
    order = tools["place_order"]
    assert order.description == "Place an order for some items, shipped to an address."
    schema = order.parameters  # nested models arrive as the server wrote them: $defs and $ref
    assert schema["properties"]["items"]["items"] == {"$ref": "#/$defs/Item"}
    assert schema["$defs"]["Address"]["properties"]["country"]["enum"] == ["FR", "DE", "US"]
    _, model = _run(server, tool_call("forecast", {"city": "Oslo"}))
    sent = {t["function"]["name"]: t["function"] for t in model.requests[0]["tools"]}
    assert sent["place_order"]["parameters"] == schema


def test_nested_arguments_reach_the_server_and_bad_ones_never_do(server: MCPServer) -> None:
    good = {"items": [{"sku": "KB-1", "quantity": 2}], "ship_to": {"city": "Lyon", "country": "FR"}}
    bad = {"items": [{"sku": "KB-1", "quantity": 0}], "ship_to": {"city": "Lyon", "country": "XX"}}
    result, _ = _run(
        server, tool_call("place_order", good, id="ok"), tool_call("place_order", bad, id="bad")
    )
    out = tool_messages(result)
    assert out["ok"] == "ordered 2 item(s) for Lyon, FR"
    # validated by agentloop with jsonschema against the server's own schema, before any call
    assert out["bad"].startswith("error: invalid arguments for tool 'place_order' (2 problems)")
    assert "$.items[0].quantity" in out["bad"] and "$.ship_to.country" in out["bad"]


def test_results_text_structured_image_and_is_error(server: MCPServer) -> None:
    seen: list[ToolResult] = []

    class Keep:
        from agentloop import hookimpl

        @hookimpl
        def agentloop_after_tool_call(self, result: ToolResult) -> None:
            seen.append(result)

    model = ScriptedModel(
        [
            tool_calls_response(
                tool_call("forecast", {"city": "Oslo"}, id="f"),
                tool_call("picture", {}, id="p"),
                tool_call("fail", {"reason": "no stock"}, id="e"),
            ),
            "done",
        ]
    )
    result = Agent(model, plugins=[server, Keep()]).run("go")
    out = tool_messages(result)
    by_id = {r.call_id: r for r in seen}
    assert json.loads(out["f"]) == {"city": "Oslo", "celsius": 21.5, "conditions": ["sunny", "dry"]}
    assert by_id["f"].value == {"city": "Oslo", "celsius": 21.5, "conditions": ["sunny", "dry"]}
    assert out["p"] == "[image image/png, 100 bytes: returned by the tool, not shown to the model]"
    assert out["e"] == "error: Error executing tool fail: refused: no stock"  # the SDK's wording
    assert by_id["e"].is_error and by_id["e"].status == "error" and not by_id["f"].is_error


def test_parallel_calls_to_one_server_overlap(server: MCPServer) -> None:
    calls = [tool_call("slow", {"seconds": 0.4 + i / 100}, id=f"s{i}") for i in range(4)]
    result, _ = _run(server, *calls)
    steps = [s for s in result.steps if s.kind == "tool"]
    assert [s.status for s in steps] == ["ok"] * 4
    # every call started before any call finished: they ran at the same time on one session
    assert max(s.started_at for s in steps) < min(s.started_at + s.duration for s in steps)


def test_a_slow_call_times_out_and_the_server_stays_usable() -> None:
    quick = demo(timeout=0.5)
    try:
        result, _ = _run(quick, tool_call("slow", {"seconds": 5}, id="t"), max_tool_retries=3)
        step = next(s for s in result.steps if s.kind == "tool")
        assert step.status == "timeout" and step.is_error
        assert "did not answer the call to 'slow' within 0.5 s" in tool_messages(result)["t"]
        quick.timeout = 60.0  # a generous limit for the next call, on a loaded machine too
        assert quick.call("slow", {"seconds": 0}).text == "slept 0.0"
    finally:
        quick.close()


def test_prefix_filter_and_approval() -> None:
    asked: list[str] = []

    def approver(call, tool) -> bool:
        asked.append(call.name)
        return call.arguments != '{"city": "Nowhere"}'

    server = demo(
        name="shop",
        prefix=True,
        tool_filter={"allow": ["forecast", "pid", "big"], "deny": ["big"]},
        requires_approval=["forecast"],
    )
    try:
        assert sorted(t.name for t in server.tools()) == ["shop_forecast", "shop_pid"]
        model = ScriptedModel(
            [
                tool_calls_response(
                    tool_call("shop_forecast", {"city": "Rome"}, id="yes"),
                    tool_call("shop_forecast", {"city": "Nowhere"}, id="no"),
                    tool_call("shop_pid", {}, id="free"),
                ),
                "done",
            ]
        )
        result = Agent(model, plugins=[server], approver=approver).run("go")
        out = tool_messages(result)
        assert json.loads(out["yes"])["city"] == "Rome"
        assert out["no"].startswith("denied") or "denied" in out["no"]
        assert asked == ["shop_forecast", "shop_forecast"]  # pid needs no approval
        assert out["free"].isdigit()
    finally:
        server.close()


def test_a_too_large_result_is_an_error_naming_server_and_fix() -> None:
    server = demo(name="bulk", max_result_chars=1000)
    try:
        result, _ = _run(server, tool_call("big", {"chars": 5000}, id="b"))
        text = tool_messages(result)["b"]
        assert "tool 'big' of MCP server 'bulk' returned 5000 characters" in text
        assert "max_result_chars=1000" in text and "MCPServer(max_result_chars=...)" in text
    finally:
        server.close()


def test_list_changed_refreshes_the_cached_tool_list() -> None:
    server = demo()
    try:
        first = [t.name for t in server.tools()]
        assert "extra" not in first and server.tools() is not None
        result, _ = _run(server, tool_call("grow", {}, id="g"))
        assert tool_messages(result)["g"] == "grown"
        import time

        deadline = time.monotonic() + 10
        while "extra" not in [t.name for t in server.tools()] and time.monotonic() < deadline:
            time.sleep(0.05)  # the notification arrives on the listen stream, asynchronously
        result, _ = _run(server, tool_call("extra", {}, id="x"))
        assert tool_messages(result)["x"] == "extra!"
    finally:
        server.close()


def test_the_servers_schema_is_sanitized_per_provider_like_any_other(server: MCPServer) -> None:
    from agentloop.providers.registry import provider_tool_definitions

    order = next(t for t in server.tools() if t.name == "place_order")
    (sent,) = provider_tool_definitions("gemini:gemini-2.5-flash", [order.definition])
    parameters = sent["function"]["parameters"]
    assert "$defs" not in json.dumps(parameters)  # Gemini takes no $ref: inlined
    assert parameters["properties"]["ship_to"]["properties"]["country"]["enum"] == [
        "FR",
        "DE",
        "US",
    ]
    assert order.parameters["properties"]["ship_to"] == {"$ref": "#/$defs/Address"}  # unchanged
