"""The ``@tool`` decorator and :class:`Tool`: plain Python functions as model tools.

``@tool`` reads the function once, at decoration time (signature, type hints,
docstring), builds its JSON Schema and compiles its validator, so a bad
definition fails at import with :class:`~agentloop.errors.ToolDefinitionError`.
:meth:`Tool.invoke` then turns the model's JSON arguments into a checked,
converted Python call, and :meth:`Tool.format_result` turns the return value
into the text sent back to the model::

    @tool
    def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        \"\"\"Return the current weather.

        Args:
            city: City name, e.g. "Paris".
            unit: Temperature unit.
        \"\"\"
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from agentloop.errors import ToolDefinitionError, ToolError
from agentloop.schema.jsonable import to_jsonable

if TYPE_CHECKING:
    from agentloop.context import RunContext
    from agentloop.schema.build import FunctionSchema

__all__ = ["Tool", "to_jsonable", "tool"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True, kw_only=True, eq=False)
class Tool:
    """A function the model can call, with its schema. Calling the tool calls the function.

    Build one with :func:`tool`. Constructing it directly is possible for a
    hand-written ``parameters`` schema: ``fn`` then receives the validated JSON
    arguments as keyword arguments, unconverted (plus ``context=`` when
    ``takes_context`` is true). The schema is copied (``parameters`` is the
    copy); with ``strict=True`` it gets the strict rewrite, or is refused with
    the path of what strict mode cannot express.

    Attributes:
        name: The name the model calls the tool by (``^[a-zA-Z0-9_-]{1,64}$``).
        description: What the tool does, for the model.
        parameters: The JSON Schema object of the arguments (do not mutate).
        fn: The Python function.
        strict: Whether the schema follows OpenAI's strict mode (``"strict": true`` is sent).
        requires_approval: The run asks its approver before each call.
        sequential: Never run this tool in parallel with other calls.
        isolated: Run each call in a child process, killed when the call times out: the
            only way to bound a tool that holds the GIL (a C extension, a runaway regex).
        idempotent: Running a call twice has the effect of running it once, so a resume
            reruns a call whose outcome a crash left unknown (``docs/durable-runs.md``).
        timeout: Seconds a call may take, or None for the agent's default.
        max_retries: Failed calls allowed per run, or None for the agent's default.
        takes_context: Whether ``fn`` receives the :class:`~agentloop.RunContext`.
        undocumented_parameters: Model-visible parameters without a description.
        function_schema: The full :class:`~agentloop.schema.build.FunctionSchema`, when
            built from a function.
    """

    name: str
    description: str = ""
    parameters: dict[str, Any]
    fn: Callable[..., Any]
    strict: bool = False
    requires_approval: bool = False
    sequential: bool = False
    isolated: bool = False
    timeout: float | None = None
    max_retries: int | None = None
    idempotent: bool = False
    takes_context: bool = False
    undocumented_parameters: tuple[str, ...] = ()
    function_schema: FunctionSchema | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _check_name(self.name, self.fn)
        _check_options(self.name, self.timeout, self.max_retries)
        schema = self.function_schema
        if schema is None:
            schema = _raw_schema(self.name, self.description, self.parameters, self.fn, self.strict)
            object.__setattr__(self, "function_schema", schema)
            object.__setattr__(self, "parameters", schema.parameters)  # a checked copy
        object.__setattr__(self, "_owner", f"tool {self.name!r}")
        object.__setattr__(self, "__doc__", getattr(self.fn, "__doc__", None))
        object.__setattr__(self, "__wrapped__", self.fn)

    @property
    def definition(self) -> dict[str, Any]:
        """The entry for the request's ``tools`` array."""
        function: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }
        if self.strict:
            function["strict"] = True
        return {"type": "function", "function": function}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly (no validation, no conversion)."""
        return self.fn(*args, **kwargs)

    def invoke(
        self, arguments: str | bytes | Mapping[str, Any], *, context: RunContext | None = None
    ) -> Any:
        """Validate the model's arguments, convert them and call the function.

        Args:
            arguments: The raw JSON text of the arguments, or an already-decoded dict.
            context: The run context, passed to the parameter annotated ``RunContext``.

        Returns:
            The function's return value (awaited to completion for ``async def``).

        Raises:
            ToolArgumentError: The arguments are malformed or break the schema; the
                function was not called. The message lists every problem with its path.
            Exception: Whatever the function raises propagates unchanged.
        """
        return self.call_validated(self.parse_arguments(arguments), context=context)

    def parse_arguments(self, arguments: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
        """Decode the model's arguments and check them against :attr:`parameters`, once.

        The run loop calls this exactly once per tool call and hands the result to
        ``agentloop_call_tool`` as ``arguments``; :meth:`call_validated` then runs the function
        without checking again.

        Args:
            arguments: The raw JSON text of the arguments, or an already-decoded mapping.

        Returns:
            The decoded arguments (a new dict for JSON text; never shared between calls).

        Raises:
            ToolArgumentError: The arguments are malformed or break the schema.
        """
        schema = self.function_schema
        assert schema is not None  # set in __post_init__
        return schema.validate(arguments, owner=self._owner)  # type: ignore[attr-defined]

    def call_validated(
        self, arguments: Mapping[str, Any], *, context: RunContext | None = None
    ) -> Any:
        """Convert arguments that :meth:`parse_arguments` returned and call the function.

        Args:
            arguments: Validated, decoded arguments.
            context: The run context, passed to the parameter annotated ``RunContext``.

        Returns:
            The function's return value (awaited to completion for ``async def``).
        """
        args, kwargs = self._bind_validated(arguments, context)
        result = self.fn(*args, **kwargs)
        if inspect.isawaitable(result):
            return _run_to_completion(result)
        return result

    async def ainvoke(
        self, arguments: str | bytes | Mapping[str, Any], *, context: RunContext | None = None
    ) -> Any:
        """Like :meth:`invoke`, for async callers: awaits ``async def`` tools in this loop.

        Synchronous functions are called directly (in this thread).
        """
        args, kwargs = self.bind(arguments, context=context)
        result = self.fn(*args, **kwargs)
        if inspect.isawaitable(result):
            return await result
        return result

    def bind(
        self, arguments: str | bytes | Mapping[str, Any], *, context: RunContext | None = None
    ) -> tuple[list[Any], dict[str, Any]]:
        """Validate and convert ``arguments``; return the ``(args, kwargs)`` for ``fn``.

        Raises:
            ToolArgumentError: As :meth:`invoke`.
        """
        return self._bind_validated(self.parse_arguments(arguments), context)

    def _bind_validated(
        self, data: Mapping[str, Any], context: RunContext | None
    ) -> tuple[list[Any], dict[str, Any]]:
        schema = self.function_schema
        assert schema is not None  # set in __post_init__
        owner: str = self._owner  # type: ignore[attr-defined]
        if context is None and schema.requires_context:
            raise TypeError(
                f"{owner} takes a RunContext (parameter {schema.context_parameter!r}); "
                "call invoke(arguments, context=ctx)"
            )
        args, kwargs = schema.bind(data, context=context, owner=owner)
        if schema.context_parameter is None and self.takes_context:  # hand-built tool
            kwargs["context"] = context
        return args, kwargs

    @staticmethod
    def format_result(value: Any) -> str:
        """Return the text sent back to the model for a tool's return value.

        ``str`` is sent as is, ``None`` as an empty string, everything else
        (dict, list, dataclass, Enum, date, Decimal, pydantic model, ...) as
        compact JSON.

        Raises:
            ToolError: The value is bytes or another type with no JSON form.
        """
        if isinstance(value, str):
            return value
        if value is None:
            return ""
        try:
            plain = to_jsonable(value)
        except (TypeError, ValueError) as exc:
            raise ToolError(f"the tool's result cannot be sent to the model: {exc}") from exc
        return json.dumps(plain, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r}, fn={getattr(self.fn, '__qualname__', self.fn)!r})"


def _check_name(name: str, fn: Any) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ToolDefinitionError(
            f"tool name {name!r} (function {getattr(fn, '__qualname__', fn)!r}) is invalid: "
            "names must be 1-64 characters from a-z, A-Z, 0-9, '_' and '-'; "
            "pass a valid name with @tool(name=...)"
        )


def _check_options(name: str, timeout: float | None, max_retries: int | None) -> None:
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        raise ToolDefinitionError(
            f"tool {name!r}: timeout must be a positive number of seconds or None, got {timeout!r}"
        )
    if max_retries is not None and (
        isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0
    ):
        raise ToolDefinitionError(
            f"tool {name!r}: max_retries must be an int >= 0 or None, got {max_retries!r}"
        )


def _raw_schema(
    name: str, description: str, parameters: dict[str, Any], fn: Callable[..., Any], strict: bool
) -> FunctionSchema:
    from agentloop.schema.handwritten import handwritten_schema

    return handwritten_schema(name, description, parameters, strict=strict)


def _run_to_completion(awaitable: Any) -> Any:
    """Run an awaitable to completion from synchronous code.

    With no event loop running in this thread, use :func:`asyncio.run`; when
    one is running (we were called from async code), run it in a worker
    thread, since this thread's loop cannot be re-entered.
    """
    import asyncio  # here: asyncio (and ssl with it) loads only for async tools
    import concurrent.futures

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coroutine(awaitable))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _as_coroutine(awaitable)).result()


async def _as_coroutine(awaitable: Any) -> Any:
    return await awaitable


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    fn: Callable[..., Any],
    /,
    *,
    name: str | None = ...,
    description: str | None = ...,
    strict: bool = ...,
    requires_approval: bool = ...,
    sequential: bool = ...,
    isolated: bool = ...,
    timeout: float | None = ...,
    max_retries: int | None = ...,
    idempotent: bool = ...,
) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = ...,
    description: str | None = ...,
    strict: bool = ...,
    requires_approval: bool = ...,
    sequential: bool = ...,
    isolated: bool = ...,
    timeout: float | None = ...,
    max_retries: int | None = ...,
    idempotent: bool = ...,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
    requires_approval: bool = False,
    sequential: bool = False,
    isolated: bool = False,
    timeout: float | None = None,
    max_retries: int | None = None,
    idempotent: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a function into a :class:`Tool`: ``@tool``, ``@tool(...)`` or ``tool(obj.method)``.

    Args:
        fn: The function (when used bare or called directly).
        name: The tool name; defaults to the function's ``__name__``.
        description: Overrides the docstring's description.
        strict: Emit an OpenAI strict-mode schema and ``"strict": true``.
        requires_approval: Ask the run's approver before each call.
        sequential: Never run this tool in parallel with other calls.
        isolated: Run each call in a forked child process that is killed at the call's
            timeout (arguments and return value must pickle). A thread cannot be stopped,
            and one that holds the GIL stops every other thread; a process can.
        timeout: Seconds a call may take (None: the agent's default).
        max_retries: Failed calls allowed per run (None: the agent's default).
        idempotent: A second run of a call has no further effect: a resume reruns a call
            that a crash interrupted (otherwise the model is told its outcome is unknown).

    Returns:
        The Tool, or a decorator that makes one.

    Raises:
        ToolDefinitionError: The function cannot be described to a model.
    """
    options = dict(
        name=name,
        description=description,
        strict=strict,
        requires_approval=requires_approval,
        sequential=sequential,
        isolated=isolated,
        timeout=timeout,
        max_retries=max_retries,
        idempotent=idempotent,
    )
    if fn is not None:
        return _make_tool(fn, _caller_locals(2), options)
    localns = _caller_locals(2)

    def decorator(func: Callable[..., Any]) -> Tool:
        return _make_tool(func, {**localns, **_caller_locals(2)}, options)

    return decorator


