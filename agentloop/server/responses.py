"""``POST /v1/responses`` for ``agentloop serve``: the Responses API over the served chat model.

The OpenAI Agents SDK (and ``client.responses.create``) speaks the Responses API by
default; this module translates such a request into one chat-completions call of
the served model and the answer back, so those clients work against ``serve``
without switching to chat completions.

What is translated:

* ``instructions`` becomes a first system message; ``input`` (a string or a list of
  items) becomes messages: ``message`` items (``input_text``/``output_text``/
  ``refusal``/``input_image`` parts), ``function_call`` items (consecutive ones
  join one assistant turn) and ``function_call_output`` items (tool messages);
  ``reasoning`` items are dropped (the chat model has nowhere to take them).
* Function ``tools``, ``tool_choice``, ``parallel_tool_calls``, ``temperature``,
  ``top_p``, ``max_output_tokens`` (as ``max_tokens``) and ``text.format``
  (``json_object``/``json_schema``, as ``response_format``).
* Nothing is stored: ``previous_response_id`` and ``conversation`` are a 400 that
  says to send the whole conversation in ``input``; hosted tools (web search, file
  search, ...) are a 400 naming the tool. Other fields the SDK sends (``store``,
  ``include``, ``truncation``, ``reasoning``, ``metadata``) are accepted and ignored,
  except that ``metadata`` is echoed back.

Streamed, the events are ``response.created``, ``response.in_progress``, per item
``response.output_item.added``, ``response.content_part.added``,
``response.output_text.delta``/``.done`` or ``response.function_call_arguments.delta``/
``.done``, ``response.content_part.done``, ``response.output_item.done``, and last
``response.completed`` (or ``response.failed`` when the model fails mid-stream).
The final ``call_id`` of a function call is the assembled response's (a model that
sent none, or a duplicate, gets one synthesized): ``output_item.done`` and
``response.completed`` carry it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

from agentloop.deltas import RefusalDelta, TextDelta, ToolCallDelta
from agentloop.errors import BadRequestError
from agentloop.messages import ChatResponse, Usage, depth_exceeds
from agentloop.protocols import ChatStreamLike, Model
from agentloop.server.framing import MAX_JSON_DEPTH
from agentloop.server.wire import error_for_exception
from agentloop.wire.build import error_body

__all__ = ["answer", "chat_request", "parse", "response_object", "stream_events"]

_PASSED = ("temperature", "top_p", "parallel_tool_calls", "user")
_TEXT_PARTS = ("input_text", "output_text", "text")


def _bad(message: str, *, param: str | None = None) -> BadRequestError:
    body = error_body(message=message, type="invalid_request_error", param=param)
    return BadRequestError(message, status_code=400, body=body)


def parse(raw: bytes) -> dict[str, Any]:
    """Decode a Responses request and check its envelope.

    Raises:
        BadRequestError: Not a JSON object, too deeply nested, no ``model``/``input``.
    """
    try:
        request = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _bad("We could not parse the JSON body of your request.") from exc
    if not isinstance(request, dict):
        raise _bad("The request body must be a JSON object.")
    if depth_exceeds(request, MAX_JSON_DEPTH):
        raise _bad(f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.")
    if not isinstance(request.get("model"), str) or not request["model"]:
        raise _bad("you must provide a model parameter", param="model")
    for stored in ("previous_response_id", "conversation"):
        if request.get(stored):
            raise _bad(
                f"This server stores no responses, so {stored!r} cannot be used; send the "
                "whole conversation in 'input' (and store=false).",
                param=stored,
            )
    if request.get("input") in (None, "", []):
        raise _bad("Missing required parameter: 'input'.", param="input")
    if not isinstance(request.get("stream", False) or False, bool):
        raise _bad("Invalid type for 'stream': expected a boolean.", param="stream")
    return request


def chat_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """The chat-completions keyword arguments (``messages``, ``tools``, ...) of a Responses request.

    Raises:
        BadRequestError: An input item, tool or format this server cannot translate.
    """
    messages: list[dict[str, Any]] = []
    if request.get("instructions"):
        messages.append({"role": "system", "content": str(request["instructions"])})
    given = request["input"]
    items = [{"role": "user", "content": given}] if isinstance(given, str) else given
    if not isinstance(items, list):
        raise _bad("'input' must be a string or a list of items.", param="input")
    for k, item in enumerate(items):
        _add_item(messages, item, f"input[{k}]")
    out: dict[str, Any] = {"messages": messages}
    if request.get("tools"):
        out["tools"] = [_tool(t, f"tools[{k}]") for k, t in enumerate(request["tools"])]
    choice = request.get("tool_choice")
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif isinstance(choice, str):
        out["tool_choice"] = choice
    elif choice is not None:
        raise _bad(f"Unsupported tool_choice {choice!r}.", param="tool_choice")
    for name in _PASSED:
        if request.get(name) is not None:
            out[name] = request[name]
    if request.get("max_output_tokens") is not None:
        out["max_tokens"] = request["max_output_tokens"]
    fmt = (request.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_object":
        out["response_format"] = {"type": "json_object"}
    elif fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        out["response_format"] = {"type": "json_schema", "json_schema": schema}
    return out


def _add_item(messages: list[dict[str, Any]], item: Any, where: str) -> None:
    if not isinstance(item, Mapping):
        raise _bad(f"{where} must be an object.", param=where)
    kind = item.get("type") or ("message" if "role" in item else None)
    if kind == "message":
        role = item.get("role")
        if role not in ("user", "system", "developer", "assistant"):
            raise _bad(f"{where}: unknown role {role!r}.", param=where)
        messages.append({"role": role, "content": _content(item.get("content"), where)})
    elif kind == "function_call":
        call = {
            "id": item.get("call_id") or item.get("id"),
            "type": "function",
            "function": {"name": item.get("name"), "arguments": item.get("arguments") or "{}"},
        }
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant" and not last.get("_closed"):
            last.setdefault("tool_calls", []).append(call)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        output = item.get("output")
        text = output if isinstance(output, str) else _joined(output)
        messages.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": text})
    elif kind != "reasoning":
        raise _bad(f"{where}: input items of type {kind!r} are not supported.", param=where)


def _content(content: Any, where: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad(f"{where}.content must be a string or a list of parts.", param=where)
    if all(isinstance(p, Mapping) and p.get("type") != "input_image" for p in content):
        return _joined(content)
    parts: list[dict[str, Any]] = []
    for part in content:
        if part.get("type") == "input_image":
            parts.append({"type": "image_url", "image_url": {"url": part.get("image_url")}})
        else:
            parts.append({"type": "text", "text": _joined([part])})
    return parts


def _joined(parts: Any) -> str:
    if not isinstance(parts, list):
        return "" if parts is None else json.dumps(parts)
    texts = [
        str(p.get("text") if p.get("type") in _TEXT_PARTS else p.get("refusal") or "")
        for p in parts
        if isinstance(p, Mapping)
    ]
    return "".join(texts)


def _tool(tool: Any, where: str) -> dict[str, Any]:
    if not isinstance(tool, Mapping) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, Mapping) else tool
        raise _bad(
            f"{where}: only function tools can be served (got {kind!r}); hosted tools need "
            "OpenAI's own endpoint.",
            param=where,
        )
    function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
    return {"type": "function", "function": function}


# -- the answer ----------------------------------------------------------------------------


def _usage(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
        "total_tokens": usage.total_tokens,
    }


def _envelope(request: Mapping[str, Any], meta: Mapping[str, Any], status: str) -> dict[str, Any]:
    return {
        "id": meta["id"],
        "object": "response",
        "created_at": meta["created"],
        "status": status,
        "model": meta["model"],
        "output": [],
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "metadata": request.get("metadata") or {},
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "temperature": request.get("temperature"),
        "top_p": request.get("top_p"),
        "max_output_tokens": request.get("max_output_tokens"),
        "tool_choice": request.get("tool_choice") or "auto",
        "tools": list(request.get("tools") or []),
        "text": request.get("text") or {"format": {"type": "text"}},
        "previous_response_id": None,
        "store": False,
        "usage": None,
    }


def _message_item(item_id: str, text: str, refusal: str | None, status: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if text or not refusal:
        parts.append({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
    if refusal:
        parts.append({"type": "refusal", "refusal": refusal})
    return {"type": "message", "id": item_id, "status": status, "role": "assistant",
            "content": parts}  # fmt: skip


def _call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    return {"type": "function_call", "id": item_id, "call_id": call_id, "name": name,
            "arguments": arguments, "status": status}  # fmt: skip


def response_object(
    response: ChatResponse, request: Mapping[str, Any], meta: Mapping[str, Any]
) -> dict[str, Any]:
    """The Responses ``response`` object of a chat model's answer.

    Args:
        response: The chat model's response (its first choice is used).
        request: The Responses request (echoed fields: tools, instructions, ...).
        meta: ``id``, ``created`` and ``model`` of the response.
    """
    body = _envelope(request, meta, "completed")
    choice = response.choices[0] if response.choices else None
    output: list[dict[str, Any]] = []
    if choice is not None:
        message = choice.message
        text = message.text if message.content is not None else ""
        if text or message.refusal:
            output.append(_message_item(f"msg_{meta['id'][5:]}", text, message.refusal,
                                        "completed"))  # fmt: skip
        for k, call in enumerate(message.tool_calls):
            output.append(_call_item(f"fc_{meta['id'][5:]}_{k}", call.id, call.name,
                                     call.arguments, "completed"))  # fmt: skip
        if choice.finish_reason in ("length", "content_filter"):
            body["status"] = "incomplete"
            reason = "max_output_tokens" if choice.finish_reason == "length" else "content_filter"
            body["incomplete_details"] = {"reason": reason}
    body["output"] = output
    body["usage"] = _usage(response.usage)
    return body


def new_meta(raw: bytes, model_name: str) -> dict[str, Any]:
    """The ``id``, ``created`` and ``model`` of the response to the request ``raw``."""
    digest = hashlib.sha256(raw + str(time.time_ns()).encode()).hexdigest()[:24]
    return {"id": f"resp_{digest}", "created": int(time.time()), "model": model_name}


def answer(handler: Any, raw: bytes) -> None:
    """Answer one ``POST /v1/responses`` on ``handler`` (the server's connection handler).

    Failures before the stream starts are OpenAI error bodies with their status.
    """
    server = handler.server
    try:
        request = parse(raw)
        if not server.serves(request["model"]):
            message = (
                f"The model `{request['model']}` does not exist; this server serves "
                f"{server.model_name!r}."
            )
            handler._send_error(404, message, "model_not_found")
            return
        meta = new_meta(raw, server.model_name)
        if not request.get("stream"):
            handler._send_json(200, create(server.model, request, meta))
            return
        stream = open_stream(server.model, request)
    except Exception as exc:  # every failure becomes an OpenAI error body
        handler._send_json(*handler._error_for(exc))
        return
    handler._send_stream(stream_events(stream, request, meta), named=True)


def create(model: Model, request: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, Any]:
    """Answer a non-streamed Responses request with ``model``."""
    return response_object(model.create(**chat_request(request)), request, meta)


def open_stream(model: Model, request: Mapping[str, Any]) -> ChatStreamLike:
    """Start the chat model's stream for a streamed Responses request (usage asked for)."""
    return model.stream(**chat_request(request), stream_options={"include_usage": True})


def stream_events(
    stream: ChatStreamLike, request: Mapping[str, Any], meta: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    """The Responses stream events of a chat model's stream (each a dict with ``type``).

    A failure of the model after the stream began ends it with ``response.failed``.
    """
    events = _Events(request, meta)
    try:
        yield from events.start()
        for event in stream:
            yield from events.event(event)
        yield from events.finish(stream.response)
    except Exception as exc:  # noqa: BLE001 - reported in-band: the headers are sent
        _, detail = error_for_exception(exc)
        failed = _envelope(request, meta, "failed")
        failed["error"] = {"code": detail.get("code") or "server_error",
                           "message": detail["message"]}  # fmt: skip
        yield events.emit("response.failed", response=failed)
    finally:
        stream.close()


class _Events:
    """The state of one translated stream: the open item, output indexes, sequence numbers."""

    def __init__(self, request: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
        self.request, self.meta = request, meta
        self.seq = 0
        self.output: list[dict[str, Any]] = []
        self.open: dict[str, Any] | None = None  # {"kind", "index", "item_id", "text"/"args"}
        self.calls: dict[int, dict[str, Any]] = {}
        self.texts: list[dict[str, Any]] = []

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return event

    def start(self) -> Iterator[dict[str, Any]]:
        body = _envelope(self.request, self.meta, "in_progress")
        yield self.emit("response.created", response=body)
        yield self.emit("response.in_progress", response=body)

    def event(self, event: Any) -> Iterator[dict[str, Any]]:
        if getattr(event, "choice_index", 0) != 0:
            return  # the Responses API has one output; extra choices are dropped
        if isinstance(event, (TextDelta, RefusalDelta)) and event.delta:
            yield from self._text(event.delta)
        elif isinstance(event, ToolCallDelta):
            yield from self._call(event)

    def _text(self, delta: str) -> Iterator[dict[str, Any]]:
        state = self.open
        if state is None or state["kind"] != "message":
            # a call stays open until the end: only the assembled response knows its final id
            index = len(self.output)
            item_id = f"msg_{self.meta['id'][5:]}_{index}"
            self.open = state = {"kind": "message", "index": index, "item_id": item_id, "text": ""}
            self.output.append(_message_item(item_id, "", None, "in_progress"))
            yield self.emit("response.output_item.added", output_index=index,
                            item={**self.output[index], "content": []})  # fmt: skip
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            yield self.emit("response.content_part.added", item_id=item_id, output_index=index,
                            content_index=0, part=part)  # fmt: skip
        state["text"] += delta
        yield self.emit("response.output_text.delta", item_id=state["item_id"],
                        output_index=state["index"], content_index=0, delta=delta,
                        logprobs=[])  # fmt: skip

    def _call(self, event: ToolCallDelta) -> Iterator[dict[str, Any]]:
        state = self.calls.get(event.index)
        if state is None:
            if self.open is not None and self.open["kind"] == "message":
                yield from self._close()
            index = len(self.output)
            item_id = f"fc_{self.meta['id'][5:]}_{index}"
            state = {"kind": "call", "index": index, "item_id": item_id, "args": "",
                     "call": event.index}  # fmt: skip
            self.calls[event.index] = self.open = state
            self.output.append(_call_item(item_id, event.id or "", event.name or "", "",
                                          "in_progress"))  # fmt: skip
            yield self.emit("response.output_item.added", output_index=index,
                            item=dict(self.output[index]))  # fmt: skip
        if event.arguments_delta:
            state["args"] += event.arguments_delta
            yield self.emit("response.function_call_arguments.delta", item_id=state["item_id"],
                            output_index=state["index"], delta=event.arguments_delta)  # fmt: skip

    def _close(self, response: ChatResponse | None = None) -> Iterator[dict[str, Any]]:
        state, self.open = self.open, None
        if state is None or state.get("done"):
            return
        state["done"] = True
        index, item_id = state["index"], state["item_id"]
        if state["kind"] == "message":
            text = state["text"]
            yield self.emit("response.output_text.done", item_id=item_id, output_index=index,
                            content_index=0, text=text, logprobs=[])  # fmt: skip
            item = _message_item(item_id, text, None, "completed")
            yield self.emit("response.content_part.done", item_id=item_id, output_index=index,
                            content_index=0, part=item["content"][0])  # fmt: skip
        else:
            item = dict(self.output[index], arguments=state["args"], status="completed")
            if response is not None and response.choices:
                calls = response.choices[0].message.tool_calls
                if state["call"] < len(calls):  # the assembled call: final id and arguments
                    final = calls[state["call"]]
                    item.update(call_id=final.id, name=final.name, arguments=final.arguments)
            yield self.emit("response.function_call_arguments.done", item_id=item_id,
                            output_index=index, name=item["name"],
                            arguments=item["arguments"])  # fmt: skip
        self.output[index] = item
        yield self.emit("response.output_item.done", output_index=index, item=item)

    def finish(self, response: ChatResponse) -> Iterator[dict[str, Any]]:
        if self.open is not None and self.open["kind"] == "message":
            yield from self._close(response)
        for state in sorted(self.calls.values(), key=lambda c: c["index"]):  # in output order
            self.open = state
            yield from self._close(response)
        body = response_object(response, self.request, self.meta)
        body["output"] = self.output
        yield self.emit(f"response.{body['status']}", response=body)
