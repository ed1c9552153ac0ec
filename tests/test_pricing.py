"""Cost: the provider's own figure, the price table, unknown kept apart from zero, max_cost.

Every run talks to a real local HTTP server (``fakeserver``) through the real client.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from client_support import make_client
from fakeserver import FakeServer, chunk, completion, json_reply, sse_reply

from agentloop import Agent, ChatModel, ConfigurationError, CostBudgetExceeded, Price, Usage, tool
from agentloop.config import read_prices
from agentloop.messages import to_cost
from agentloop.pricing import CostBudget, parse_prices

OPENROUTER_USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 3,
    "total_tokens": 15,
    "cost": 0.00042,
}


def model(server: FakeServer, name: str = "m") -> ChatModel:
    return ChatModel(make_client(server), name, "local")


@tool
def lookup(city: str) -> str:
    """Look a city up.

    Args:
        city: The city.
    """
    return f"{city}: sunny"


def tool_turn(usage: dict[str, Any] | None) -> dict[str, Any]:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "lookup", "arguments": '{"city":"Oslo"}'},
    }
    return completion(None, tool_calls=[call], finish="tool_calls", usage=usage)


# -- Usage: unknown is not zero ---------------------------------------------------------


def test_a_run_sum_keeps_a_known_cost_and_turns_unknown_on_any_unknown_call() -> None:
    start = Usage(requests=0)
    priced = Usage(prompt_tokens=1, cost=Decimal("0.5"))
    assert (start + priced).cost == Decimal("0.5")
    assert (start + priced + priced).cost == Decimal("1.0")
    assert (start + priced + Usage(prompt_tokens=1)).cost is None
    assert (start + Usage()).cost is None
    assert (start + Usage(cost=Decimal(0))).cost == Decimal(0)  # free is known, not unknown


def test_cost_survives_the_wire_form_and_bad_figures_are_unknown() -> None:
    usage = Usage.from_dict(OPENROUTER_USAGE)
    assert usage is not None and usage.cost == Decimal("0.00042")
    again = Usage.from_dict(usage.to_dict())
    assert again is not None and again.cost == Decimal("0.00042")
    assert "cost" not in Usage(prompt_tokens=3).to_dict()
    for bad in (-1, "abc", float("nan"), True, {"x": 1}, "inf"):
        assert to_cost(bad) is None, bad
    assert to_cost("1.35e-05") == Decimal("0.0000135")
    cached = Usage.from_dict({"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 4}})
    assert cached is not None and cached.cached_tokens == 4


# -- the provider's own figure ------------------------------------------------------------


def test_openrouter_usage_cost_unstreamed(fake_server: FakeServer) -> None:
    fake_server.script(
        json_reply(tool_turn(OPENROUTER_USAGE)),
        json_reply(completion("done", usage={**OPENROUTER_USAGE, "cost": 0.001})),
    )
    result = Agent(model(fake_server), tools=[lookup], load_plugins=False).run("weather?")
    assert [s.usage.cost for s in result.steps if s.kind == "model" and s.usage] == [
        Decimal("0.00042"),
        Decimal("0.001"),
    ]
    assert result.usage.cost == Decimal("0.00142")
    assert result.to_dict()["usage"]["cost"] == pytest.approx(0.00142)


def test_openrouter_usage_cost_in_the_final_stream_chunk(fake_server: FakeServer) -> None:
    fake_server.script(
        sse_reply(
            [
                chunk(content="Hel", role="assistant"),
                chunk(content="lo", finish="stop"),
                chunk(choices=False, usage=OPENROUTER_USAGE),
            ]
        )
    )
    agent = Agent(model(fake_server), load_plugins=False, stream=True)
    result = agent.run("hi")
    assert result.output == "Hello"
    assert result.usage.cost == Decimal("0.00042")


@pytest.mark.parametrize("streamed", [False, True])
def test_litellm_cost_header(fake_server: FakeServer, streamed: bool) -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
    header = {"x-litellm-response-cost": "1.35e-05"}
    if streamed:
        events = [
            chunk(content="hi", role="assistant", finish="stop"),
            chunk(choices=False, usage=usage),
        ]
        fake_server.script(sse_reply(events, headers=header))
    else:
        fake_server.script(json_reply(completion("hi", usage=usage), headers=header))
    result = Agent(model(fake_server), load_plugins=False, stream=streamed).run("hi")
    assert result.usage.cost == Decimal("0.0000135")


def test_the_body_figure_wins_over_the_header(fake_server: FakeServer) -> None:
    fake_server.script(
        json_reply(
            completion("hi", usage=OPENROUTER_USAGE), headers={"x-litellm-response-cost": "9"}
        )
    )
    assert Agent(model(fake_server), load_plugins=False).run("hi").usage.cost == Decimal("0.00042")


# -- unknown stays None ----------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
def test_unknown_cost_stays_none(fake_server: FakeServer, streamed: bool) -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
    if streamed:
        fake_server.script(
            sse_reply([chunk(content="hi", finish="stop"), chunk(choices=False, usage=usage)])
        )
    else:
        fake_server.script(json_reply(completion("hi", usage=usage)))
    result = Agent(model(fake_server), load_plugins=False, stream=streamed).run("hi")
    assert result.usage.total_tokens == 6
    assert result.usage.cost is None
    assert result.steps[0].usage is not None and result.steps[0].usage.cost is None
    assert "cost" not in result.to_dict()["usage"]


def test_one_unpriced_call_makes_the_run_cost_unknown(fake_server: FakeServer) -> None:
    fake_server.script(
        json_reply(tool_turn(OPENROUTER_USAGE)),
        json_reply(completion("done", usage={"prompt_tokens": 1, "completion_tokens": 1})),
    )
    result = Agent(model(fake_server), tools=[lookup], load_plugins=False).run("weather?")
    assert result.steps[0].usage is not None and result.steps[0].usage.cost == Decimal("0.00042")
    assert result.usage.cost is None


# -- the price table ----------------------------------------------------------------------------

TABLE = """
[prices."local:m"]
input = 2.5
output = 10
cached = 1.25
"""


def test_the_price_table_prices_calls_the_provider_does_not(
    fake_server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "agentloop.toml").write_text(TABLE)
    monkeypatch.chdir(tmp_path)
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 100,
        "total_tokens": 1100,
        "prompt_tokens_details": {"cached_tokens": 400},
    }
    fake_server.script(
        json_reply(completion("hi", usage=usage)),
        json_reply(completion("hi", usage=OPENROUTER_USAGE)),
    )
    agent = Agent(model(fake_server), load_plugins=False)
    assert agent.price == Price(input=Decimal("2.5"), output=Decimal(10), cached=Decimal("1.25"))
    # 600 * 2.5 + 400 * 1.25 + 100 * 10, per million
    assert agent.run("hi").usage.cost == Decimal("0.003")
    assert agent.run("hi").usage.cost == Decimal("0.00042")  # the provider's figure wins
    assert Agent(model(fake_server, "other"), load_plugins=False).price is None


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('[prices."gpt-4o"]\ninput = 1\noutput = 1\n', "unknown model 'gpt-4o'"),
        ('[prices."nosuch:gpt-4o"]\ninput = 1\noutput = 1\n', "unknown model 'nosuch:gpt-4o'"),
        ('[prices."openai:"]\ninput = 1\noutput = 1\n', "unknown model 'openai:'"),
        ('[prices."openai:x"]\ninput = -1\noutput = 1\n', "input must be a number >= 0"),
        ('[prices."openai:x"]\ninput = 1\noutput = "lots"\n', "output must be a number >= 0"),
        ('[prices."openai:x"]\ninput = 1\n', "no 'output'"),
        ('[prices."openai:x"]\ninput = 1\noutput = 1\nprompt = 3\n', "unknown price 'prompt'"),
        ('[prices]\n"openai:x" = 3\n', "must be a table"),
        ("prices = 3\n", "[prices]"),
    ],
)
def test_a_bad_price_table_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, says: str
) -> None:
    (tmp_path / "agentloop.toml").write_text(table)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        read_prices()
    assert says in str(caught.value)
    assert "agentloop.toml" in str(caught.value)


def test_a_bad_price_is_refused_in_code_too() -> None:
    with pytest.raises(ConfigurationError, match="input must be a number >= 0"):
        Price(input=Decimal(-1), output=Decimal(1))
    with pytest.raises(ConfigurationError, match="unknown model"):
        parse_prices({"x": {"input": 1, "output": 1}}, where="here", providers=("openai",))


# -- max_cost -----------------------------------------------------------------------------------

EXPENSIVE = Price(input=Decimal(10_000), output=Decimal(10_000))  # a cent a token


@pytest.mark.parametrize("streamed", [False, True])
def test_max_cost_stops_the_run_before_the_call_that_would_exceed_it(
    fake_server: FakeServer, streamed: bool
) -> None:
    first = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25, "cost": 0.95}
    if streamed:
        call = {
            "index": 0,
            "id": "c1",
            "type": "function",
            "function": {"name": "lookup", "arguments": '{"city":"Oslo"}'},
        }
        fake_server.script(
            sse_reply(
                [chunk(tool_calls=[call], finish="tool_calls"), chunk(choices=False, usage=first)]
            )
        )
    else:
        fake_server.script(json_reply(tool_turn(first)))
    agent = Agent(
        model(fake_server), tools=[lookup], load_plugins=False, stream=streamed,
        max_cost=Decimal(1), price=EXPENSIVE,
    )  # fmt: skip
    with pytest.raises(CostBudgetExceeded, match="max_cost") as caught:
        agent.run("weather?")
    assert len(fake_server.requests) == 1  # the second call was never sent
    partial = caught.value.result
    assert partial is not None and partial.stop_reason == "cost_budget"
    assert partial.usage.cost == Decimal("0.95")
    assert [m["role"] for m in partial.messages][-1] == "tool"  # the tool ran; its answer is kept


def test_max_cost_refuses_a_first_call_it_cannot_afford(fake_server: FakeServer) -> None:
    agent = Agent(model(fake_server), load_plugins=False, max_cost="0.01", price=EXPENSIVE)
    with pytest.raises(CostBudgetExceeded, match="would cost about"):
        agent.run("a prompt long enough to cost more than a cent at a cent a token")
    assert fake_server.requests == []


def test_max_cost_bounds_a_reply_it_can_only_partly_afford(fake_server: FakeServer) -> None:
    fake_server.script(
        json_reply(completion("hi", usage={"prompt_tokens": 5, "completion_tokens": 1}))
    )
    agent = Agent(model(fake_server), load_plugins=False, max_cost="0.5", price=EXPENSIVE)
    result = agent.run("hi")
    bound = fake_server.requests[0].json["max_tokens"]
    assert 1 <= bound < 50  # what is left after the prompt, at a cent a token
    assert result.usage.cost == Decimal("0.06")  # 6 tokens at a cent each, from the price


def test_max_cost_leaves_a_large_budget_unbounded_and_lowers_a_bound_too_large(
    fake_server: FakeServer,
) -> None:
    cheap = Price(input=Decimal("0.1"), output=Decimal("0.4"))
    fake_server.script(json_reply(completion("hi")), json_reply(completion("hi")))
    Agent(model(fake_server), load_plugins=False, max_cost=5, price=cheap).run("hi")
    assert "max_tokens" not in fake_server.requests[0].json
    Agent(
        model(fake_server), load_plugins=False, max_cost="0.5", price=EXPENSIVE,
        model_settings={"max_tokens": 500},
    ).run("x")  # fmt: skip
    assert fake_server.requests[1].json["max_tokens"] < 500


def test_an_unpriced_call_counts_at_its_estimate(fake_server: FakeServer) -> None:
    budget = CostBudget(Decimal(1), EXPENSIVE)
    request: dict[str, Any] = {"max_tokens": 10}
    budget.fit(request, prompt_tokens=20)
    budget.charge(None)  # no usage at all: the estimate (20 + 10 tokens) is what it cost
    assert budget.spent == Decimal("0.3")
    budget.charge(Usage(cost=Decimal("0.7")))
    with pytest.raises(CostBudgetExceeded, match="reaches its budget"):
        budget.check()


def test_max_cost_without_a_price_is_refused_up_front(fake_server: FakeServer) -> None:
    with pytest.raises(
        ConfigurationError,
        match=r'max_cost needs the price of model .local:m.*\[prices."local:m"\]',
    ):
        Agent(model(fake_server), load_plugins=False, max_cost=1)


@pytest.mark.parametrize("bad", [0, -1, "abc", float("nan"), True])
def test_a_bad_max_cost_is_refused(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_cost must be a number > 0"):
        Agent(load_plugins=False, max_cost=bad, price=EXPENSIVE)


def test_max_cost_is_a_run_limit() -> None:
    agent = Agent(load_plugins=False, max_cost="2.50", price=EXPENSIVE)
    assert agent.limits.max_cost == Decimal("2.50") and agent.max_cost == Decimal("2.50")
    assert agent.spec().price is EXPENSIVE
