"""Batch summaries count cost: the sum of the items of known cost, and how many are unknown."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from batch_support import echo_agent, echo_server

from agentloop import Price
from agentloop.batch import BatchStats
from agentloop.batch.progress import format_summary

PRICE = Price(input=Decimal(1000), output=Decimal(2000))


@pytest.fixture
def server() -> Iterator[Any]:
    s = echo_server()
    yield s
    s.stop()


def test_a_priced_batch_sums_its_items_costs(server: Any) -> None:
    agent = echo_agent(server.base_url, price=PRICE)
    stats = BatchStats()
    results = list(agent.stream_batch(["a", "b", "c"], stats=stats))
    costs = [r.cost for r in results]
    assert all(isinstance(c, Decimal) and c > 0 for c in costs)
    assert stats.cost == sum(costs, Decimal(0)) and stats.unpriced == 0
    assert stats.to_dict()["cost"] == pytest.approx(float(stats.cost))
    assert f"cost {stats.cost};" in format_summary(stats, 1.0)


def test_an_unpriced_batch_says_no_cost_and_counts_the_unknown(server: Any) -> None:
    agent = echo_agent(server.base_url)
    stats = BatchStats()
    results = list(agent.stream_batch(["a", "b"], stats=stats))
    assert [r.cost for r in results] == [None, None]
    assert stats.cost is None and stats.unpriced == 2
    assert stats.to_dict()["cost"] is None
    assert "cost" not in format_summary(stats, 1.0)


def test_a_summary_with_some_unknown_items_says_how_many() -> None:
    stats = BatchStats(cost=Decimal("0.25"), unpriced=3, done=4)
    assert "cost 0.25 (+3 of unknown cost)" in format_summary(stats, 1.0)
