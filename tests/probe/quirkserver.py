"""A real chat-completions server on 127.0.0.1 whose quirks switch on and off, one by one.

Its "model" is deterministic: with tools it calls the tools the prompt names (both at once
when it names two, or says "twice"), or the forced one; after a tool result it answers in
text. Each quirk reproduces what a real server does, and is off unless switched on:

=========================  ==================================================================
quirk                      source
=========================  ==================================================================
null_content_rejected      LM Studio, Ollama, Mistral, llama-cpp-python: ``content: null``
                           next to ``tool_calls`` is a 400 (issue 23; docs/providers.md)
empty_content_rejected     Bedrock-backed providers: ``content: ""`` next to ``tool_calls`` is a
                           400, "The text field in the ContentBlock object ... is blank"
                           (issue 23); with null_content_rejected only "absent" is left
include_usage_rejected     Mistral: ``stream_options`` is a 422 (issue 23)
typed_content_rejected     llama.cpp: "type must be string" for content parts (issue 23)
two_system_rejected        chat templates that allow one leading system message only
                           (llama.cpp / HF templates: "System message must be at the beginning")
tool_choice_ignored        Ollama #17921 (ollama PR #17935): forced and "none" are ignored
stream_tools_refused       llama-cpp-python: an empty 200 for streamed tools + auto
parallel_ignored           vLLM #9451 (until PR #26233), SGLang #9696: ``parallel_tool_calls:
                           false`` accepted, and several calls come back anyway
auto_tool_choice_off       vLLM started without tool-call flags: tools with ``auto`` (or no
                           choice, which vLLM reads as ``auto``) are an opaque 400, '"auto" tool
                           choice requires --enable-auto-tool-choice and --tool-call-parser to
                           be set'; named and ``required`` choices work (guided decoding)
reasoning=FIELD            a reasoning model whose thinking must be echoed on tool-call turns:
                           ``reasoning_content`` is DeepSeek's thinking mode (a 400, "Missing
                           `reasoning_content` field in the assistant message at message index
                           N", api-docs.deepseek.com/guides/thinking_mode); ``reasoning`` is
                           vLLM's name since PR #27752 (it reads only ``reasoning`` back,
                           #38488, and drops the thinking silently: here a 400, so a test sees it)
context_window=N           llama.cpp: "This model's maximum context length is N tokens"
=========================  ==================================================================
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["QuirkServer"]


def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": "invalid_request_error"}}


class QuirkServer:
    """Start with ``with QuirkServer({"null_content_rejected"}) as server: server.base_url``."""

    def __init__(
        self,
        quirks: set[str] = frozenset(),  # type: ignore[assignment]
        context_window: int | None = None,
        reasoning: str | None = None,
    ) -> None:
        self.quirks = set(quirks)
        self.context_window = context_window
        self.reasoning = reasoning
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(
                        200, {"object": "list", "data": [{"id": "quirky", "object": "model"}]}
                    )
                else:
                    self._json(*_error(404, f"no {self.path}"))

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(size) or b"{}")
                if self.path != "/v1/chat/completions":
                    self._raw(404, b"<html><body>Not Found</body></html>", "text/html")
                    return
                owner.requests.append(body)
                refusal = owner.refusal(body)
                if refusal:
                    self._json(*refusal)
                    return
                message = owner.answer(body)
                if body.get("stream"):
                    self._stream(body, message)
                else:
                    self._json(200, {"id": "c1", "object": "chat.completion", "model": "quirky",
                                     "choices": [{"index": 0, "message": message,
                                                  "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
                                     "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})  # fmt: skip

            def _stream(self, body: dict[str, Any], message: dict[str, Any]) -> None:
                if (
                    "stream_tools_refused" in owner.quirks
                    and body.get("tools")
                    and body.get("tool_choice", "auto") == "auto"
                ):
                    self._raw(200, b"", "text/event-stream")
                    return
                chunks: list[dict[str, Any]] = [
                    {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
                ]
                thought = message.get(owner.reasoning or "")
                for piece in (thought[:9], thought[9:]) if thought else ():
                    delta = {"content": None, str(owner.reasoning): piece}  # in two pieces
                    chunks.append({"choices": [{"index": 0, "delta": delta}]})
                if message.get("content"):
                    chunks.append(
                        {"choices": [{"index": 0, "delta": {"content": message["content"]}}]}
                    )
                for i, call in enumerate(message.get("tool_calls") or ()):
                    chunks.append(
                        {"choices": [{"index": 0, "delta": {"tool_calls": [{**call, "index": i}]}}]}
                    )
                finish = "tool_calls" if message.get("tool_calls") else "stop"
                chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
                if (body.get("stream_options") or {}).get("include_usage"):
                    chunks.append(
                        {
                            "choices": [],
                            "usage": {
                                "prompt_tokens": 5,
                                "completion_tokens": 3,
                                "total_tokens": 8,
                            },
                        }
                    )
                data = (
                    b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks)
                    + b"data: [DONE]\n\n"
                )
                self._raw(200, data, "text/event-stream")

            def _json(self, status: int, payload: Any) -> None:
                self._raw(status, json.dumps(payload).encode(), "application/json")

            def _raw(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> QuirkServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def refusal(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """The error a quirk answers this request with, or None."""
        messages = body.get("messages") or []
        q = self.quirks
        if "include_usage_rejected" in q and "stream_options" in body:
            return _error(422, "Extra inputs are not permitted: stream_options")
        if "typed_content_rejected" in q and any(
            isinstance(m.get("content"), list) for m in messages
        ):
            return _error(400, "[json.exception.type_error.302] type must be string, but is array")
        systems = [i for i, m in enumerate(messages) if m.get("role") == "system"]
        if "two_system_rejected" in q and (len(systems) > 1 or systems and systems[0] != 0):
            return _error(400, "System message must be at the beginning.")
        if "null_content_rejected" in q and any(
            m.get("role") == "assistant" and m.get("tool_calls") and m.get("content", "") is None
            for m in messages
        ):
            return _error(400, "messages.1.content: Input should be a valid string")
        if (
            "auto_tool_choice_off" in q
            and body.get("tools")
            and body.get("tool_choice", "auto") == "auto"
        ):
            return _error(400, '"auto" tool choice requires --enable-auto-tool-choice and '
                               "--tool-call-parser to be set")  # fmt: skip
        if self.reasoning:
            for i, m in enumerate(messages):
                if (
                    m.get("role") == "assistant"
                    and m.get("tool_calls")
                    and not m.get(self.reasoning)
                ):
                    return _error(400, f"Missing `{self.reasoning}` field in the assistant "
                                       f"message at message index {i}")  # fmt: skip
        for i, m in enumerate(messages):
            if "empty_content_rejected" in q and m.get("tool_calls") and m.get("content") == "":
                return _error(400, f"The text field in the ContentBlock object at messages.{i}"
                                   ".content.0 is blank. Add text to the text field, and try "
                                   "again.")  # fmt: skip
        if self.context_window is not None:
            size = len(json.dumps(messages)) // 4
            if size > self.context_window:
                return _error(400, f"This model's maximum context length is {self.context_window} "
                                   f"tokens. However, you requested {size} tokens.")  # fmt: skip
        return None

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The deterministic model: a tool call when one is asked for, else text."""
        messages = body.get("messages") or []
        tools = [t["function"]["name"] for t in body.get("tools") or ()]
        choice = body.get("tool_choice", "auto")
        if "tool_choice_ignored" in self.quirks:
            choice = "auto"
        last = messages[-1] if messages else {}
        if not tools or choice == "none" or last.get("role") == "tool":
            return {
                "role": "assistant",
                "content": "done" if last.get("role") == "tool" else "hello",
            }
        text = str(last.get("content"))
        if isinstance(choice, dict):
            names = [choice["function"]["name"]]
        else:
            names = [t for t in tools if t in text] or (tools[:1] if choice == "required" else [])
            if len(names) == 1 and "twice" in text:
                names *= 2
        if not names:
            return {"role": "assistant", "content": "hello"}
        if body.get("parallel_tool_calls") is False and "parallel_ignored" not in self.quirks:
            names = names[:1]
        calls = [
            {"id": f"call_{len(self.requests)}_{i}", "type": "function",
             "function": {"name": name, "arguments": json.dumps({"city": "Paris"})}}
            for i, name in enumerate(names)
        ]  # fmt: skip
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": calls}
        if self.reasoning:
            message[self.reasoning] = f"The user wants {', '.join(names)}: call it."
        return message
