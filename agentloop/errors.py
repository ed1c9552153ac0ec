"""Every exception and warning agentloop raises, in one tree.

Each class says whose fault it is and so who must act: the developer
(definition and plugin errors, raised as early as possible), the operator
(API errors: endpoint, key, network) or the model (bad tool calls, which are
normally sent back to the model as tool results and only raised when a limit
is hit)::

    AgentloopError
     ├─ ConfigurationError (ValueError)     developer/operator: bad setting, missing key
     │   └─ BatchInputError                 operator: duplicate ids, an output file of another batch
     ├─ ToolDefinitionError (TypeError)     developer: bad @tool definition (decoration time)
     ├─ ToolArgumentError (ValueError)      model: arguments failed the tool's schema
     ├─ ToolError                           raise inside a tool: a clean message for the model
     │   └─ AbortRun                        raise inside a tool: stop the whole run on purpose
     ├─ PluginError                         developer: duplicate tool names, broken plugin
     ├─ StorageError (.path, .reason)       operator: a run log / session file cannot be used
     │   └─ SessionConflictError            two runs appended to one session at once
     ├─ ConversationNotFoundError (ConfigurationError)  -c / --cid names no conversation
     ├─ EngineError                         operator: a batch engine (Ray) missing or unreachable
     ├─ CassetteError                       a cassette file cannot be read or written
     │   └─ ReplayMismatch (.diff)          a replayed run sent a request the cassette lacks
     ├─ TraceError                          a trace line or file is not a valid trace
     ├─ ResumeError (.run_id)               a run cannot be resumed or decided as asked
     │   ├─ RunNotResumable                 unknown, finished, corrupt or unlogged run
     │   ├─ AgentChangedError (.missing, .added)  the agent's tools differ from the run's
     │   ├─ UnknownCallError                a decision names a call that is not pending
     │   └─ ResumeConflict                  the run already moved on (resumed, decided)
     ├─ APIError                            operator: talking to the model server
     │   ├─ APIConnectionError
     │   │   └─ APITimeoutError
     │   ├─ APIStatusError (.status_code, .body, .request_id)
     │   │   ├─ BadRequestError (400)
     │   │   │   └─ ContextWindowExceeded (.window)  the request is longer than the model's context
     │   │   ├─ AuthenticationError (401, Gemini's 400 API_KEY_INVALID)
     │   │   ├─ PermissionDeniedError (403)
     │   │   ├─ NotFoundError (404)
     │   │   ├─ RateLimitError (429)
     │   │   └─ InternalServerError (>= 500)
     │   └─ StreamError (.partial_text)     broken or truncated stream
     └─ RunError (.result)                  a run ended early; .result keeps what finished
         ├─ MaxStepsExceeded
         ├─ LoopDetected
         ├─ TokenBudgetExceeded
         ├─ CostBudgetExceeded              the next call would go over max_cost
         ├─ ToolRetriesExceeded
         ├─ OutputValidationError
         ├─ RunAborted
         ├─ RunCancelled                    the caller cancelled the run (async task, batch Ctrl-C)
         ├─ GuardrailError (.guardrail)     a guardrail raised or answered no outcome
         ├─ GuardrailBlocked (.guardrail)   an output guardrail blocked (or kept asking to retry)
         ├─ HandoffLimitExceeded            more handoffs than max_handoffs
         └─ HandoffLoopDetected             two agents kept handing the run to each other
    AgentloopWarning (Warning)

Exceptions never log, and never carry secrets: anything echoed from a server
is passed through :func:`redact` by the code that raises.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentloop.result import RunResult

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AbortRun",
    "AgentChangedError",
    "AgentloopError",
    "AgentloopWarning",
    "AuthenticationError",
    "BadRequestError",
    "BatchInputError",
    "CassetteError",
    "ConfigurationError",
    "ContextWindowExceeded",
    "ConversationNotFoundError",
    "CostBudgetExceeded",
    "EngineError",
    "GuardrailBlocked",
    "GuardrailError",
    "HandoffLimitExceeded",
    "HandoffLoopDetected",
    "InternalServerError",
    "LoopDetected",
    "MaxStepsExceeded",
    "NotFoundError",
    "OutputValidationError",
    "PermissionDeniedError",
    "PluginError",
    "RateLimitError",
    "ReplayMismatch",
    "ResumeConflict",
    "ResumeError",
    "RunAborted",
    "RunCancelled",
    "RunError",
    "RunNotResumable",
    "SessionConflictError",
    "StorageError",
    "StreamError",
    "TokenBudgetExceeded",
    "ToolArgumentError",
    "ToolDefinitionError",
    "ToolError",
    "ToolRetriesExceeded",
    "TraceError",
    "UnknownCallError",
    "redact",
]


class AgentloopError(Exception):
    """Base class of every error agentloop raises."""


class AgentloopWarning(Warning):
    """Base class of every warning agentloop emits."""


class ConfigurationError(AgentloopError, ValueError):
    """A setting is missing or invalid (model string, API key, base URL, option value)."""


class ToolDefinitionError(AgentloopError, TypeError):
    """A ``@tool`` definition cannot be turned into a schema; raised at decoration time."""


class ToolArgumentError(AgentloopError, ValueError):
    """The model's arguments for a tool failed its JSON schema; the function was not called.

    Attributes:
        tool_name: The tool whose arguments were rejected.
        errors: One human-readable line per violation, each naming its JSON path.
    """

    def __init__(self, message: str, *, tool_name: str = "", errors: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.errors = errors


class ToolError(AgentloopError):
    """Raise inside a tool to send a clean error message back to the model.

    The run goes on: the message (without a traceback) becomes the tool result.
    """

    def format_for_model(self) -> str:
        """Return the text the model sees as the tool result."""
        return str(self)


class AbortRun(ToolError):
    """**You raise this**, inside a tool or a hook, to end the whole run on purpose.

    It is the request; :class:`RunAborted` is the outcome. The loop answers the turn's
    other calls, then ``Agent.run`` raises :class:`RunAborted` (``__cause__`` is this
    exception), whose ``.result`` keeps the transcript. Never catch ``AbortRun`` around
    ``Agent.run``: it does not come out of it.
    """


class BatchInputError(ConfigurationError):
    """A batch's input or output file cannot be used as given (duplicate ids, another batch's output)."""


class PluginError(AgentloopError):
    """A plugin misbehaves: duplicate tool names, a broken hook, a bad registration."""


class EngineError(AgentloopError):
    """A batch engine cannot be used: Ray is not installed, or its cluster cannot be reached."""


class StorageError(AgentloopError):
    """A SQLite file of agentloop (the run log, a session store) cannot be used.

    The message is one line that names the file and the fix.

    Attributes:
        path: The database file.
        reason: ``corrupt``, ``locked``, ``newer``, ``full`` or ``unavailable``.
    """

    def __init__(self, message: str, *, path: str = "", reason: str = "unavailable") -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason


class SessionConflictError(StorageError):
    """Another run appended to the same session while this run was going.

    Nothing of this run was appended (the session holds the other run's turn);
    ``.result`` is this run's complete result, so the caller may retry or keep it.

    Attributes:
        session_id: The session.
        result: This run's :class:`~agentloop.RunResult`.
    """

    def __init__(
        self, message: str, *, session_id: str, result: RunResult | None = None, path: str = ""
    ) -> None:
        super().__init__(message, path=path, reason="conflict")
        self.session_id = session_id
        self.result = result


class ConversationNotFoundError(ConfigurationError):
    """``-c`` found no previous conversation, or ``--cid`` / a session id names none."""


class APIError(AgentloopError):
    """Something went wrong talking to the model server."""


class APIConnectionError(APIError):
    """The server could not be reached, or the connection broke before a response."""


class APITimeoutError(APIConnectionError):
    """The connect timeout, read timeout or overall deadline of a request ran out."""


class APIStatusError(APIError):
    """The server answered with an error status (or an error object in a 200 body).

    Attributes:
        status_code: The HTTP status code.
        body: The decoded error body (dict, list or text), with secrets redacted.
        request_id: The server's request id header, when it sent one.
    """

    def __init__(
        self, message: str, *, status_code: int, body: Any = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.request_id = request_id


class BadRequestError(APIStatusError):
    """400: the request was malformed or used a parameter the endpoint rejects."""


class ContextWindowExceeded(BadRequestError):
    """The server refused the request as longer than the model's context window.

    Attributes:
        window: The context window in tokens, parsed from the server's message or known
            from the endpoint's profile; None when neither says.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        window: int | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body, request_id=request_id)
        self.window = window


class AuthenticationError(APIStatusError):
    """401 (or Gemini's 400 ``API_KEY_INVALID``): the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but may not use this model or endpoint."""


class NotFoundError(APIStatusError):
    """404: wrong base URL or unknown model."""


class RateLimitError(APIStatusError):
    """429: too many requests or quota exhausted."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class StreamError(APIError):
    """A streamed response broke: truncated, malformed, or an error event mid-stream.

    Attributes:
        partial_text: The text that had arrived before the stream broke.
    """

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class CassetteError(AgentloopError):
    """A cassette file cannot be read or written (the file's fault; its path and line are named)."""


class ReplayMismatch(CassetteError):
    """The replayed run sent a request the cassette does not hold (the code or prompt changed).

    Attributes:
        diff: One line per difference (``messages[1].content: recorded 'a', now 'b'``).
    """

    def __init__(self, message: str, diff: Iterable[str] = ()) -> None:
        self.diff = tuple(diff)
        lines = "\n  ".join(self.diff)
        super().__init__(message + (f":\n  {lines}" if lines else ""))


class TraceError(AgentloopError):
    """A trace line or file is not a valid agentloop trace (the file's fault; its path is named)."""


class ResumeError(AgentloopError):
    """A run cannot be resumed, or decided on, as asked (see ``docs/durable-runs.md``).

    The message is one line naming the run and the fix.

    Attributes:
        run_id: The run named.
    """

    def __init__(self, message: str, *, run_id: str = "") -> None:
        super().__init__(message)
        self.run_id = run_id


class RunNotResumable(ResumeError):
    """The run is unknown, finished, corrupt in the log, or was never logged (``--no-log``)."""


class AgentChangedError(ResumeError):
    """The agent resuming the run has other tools than the run had (``force=True`` resumes).

    Attributes:
        missing: Tools the run had that the agent lacks.
        added: Tools the agent has that the run did not.
    """

    def __init__(
        self, message: str, *, run_id: str = "", missing: tuple[str, ...] = (),
        added: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        super().__init__(message, run_id=run_id)
        self.missing = missing
        self.added = added


class UnknownCallError(ResumeError):
    """A decision names a tool call that is not pending in the run."""


class ResumeConflict(ResumeError):
    """The run already moved on: another process resumed it or decided its pending calls."""


class RunError(AgentloopError):
    """A run ended before a final answer; ``.result`` holds everything that finished.

    Attributes:
        result: The partial :class:`~agentloop.RunResult` (messages, steps, usage).
    """

    def __init__(self, message: str, *, result: RunResult | None = None) -> None:
        super().__init__(message)
        self.result = result


class MaxStepsExceeded(RunError):
    """The run reached ``max_steps`` model calls without a final answer."""


class LoopDetected(RunError):
    """The model repeated the same tool call with the same arguments too many times."""


class TokenBudgetExceeded(RunError):
    """The run used more tokens than its ``max_tokens_total`` budget."""


class CostBudgetExceeded(RunError):
    """The next model call would cost more than what is left of ``max_cost`` (checked before it)."""


class ToolRetriesExceeded(RunError):
    """A tool failed more times in one run than its retry budget allows."""


class OutputValidationError(RunError):
    """The final answer did not match ``output_type`` after the allowed retries."""


class RunAborted(RunError):
    """**The loop raises this**, out of ``Agent.run``, after a tool or hook raised :class:`AbortRun`.

    It is the outcome; :class:`AbortRun` is the request. Catch it around ``Agent.run``
    (``.result`` is the partial run, ``stop_reason`` ``aborted``); raising it from a tool
    works too (it is treated as an ``AbortRun``), but ``AbortRun`` is the name to raise.
    """


class RunCancelled(RunError):
    """The caller cancelled the run (an async task was cancelled, a batch was interrupted).

    Raised at the run's next safe point: unanswered tool calls have a
    ``cancelled`` result in ``.result`` and ``stop_reason`` is ``cancelled``.
    """


class GuardrailError(RunError):
    """A guardrail failed (raised, or returned something that is not an outcome): the
    guardrail's fault, named in the message and in ``.guardrail``; the run is never let through.

    Attributes:
        guardrail: The guardrail's name.
    """

    def __init__(
        self, message: str, *, guardrail: str = "", result: RunResult | None = None
    ) -> None:
        super().__init__(message, result=result)
        self.guardrail = guardrail


class GuardrailBlocked(GuardrailError):
    """An output guardrail blocked the answer (or asked for more retries than allowed).

    ``.result`` is the run so far (its output is None); ``.guardrail`` names the guardrail.
    """


class HandoffLimitExceeded(RunError):
    """The run handed off more often than ``max_handoffs`` allows (``.result``: the partial run)."""


class HandoffLoopDetected(RunError):
    """Two agents kept handing the run back and forth (ping-pong), so it was stopped."""


def redact(text: str, *secrets: str | None) -> str:
    """Return ``text`` with every secret replaced by ``[REDACTED]`` (the one rule of :mod:`agentloop.secrets`).

    Args:
        text: Any text that may echo a secret (an error body, a header dump).
        *secrets: More secrets to hide; ``None`` and short strings are ignored. Every key the
            process knows (environment, key store, config file, the clients' credentials) and
            every credential-shaped string is hidden as well.

    Returns:
        The text with each secret replaced.
    """
    from agentloop.secrets import redact as _redact

    return _redact(text, *secrets)
