"""arun / astream: the same run as run / stream, off the event loop, and cancellable."""

from __future__ import annotations

import asyncio
import sys
import threading
import traceback
from typing import Any

import pytest
from batch_support import answer, echo_agent, echo_server, shout
from fakeserver import trickle_reply

from agentloop import Agent, ChatClient, ChatModel, RunFinished, hookimpl, tool


@pytest.fixture
def server() -> Any:
    s = echo_server()
    yield s
    s.stop()


def _summary(result: Any) -> tuple[Any, ...]:
    roles = [m["role"] for m in result.messages]
    return result.output, result.stop_reason, result.usage, roles


def test_arun_gives_the_result_run_gives(server: Any) -> None:
    agent = echo_agent(server.base_url)
    expected = agent.run("hello")
    got = asyncio.run(agent.arun("hello"))
    assert _summary(got) == _summary(expected)
    assert got.output == "done: HELLO"


def test_astream_yields_the_events_stream_yields(server: Any) -> None:
    agent = echo_agent(server.base_url)

    async def collect() -> list[Any]:
        return [event async for event in agent.astream("hello", deps={"a": 1})]

    got = asyncio.run(collect())
    expected = list(agent.stream("hello", deps={"a": 1}))
    assert [type(e).__name__ for e in got] == [type(e).__name__ for e in expected]
    assert isinstance(got[-1], RunFinished)
    assert _summary(got[-1].result) == _summary(expected[-1].result)


def test_many_concurrent_aruns_on_one_event_loop(server: Any) -> None:
    agent = echo_agent(server.base_url)

    async def many() -> list[Any]:
        return await asyncio.gather(*(agent.arun(f"p{n}") for n in range(20)))

    results = asyncio.run(many())
    assert [r.output for r in results] == [f"done: P{n}" for n in range(20)]


def _threads_in_model_calls() -> list[str]:
    """Names of threads whose stack is inside the HTTP client right now."""
    busy = []
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        files = [f.filename for f in traceback.extract_stack(frame)]
        if any(name.endswith(("client/chat.py", "client/sse.py")) for name in files):
            busy.append(names.get(ident, str(ident)))
    return busy


@pytest.mark.parametrize("stream_mode", [None, True], ids=["create", "stream"])
def test_cancel_closes_the_response_and_attaches_the_partial_result(
    server: Any, stream_mode: Any
) -> None:
    # retries on: a closed stream must not be re-sent
    client = ChatClient(base_url=server.base_url, api_key="k", max_retries=2)
    agent = Agent(ChatModel(client, "echo"), tools=[shout], load_plugins=False, stream=stream_mode)
    server.script(answer, trickle_reply(every=0.02))  # the 2nd model call never ends

    async def main() -> BaseException:
        task = asyncio.create_task(agent.arun("hello"))
        while len(server.requests) < 2:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as info:
            await task
        return info.value

    error = asyncio.run(main())
    partial = error.agentloop_result  # type: ignore[attr-defined]
    assert partial.stop_reason == "cancelled"
    assert [m["role"] for m in partial.messages] == ["user", "assistant", "tool"]
    assert _threads_in_model_calls() == []  # nobody is left reading the response
    assert len(server.requests) == 2  # and it was not retried


def test_cancel_gives_unfinished_tool_calls_a_cancelled_result(server: Any) -> None:
    release = threading.Event()
    entered = threading.Event()

    @tool(sequential=True)
    def slow(text: str) -> str:
        """Wait until released.

        Args:
            text: Anything.
        """
        entered.set()
        release.wait(10)
        return "slow done"

    def two_calls(request: Any) -> Any:
        from fakeserver import completion, json_reply

        calls = [
            {
                "id": f"c{n}",
                "type": "function",
                "function": {"name": "slow", "arguments": '{"text": "x"}'},
            }
            for n in (1, 2)
        ]
        return json_reply(completion(None, tool_calls=calls, finish="tool_calls"))

    server.script(two_calls)
    client = ChatClient(base_url=server.base_url, api_key="k", max_retries=0)
    agent = Agent(ChatModel(client, "echo"), tools=[slow], load_plugins=False)

    async def main() -> BaseException:
        task = asyncio.create_task(agent.arun("go"))
        while not entered.is_set():
            await asyncio.sleep(0.005)
        task.cancel()
        asyncio.get_running_loop().call_later(0.05, release.set)  # the running tool returns
        with pytest.raises(asyncio.CancelledError) as info:
            await task
        return info.value

    partial = asyncio.run(main()).agentloop_result  # type: ignore[attr-defined]
    tools = [m for m in partial.messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tools] == ["c1", "c2"]
    assert tools[0]["content"] == "slow done"
    assert tools[1]["content"].startswith("cancelled:")
    assert partial.stop_reason == "cancelled"


def test_leaving_astream_early_cancels_the_run(server: Any) -> None:
    ended: list[Any] = []

    class Watch:
        @hookimpl
        def agentloop_run_end(self, context: Any, result: Any, error: Any) -> None:
            ended.append(result.stop_reason)

    agent = echo_agent(server.base_url)
    agent.plugin_manager.register(Watch())

    async def first_event() -> Any:
        async for event in agent.astream("hello"):
            return event
        return None

    assert asyncio.run(first_event()) is not None
    assert ended == ["cancelled"]


def test_cancelling_astream_attaches_the_partial_result(server: Any) -> None:
    agent = echo_agent(server.base_url)
    server.script(answer, trickle_reply(every=0.02))

    async def main() -> BaseException:
        seen: list[Any] = []

        async def consume() -> None:
            async for event in agent.astream("hello"):
                seen.append(event)

        task = asyncio.create_task(consume())
        while len(server.requests) < 2:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as info:
            await task
        assert seen  # the first turn's events arrived before the cancel
        return info.value

    partial = asyncio.run(main()).agentloop_result  # type: ignore[attr-defined]
    assert partial.stop_reason == "cancelled"
    assert _threads_in_model_calls() == []


def test_async_tools_work_inside_async_runs(server: Any) -> None:
    @tool(name="shout")
    async def async_shout(text: str) -> str:
        """Shout, asynchronously.

        Args:
            text: What to shout.
        """
        await asyncio.sleep(0)
        return text.upper() + "!"

    client = ChatClient(base_url=server.base_url, api_key="k", max_retries=0)
    agent = Agent(ChatModel(client, "echo"), tools=[async_shout], load_plugins=False)
    assert asyncio.run(agent.arun("hey")).output == "done: HEY!"
