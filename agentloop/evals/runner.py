"""Running a dataset: every case on the batch engine, each finished run scored at once.

:func:`evaluate` turns each case (times ``repeat``) into a batch item and runs them with
:func:`agentloop.batch.stream_batch`: the same workers, retries, rate limits, Ray engine and
resume. As each run finishes its facts are read from its own record (the ``RunResult``, or the
run log for runs made elsewhere), scored, and appended to a journal, so an interrupted
evaluation keeps every finished case and a rerun with the same ``state`` resumes where it
stopped. A case whose agent raises is an errored case; the others go on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentloop.batch import BatchItem, ItemResult, stream_batch
from agentloop.batch.items import agent_fingerprint, read_done
from agentloop.errors import ConfigurationError
from agentloop.evals.chaos import Chaos
from agentloop.evals.custom import LLMJudge
from agentloop.evals.evaluators import AllOf, AnyOf, Evaluator, Score
from agentloop.evals.facts import RunFacts, from_log, from_result, priced
from agentloop.evals.registry import build
from agentloop.evals.report import CaseResult, EvalReport, summarize

__all__ = ["evaluate", "item_ids", "score_case", "score_run"]

# agentloop.evals.dataset.Case / Dataset: named loosely here, because Dataset.evaluate calls
# this module (an import back would be a cycle)
Case = Any
Dataset = Any


def item_ids(case: Case, repeat: int) -> list[str]:
    """The batch ids of a case's runs: its id, or ``id#1``, ``id#2``, ... when repeated."""
    return [case.id] if repeat == 1 else [f"{case.id}#{r + 1}" for r in range(repeat)]


def score_run(facts: RunFacts, case: Case, evaluators: Sequence[Evaluator] = ()) -> list[Score]:
    """Every evaluator's verdict on one run (a failed run scores 0 on each, saying why)."""
    chosen = [*case.evaluators, *evaluators]
    if facts.error:
        why = (
            f"not scored: the run failed ({facts.error.get('type')}: {facts.error.get('message')})"
        )
        return [
            Score(
                name=e.name,
                score=0.0,
                passed=False,
                reason=why[:300],
                deterministic=e.deterministic,
            )
            for e in chosen
        ]
    return [e.evaluate(facts, case) for e in chosen]


def score_case(
    facts: RunFacts,
    case: Case,
    *,
    repeat: int = 0,
    evaluators: Sequence[Evaluator] = (),
    faults: Sequence[Mapping[str, Any]] = (),
) -> CaseResult:
    """Score one run of ``case`` into a :class:`CaseResult` (live, logged or replayed alike)."""
    scores = score_run(facts, case, evaluators)
    known = [s.score for s in scores if s.score is not None]
    errored = facts.error is not None
    return CaseResult(
        id=case.id,
        repeat=repeat,
        scores=tuple(scores),
        score=0.0 if errored else (sum(known) / len(known) if known else 1.0),
        passed=not errored and all(s.passed is not False for s in scores),
        errored=errored,
        error=facts.error,
        output=facts.output,
        run_id=facts.run_id,
        tokens=facts.total_tokens,
        cost=facts.cost,
        duration=facts.duration or 0.0,
        model_calls=facts.model_calls,
        tool_calls=facts.tool_names,
        stop_reason=facts.stop_reason,
        faults=tuple(faults),
        tags=case.tags,
        input=case.input,
        expected=case.expected,
        metadata=case.metadata,
    )


