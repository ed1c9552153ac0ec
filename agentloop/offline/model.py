"""The offline model: a deterministic, rule-based stand-in for a chat model.

``OfflineModel`` (``model="offline"``) speaks the same :class:`~agentloop.Model`
interface as the HTTP-backed model, so agents, examples and tests run with no
network and no key. It is not a language model and says so; it follows these
rules, every one deterministic (same request, same response, same ids):

* **Requests are validated like a server would**: bad messages or parameters
  raise :class:`~agentloop.BadRequestError` (status 400, an OpenAI error body).
* **Which tool**: each tool is scored against the latest user message (name
  words weigh 3, description words 1, parameter words 0.5; message words count 1,
  their synonyms 0.5, and a message holding an arithmetic expression implies
  the words ``calculate``/``compute``/``evaluate``/``math``/``expression``). Under
  ``tool_choice="auto"`` the best tool is called when it scores at least 1
  (on a tie, the first one whose required arguments the message fills);
  ``"required"`` always calls the best tool; a named function is always called;
  ``"none"`` (or no tools) gives text only.
* **Several things**: the message is split on sentence ends, ``;``, ``and``,
  ``then`` and ``also``; when two or more parts map to tools (or to one tool
  with different arguments, ``what is 2+2 and 3*5``), each part gets its call.
* **Arguments** come from the message where possible (numbers, quoted strings,
  enum values, dates, booleans, emails, URLs, UUIDs, a word that fits a
  ``pattern``, capitalized names for name-like parameters, the arithmetic
  expression for expression-like ones, the SQL statement for SQL ones, the
  word a parameter's name labels, the rest of the text without its leading
  request words for a free string) and from the schema otherwise (defaults, a
  valid example); the result is checked with ``jsonschema``. In detail:

  - an *expression* is written for a calculator: ``sqrt(144)`` stays a call,
    ``2 to the power of 10`` becomes ``2 ** 10``, ``the square root of 144``
    ``sqrt(144)``, ``15% of 80`` ``15 / 100 * 80``, ``^`` ``**``;
  - an *SQL* parameter (``sql`` in its name or description) gets a quoted
    statement, else the text from the first SQL keyword (``SELECT``, ``WITH``,
    ...) to the end;
  - a parameter named for a thing gets the word its name labels: ``the orders
    table`` or ``table named orders`` gives ``table="orders"``;
  - *numbers* go to the parameter whose name (weight 1) or description (0.5)
    stands within 4 words of them, divided by the distance, a word before the
    number beating one after it, never across ``,``/``;``/a sentence end
    (``a 25 percent discount to a price of 80``: ``discount=25, price=80``);
    the others get the remaining numbers in order;
  - *enum values* match in any case, and by an unambiguous prefix or
    abbreviation (``Celsius`` gives ``"C"`` of ``["C", "F"]``); one next to a
    word of the parameter's name wins, then, for a parameter named ``to``
    (``to_unit``), one after ``to``/``into``/``as`` (then ``in``), for ``from``
    one after ``from``; else the first one not used by another parameter.
    Abbreviations shorter than three letters and one-letter stop words only
    count next to such a cue.

  Relative dates (``tomorrow``) are not resolved: no clock is read.
* **No loops**: a planned call (same tool, same arguments) whose result is
  already in the conversation for the current user turn is not made again
  (unless ``tool_choice`` forces a call); with ``parallel_tool_calls=False`` the
  planned calls are made one per step;
  after tool results the answer is text built from them
  (``The result of calculate is 84.``, or one line per result).
* **response_format**: ``json_schema`` gives a valid instance of the schema,
  filled from the message and any tool results; ``json_object`` gives
  ``{"answer": ...}``.
* **n** gives ``n`` choices (choice ``i > 0`` of a text answer starts with
  ``(Variant i+1)``); **stop** cuts the text before the first stop sequence;
  **max_tokens** / ``max_completion_tokens`` truncate the output
  (``finish_reason="length"``).
* **Usage**: a text of ``c`` characters counts ``ceil(c / 4)`` tokens. Prompt
  tokens: per message 3 plus its text (content, then each tool call's name and
  arguments), plus the compact JSON of ``tools`` and of ``response_format``.
  Completion tokens: the content plus each call's name and arguments, summed
  over choices.
* **Ids and time**: the response id and tool-call ids are hashes of the
  conversation and the call; ``created`` is always 0.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from agentloop.messages import ChatResponse, ModelProfile, ToolCall
from agentloop.offline.plan import Reply, decide, message_text
from agentloop.offline.request import Request, validate
from agentloop.wire import build
from agentloop.wire.build import choice_body, completion_body, usage_body

if TYPE_CHECKING:
    from agentloop.protocols import ChatStreamLike

__all__ = ["OfflineModel", "count_tokens"]

#: The ``created`` time of every offline response (no clock is read).
CREATED = 0
_ARGUMENT_PIECE = 24


def count_tokens(text: str) -> int:
    """The offline model's token count of a text: ``ceil(len(text) / 4)``."""
    return math.ceil(len(text) / 4)


