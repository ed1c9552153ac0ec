"""Attribute docstrings (a string literal right under a field) of dataclasses, TypedDicts and
NamedTuples become the property's description, as in pydantic."""

from __future__ import annotations

import dataclasses
from typing import Annotated, NamedTuple, TypedDict

from tools_support import check_every_schema  # noqa: F401

from agentloop import tool
from agentloop.schema.build import type_adapter


@dataclasses.dataclass
class Trip:
    """A trip.

    Attributes:
        origin: From the class docstring.
        stops: From the class docstring too.
    """

    origin: str
    """Where it starts."""
    destination: str
    """Where it ends.

    A city name.
    """
    stops: int = 0
    nights: Annotated[int, "From Annotated."] = 1
    """Loses to Annotated."""
    note = "not a field"
    """Not a field, so not in the schema."""


class Passenger(TypedDict):
    name: str
    """Full name."""
    seat: str


@dataclasses.dataclass
class ReturnTrip(Trip):
    back: bool = True
    """Whether it comes back."""


class Leg(NamedTuple):
    km: float
    """Distance."""


def test_dataclass_attribute_docstrings() -> None:
    props = type_adapter(Trip).json_schema["properties"]
    assert props["origin"]["description"] == "Where it starts."
    assert props["destination"]["description"] == "Where it ends.\n\nA city name."
    assert props["stops"]["description"] == "From the class docstring too."
    assert props["nights"]["description"] == "From Annotated."
    assert "note" not in props


def test_typeddict_namedtuple_and_inherited_attribute_docstrings() -> None:
    assert type_adapter(Passenger).json_schema["properties"] == {
        "name": {"type": "string", "description": "Full name."},
        "seat": {"type": "string"},
    }
    props = type_adapter(ReturnTrip).json_schema["properties"]
    assert props["back"]["description"] == "Whether it comes back."
    assert props["origin"]["description"] == "Where it starts."
    assert type_adapter(Leg).json_schema["properties"]["km"]["description"] == "Distance."


def test_local_class_in_a_tool() -> None:
    @dataclasses.dataclass
    class Room:
        beds: int
        """How many beds."""

    @tool
    def book(room: Room) -> None:
        """Book a room.

        Args:
            room: The room.
        """

    room = book.parameters["properties"]["room"]
    assert room["properties"]["beds"]["description"] == "How many beds."


def test_class_without_source_has_no_attribute_docs() -> None:
    made = dataclasses.make_dataclass("Made", [("x", int)])
    assert type_adapter(made).json_schema["properties"] == {"x": {"type": "integer"}}


class Outer:
    @dataclasses.dataclass
    class Inner:
        depth: int
        """How deep."""


def test_nested_class_attribute_docstrings() -> None:
    props = type_adapter(Outer.Inner).json_schema["properties"]
    assert props["depth"]["description"] == "How deep."
