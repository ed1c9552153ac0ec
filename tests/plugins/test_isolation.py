"""Isolated tool calls (``@tool(isolated=True)``): a child process per call, bounded or not."""

from __future__ import annotations

import dataclasses
import os

import pytest
from loop_support import make_agent

from agentloop import tool
from agentloop.plugins.manager import AgentloopPluginManager, load_installed
from agentloop.testing import tool_call, tool_calls_response


@tool(isolated=True)
def double(n: int) -> int:
    """Double a number in a child process.

    Args:
        n: The number.
    """
    return 2 * n


@tool(isolated=True)
def vanish() -> str:
    """Leave the child process without an answer."""
    os._exit(3)


def _results(script_calls: list, tools: list, **kwargs: object) -> list[str]:
    agent, model = make_agent([tool_calls_response(*script_calls), "ok"], tools=tools, **kwargs)
    agent.run("x")
    return [m["content"] for m in model.requests[1]["messages"] if m["role"] == "tool"]


def test_an_isolated_call_without_any_timeout_returns_its_value() -> None:
    # tool_timeout=None and no timeout of its own: the child is waited for without a deadline
    assert _results([tool_call("double", {"n": 21})], [double], tool_timeout=None) == ["42"]


def test_an_isolated_call_whose_process_dies_is_a_tool_error() -> None:
    [result] = _results([tool_call("vanish", {})], [vanish])
    assert "died in its process" in result and "exit code 3" in result


def test_installed_plugin_entries_are_shared_so_they_cannot_be_changed() -> None:
    entries = load_installed(AgentloopPluginManager(), warn=False)
    assert entries, "the test plugin (tests/fixtures/agentloop-testplugin) is installed"
    with pytest.raises(dataclasses.FrozenInstanceError):
        entries[0].problem = "changed"  # type: ignore[misc]
