"""Helpers of the team tests: agents on a real local server (tests/fakeserver.py), replies
scripted as JSON bodies or SSE streams."""

from __future__ import annotations

import json
from typing import Any

from fakeserver import FakeServer, Reply, chunk, completion, json_reply, sse_reply, tool_call_chunk

from agentloop import Agent

USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def agent(server: FakeServer, **kwargs: Any) -> Agent:
    """An agent talking to ``server`` (plugin autoloading off)."""
    kwargs.setdefault("load_plugins", False)
    return Agent("local:fake-model", base_url=server.base_url, api_key="sk-test", **kwargs)


def text(content: str, *, stream: bool) -> Reply:
    """A plain answer, as a JSON body or an SSE stream."""
    if stream:
        return sse_reply([chunk(content=content[:3]), chunk(content=content[3:]),
                          chunk(finish="stop", usage=USAGE)])  # fmt: skip
    return json_reply(completion(content, usage=USAGE))


def calls(*pairs: tuple[str, dict[str, Any]], stream: bool, prefix: str = "c") -> Reply:
    """A turn of tool calls ``(name, arguments)``."""
    if stream:
        events = [
            tool_call_chunk(f"{prefix}{i}", name, json.dumps(args), index=i)
            for i, (name, args) in enumerate(pairs)
        ]
        return sse_reply([*events, chunk(finish="tool_calls", usage=USAGE)])
    wire = [
        {"id": f"{prefix}{i}", "type": "function",
         "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(pairs)
    ]  # fmt: skip
    return json_reply(completion(None, tool_calls=wire, finish="tool_calls", usage=USAGE))


def transfer(name: str, *, stream: bool, prefix: str = "t") -> Reply:
    """A turn that calls the transfer tool for ``name``."""
    return calls(("transfer_to_agent", {"agent_name": name}), stream=stream, prefix=prefix)


def run(agent_: Agent, prompt: str, *, stream: bool, **kwargs: Any) -> Any:
    """Run streamed (consuming ``Agent.stream``) or not; return the result."""
    if not stream:
        return agent_.run(prompt, **kwargs)
    final = None
    for event in agent_.stream(prompt, **kwargs):
        final = getattr(event, "result", final)
    return final
