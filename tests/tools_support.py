"""Shared by the tools-area tests: every schema agentloop compiles, and every strict schema
it sends, is checked against the Draft 2020-12 meta-schema (use the ``check_every_schema``
fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

import agentloop.schema.build
import agentloop.schema.handwritten
import agentloop.schema.hints
import agentloop.schema.strict
import agentloop.schema.validate

CHECKED: list[dict[str, Any]] = []


@pytest.fixture(autouse=True)
def check_every_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make every validator agentloop builds first check its schema with the meta-schema."""
    original = agentloop.schema.validate.compile_validator

    def checked(schema: Any) -> Any:
        jsonschema.Draft202012Validator.check_schema(schema)
        CHECKED.append(schema)
        return original(schema)

    monkeypatch.setattr(agentloop.schema.validate, "compile_validator", checked)
    monkeypatch.setattr(agentloop.schema.build, "compile_validator", checked)
    monkeypatch.setattr(agentloop.schema.handwritten, "compile_validator", checked)
    make_strict = agentloop.schema.strict.make_strict

    def checked_strict(schema: Any, **options: Any) -> Any:
        out = make_strict(schema, **options)
        jsonschema.Draft202012Validator.check_schema(out)
        CHECKED.append(out)
        return out

    for module in (agentloop.schema.build, agentloop.schema.hints, agentloop.schema.handwritten):
        monkeypatch.setattr(module, "make_strict", checked_strict)
    yield


def check_module_tools(namespace: dict[str, Any]) -> int:
    """Meta-check the schemas of the Tools defined at import time in a test module."""
    from agentloop import Tool

    tools = [v for v in namespace.values() if isinstance(v, Tool)]
    assert tools, "no module-level Tool to check"
    for t in tools:
        jsonschema.Draft202012Validator.check_schema(t.parameters)
    return len(tools)
