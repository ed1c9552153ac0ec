"""pydantic models as parameter types (pydantic is in the ``test`` extra).

That agentloop never imports pydantic itself is checked in test_tools.py, and the schema
tests that need no pydantic also run with it blocked (tests/schema/test_without_pydantic.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import jsonschema
import pydantic
import pytest
from tools_support import check_every_schema  # noqa: F401

from agentloop import ToolArgumentError, tool
from agentloop.schema.build import type_adapter


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


class Cat(pydantic.BaseModel):
    kind: Literal["cat"]
    lives: int = 9


class Dog(pydantic.BaseModel):
    kind: Literal["dog"]
    toys: list[Cat] = []


class Owner(pydantic.BaseModel):
    pet: Annotated[Cat | Dog, pydantic.Field(discriminator="kind")]


def _keys(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        return set(schema) | {k for v in schema.values() for k in _keys(v)}
    if isinstance(schema, list):
        return {k for v in schema for k in _keys(v)}
    return set()


def test_discriminated_union_is_any_of_in_strict_mode() -> None:
    assert "oneOf" in _keys(type_adapter(Owner).json_schema)
    adapter = type_adapter(Owner, strict=True)
    keys = _keys(adapter.json_schema)
    assert "anyOf" in keys and "oneOf" not in keys and "discriminator" not in keys
    # strict mode sends null for an optional field; it means "use the default"
    got = adapter.validate({"pet": {"kind": "dog", "toys": [{"kind": "cat", "lives": None}]}})
    assert got == Owner(pet=Dog(kind="dog", toys=[Cat(kind="cat")]))
    assert adapter.validate({"pet": {"kind": "cat", "lives": None}}).pet == Cat(kind="cat")
    with pytest.raises(ToolArgumentError):
        adapter.validate({"pet": {"kind": "bird"}})


def test_discriminated_union_parameter_of_a_strict_tool() -> None:
    @tool(strict=True)
    def adopt(owner: Owner) -> str:
        """Adopt a pet.

        Args:
            owner: The new owner.
        """
        return type(owner.pet).__name__

    assert "oneOf" not in _keys(adopt.parameters)
    assert adopt.invoke({"owner": {"pet": {"kind": "cat", "lives": None}}}) == "Cat"
