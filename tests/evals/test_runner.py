"""Evaluating real agents over a real local HTTP server: live, logged and replayed runs alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batch_support import echo_agent, echo_server

from agentloop.evals import Chaos, Dataset, DatasetError, from_log, from_result, score_case

CASES = [
    {
        "id": f"c{n}",
        "input": f"hello {n}",
        "expected_tools": [{"name": "shout", "arguments": {"text": f"hello {n}"}}],
        "evaluators": [{"type": "contains", "value": f"HELLO {n}"}],
        "tags": ["even" if n % 2 == 0 else "odd"],
    }
    for n in range(4)
]


@pytest.fixture
def server():
    with echo_server() as s:
        yield s


def test_a_dataset_scores_every_case_and_an_errored_case_does_not_stop_the_rest(server) -> None:
    dataset = Dataset.from_cases([*CASES, {"id": "bad", "input": "please fail"}])
    report = dataset.evaluate(echo_agent(server.base_url, max_tool_retries=0), workers=2, retries=0)
    by_id = {c.id: c for c in report.cases}
    assert [c.id for c in report.cases] == ["c0", "c1", "c2", "c3", "bad"]
    assert all(by_id[f"c{n}"].passed for n in range(4))
    assert by_id["bad"].errored and by_id["bad"].error["type"] == "BadRequestError"
    assert report.score == pytest.approx(0.8)
    assert {g.name for g in report.tags} == {"even", "odd"}
    assert {g.name for g in report.evaluators} == {"contains", "tool_trajectory", "tool_arguments"}
    assert report.overall.tokens == 4 * 30


def test_live_logged_and_replayed_runs_score_the_same(server, tmp_path: Path) -> None:
    from agentloop.tracing.tape import record, replay

    dataset = Dataset.from_cases(CASES[:1])
    case = dataset.cases[0]
    log = tmp_path / "runs.db"
    agent = echo_agent(server.base_url)
    with record(tmp_path / "c.cassette.jsonl", agent):
        report = dataset.evaluate(agent, log=log)
    live = report.cases[0]
    logged = score_case(from_log(log, live.run_id), case)
    with replay(tmp_path / "c.cassette.jsonl", agent, mode="lenient"):  # batch runs stream
        replayed = score_case(from_result(agent.run("hello 0")), case)
    for other in (logged, replayed):
        assert [s.to_dict() for s in other.scores] == [s.to_dict() for s in live.scores]
        assert other.tool_calls == live.tool_calls == ("shout",)
        assert other.tokens == live.tokens and other.passed


def test_chaos_faults_are_recorded_and_reproducible_by_seed(server) -> None:
    dataset = Dataset.from_cases(CASES)

    def faults(seed: int) -> list:
        chaos = Chaos("tool-timeout,tool-error,empty-response", seed=seed, rate=0.5)
        report = dataset.evaluate(echo_agent(server.base_url), chaos=chaos, workers=3, retries=0)
        return [(c.id, [f["kind"] for f in c.faults], c.passed) for c in report.cases]

    first = faults(1)
    assert first == faults(1)
    assert any(kinds for _, kinds, _ in first)
    assert any(faults(s) != first for s in (2, 3, 4))


def test_chaos_is_detached_after_the_evaluation(server) -> None:
    agent = echo_agent(server.base_url)
    model = agent.model
    Dataset.from_cases(CASES[:1]).evaluate(agent, chaos=Chaos("all", rate=1.0), retries=0)
    assert agent.model is model
    assert agent.run("hello 9").output == "done: HELLO 9"


def test_a_rerun_with_the_same_state_resumes(server, tmp_path: Path) -> None:
    dataset = Dataset.from_cases(CASES)
    state = tmp_path / "report"
    first = dataset.evaluate(echo_agent(server.base_url), state=state, keep_state=True)
    sent = len(server.requests)
    again = dataset.evaluate(echo_agent(server.base_url), state=state)
    assert len(server.requests) == sent  # every case came from the journal
    assert [c.to_dict() for c in again.cases] == [c.to_dict() for c in first.cases]
    assert not Path(f"{state}.cases.jsonl").exists()  # removed once complete


def test_repeat_reports_the_spread(server) -> None:
    report = Dataset.from_cases(CASES[:2]).evaluate(echo_agent(server.base_url), repeat=3)
    assert len(report.cases) == 6 and {c.repeat for c in report.cases} == {0, 1, 2}
    assert [(s.id, s.runs, s.stdev) for s in report.spread] == [("c0", 3, 0.0), ("c1", 3, 0.0)]


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"input": "a"}\n{"input": 3}\n', "line 2: cases[1].input"),
        (
            '{"input": "a", "evaluators": ["equal"]}\n',
            "line 1: cases[0].evaluators[0]: unknown evaluator 'equal'; did you mean equals",
        ),
        ('{"input": "a"}\nnot json\n', "line 2: not valid JSON"),
        ('{"id": "x", "input": "a"}\n{"id": "x", "input": "b"}\n', "line 2: duplicate case id 'x'"),
        ('{"input": "a", "expected_tools": [{"nam": "x"}]}\n', "line 1: cases[0].expected_tools"),
    ],
)
def test_a_malformed_dataset_names_the_line_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(text)
    with pytest.raises(DatasetError, match=None) as info:
        Dataset.load(path)
    assert message in str(info.value), str(info.value)


def test_json_and_yaml_datasets_name_each_case_line(tmp_path: Path) -> None:
    document = {"name": "d", "cases": [{"input": "a"}, {"input": "b", "tags": [1]}]}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(document, indent=2))
    with pytest.raises(DatasetError, match=r"d.json line 7: cases\[1\].tags\[0\]"):
        Dataset.load(path)
    yaml_path = tmp_path / "d.yaml"
    yaml_path.write_text("name: d\ncases:\n  - input: a\n    expected: a\n  - input: b\n")
    pytest.importorskip("yaml")
    dataset = Dataset.load(yaml_path)
    assert [c.line for c in dataset.cases] == [3, 5] and dataset.cases[0].expected == "a"