def evaluate(
    dataset: Dataset,
    agent: Any,
    *,
    workers: int = 4,
    repeat: int = 1,
    engine: str = "local",
    address: str | None = None,
    retries: int = 2,
    rpm: float | None = None,
    tpm: float | None = None,
    chaos: Chaos | None = None,
    judge: Any = None,
    evaluators: Sequence[Any] = (),
    log: str | Path | None = None,
    state: str | Path | None = None,
    keep_state: bool = False,
    force: bool = False,
    target: str | None = None,
    stats: Any = None,
    on_start: Callable[[Any], None] | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
) -> EvalReport:
    """Run every case of ``dataset`` on ``agent`` and score each run.

    Args:
        dataset: The cases.
        agent: An :class:`~agentloop.Agent`; for ``engine="ray"`` a picklable function
            returning one (as for :func:`~agentloop.batch.stream_batch`).
        workers: Runs at once.
        repeat: Runs per case (their spread is reported).
        engine: ``"local"`` (threads) or ``"ray"``.
        address: The Ray cluster's address.
        retries: Reruns of a run after a transient API error.
        rpm: Requests per minute, shared by all workers.
        tpm: Tokens per minute, shared by all workers.
        chaos: Faults to inject (:class:`~agentloop.evals.Chaos`), or None.
        judge: The model of every ``llm_judge`` evaluator (off without it).
        evaluators: More evaluators for every case (objects, functions or dataset entries).
        log: A run log file to record every run in (required with Ray: the evaluators read
            the workers' runs from it).
        state: Where to journal finished runs (``STATE.runs.jsonl``, ``STATE.cases.jsonl``):
            an interrupted evaluation with the same state resumes.
        keep_state: Keep the journals after a complete evaluation (default: removed).
        force: Resume from journals written for another agent or dataset.
        target: The name the report gives the agent (default: the agent's name).
        stats: A :class:`~agentloop.batch.BatchStats` to update (for a progress bar).
        on_start: Called with the batch engine once it runs.
        on_case: Called with each :class:`CaseResult` as it is scored.

    Raises:
        ConfigurationError: Bad options (``repeat`` < 1, Ray without ``log``, ...).
        KeyboardInterrupt: After every finished run was journaled (rerun to resume).
    """
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ConfigurationError(f"repeat must be an integer >= 1, got {repeat!r}")
    if engine == "ray" and log is None:
        raise ConfigurationError("engine='ray' needs log=: the evaluators read each run from it")
    extra = [build(e) for e in evaluators]
    _bind_judge([*extra, *(e for c in dataset.cases for e in c.evaluators)], judge)
    local = agent() if engine == "ray" else agent
    items, owners = _items(dataset, repeat)
    fingerprint = {
        "agent": agent_fingerprint(local, target),
        "input": _input_hash(dataset, repeat, chaos),
    }
    journal = _Journal(state, fingerprint, force)
    began = time.monotonic()
    results: dict[str, CaseResult] = dict(journal.done)
    todo = [i for i in items if i.id not in results]
    runner = agent if engine != "ray" else _Recipe(agent, chaos, str(log))
    with _prepared(local if engine != "ray" else None, chaos, log) as run_log:
        for item in stream_batch(
            runner, todo, workers=workers, retries=retries, rpm=rpm, tpm=tpm,
            output=journal.runs_path, force=True, engine=engine, address=address,
            stats=stats, fingerprint=fingerprint, on_start=on_start,
        ):  # fmt: skip
            case, r = owners[item.id]
            result = _scored(item, case, r, extra, dataset, chaos, run_log)
            journal.write(item.id, result)
            results[item.id] = result
            if on_case is not None:
                on_case(result)
    for item_id, item in journal.runs_without_cases(results).items():
        case, r = owners[item_id]  # journaled by the batch, not scored before the stop
        results[item_id] = _scored(item, case, r, extra, dataset, chaos, log)
    report = _report(
        dataset, items, results, local, target, repeat, chaos, time.monotonic() - began
    )
    if not keep_state:
        journal.remove()
    return report


def _scored(
    item: ItemResult,
    case: Case,
    repeat: int,
    extra: Sequence[Evaluator],
    dataset: Dataset,
    chaos: Chaos | None,
    log: str | Path | None,
) -> CaseResult:
    error = dict(item.error) if item.error else None
    if item.result is not None:
        facts = from_result(item.result, duration=item.duration, error=error)
    elif log is not None and item.run_id:
        facts = from_log(log, item.run_id)
    else:
        facts = RunFacts(output=item.output, stop_reason=item.stop_reason, error=error,
                         total_tokens=item.total_tokens, duration=item.duration)  # fmt: skip
    facts = priced(facts, dataset.pricing)
    faults = [f.to_dict() for f in chaos.faults_of(facts.run_id)] if chaos and facts.run_id else []
    return score_case(facts, case, repeat=repeat, evaluators=extra, faults=faults)


def _items(dataset: Dataset, repeat: int) -> tuple[list[BatchItem], dict[str, tuple[Case, int]]]:
    items: list[BatchItem] = []
    owners: dict[str, tuple[Case, int]] = {}
    for case in dataset.cases:
        for r, item_id in enumerate(item_ids(case, repeat)):
            items.append(BatchItem(id=item_id, prompt=case.input, deps=case.deps, index=len(items)))
            owners[item_id] = (case, r)
    return items, owners