def _caller_locals(depth: int) -> dict[str, Any]:
    """The decorating scope's names, so string annotations of local classes resolve."""
    try:
        frame = sys._getframe(depth)
    except ValueError:
        return {}
    return dict(frame.f_locals) if frame.f_code.co_name != "<module>" else {}


def _make_tool(fn: Callable[..., Any], localns: dict[str, Any], options: dict[str, Any]) -> Tool:
    if isinstance(fn, Tool):
        raise ToolDefinitionError(
            f"{fn.name!r} is already a Tool; apply @tool only once "
            "(use dataclasses.replace(tool, ...) to change its options)"
        )
    if not callable(fn):
        raise ToolDefinitionError(f"@tool needs a function or callable, got {type(fn).__name__}")
    from agentloop.schema.build import function_schema  # jsonschema loads with the first tool

    schema = function_schema(
        fn,
        name=options["name"],
        description=options["description"],
        strict=options["strict"],
        localns=localns,
    )
    return Tool(
        name=schema.name,
        description=schema.description,
        parameters=schema.parameters,
        fn=fn,
        strict=schema.strict,
        requires_approval=options["requires_approval"],
        sequential=options["sequential"],
        isolated=options["isolated"],
        timeout=options["timeout"],
        max_retries=options["max_retries"],
        idempotent=options["idempotent"],
        takes_context=schema.takes_context,
        undocumented_parameters=schema.undocumented_parameters,
        function_schema=schema,
    )