class OfflineModel:
    """A deterministic, rule-based model with the :class:`~agentloop.Model` interface.

    Args:
        name: The model name reported in responses (default ``offline``).

    Example:
        >>> from agentloop import OfflineModel
        >>> reply = OfflineModel().create(messages=[{"role": "user", "content": "hi"}])
        >>> reply.finish_reason
        'stop'
    """

    def __init__(self, name: str = "offline") -> None:
        self._name = name
        self.profile = ModelProfile()

    @property
    def name(self) -> str:
        """The model name (``offline``)."""
        return self._name

    def __repr__(self) -> str:
        return f"OfflineModel(name={self._name!r})"

    def http_adapter(self) -> Any:
        """A ``requests`` transport adapter that answers HTTP requests with this model.

        Recording a run of the offline model goes through it (see
        :mod:`agentloop.offline.transport`): the run then talks HTTP, in-process, and its
        exchanges can be written to a cassette and replayed.
        """
        from agentloop.offline.transport import OfflineAdapter

        return OfflineAdapter(self)

    def create(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatResponse:
        """Answer a conversation; the result equals what :meth:`stream` assembles.

        Args:
            messages: Wire-format messages.
            **params: Chat-completions body fields (``tools``, ``tool_choice``,
                ``response_format``, ``n``, ``stop``, ``max_tokens``, ...).

        Raises:
            BadRequestError: The messages or a parameter are invalid (status 400).
        """
        from agentloop.streaming import parse_response

        return parse_response(self.completion(messages=messages, **params))

    def stream(self, *, messages: list[dict[str, Any]], **params: Any) -> ChatStreamLike:
        """Answer as a stream of chunks (text in small deltas, arguments in fragments).

        The request is validated before this returns, so a bad request raises
        here and not while iterating.

        Raises:
            BadRequestError: The messages or a parameter are invalid (status 400).
        """
        from agentloop.streaming import ChatStream

        body = self.completion(messages=messages, **params)
        # Like ChatModel, report usage unless the caller said otherwise: the loop's
        # token accounting and budget need it in streamed runs too.
        options = params.get("stream_options") or {"include_usage": True}
        return ChatStream(completion_chunks(body, include_usage=bool(options.get("include_usage"))))

    def completion(self, *, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        """Return the wire body (``chat.completion``) of the answer, as a server would send it.

        Raises:
            BadRequestError: The messages or a parameter are invalid (status 400).
        """
        request = validate(messages, params)
        reply = decide(
            request.messages,
            tools=request.tools,
            tool_choice=request.tool_choice,
            response_format=request.response_format,
            parallel_tool_calls=request.parallel_tool_calls,
        )
        digest = _digest(request.messages)
        choices = [_choice(reply, request, i, digest) for i in range(request.n)]
        completion = sum(_message_tokens(c["message"]) for c in choices)
        prompt = _prompt_tokens(request)
        return completion_body(
            id=f"chatcmpl-offline-{digest[:24]}",
            created=CREATED,
            model=self._name,
            choices=choices,
            usage=usage_body(prompt, completion),
        )


def _digest(messages: list[Mapping[str, Any]]) -> str:
    """A hash of what the conversation says (not of how its dicts are spelled)."""
    view = [
        [
            m.get("role"),
            message_text(m),
            m.get("tool_call_id"),
            [[(c.get("function") or {}).get(k) for k in ("name", "arguments")]
             for c in m.get("tool_calls") or ()],
        ]
        for m in messages
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(view, ensure_ascii=False).encode()).hexdigest()


def _choice(reply: Reply, request: Request, index: int, digest: str) -> dict[str, Any]:
    content = reply.content
    if content is not None and index and request.response_format is None:
        content = f"(Variant {index + 1}) {content}"
    finish = "tool_calls" if reply.calls else "stop"
    if content is not None and request.stop:
        cut = min((p for s in request.stop if (p := content.find(s)) >= 0), default=-1)
        content = content[:cut] if cut >= 0 else content
    calls = list(reply.calls)
    if request.max_tokens is not None:
        content, calls, truncated = _truncate(content, calls, request.max_tokens * 4)
        finish = "length" if truncated else finish
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            ToolCall(
                id=_call_id(digest, index, k, name, arguments), name=name, arguments=arguments
            ).to_dict()
            for k, (name, arguments) in enumerate(calls)
        ]
    return choice_body(index, message, finish)


def _truncate(
    content: str | None, calls: list[tuple[str, str]], budget: int
) -> tuple[str | None, list[tuple[str, str]], bool]:
    """Cut the output to ``budget`` characters (content first, then each call in order)."""
    if content is not None and len(content) > budget:
        return content[:budget], [], True
    budget -= len(content or "")
    kept: list[tuple[str, str]] = []
    for name, arguments in calls:
        cost = len(name) + len(arguments)
        if cost > budget:
            kept.append((name, arguments[: max(0, budget - len(name))]))
            return content, kept, True
        budget -= cost
        kept.append((name, arguments))
    return content, kept, False


def _call_id(digest: str, choice: int, position: int, name: str, arguments: str) -> str:
    seed = f"{digest}:{choice}:{position}:{name}:{arguments}"
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _message_tokens(message: Mapping[str, Any]) -> int:
    text = message_text(message)
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        text += str(fn.get("name") or "") + str(fn.get("arguments") or "")
    return count_tokens(text)


def _prompt_tokens(request: Request) -> int:
    total = sum(3 + _message_tokens(m) for m in request.messages)
    for extra in (request.raw_tools, request.response_format):
        if extra:
            total += count_tokens(json.dumps(extra, separators=(",", ":"), ensure_ascii=False))
    return total


def completion_chunks(body: Mapping[str, Any], *, include_usage: bool = False) -> Iterator[dict]:
    """Turn a ``chat.completion`` body into the ``chat.completion.chunk`` dicts of its stream.

    Text comes in word-sized deltas and arguments in fragments (see
    :func:`agentloop.wire.build.completion_chunks`).

    Args:
        body: A non-streamed response body.
        include_usage: Whether to end with the usage chunk (``stream_options.include_usage``).

    Yields:
        Chunk dicts, in order.
    """
    return build.completion_chunks(
        body, include_usage=include_usage, argument_piece=_ARGUMENT_PIECE
    )
