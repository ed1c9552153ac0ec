"""Batch JSONL files: lines end at "\\n" only; damaged lines fail alone or name the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentloop.batch.items import read_done, read_items
from agentloop.errors import AgentloopError


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_input_and_resume_keep_unicode_line_separators_in_their_line(
    tmp_path: Path, separator: str
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"id": "a", "prompt": f"x{separator}y"}, ensure_ascii=False) + "\n"
    )
    items, problems, _ = read_items(source)
    assert problems == [] and [i.prompt for i in items] == [f"x{separator}y"]
    out = tmp_path / "out.jsonl"
    line = {"id": "a", "output": f"answer{separator}2", "batch": {"agent": "g", "input": "i"}}
    out.write_text(json.dumps(line, ensure_ascii=False) + "\n")
    done = read_done(out, {"agent": "g", "input": "i"})
    assert done["a"].output == f"answer{separator}2"


def test_an_input_line_nested_3000_deep_fails_alone(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    deep = '{"prompt": "p", "x": ' + "[" * 3000 + "]" * 3000 + "}"
    source.write_text(deep + "\n" + json.dumps({"prompt": "fine"}) + "\n")
    items, problems, _ = read_items(source)
    assert [i.prompt for i in items] == ["fine"]
    assert [p.line for p in problems] == [1]


def test_a_hand_edited_output_line_is_one_error_naming_the_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text(
        json.dumps({"id": "a", "duration": "abc", "batch": {"agent": "g", "input": "i"}}) + "\n"
    )
    with pytest.raises(AgentloopError, match=r"out\.jsonl line 1 .*delete that line"):
        read_done(out, {"agent": "g", "input": "i"})
