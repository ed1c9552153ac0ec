"""A real recorded run for the viewer tests: an agent over HTTP against a scripted local server.

The run has everything the viewer must show: instructions and a user turn, two parallel tool
calls, a tool that fails, a tool that is denied, a 1 MB tool result, a tool result that contains
``<script>``, text in pieces, and usage with reasoning tokens.
"""

from __future__ import annotations

import time

from fakeserver import FakeServer, chunk, sse_reply, tool_call_chunk

from agentloop import Agent, tool
from agentloop.tracing import TraceEvent, TraceRecorder

SCRIPT_RESULT = '<script>window.__pwned = 1; document.title = "pwned"</script><img src=x onerror="window.__pwned=2">'
BIG = 1024 * 1024


@tool
def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: The city's name.
    """
    time.sleep(0.05)
    return f"{city}: 18 °C, light rain"


@tool
def fetch_page(url: str) -> str:
    """Fetch a web page.

    Args:
        url: The page's address.
    """
    if "evil" in url:
        return SCRIPT_RESULT
    return ("<html>" + "lorem ipsum dolor sit amet " * 40 + "\n") * (BIG // 1087 + 1)


@tool
def book_table(restaurant: str) -> str:
    """Book a table.

    Args:
        restaurant: Where.
    """
    raise ValueError(f"{restaurant} is fully booked tonight")


@tool(requires_approval=True)
def send_email(to: str, body: str) -> str:
    """Send an email.

    Args:
        to: The address.
        body: The text.
    """
    return "sent"


def _usage(prompt: int, completion: int, reasoning: int) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def recorded_run() -> list[TraceEvent]:
    """Run the agent over real HTTP and return its trace events."""
    events: list[TraceEvent] = []
    with FakeServer() as server:
        server.script(
            sse_reply(
                [
                    chunk(role="assistant", content="Let me check both cities."),
                    tool_call_chunk("call_1", "get_weather", '{"city": "Paris"}'),
                    tool_call_chunk("call_2", "get_weather", '{"city": "Lyon"}', index=1),
                    chunk(finish="tool_calls", usage=_usage(212, 41, 16)),
                ]
            ),
            sse_reply(
                [
                    tool_call_chunk("call_3", "fetch_page", '{"url": "https://example.org/menu"}'),
                    tool_call_chunk("call_4", "fetch_page", '{"url": "https://evil.example"}', index=1),
                    chunk(finish="tool_calls", usage=_usage(301, 30, 8)),
                ]
            ),
            sse_reply(
                [
                    tool_call_chunk("call_5", "book_table", '{"restaurant": "Chez Nous"}'),
                    tool_call_chunk("call_6", "send_email", '{"to": "ann@example.org", "body": "Booked!"}', index=1),
                    chunk(finish="tool_calls", usage=_usage(1450, 33, 12)),
                ]
            ),
            sse_reply(
                [
                    chunk(content="Paris: 18 °C and light rain. "),
                    chunk(content="Chez Nous is fully booked, and I was not allowed to send the email."),
                    chunk(finish="stop", usage=_usage(1502, 28, 0)),
                ]
            ),
        )  # fmt: skip
        agent = Agent(
            "local:weather-model",
            base_url=server.base_url,
            api_key="sk-viewer-test-key",
            name="evening-planner",
            instructions="You plan evenings out. Use the tools; never invent facts.",
            tools=[get_weather, fetch_page, book_table, send_email],
            plugins=[TraceRecorder(events.append)],
            load_plugins=False,
            stream=True,
            max_result_chars=2 * BIG,  # the 1 MB page reaches the trace whole
        )
        agent.run("What's the weather in Paris and Lyon, and can you book Chez Nous?")
    return events


def long_run(steps: int) -> list[TraceEvent]:
    """The trace of a ``steps``-step run, each step one model call and one tool call.

    Built directly (the loop's own cost for 1,000 steps is not what the viewer test measures).
    """
    run_id, clock = "long-run", 1_700_000_000.0
    data: list[tuple[str, dict]] = [
        ("run_started", {"agent": "long", "model": "scripted", "instructions": "Loop.",
                         "prompt": "go", "messages": [{"role": "user", "content": "go"}]}),
    ]  # fmt: skip
    for i in range(1, steps + 1):
        last = i == steps
        call = (
            []
            if last
            else [{"id": f"c{i}", "name": "get_weather", "arguments": f'{{"city": "city {i}"}}'}]
        )
        data.append(("model_request", {"step": i, "messages": [], "messages_from": 2 * i - 1,
                                       "message_count": 2 * i - 1, "params": {}}))  # fmt: skip
        data.append(("model_response", {
            "step": i, "text": "done" if last else None, "tool_calls": call,
            "finish_reason": "stop" if last else "tool_calls", "started_at": clock, "duration": 0.02,
            "usage": {"prompt_tokens": 100 + i, "completion_tokens": 10, "total_tokens": 110 + i},
        }))  # fmt: skip
        clock += 0.02
        if not last:
            data.append(("tool_call", {"step": i, "call_id": f"c{i}", "name": "get_weather",
                                       "arguments": call[0]["arguments"], "status": "ok",
                                       "is_error": False, "content": f"city {i}: sunny",
                                       "started_at": clock, "duration": 0.005}))  # fmt: skip
            clock += 0.005
    data.append(("run_finished", {"output": "done", "stop_reason": "stop", "steps": 2 * steps - 1,
                                  "duration": clock - 1_700_000_000.0}))  # fmt: skip
    return [
        TraceEvent(type=kind, run_id=run_id, seq=n, time=clock, data=fields)
        for n, (kind, fields) in enumerate(data)
    ]
