"""Benchmark an MCP tool call through a warm stdio server: agentloop's own time over the SDK's.

Two copies of the same SDK-written server run as subprocesses. Calls
alternate between them: one through the SDK's ``Client.call_tool`` in a
plain asyncio loop (the baseline: the server's time plus the SDK's), one
through agentloop exactly as a run makes it (argument validation against the
server's schema with ``Tool.parse_arguments``, then ``MCPServer``'s
``agentloop_call_tool``: the hop to the background event loop, the SDK call,
the result mapping). The difference of the fastest calls (timeit's rule:
the minimum is the least disturbed by other load) is agentloop's own time
per call; the budget is 2 ms. Medians are printed too. Starting a server is paid once per agent, so it
is measured separately and not counted per call.

Usage: ``python benchmarks/bench_mcp.py [--quick]``; ``benchmarks/run.py`` calls ``main``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from agentloop_mcp import MCPServer

from agentloop import ToolCall

SERVER = (
    Path(__file__).resolve().parent.parent / "plugins/agentloop-mcp/tests/servers/demo_server.py"
)
ARGUMENTS = (
    '{"items": [{"sku": "KB-1", "quantity": 2}], "ship_to": {"city": "Lyon", "country": "FR"}}'
)
BUDGET = 0.002

Row = tuple[str, float, float, str]


async def _measure(calls: int) -> dict[str, float]:
    from mcp import Client, StdioServerParameters

    started = time.perf_counter()
    server = MCPServer.stdio(sys.executable, args=[str(SERVER)])
    tool = next(t for t in server.tools() if t.name == "place_order")
    startup = time.perf_counter() - started
    call = ToolCall(id="bench", name="place_order", arguments=ARGUMENTS)
    raw_args = tool.parse_arguments(ARGUMENTS)
    ours: list[float] = []
    theirs: list[float] = []
    params = StdioServerParameters(command=sys.executable, args=[str(SERVER)])
    try:
        async with Client(params) as client:
            for i in range(calls + 10):
                t0 = time.perf_counter()
                await client.call_tool("place_order", dict(raw_args))
                t1 = time.perf_counter()
                arguments = tool.parse_arguments(call.arguments)
                result = server.agentloop_call_tool(call=call, tool=tool, arguments=arguments)
                t2 = time.perf_counter()
                assert result is not None and not result.is_error, result
                if i >= 10:  # warm-up done
                    theirs.append(t1 - t0)
                    ours.append(t2 - t1)
    finally:
        server.close()
    return {
        "agentloop": min(ours),
        "sdk": min(theirs),
        "agentloop_median": statistics.median(ours),
        "sdk_median": statistics.median(theirs),
        "startup": startup,
    }


def measure(calls: int) -> dict[str, float]:
    """Seconds per call through agentloop and through the bare SDK (fastest and median), start-up."""
    return asyncio.run(_measure(calls))


def main(quick: bool = False) -> list[Row]:
    """Rows for ``benchmarks/run.py``."""
    r = measure(50 if quick else 400)
    return [("mcp: tool call, warm stdio server", r["agentloop"], r["sdk"], "SDK Client.call_tool")]


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    args = parser.parse_args(argv)
    r = measure(50 if args.quick else 400)
    own = r["agentloop"] - r["sdk"]
    print(
        f"SDK Client.call_tool (server + SDK):   {r['sdk'] * 1e3:7.3f} ms per call "
        f"(median {r['sdk_median'] * 1e3:.3f} ms)"
    )
    print(
        f"through agentloop (validate + call):   {r['agentloop'] * 1e3:7.3f} ms per call "
        f"(median {r['agentloop_median'] * 1e3:.3f} ms)"
    )
    print(
        f"agentloop's own time per call:         {own * 1e3:7.3f} ms (budget {BUDGET * 1e3:.0f} ms)"
    )
    print(f"server start (once per agent):         {r['startup'] * 1e3:7.1f} ms")
    return 0 if own <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(_cli())
