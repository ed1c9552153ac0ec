"""A deterministic model server for batch and async tests: one tool call, then an answer.

``echo_server(delay)`` answers each chat-completions request after ``delay``
seconds: a request whose last message is from the user gets a call of
``shout(text=<the prompt>)``; one whose last message is a tool result gets
the final answer ``done: <tool result>``. Both as JSON or as SSE (``stream``),
with usage, so runs over it are deterministic and do two model calls each.
"""

from __future__ import annotations

import json
from typing import Any

from fakeserver import FakeServer, Reply, Request, chunk, completion, json_reply, sse_reply

from agentloop import Agent, ChatClient, ChatModel, tool

USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


@tool
def shout(text: str) -> str:
    """Shout the text.

    Args:
        text: What to shout.
    """
    return text.upper()


def answer(request: Request, delay: float = 0.0) -> Reply:
    """The echo model's reply to ``request``."""
    body = request.json
    last = body["messages"][-1]
    if last["role"] == "tool":
        text = f"done: {last['content']}"
        message: dict[str, Any] = {"content": text}
        calls = None
    else:
        prompt = last["content"]
        if "fail" in prompt:
            return json_reply({"error": {"message": "bad prompt"}}, status=400)
        calls = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "shout", "arguments": json.dumps({"text": prompt})},
            }
        ]
        message = {"content": None, "tool_calls": calls}
    if body.get("stream"):
        parts: list[Any] = [delay] if delay else []
        if calls:
            parts.append(chunk(tool_calls=[{"index": 0, **calls[0]}]))
            parts.append(chunk(finish="tool_calls"))
        else:
            parts.append(chunk(content=message["content"]))
            parts.append(chunk(finish="stop"))
        parts.append(chunk(choices=False, usage=USAGE))
        return sse_reply(parts)
    reply = json_reply(
        completion(
            message["content"],
            tool_calls=calls,
            finish="tool_calls" if calls else "stop",
            usage=USAGE,
        )
    )
    reply.delay = delay
    return reply


def echo_server(delay: float = 0.0) -> FakeServer:
    """A started server answering every request with :func:`answer`."""
    server = FakeServer().start()
    server.default = lambda request: answer(request, delay)
    return server


def echo_agent(base_url: str, **kwargs: Any) -> Agent:
    """An agent with the ``shout`` tool on the echo server."""
    model = ChatModel(ChatClient(base_url=base_url, api_key="sk-test", max_retries=0), "echo")
    kwargs.setdefault("load_plugins", False)
    return Agent(model, tools=[shout], **kwargs)
