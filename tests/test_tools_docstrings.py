"""Descriptions from Google, NumPy, reST and Epydoc docstrings."""

from __future__ import annotations

from typing import Annotated

import pytest
from tools_support import check_every_schema  # noqa: F401

from agentloop import ToolDefinitionError, tool


def google(city: str, days: int = 1) -> None:
    """Get the forecast.

    Uses the national weather service.

    Args:
        city: City name.
        days (int): How many days,
            counted from today.
    """


def numpy(city: str, days: int = 1) -> None:
    """Get the forecast.

    Uses the national weather service.

    Parameters
    ----------
    city : str
        City name.
    days : int
        How many days,
        counted from today.
    """


def rest(city: str, days: int = 1) -> None:
    """Get the forecast.

    Uses the national weather service.

    :param city: City name.
    :param days: How many days,
        counted from today.
    """


def epydoc(city: str, days: int = 1) -> None:
    """Get the forecast.

    Uses the national weather service.

    @param city: City name.
    @param days: How many days,
        counted from today.
    """


@pytest.mark.parametrize("fn", [google, numpy, rest, epydoc], ids=lambda f: f.__name__)
def test_docstring_styles(fn: object) -> None:
    t = tool(fn)
    assert t.description == "Get the forecast.\n\nUses the national weather service."
    props = t.parameters["properties"]
    assert props["city"]["description"] == "City name."
    assert props["days"]["description"] == "How many days,\ncounted from today."
    assert t.undocumented_parameters == ()


def test_no_docstring_gives_empty_description_and_lists_undocumented() -> None:
    def f(a: int, b: Annotated[str, "The b."]) -> None: ...

    t = tool(f)
    assert t.description == ""
    assert t.undocumented_parameters == ("a",)
    assert "description" not in t.parameters["properties"]["a"]


def test_description_option_overrides_docstring() -> None:
    t = tool(description="Custom.")(google)
    assert t.description == "Custom."
    assert t.parameters["properties"]["city"]["description"] == "City name."


def google_bad(city: str) -> None:
    """Get.

    Args:
        city: City.
        country: Country.
    """


def numpy_bad(city: str) -> None:
    """Get.

    Parameters
    ----------
    city : str
        City.
    country : str
        Country.
    """


def rest_bad(city: str) -> None:
    """Get.

    :param city: City.
    :param country: Country.
    """


def epydoc_bad(city: str) -> None:
    """Get.

    @param city: City.
    @param country: Country.
    """


@pytest.mark.parametrize(
    "fn", [google_bad, numpy_bad, rest_bad, epydoc_bad], ids=lambda f: f.__name__
)
def test_documenting_a_missing_parameter_fails(fn: object) -> None:
    with pytest.raises(ToolDefinitionError, match="'country'") as info:
        tool(fn)
    assert "fix or remove that entry" in str(info.value)
    assert fn.__name__ in str(info.value)  # type: ignore[attr-defined]


def test_context_parameter_may_be_documented() -> None:
    from agentloop import RunContext

    def f(ctx: RunContext, x: int) -> None:
        """Do.

        Args:
            ctx: The run.
            x: An x.
        """

    t = tool(f)
    assert list(t.parameters["properties"]) == ["x"]
    assert t.undocumented_parameters == ()


def test_returns_and_raises_sections_do_not_leak_into_parameters() -> None:
    def f(x: int) -> int:
        """Double it.

        Args:
            x: A number.

        Returns:
            Twice x.

        Raises:
            ValueError: Never.
        """
        return 2 * x

    t = tool(f)
    assert t.description == "Double it."
    assert list(t.parameters["properties"]) == ["x"]


def args_on_the_first_line(city: str, days: int = 1) -> None:
    """Args:
    city: City name.
    days: How many days,
        counted from today.
    """


def args_on_the_first_line_indented(city: str, days: int = 1) -> None:
    """Args:
    city: City name.
    days: How many days,
        counted from today.
    """


def args_after_a_blank_first_line(city: str, days: int = 1) -> None:
    """
    Args:
        city: City name.
        days: How many days,
            counted from today.
    """


def args_then_returns(city: str, days: int = 1) -> str:
    """Args:
        city: City name.
        days: How many days,
            counted from today.

    Returns:
        The forecast.
    """
    return ""


@pytest.mark.parametrize(
    "fn",
    [
        args_on_the_first_line,
        args_on_the_first_line_indented,
        args_after_a_blank_first_line,
        args_then_returns,
    ],
    ids=lambda f: f.__name__,
)
def test_google_docstring_with_only_an_args_section(fn: object) -> None:
    t = tool(fn)
    assert t.description == ""
    props = t.parameters["properties"]
    assert props["city"]["description"] == "City name."
    assert props["days"]["description"] == "How many days,\ncounted from today."
    assert t.undocumented_parameters == ()


def test_args_only_docstring_still_checks_documented_names() -> None:
    def f(city: str) -> None:
        """Args:
        city: City.
        country: Country.
        """

    with pytest.raises(ToolDefinitionError, match="'country'"):
        tool(f)