def _input_hash(dataset: Dataset, repeat: int, chaos: Chaos | None) -> str:
    key = [dataset.fingerprint, repeat, chaos.to_dict() if chaos else None]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _bind_judge(evaluators: Sequence[Evaluator], judge: Any) -> None:
    for e in evaluators:
        if isinstance(e, LLMJudge) and e.model is None and judge is not None:
            e.model = judge
        elif isinstance(e, (AllOf, AnyOf)):
            _bind_judge(e.evaluators, judge)


@contextlib.contextmanager
def _prepared(agent: Any, chaos: Chaos | None, log: str | Path | None) -> Iterator[Any]:
    """The agent with chaos and the run log attached for the evaluation (then detached)."""
    with contextlib.ExitStack() as stack:
        if agent is not None and chaos is not None:
            stack.enter_context(chaos.attached(agent))
        if agent is not None and log is not None:
            from agentloop.logs import RunLog

            run_log = RunLog(log)
            stack.callback(run_log.close)
            recorder = run_log.recorder()
            agent.plugin_manager.register(recorder, f"agentloop-eval-log-{id(recorder)}")
            stack.callback(agent.plugin_manager.unregister, recorder)
        yield log


class _Recipe:
    """A picklable agent factory for Ray workers: the user's factory, plus chaos and the log."""

    def __init__(self, factory: Callable[[], Any], chaos: Chaos | None, log: str) -> None:
        self.factory = factory
        self.chaos = None if chaos is None else chaos.to_dict()
        self.log = log

    def __call__(self) -> Any:
        from agentloop.logs import RunLog

        agent = self.factory()
        if self.chaos is not None:
            chaos = Chaos(self.chaos["faults"], seed=self.chaos["seed"], rate=self.chaos["rate"])
            chaos.attached(agent).__enter__()  # for the worker's lifetime
        agent.plugin_manager.register(RunLog(self.log).recorder(), "agentloop-eval-log")
        return agent


class _Journal:
    """``STATE.cases.jsonl`` (scored runs) next to the batch's own ``STATE.runs.jsonl``."""

    def __init__(self, state: str | Path | None, fingerprint: dict[str, str], force: bool):
        self.fingerprint = fingerprint
        self.done: dict[str, CaseResult] = {}
        self.runs_path = self.cases_path = None
        if state is None:
            return
        self.runs_path = Path(f"{state}.runs.jsonl")
        self.cases_path = Path(f"{state}.cases.jsonl")
        read_done(self.runs_path, fingerprint, force=force)  # refuses another batch's file
        if self.cases_path.exists():
            for line in self.cases_path.read_text(encoding="utf-8").split("\n"):  # JSONL: \n only
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    row = json.loads(line)
                    if force or row["fingerprint"] == fingerprint:
                        self.done[row["item"]] = CaseResult.from_dict(row["case"])

    def write(self, item_id: str, result: CaseResult) -> None:
        if self.cases_path is None:
            return
        row = {"fingerprint": self.fingerprint, "item": item_id, "case": result.to_dict()}
        with self.cases_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")

    def runs_without_cases(self, scored: Mapping[str, CaseResult]) -> dict[str, ItemResult]:
        if self.runs_path is None:
            return {}
        done = read_done(self.runs_path, self.fingerprint, force=True)
        return {k: v for k, v in done.items() if k not in scored}

    def remove(self) -> None:
        for path in (self.runs_path, self.cases_path):
            if path is not None:
                path.unlink(missing_ok=True)


def _report(
    dataset: Dataset,
    items: list[BatchItem],
    results: Mapping[str, CaseResult],
    agent: Any,
    target: str | None,
    repeat: int,
    chaos: Chaos | None,
    seconds: float,
) -> EvalReport:
    cases = tuple(results[i.id] for i in items if i.id in results)
    overall, by_evaluator, by_tag, spread = summarize(cases)
    model = getattr(agent, "model", None)
    return EvalReport(
        dataset={
            "name": dataset.name,
            "path": str(dataset.path) if dataset.path else None,
            "fingerprint": dataset.fingerprint,
            "cases": len(dataset.cases),
        },
        target=target or str(getattr(agent, "name", "agent")),
        model=str(getattr(model, "name", model)),
        repeat=repeat,
        chaos=chaos.to_dict() if chaos else None,
        seconds=seconds,
        overall=overall,
        evaluators=by_evaluator,
        tags=by_tag,
        cases=cases,
        spread=spread,
        deterministic=all(s.deterministic for c in cases for s in c.scores),
    )
