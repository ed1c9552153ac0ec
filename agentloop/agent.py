"""The user-facing entry point: :class:`Agent` (configuration + plugin manager) and its results.

An ``Agent`` is read-only after construction: every run keeps its state in
its own :class:`~agentloop.loop.state.RunState`, so one agent may run in many
threads at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from agentloop.agent_options import (
    Prompt,
    as_tool,
    initial_messages,
    limits_from,
    normalize_tool_choice,
    resolve_model_arg,
)
from agentloop.config import price_of_model
from agentloop.context import RunContext
from agentloop.errors import RunError
from agentloop.events import RunFinished
from agentloop.loop.engine import run_events
from agentloop.loop.output import OutputSpec, wire_name
from agentloop.messages import Message, ModelProfile
from agentloop.plugins.manager import call_each, make_plugin_manager
from agentloop.plugins.registry import ToolSelection
from agentloop.pricing import CostBudget, Price
from agentloop.result import RunResult, Step
from agentloop.runspec import DEFAULT_TOOL_TIMEOUT, LIMIT_NAMES, RunLimits, RunSpec
from agentloop.teams.guardrails import Guardrail, check_guardrails
from agentloop.teams.handoffs import (
    DEFAULT_MAX_HANDOFFS,
    Handoff,
    check_handoff_graph,
    check_handoffs,
    check_max_handoffs,
)

from .plugins.agent_tools import AgentTools
from .plugins.approval import ApproverCallback
from .sessions.context import ContextWindow

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from decimal import Decimal

    import pluggy

    from agentloop.attachments import Attachment
    from agentloop.batch.items import ItemResult
    from agentloop.events import RunEvent
    from agentloop.messages import ToolCall
    from agentloop.protocols import Model
    from agentloop.sessions import Session
    from agentloop.tools import Tool

__all__ = ["DEFAULT_TOOL_TIMEOUT", "Agent", "RunLimits", "RunResult", "RunSpec", "Step"]


class Agent:
    """A model, instructions and tools, run in a loop until the model answers.

    Args:
        model: ``"offline"``, ``"provider:model"`` (resolved with
            ``agentloop.providers.resolve_model``) or a model object
            (``create``/``stream``, e.g. a ``ChatClient``-backed model).
        instructions: The system message, put first in every run's transcript.
        tools: ``@tool`` objects (plain functions are wrapped with ``tool``),
            and names of tools or toolsets that plugins offer (``"calculate"``,
            ``"files"``, ``"read_file"``), resolved in the tool registry when the
            first run starts; an unknown name is a ConfigurationError listing
            the close matches. Installed plugins' tools reach no agent otherwise.
        tool_options: Settings of the chosen toolsets, ``{"files": {"root": "./src"}}``
            (checked against each toolset's typed options).
        plugins: Extra plugins (modules or objects with ``@hookimpl`` functions;
            their ``agentloop_tools`` give tools to this agent, e.g. ``FilesPlugin(root)``),
            called before the built-in and installed ones.
        tool_choice: ``"auto"``, ``"none"``, ``"required"``, a tool name, or a
            ``{"type": "function", ...}`` dict; sent as given when there are tools.
        max_steps: Most model calls per run, then :class:`~agentloop.MaxStepsExceeded`.
        output_type: A type (dataclass, TypedDict, ``list[int]``, ...) the final
            answer must match; ``RunResult.output`` is then the parsed value.
        model_settings: Extra request fields (``temperature``, ``max_tokens``, ...).
        load_plugins: Load plugins of installed distributions (entry-point group
            ``agentloop``); ``AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD=1`` also turns it off.
        block: Plugin names not to register (entry-point or built-in module names).
        approver: ``approver(call, tool) -> bool``, asked before each call of a
            tool with ``requires_approval``; without it such calls are denied.
        name: The agent's name (logs, ``as_tool`` default name).
        stream: None: ``run`` calls ``model.create`` and ``stream`` calls
            ``model.stream``; True/False: both use streaming / both do not.
        max_tool_retries: How many failed calls (bad arguments, exceptions,
            timeouts, unknown names) each tool may have per run before
            :class:`~agentloop.ToolRetriesExceeded`; a tool's ``max_retries`` wins.
        max_repeated_calls: How often one tool call with the same arguments may
            run per run before :class:`~agentloop.LoopDetected`; None disables the guard.
        max_tool_calls_per_turn: Most tool calls run from one model turn; each call
            beyond it gets an error result saying so (never silence). None: no cap.
        tool_timeout: Default per-call timeout in seconds (a tool's ``timeout`` wins),
            :data:`DEFAULT_TOOL_TIMEOUT` (300 s) unless given, ``None`` for no timeout;
            counted from when the call starts on its thread (not while it waits
            for one). A timed-out call is answered ``error: tool 'x' timed out
            after N s`` (status ``timeout``); its thread is abandoned, its late
            result dropped, and its place in the pool given to the next call.
        max_result_chars: Cap on each tool result sent to the model (head and tail
            kept around a ``[truncated N chars]`` marker); None for no cap.
        max_parallel_tools: Most tool calls of a run running at once (a timed-out
            call stops counting when the loop gives up on it).
        max_tokens_total: Token budget per run, then :class:`~agentloop.TokenBudgetExceeded`.
        output_retries: How often an answer failing ``output_type`` is sent back.
        reset_tool_choice: After a forced tool call (``required`` or a named
            tool), send ``auto`` next so a forced call cannot loop forever.
        max_context_tokens: The model's context window in tokens; a request whose
            history is larger leaves out the oldest turns (never the instructions, never
            a tool call without its results). Default: the model profile's
            ``context_tokens``, else no limit. ``"auto"``: the profile's, and a request
            refused as too long is trimmed to the window the server names and retried
            once. See ``docs/logs-and-sessions.md``.
        compact_history: Replace the history left out with a summary written by the
            model (or a plugin's ``agentloop_compact_history``) instead of dropping it.
        description: What the agent is for, in one line (the handoff tool shows it to the
            agents that can hand off to this one).
        handoffs: Agents this one may hand the run to (``Agent`` objects, or
            :func:`~agentloop.handoff` with a history filter); the model gets one
            ``transfer_to_agent`` tool whose ``agent_name`` is an enum of their names. See
            ``docs/teams.md``.
        max_handoffs: Most handoffs per run, then :class:`~agentloop.HandoffLimitExceeded`.
        guardrails: :class:`~agentloop.Guardrail` objects checking the input, each tool call
            and the output (``docs/guardrails.md``).
        base_url: Passed to ``resolve_model`` for model strings.
        api_key: Passed to ``resolve_model`` for model strings.
        limits: All the limits above at once, as a :class:`~agentloop.RunLimits`
            (then none of the limit keywords may be given too).
        store: Log every run in this store: a :class:`~agentloop.logs.RunLog`, a SQLite
            file path, or a ``postgresql://`` URL (the team store; see
            ``docs/logs-and-sessions.md``). Its tool-effect ledger makes the runs
            resumable (:meth:`resume`, ``docs/durable-runs.md``).
        approval: ``"defer"``: a call of a tool with ``requires_approval`` is not asked
            about but deferred: the run ends with ``stop_reason="awaiting_approval"`` and
            the calls in ``RunResult.pending``, and :meth:`resume` with ``decisions``
            continues it, in any process sharing the store (needs ``store``). None: ask the
            approver (or deny).
        max_cost: Money budget per run (a ``Decimal``, or a number or numeric string), checked
            before every model call from the prompt's estimate and ``price``, then
            :class:`~agentloop.CostBudgetExceeded`; needs a price for the model (else a
            ConfigurationError here). See ``docs/cost.md``.
        price: The model's :class:`~agentloop.Price` (per million tokens) for calls whose
            provider reports no cost; default: ``[prices."provider:model"]`` of
            ``agentloop.toml``, else unknown (``Usage.cost`` None).

    Attributes:
        limits: The run limits (:class:`~agentloop.RunLimits`); ``agent.max_steps`` and the
            other limit names read and replace (checked) its fields.
        plugin_manager: This agent's pluggy manager.
        tool_selection: The tool names chosen in ``tools=[...]`` and their options.
        hook: ``plugin_manager.hook``: plugins may call hooks through ``context.agent.hook``.
    """

    if TYPE_CHECKING:  # properties over ``limits``, made below the class (one per RunLimits field)
        max_steps: int
        max_tokens_total: int | None
        max_tool_retries: int
        output_retries: int
        max_repeated_calls: int | None
        max_tool_calls_per_turn: int | None
        tool_timeout: float | None
        max_result_chars: int | None
        max_parallel_tools: int
        max_context_tokens: int | Literal["auto"] | None
        max_cost: Decimal | None

    def __init__(
        self,
        model: str | Model = "offline",
        *,
        instructions: str | None = None,
        tools: Iterable[Tool | Callable[..., Any] | str] = (),
        tool_options: Mapping[str, Mapping[str, Any]] | None = None,
        plugins: Sequence[object] = (),
        tool_choice: str | Mapping[str, Any] | None = "auto",
        max_steps: int = 20,
        output_type: Any = None,
        model_settings: Mapping[str, Any] | None = None,
        load_plugins: bool = True,
        block: Iterable[str] = (),
        approver: Callable[[ToolCall, Tool], bool] | None = None,
        name: str = "agent",
        stream: bool | None = None,
        max_tool_retries: int = 3,
        max_repeated_calls: int | None = 3,
        max_tool_calls_per_turn: int | None = 64,
        tool_timeout: float | None = DEFAULT_TOOL_TIMEOUT,
        max_result_chars: int | None = 20_000,
        max_parallel_tools: int = 8,
        max_tokens_total: int | None = None,
        max_context_tokens: int | Literal["auto"] | None = None,
        compact_history: bool = False,
        output_retries: int = 2,
        reset_tool_choice: bool = True,
        description: str | None = None,
        handoffs: Iterable[Any] | None = None,
        max_handoffs: int = DEFAULT_MAX_HANDOFFS,
        guardrails: Iterable[Guardrail] | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        limits: RunLimits | None = None,
        store: Any = None,
        max_cost: Decimal | float | str | None = None,
        price: Price | None = None,
        approval: Literal["defer"] | None = None,
    ) -> None:
        self.limits: RunLimits = limits_from(
            limits,
            {
                "max_steps": max_steps,
                "max_tool_retries": max_tool_retries,
                "max_repeated_calls": max_repeated_calls,
                "max_tool_calls_per_turn": max_tool_calls_per_turn,
                "tool_timeout": tool_timeout,
                "max_result_chars": max_result_chars,
                "max_parallel_tools": max_parallel_tools,
                "max_tokens_total": max_tokens_total,
                "max_context_tokens": max_context_tokens,
                "output_retries": output_retries,
                "max_cost": max_cost,
            },
        )
        self.compact_history = compact_history
        self.model: Model = resolve_model_arg(model, base_url=base_url, api_key=api_key)
        self._price: Price | None = price  # given: kept whatever the model becomes
        self._table_price: tuple[Any, Price | None] = (None, None)  # (model, its table price)
        CostBudget.of(self.limits.max_cost, self.price, self.model)  # no price: fail here
        self.instructions = instructions
        tools = list(tools) if not isinstance(tools, str) else [tools]
        self.tools: tuple[Tool, ...] = tuple(as_tool(t) for t in tools if not isinstance(t, str))
        self.tool_selection = ToolSelection([t for t in tools if isinstance(t, str)], tool_options)
        self.tool_choice = normalize_tool_choice(tool_choice)
        self.output_type = output_type
        profile = getattr(self.model, "profile", None) or ModelProfile()
        self.output_spec = OutputSpec.for_type(output_type, profile)
        self.model_settings: Mapping[str, Any] = dict(model_settings or {})
        self.name = name
        self.stream_mode = stream
        self.reset_tool_choice = reset_tool_choice
        self.description = description
        self.handoffs: tuple[Handoff, ...] = check_handoffs(handoffs, name)
        self.max_handoffs = check_max_handoffs(max_handoffs)
        self.guardrails: tuple[Guardrail, ...] = check_guardrails(guardrails)
        self.plugin_manager: pluggy.PluginManager = self._plugins(
            plugins, approver, profile, load_plugins=load_plugins, block=block
        )
        self.hook = self.plugin_manager.hook
        self.store = _run_log(store)
        if self.store is not None:
            self.plugin_manager.register(self.store.recorder(), "agentloop.store")
        self._register_ledger(approval)

    def _plugins(
        self,
        plugins: Sequence[object],
        approver: Callable[[ToolCall, Tool], bool] | None,
        profile: Any,
        *,
        load_plugins: bool,
        block: Iterable[str],
    ) -> pluggy.PluginManager:
        """This agent's plugin manager: its own tools, approver and context window first."""
        internal: dict[str, object] = {"agentloop.agent-tools": AgentTools(self.tools)}
        if approver is not None:
            internal["agentloop.approver"] = ApproverCallback(approver)
        if self.max_context_tokens is not None or getattr(profile, "context_tokens", None):
            # only with a budget: a request hook makes the loop copy every request
            internal["agentloop.context"] = ContextWindow()
        return make_plugin_manager(
            plugins=plugins, named=internal, load_entrypoints=load_plugins, blocked=block
        )

    def _register_ledger(self, approval: str | None) -> None:
        """The tool-effect ledger of ``store`` (and ``approval="defer"``, which needs it)."""
        if approval not in (None, "defer"):
            from agentloop.errors import ConfigurationError

            raise ConfigurationError(f"approval must be None or 'defer', not {approval!r}")
        if self.store is None:
            if approval == "defer":
                from agentloop.errors import ConfigurationError

                raise ConfigurationError(
                    "approval='defer' needs a store: a deferred run is continued from it "
                    "(Agent(..., store=PATH_OR_URL, approval='defer'))"
                )
            return
        from agentloop.durable import Ledger

        ledger = Ledger(self.store, defer=approval == "defer")
        self.plugin_manager.register(ledger, "agentloop.ledger")

    def resume(
        self,
        run_id: str,
        decisions: Mapping[str, Any] | None = None,
        *,
        force: bool = False,
        deps: Any = None,
    ) -> RunResult:
        """Continue a logged run that crashed, was interrupted or awaits approval.

        The transcript is rebuilt from the store; no call whose result is recorded runs
        again; a call that started and never finished reruns only if its tool is
        ``idempotent`` (else the model is told its outcome is unknown). The run continues
        under a new run id (``resumed_from`` lineage in the store). See
        ``docs/durable-runs.md``.

        Args:
            run_id: The run to continue (the last of its lineage).
            decisions: ``{call_id: True | False | Deny("reason") | Edit({...})}`` for the
                calls that wait (awaiting approval, or of unknown outcome).
            force: Resume although the agent's tools differ from the run's, or take over
                a resume whose process died before its run started.
            deps: As for :meth:`run`.

        Raises:
            RunNotResumable: Unknown, finished, corrupt or unlogged run, or no ``store``.
            AgentChangedError: The tools differ (names them) and not ``force``.
            UnknownCallError: A decision names no pending call.
            ResumeConflict: The run already moved on (another resume or decision won).
        """
        from agentloop.durable import prepare_resume, resume_events

        prepared = prepare_resume(self, run_id, decisions=decisions, force=force)
        final: RunResult | None = None
        for event in resume_events(prepared, deps=deps, stream=self.stream_mode is True):
            if isinstance(event, RunFinished):
                final = event.result
        if final is None:  # pragma: no cover - the loop always ends with RunFinished or raises
            raise RunError("the run ended without a result")
        return final

    def run(
        self,
        prompt: Prompt,
        *,
        history: Iterable[Mapping[str, Any] | Message] | None = None,
        deps: Any = None,
        session: Session | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> RunResult:
        """Run until the model answers and return the :class:`RunResult`.

        Args:
            prompt: The user's text, or one or more messages (dicts or ``Message``).
            attachments: Images and files sent with the prompt as content parts
                (:class:`~agentloop.Attachment`; see :mod:`agentloop.attachments`).
            history: Earlier messages (e.g. a previous ``RunResult.messages``).
            deps: Anything tools and hooks should see as ``context.deps``.
            session: Read the history from this session and, when the run answers,
                append the run's new messages to it (``SQLiteSession``,
                ``InMemorySession`` or your own ``Session``); not with ``history``.

        Raises:
            RunError: A limit ended the run (``.result`` is the partial result).
            KeyboardInterrupt: Propagates at once, with ``.agentloop_result`` set.
        """
        final: RunResult | None = None
        prompt = _attach(prompt, attachments, self.model)
        events = self.events(
            prompt, history=history, deps=deps, stream=self.stream_mode is True, session=session
        )
        for event in events:
            if isinstance(event, RunFinished):
                final = event.result
        if final is None:  # pragma: no cover - the loop always ends with RunFinished or raises
            raise RunError("the run ended without a result")
        return final

    def stream(
        self,
        prompt: Prompt,
        *,
        history: Iterable[Mapping[str, Any] | Message] | None = None,
        deps: Any = None,
        session: Session | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> Iterator[RunEvent]:
        """Run and yield events as they happen; the last one is ``RunFinished(.result)``.

        Events: ``TextDelta`` (``.delta``), ``ToolCallStarted``, ``ToolCallFinished``,
        ``StepFinished`` and last ``RunFinished``. Closing the iterator early
        cancels the run (``agentloop_run_end`` is told). Errors are raised as by :meth:`run`;
        ``session`` and ``attachments`` are used as by :meth:`run`.
        """
        prompt = _attach(prompt, attachments, self.model)
        stream = self.stream_mode is not False
        return self.events(prompt, history=history, deps=deps, stream=stream, session=session)

    # -- many runs (agentloop.batch): drivers around run/stream, no loop of their own --------

    async def arun(
        self,
        prompt: Prompt,
        *,
        history: Iterable[Mapping[str, Any] | Message] | None = None,
        deps: Any = None,
    ) -> RunResult:
        """:meth:`run` for async code: the same run, driven on a worker thread.

        Cancelling the awaiting task closes the model's response, stops the run at
        its next safe point (unfinished tool calls answered ``cancelled``) and raises
        :class:`asyncio.CancelledError` with ``.agentloop_result``, the partial result,
        once the worker thread has let go of the run. See ``docs/batch.md``.
        """
        from agentloop.aio import arun

        return await arun(self, prompt, history=history, deps=deps)

    def astream(
        self,
        prompt: Prompt,
        *,
        history: Iterable[Mapping[str, Any] | Message] | None = None,
        deps: Any = None,
    ) -> AsyncIterator[RunEvent]:
        """:meth:`stream` for async code: ``async for event in agent.astream(...)``.

        The same events; cancellation as for :meth:`arun`, and leaving the loop
        early cancels the run as closing :meth:`stream` does.
        """
        from agentloop.aio import astream

        return astream(self, prompt, history=history, deps=deps)

    def batch(self, inputs: Iterable[Any], **options: Any) -> list[ItemResult]:
        """Run many inputs (``workers=4`` at a time) and return their results in input order.

        Inputs are prompts or ``{"id", "prompt", "history", "deps"}`` dicts; a
        failing item is a result with ``.error``, never an exception. Options
        (``workers``, ``retries``, ``rpm``, ``tpm``, ``output`` for a resumable
        JSONL file, ...) are those of :func:`agentloop.batch.stream_batch`.
        """
        from agentloop.batch.driver import run_batch

        return run_batch(self, inputs, **options)

    def stream_batch(self, inputs: Iterable[Any], **options: Any) -> Iterator[ItemResult]:
        """Like :meth:`batch`, but yield each result as it finishes (completion order)."""
        from agentloop.batch.driver import stream_batch

        return stream_batch(self, inputs, **options)

    def close(self) -> None:
        """Release what the agent's plugins hold (servers, connections): ``agentloop_agent_close``.

        Every implementation is called, even when one raises (that becomes an
        :class:`~agentloop.AgentloopWarning`). Safe to call more than once; the
        agent can still run afterwards (plugins start again what they need).
        """
        import warnings

        from agentloop.errors import AgentloopWarning

        for outcome in call_each(self.plugin_manager, "agentloop_agent_close", agent=self):
            exc = outcome.error
            if exc is not None:
                warnings.warn(
                    AgentloopWarning(
                        f"plugin {outcome.owner!r} failed in agentloop_agent_close: "
                        f"{type(exc).__name__}: {exc}"
                    ),
                    stacklevel=2,
                )

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def as_tool(self, *, name: str | None = None, description: str | None = None) -> Tool:
        """Return a tool that runs this agent on a prompt and returns its final text.

        The sub-run gets the calling run's ``deps``; its output is the tool result.

        Args:
            name: The tool name (default: the agent's name).
            description: What the model is told the tool does.
        """
        from agentloop.tools import tool

        agent = self

        def run_agent(prompt: str, context: RunContext) -> Any:
            """Ask the agent.

            Args:
                prompt: The request for the agent, with everything it needs to know.
            """
            return agent.run(prompt, deps=context.deps).output

        return tool(
            run_agent,
            name=name or wire_name(self.name, "agent"),
            description=description or f"Ask the {self.name!r} agent.",
        )

    # -- the run seam: a frozen spec, and the event generator every driver runs -----------------

    @property
    def price(self) -> Price | None:
        """The model's price: the one given, else the price table's for the current model
        (read again only when ``agent.model`` is replaced, as the CLI's ``--model`` does)."""
        if self._price is not None:
            return self._price
        model, price = self._table_price
        if model is not self.model:
            model, price = self.model, price_of_model(self.model)
            self._table_price = (model, price)
        return price

    @price.setter
    def price(self, value: Price | None) -> None:
        self._price = value

    def spec(self) -> RunSpec:
        """A frozen snapshot of what a run of this agent needs, as the agent is now.

        Drivers that need a changed run (a cancellable, rate-limited model; another
        agent's tools for a handoff) change a copy: ``agent.spec().replace(model=...)``.
        """
        if self.handoffs:
            check_handoff_graph(self)  # one name per agent: handoffs may form cycles later
        return RunSpec(
            model=self.model,
            plugin_manager=self.plugin_manager,
            limits=self.limits,
            instructions=self.instructions,
            name=self.name,
            tools=self.tools,
            tool_selection=self.tool_selection,
            tool_choice=self.tool_choice,
            reset_tool_choice=self.reset_tool_choice,
            model_settings=self.model_settings,
            output_spec=self.output_spec,
            stream_mode=self.stream_mode,
            compact_history=self.compact_history,
            agent=self,
            handoffs=self.handoffs,
            max_handoffs=self.max_handoffs,
            guardrails=self.guardrails,
            price=self.price,
        )

    def events(
        self,
        prompt: Prompt,
        *,
        history: Iterable[Mapping[str, Any] | Message] | None = None,
        deps: Any = None,
        stream: bool = False,
        spec: RunSpec | None = None,
        session: Session | None = None,
    ) -> Iterator[RunEvent]:
        """The run's event generator, what :meth:`run` and :meth:`stream` consume.

        Args:
            prompt: As for :meth:`run`.
            history: As for :meth:`run`.
            deps: As for :meth:`run`.
            stream: Call the model's ``stream`` (True) or ``create`` (False).
            spec: Run this spec instead of :meth:`spec` (a driver's changed copy).
            session: As for :meth:`run`.
        """
        spec = spec if spec is not None else self.spec()
        if session is not None:
            return self._session_events(
                prompt, history, deps, stream=stream, spec=spec, session=session
            )
        messages = initial_messages(spec.instructions, prompt, history)
        return run_events(spec, messages, deps=deps, stream=stream)

    def _session_events(
        self,
        prompt: Prompt,
        history: Any,
        deps: Any,
        *,
        stream: bool,
        spec: RunSpec,
        session: Session,
    ) -> Iterator[RunEvent]:
        """Run on the session's history; append the run's new messages when it answers."""
        from agentloop.sessions.base import run_with_session, session_history

        read = session_history(session, history)
        messages = initial_messages(spec.instructions, prompt, read)
        skip = len(messages) - len(read) - len(initial_messages(None, prompt, None))
        events = run_events(spec, messages, deps=deps, stream=stream)
        return run_with_session(events, session, read, skip)

    def __repr__(self) -> str:
        model = getattr(self.model, "name", type(self.model).__name__)
        tools = [t.name for t in self.tools] + list(self.tool_selection.names)
        return f"Agent(name={self.name!r}, model={model!r}, tools={tools})"


def _limit(name: str) -> property:
    """``agent.<name>``: reads ``agent.limits.<name>``; setting it replaces the limits (checked)."""

    def get(self: Agent) -> Any:
        return getattr(self.limits, name)

    def set_(self: Agent, value: Any) -> None:
        self.limits = self.limits.replace(**{name: value})

    return property(get, set_, doc=f"The run limit ``{name}`` (see :class:`~agentloop.RunLimits`).")


for _name in LIMIT_NAMES:
    setattr(Agent, _name, _limit(_name))
del _name


def _attach(prompt: Prompt, attachments: Sequence[Attachment], model: Any) -> Prompt:
    """The prompt with its attachments' content parts (the prompt itself without any)."""
    if not attachments:
        return prompt
    from agentloop.attachments import with_attachments

    return with_attachments(prompt, attachments, model)  # type: ignore[no-any-return]


def _run_log(store: Any) -> Any:
    """``store=``: a :class:`~agentloop.logs.RunLog`, or the path or URL of one, or None."""
    if store is None:
        return None
    from agentloop.logs import RunLog

    return store if isinstance(store, RunLog) else RunLog(store)
