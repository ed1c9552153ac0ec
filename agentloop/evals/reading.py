"""Reading a dataset file: JSON, JSONL, or YAML when PyYAML is installed, with each case's line.

* ``.jsonl``: one case per line; a line ``{"dataset": {...}}`` holds the dataset-level keys
  (``name``, ``evaluators``, ``pricing``).
* ``.json``: an object with ``cases`` (and the dataset-level keys), or a list of cases.
* ``.yaml``/``.yml``: the same shapes as ``.json``. PyYAML is not a dependency of agentloop:
  without it a YAML file is one error saying ``pip install pyyaml``. Only ``yaml.safe_load``'s
  subset is read (no Python objects).

Each case comes with the 1-based line where it starts, so errors can name it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentloop.errors import ConfigurationError

__all__ = ["DatasetError", "RawDataset", "read_file"]

SUFFIXES = (".json", ".jsonl", ".yaml", ".yml")


class DatasetError(ConfigurationError):
    """A dataset file is malformed (the file's fault): the message names the file, line and key."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RawDataset:
    """A dataset file as read, before validation.

    Attributes:
        settings: The dataset-level keys (everything but ``cases``).
        cases: ``(line, case)`` pairs, the case as read (validated later).
        text: The file's text (its hash fingerprints the evaluation).
    """

    settings: dict[str, Any] = field(default_factory=dict)
    cases: list[tuple[int, Any]] = field(default_factory=list)
    text: str = ""


def read_file(path: Path) -> RawDataset:
    """Read ``path`` by its suffix.

    Raises:
        DatasetError: Unknown suffix, unreadable file, bad JSON/YAML (with its line), or a YAML
            file without PyYAML installed.
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DatasetError(f"{path}: a dataset is a {', '.join(SUFFIXES)} file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"no dataset file {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read the dataset {path}: {exc}") from None
    if suffix == ".jsonl":
        return _jsonl(path, text)
    if suffix == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path} line {exc.lineno}: not valid JSON: {exc.msg}") from None
        return _document(path, document, text, _json_lines(text, document))
    document, lines = _yaml(path, text)
    return _document(path, document, text, lines)


def _jsonl(path: Path, text: str) -> RawDataset:
    settings: dict[str, Any] = {}
    cases: list[tuple[int, Any]] = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path} line {number}: not valid JSON: {exc.msg}") from None
        if isinstance(value, dict) and "dataset" in value and "input" not in value:
            if not isinstance(value["dataset"], dict) or len(value) != 1:
                raise DatasetError(
                    f'{path} line {number}: a settings line is {{"dataset": {{...}}}} alone'
                )
            settings.update(value["dataset"])
            continue
        cases.append((number, value))
    if "cases" in settings:
        raise DatasetError(f"{path}: in a .jsonl dataset every case is its own line")
    return RawDataset(settings=settings, cases=cases, text=text)


def _document(path: Path, document: Any, text: str, lines: list[int]) -> RawDataset:
    if isinstance(document, list):
        document = {"cases": document}
    if not isinstance(document, dict):
        raise DatasetError(
            f"{path}: a dataset is an object with 'cases' (or a list of cases), "
            f"not {type(document).__name__}"
        )
    cases = document.get("cases")
    if not isinstance(cases, list):
        raise DatasetError(f"{path}: 'cases' is missing or not a list")
    settings = {k: v for k, v in document.items() if k != "cases"}
    numbered = [(lines[i] if i < len(lines) else 1, case) for i, case in enumerate(cases)]
    return RawDataset(settings=settings, cases=numbered, text=text)


def _yaml(path: Path, text: str) -> tuple[Any, list[int]]:
    try:
        import yaml
    except ImportError:
        raise DatasetError(
            f"{path}: reading a YAML dataset needs PyYAML, which agentloop does not depend on: "
            "pip install pyyaml (or write the dataset as .json or .jsonl)"
        ) from None
    try:
        document = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DatasetError(f"{path}{where}: not valid YAML: {problem}") from None
    return document, _yaml_lines(node)


def _yaml_lines(node: Any) -> list[int]:
    """The first line of each item of the document's ``cases`` (or of the top-level list)."""
    items: Any = None
    if node is None:
        return []
    if node.id == "sequence":
        items = node.value
    elif node.id == "mapping":
        for key, value in node.value:
            if key.value == "cases" and value.id == "sequence":
                items = value.value
    return [item.start_mark.line + 1 for item in items or ()]


def _json_lines(text: str, document: Any) -> list[int]:
    """The first line of each element of the top-level ``cases`` array (or top-level list)."""
    start: int | None = None
    if isinstance(document, list):
        start = text.index("[")
    elif isinstance(document, dict) and isinstance(document.get("cases"), list):
        start = _key_value_start(text, "cases")
        if start is None:
            return []
    else:
        return []
    return [text.count("\n", 0, offset) + 1 for offset in _element_offsets(text, start)]


def _key_value_start(text: str, key: str) -> int | None:
    """The offset of the value of the top-level ``key`` (depth-1 object key)."""
    decoder = json.JSONDecoder()
    depth, i = 0, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            value, end = decoder.raw_decode(text, i)
            if depth == 1 and value == key and text[end:].lstrip().startswith(":"):
                return text.index(":", end) + 1 + _ws(text, text.index(":", end) + 1)
            i = end
            continue
        depth += ch in "[{"
        depth -= ch in "]}"
        i += 1
    return None


def _element_offsets(text: str, start: int) -> list[int]:
    """Offsets where each element of the array starting at ``text[start] == '['`` begins."""
    decoder = json.JSONDecoder()
    offsets: list[int] = []
    i = start + 1
    while True:
        i += _ws(text, i)
        if i >= len(text) or text[i] == "]":
            return offsets
        offsets.append(i)
        _, i = decoder.raw_decode(text, i)
        i += _ws(text, i)
        if i < len(text) and text[i] == ",":
            i += 1


def _ws(text: str, i: int) -> int:
    n = 0
    while i + n < len(text) and text[i + n] in " \t\r\n":
        n += 1
    return n
