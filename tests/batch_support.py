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


AGENT_FILE = '''"""The echo agent for batch tests (written by tests/batch_support.py)."""

from agentloop import Agent, ChatClient, ChatModel, tool


@tool
def shout(text: str) -> str:
    """Shout the text.

    Args:
        text: What to shout.
    """
    return text.upper()


agent = Agent(
    ChatModel(ChatClient(base_url={base_url!r}, api_key="sk-test", max_retries=0), "echo"),
    tools=[shout],
    load_plugins=False,
)
'''


def write_agent_file(directory: Any, base_url: str) -> str:
    """Write a TARGET file whose ``agent`` talks to the echo server; return its path."""
    path = directory / "echo_agent.py"
    path.write_text(AGENT_FILE.format(base_url=base_url), encoding="utf-8")
    return str(path)


def write_jsonl(path: Any, rows: list[Any]) -> str:
    """Write ``rows`` as JSON lines (a bytes row is written as is, e.g. a malformed line)."""
    lines = [row.decode() if isinstance(row, bytes) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def read_jsonl(path: Any) -> list[dict[str, Any]]:
    """The output file's lines, parsed."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def need_ray() -> Any:
    """Import Ray; fail loudly when it is missing (skip only with AGENTLOOP_ALLOW_SKIP=1)."""
    import os

    import pytest

    try:
        import ray
    except ImportError:
        if os.environ.get("AGENTLOOP_ALLOW_SKIP") == "1":
            pytest.skip("Ray is not installed (AGENTLOOP_ALLOW_SKIP=1)")
        raise AssertionError(
            "the Ray engine tests need Ray: pip install 'agentloop[ray]' "
            "(scripts/test.sh does; AGENTLOOP_ALLOW_SKIP=1 skips them)"
        ) from None
    return ray
