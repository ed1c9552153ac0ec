"""Bad input to a resume, in process on real SQLite files: each a one-line error naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentloop import (
    Agent,
    AgentChangedError,
    ConfigurationError,
    Deny,
    RunNotResumable,
    tool,
)
from agentloop.durable import prepare_resume, resume_events
from agentloop.logs import RunLog
from agentloop.testing import ScriptedModel, tool_call, tool_calls_response

effects: list[str] = []


@tool
def charge(amount: int) -> str:
    """Charge.

    Args:
        amount: How much.
    """
    effects.append(f"charge {amount}")
    raise KeyboardInterrupt  # stops the run between `started` and the result


@tool
def other(x: int) -> int:
    """Another tool.

    Args:
        x: A number.
    """
    return x


def _interrupted(store: str) -> str:
    model = ScriptedModel([tool_calls_response(tool_call("charge", {"amount": 1}, id="c1"))])
    agent = Agent(model, tools=[charge], store=store, load_plugins=False)
    with pytest.raises(KeyboardInterrupt) as stopped:
        agent.run("charge 1")
    return str(stopped.value.agentloop_result.run_id)  # type: ignore[attr-defined]


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


def test_defer_without_a_store_is_refused_up_front() -> None:
    with pytest.raises(ConfigurationError, match="approval='defer' needs a store"):
        Agent("offline", approval="defer")


def test_an_agent_without_a_store_cannot_resume() -> None:
    with pytest.raises(RunNotResumable, match="no store") as caught:
        Agent("offline").resume("0" * 32)
    _one_line(caught.value)


def test_unknown_finished_and_corrupt_runs(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    agent = Agent(ScriptedModel(["hi"]), store=store, load_plugins=False)
    with pytest.raises(RunNotResumable, match="--no-log") as unknown:
        agent.resume("f" * 32)
    finished = agent.run("hello").run_id
    with pytest.raises(RunNotResumable, match=r"finished \(stop\)") as done:
        agent.resume(finished)
    broken = _interrupted(store)
    log = RunLog(store)
    with log.db.transaction() as conn:
        conn.execute(
            "UPDATE events SET data = '{not json' WHERE run = (SELECT n FROM runs WHERE id = ?)",
            (broken,),
        )
    log.close()
    agent2 = Agent(ScriptedModel(["x"]), tools=[charge], store=store, load_plugins=False)
    with pytest.raises(RunNotResumable, match="cannot be rebuilt") as corrupt:
        agent2.resume(broken)
    for caught in (unknown, done, corrupt):
        _one_line(caught.value)


def test_a_changed_agent_names_the_tools_and_force_resumes(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    effects.clear()
    run_id = _interrupted(store)
    changed = Agent(ScriptedModel(["done"]), tools=[other], store=store, load_plugins=False)
    with pytest.raises(AgentChangedError) as caught:
        changed.resume(run_id)
    assert caught.value.missing == ("charge",) and caught.value.added == ("other",)
    assert "--force" in _one_line(caught.value)
    result = changed.resume(run_id, force=True)
    assert result.output == "done" and effects == ["charge 1"]


def test_ask_decides_a_call_of_unknown_outcome(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    effects.clear()
    run_id = _interrupted(store)
    asked = []

    def ask(pending: object) -> object:
        asked.append(pending)
        return Deny("the person checked: it went through")

    agent = Agent(ScriptedModel(["ok"]), tools=[charge], store=store, load_plugins=False)
    prepared = prepare_resume(agent, run_id, ask=ask)
    events = list(resume_events(prepared))
    [pending] = asked
    assert (pending.call_id, pending.name, pending.state) == ("c1", "charge", "unknown")
    result = events[-1].result
    [answer] = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert "it went through" in answer and "unknown" in answer
    assert effects == ["charge 1"]
