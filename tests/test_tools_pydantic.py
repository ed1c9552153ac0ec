"""pydantic models as parameter types (only when pydantic is installed).

That agentloop never imports pydantic itself is checked in test_tools.py, which runs
whether or not pydantic is installed."""

from __future__ import annotations

import jsonschema
import pytest
from tools_support import check_every_schema  # noqa: F401

from agentloop import ToolArgumentError, tool
from agentloop.schema.build import type_adapter

pydantic = pytest.importorskip("pydantic")


class Address(pydantic.BaseModel):
    street: str
    zip_code: str = "00000"


class Person(pydantic.BaseModel):
    name: str
    age: int = pydantic.Field(ge=0)
    address: Address | None = None


def test_pydantic_model_parameter() -> None:
    @tool
    def register(person: Person, note: str = "") -> Person:
        """Register someone.

        Args:
            person: Who.
            note: Why.
        """
        return person

    schema = register.parameters
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "Address" in schema["$defs"]
    got = register.invoke({"person": {"name": "Ann", "age": 3, "address": {"street": "Main"}}})
    assert isinstance(got, Person)
    assert got.address == Address(street="Main")
    with pytest.raises(ToolArgumentError, match=r"\$\.person\.age"):
        register.invoke({"person": {"name": "Ann", "age": -1}})


def test_pydantic_model_strict() -> None:
    adapter = type_adapter(Person, strict=True)
    schema = adapter.json_schema
    assert schema["required"] == ["name", "age", "address"]
    assert schema["$defs"]["Address"]["additionalProperties"] is False
    assert adapter.validate({"name": "A", "age": 1, "address": None}).address is None
