"""Docstring layouts that used to lose parameter descriptions or refuse the tool (issue 19):
``Args:`` entries at the title's indent, a colon inside an entry's type, and a warning
whenever a docstring documents parameters agentloop could not attach."""

from __future__ import annotations

import warnings
from typing import Literal

import pytest
from tools_support import check_every_schema  # noqa: F401

from agentloop import AgentloopWarning, tool


def _descriptions(t: object) -> dict[str, str | None]:
    props = t.parameters["properties"]  # type: ignore[attr-defined]
    return {name: schema.get("description") for name, schema in props.items()}


def flat(city: str, days: int = 1) -> str:
    """Return the forecast.

    Args:
    city: The city, e.g. "Paris".
    days: How many days,
        at most 7.

    Returns:
    The forecast.
    """
    return city


def flat_opening(city: str, days: int = 1) -> str:
    """Args:
    city: The city.
    days: How many days.
    """
    return city


def flat_with_types(city: str, days: int = 1) -> str:
    """Forecast.

    Args:
    city (str): The city.
    days (int, optional): How many days.

    Only the next week is known.
    """
    return city


@pytest.mark.parametrize("fn", [flat, flat_opening, flat_with_types])
def test_args_entries_at_the_titles_indent_attach(fn: object) -> None:
    t = tool(fn)  # type: ignore[call-overload]
    docs = _descriptions(t)
    assert docs["city"] and docs["city"].startswith("The city")
    assert docs["days"] and docs["days"].startswith("How many days")
    assert t.undocumented_parameters == ()
    assert "Args:" not in t.description and "city:" not in t.description


def test_flat_layout_keeps_continuation_lines_and_the_summary() -> None:
    t = tool(flat)
    assert _descriptions(t)["days"] == "How many days,\nat most 7."
    assert t.description == "Return the forecast."


def test_a_colon_inside_an_entrys_type_splits_after_the_type() -> None:
    @tool
    def pull(image: Literal["python:3.8-slim", "node:18"], tag: str = "latest") -> str:
        """Pull an image.

        Args:
            image (Literal['python:3.8-slim', 'node:18']): The image to pull.
            tag (str, optional): The tag: a version like "1.2".
        """
        return image

    assert _descriptions(pull) == {
        "image": "The image to pull.",
        "tag": 'The tag: a version like "1.2".',
    }


def test_docstring_with_unreadable_parameter_entries_warns_naming_the_tool() -> None:
    def lost(city: str) -> str:
        """Forecast.

        Args:
            city the city, with no colon
        """
        return city

    with pytest.warns(AgentloopWarning, match=r"tool 'lost'.*'Args:' section documents parameters"):
        t = tool(lost)
    assert t.undocumented_parameters == ("city",)


def test_rest_fields_that_attach_nothing_warn() -> None:
    def odd(city: str) -> str:
        """Forecast.

        :param: the city
        """
        return city

    with pytest.warns(AgentloopWarning, match="could not read"):
        tool(odd)


def test_readable_or_absent_parameter_sections_do_not_warn() -> None:
    def plain(city: str) -> str:
        """Forecast for a city, no sections at all."""
        return city

    def rest(city: str) -> str:
        """Forecast.

        :param city: The city.
        """
        return city

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in (plain, rest, flat, flat_with_types):
            tool(fn)
