"""The eval JSONL readers split on ``\\n`` only (issue 19's JSONL class: every reader).

A ``.jsonl`` dataset and the evaluation's case journal (``STATE.cases.jsonl``) are written with
``ensure_ascii=False``, so U+2028, U+2029 and NEL stay raw inside their strings; a reader that
splits with ``str.splitlines()`` cuts such a line in two.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batch_support import echo_agent, echo_server

from agentloop.evals import Dataset

SEPARATORS = ["\u2028", "\u2029", "\x85"]


@pytest.mark.parametrize("separator", SEPARATORS, ids=["U+2028", "U+2029", "NEL"])
def test_a_jsonl_dataset_keeps_a_line_separator_inside_its_case(
    tmp_path: Path, separator: str
) -> None:
    path = tmp_path / "cases.jsonl"
    cases = [{"id": "a", "input": f"one{separator}two"}, {"id": "b", "input": "three"}]
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), "utf-8")
    dataset = Dataset.load(path)
    assert [(c.id, c.input) for c in dataset.cases] == [("a", f"one{separator}two"), ("b", "three")]


@pytest.mark.parametrize("separator", SEPARATORS, ids=["U+2028", "U+2029", "NEL"])
def test_a_resumed_evaluation_takes_a_case_with_a_line_separator_from_the_journal(
    tmp_path: Path, separator: str
) -> None:
    scored: list[str] = []

    def counted(facts: object) -> bool:
        scored.append(str(getattr(facts, "text", "")))
        return True

    dataset = Dataset.from_cases([{"id": "c0", "input": f"hello{separator}0"}])
    state = tmp_path / "report"
    with echo_server() as server:
        first = dataset.evaluate(
            echo_agent(server.base_url), state=state, keep_state=True, evaluators=[counted]
        )
        assert len(scored) == 1
        journal = Path(f"{state}.cases.jsonl").read_text(encoding="utf-8")
        assert separator in journal  # the journal keeps it raw (ensure_ascii=False)
        sent = len(server.requests)
        again = dataset.evaluate(echo_agent(server.base_url), state=state, evaluators=[counted])
        assert len(server.requests) == sent  # not run again
    assert len(scored) == 1, "the journaled case was scored again: its line was not read"
    assert [c.to_dict() for c in again.cases] == [c.to_dict() for c in first.cases]
