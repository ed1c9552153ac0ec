"""A dataset's ``json_schema`` evaluator is a schema from outside: it never fetches a
``$ref`` and never runs a backtracking pattern (issue 19).

The remote ``$ref`` points at a real HTTP server on 127.0.0.1 that records every
request: it must record none.
"""

from __future__ import annotations

from typing import Any

import pytest
from fakeserver import FakeServer, json_reply

from agentloop.evals import JsonSchemaValid, RunFacts

CASE: Any = None


def test_a_remote_ref_is_refused_and_never_fetched(fake_server: FakeServer) -> None:
    fake_server.default = json_reply({"type": "string"})
    schema = {"type": "object", "properties": {"n": {"$ref": f"{fake_server.url}/s.json"}}}
    with pytest.raises(ValueError, match="json_schema: the schema cannot be used: .*does not"):
        JsonSchemaValid(schema)
    assert fake_server.requests == [] and fake_server.connections == 0


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "string", "pattern": "^(a+)+$"}, "exponential"),
        ({"$ref": "#"}, "$ref loop"),
    ],
    ids=["catastrophic-pattern", "ref-loop"],
)
@pytest.mark.timeout(60)
def test_unbounded_schemas_are_refused(schema: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match="json_schema: the schema cannot be used") as caught:
        JsonSchemaValid(schema)
    assert words in str(caught.value)


def test_local_refs_still_work() -> None:
    schema = {"$defs": {"n": {"type": "integer"}}, "properties": {"n": {"$ref": "#/$defs/n"}}}
    assert JsonSchemaValid(schema).evaluate(RunFacts(output={"n": 3}), CASE).passed
    assert not JsonSchemaValid(schema).evaluate(RunFacts(output={"n": "3"}), CASE).passed
