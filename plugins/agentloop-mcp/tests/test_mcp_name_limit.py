"""MCP tool names cut to 64 characters, the longest name models accept: exactly where, and how."""

from __future__ import annotations

import hashlib

import pytest
from agentloop_mcp._naming import MAX_NAME, local_name


def _digest(mcp_name: str) -> str:
    return hashlib.sha256(mcp_name.encode()).hexdigest()[:8]


def test_the_limit_is_64() -> None:
    assert MAX_NAME == 64


@pytest.mark.parametrize("prefix", ["", "srv_"])
def test_a_name_of_exactly_64_characters_is_kept_as_it_is(prefix: str) -> None:
    mcp_name = "n" * (64 - len(prefix))
    assert local_name(prefix, mcp_name) == prefix + mcp_name


@pytest.mark.parametrize("prefix", ["", "srv_"])
def test_a_name_of_65_characters_is_cut_to_64_ending_with_a_hash_of_the_mcp_name(
    prefix: str,
) -> None:
    mcp_name = "n" * (65 - len(prefix))
    name = local_name(prefix, mcp_name)
    assert len(name) == 64
    assert name == (prefix + mcp_name)[:55] + "_" + _digest(mcp_name)


def test_long_names_sharing_their_first_64_characters_stay_apart() -> None:
    first, second = "a" * 70 + "_first", "a" * 70 + "_second"
    one, two = local_name("p_", first), local_name("p_", second)
    assert one != two and len(one) == len(two) == 64
    assert one[:55] == two[:55] == "p_" + "a" * 53


def test_characters_models_refuse_are_replaced_before_measuring() -> None:
    assert local_name("", "get weather/now") == "get_weather_now"
    mcp_name = "é" * 64  # one replacement run: "_", far under the limit
    assert local_name("x_", mcp_name) == "x__"
