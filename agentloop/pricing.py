"""What model calls cost: prices per million tokens, the cost of a usage, and the cost budget.

A call's cost comes from the first of these that knows it:

1. the provider's own figure, read from the response wherever it is (OpenRouter's
   ``usage.cost`` in the body or the last stream chunk, LiteLLM proxy's
   ``x-litellm-response-cost`` header), never from a list of hosts;
2. the price of the agent's model: ``Agent(price=Price(...))``, else the
   ``[prices."provider:model"]`` table of ``agentloop.toml`` (read by
   :func:`agentloop.config.read_prices`).

Otherwise the cost is unknown: ``None``, never 0. ``Agent(max_cost=...)`` is checked before
every model call by a :class:`CostBudget`, from the prompt's token estimate
(:mod:`agentloop.tokens`, the rule of the token budget) and the price.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agentloop.errors import ConfigurationError, CostBudgetExceeded
from agentloop.messages import Usage, to_cost

__all__ = [
    "MILLION",
    "REPLY_BOUND",
    "CostBudget",
    "Price",
    "check_max_cost",
    "no_price_error",
    "parse_prices",
]

MILLION = Decimal(1_000_000)
REPLY_BOUND = 4096
"""Below this many affordable reply tokens, the cost budget bounds the reply (``max_tokens``);
every chat model accepts a bound this small, so no request is refused for a huge one."""

_PRICE_KEYS = ("input", "output", "cached")


@dataclass(frozen=True, kw_only=True, slots=True)
class Price:
    """What a model's tokens cost, per million tokens (any currency; keep one per project).

    Attributes:
        input: Per million prompt tokens.
        output: Per million completion tokens (reasoning tokens included).
        cached: Per million prompt tokens read from the provider's cache; None: as ``input``.

    Raises:
        ConfigurationError: A price that is not a finite number >= 0.
    """

    input: Decimal
    output: Decimal
    cached: Decimal | None = None

    def __post_init__(self) -> None:
        for name in _PRICE_KEYS:
            value = getattr(self, name)
            if value is None and name == "cached":
                continue
            cost = to_cost(value)
            if cost is None:
                raise ConfigurationError(
                    f"price {name} must be a number >= 0 (per million tokens), got {value!r}"
                )
            object.__setattr__(self, name, cost)

    def cost(self, usage: Usage) -> Decimal:
        """What ``usage`` costs at this price (cached prompt tokens at ``cached``)."""
        cached = min(usage.cached_tokens or 0, usage.prompt_tokens)
        rate = self.input if self.cached is None else self.cached
        total = (
            (usage.prompt_tokens - cached) * self.input
            + cached * rate
            + usage.completion_tokens * self.output
        )
        return total / MILLION

    def priced(self, usage: Usage) -> Usage:
        """``usage`` with its cost at this price (a cost the provider reported is kept)."""
        if usage.cost is not None:
            return usage
        return dataclasses.replace(usage, cost=self.cost(usage))


def parse_prices(
    table: Mapping[str, Any], *, where: str, providers: tuple[str, ...]
) -> dict[str, Price]:
    """Check a ``[prices]`` table (``"provider:model" = {input, output, cached}``) and read it.

    Args:
        table: The table as TOML gave it.
        where: The file it came from (named in every error).
        providers: The provider names a key may start with.

    Raises:
        ConfigurationError: A key that is not ``provider:model`` of a known provider, an
            entry that is not a table, an unknown price name, a missing ``input`` or
            ``output``, or a price that is not a number >= 0.
    """
    prices: dict[str, Price] = {}
    for key, entry in table.items():
        label = f'[prices."{key}"] in {where}'
        prefix, sep, model = str(key).partition(":")
        if not sep or not model.strip() or prefix.strip().lower() not in providers:
            raise ConfigurationError(
                f"{label}: unknown model {key!r}; a price is for a model string provider:model "
                f'of a known provider ({", ".join(providers)}), e.g. "openai:gpt-4o-mini"'
            )
        if not isinstance(entry, Mapping):
            raise ConfigurationError(
                f"{label} must be a table: input = ..., output = ... (per million tokens)"
            )
        unknown = sorted(set(entry) - set(_PRICE_KEYS))
        missing = [k for k in ("input", "output") if k not in entry]
        if unknown or missing:
            problem = f"unknown price {unknown[0]!r}" if unknown else f"no {missing[0]!r}"
            raise ConfigurationError(
                f"{label}: {problem}; give input, output and optionally cached (per million tokens)"
            )
        try:
            price = Price(**{k: entry[k] for k in _PRICE_KEYS if k in entry})
        except ConfigurationError as exc:
            raise ConfigurationError(f"{label}: {exc}") from None
        normalized = f"{prefix.strip().lower()}:{model.strip()}"
        prices[normalized] = price
    return prices


def no_price_error(model: Any) -> ConfigurationError:
    """The error of ``max_cost`` for a model that has no price."""
    name = getattr(model, "name", None)
    name = name if isinstance(name, str) else type(model).__name__
    return ConfigurationError(
        f"max_cost needs the price of model {name!r} to check the budget before each call: "
        f'add [prices."{name}"] with input and output (per million tokens) to agentloop.toml, '
        "or pass Agent(price=Price(input=..., output=...))"
    )


def check_max_cost(max_cost: Any) -> Decimal | None:
    """``max_cost`` as a Decimal (None: no budget).

    Raises:
        ConfigurationError: Not a number > 0.
    """
    if max_cost is None:
        return None
    cost = to_cost(max_cost)
    if cost is None or cost <= 0:
        raise ConfigurationError(
            f"max_cost must be a number > 0 (e.g. Decimal('0.50')) or None, got {max_cost!r}"
        )
    return cost


class CostBudget:
    """One run's ``max_cost``: checked before every model call, charged after it.

    Args:
        max_cost: The budget.
        price: The price of the run's model (the estimate needs it).
    """

    __slots__ = ("_estimate", "max_cost", "price", "spent")

    def __init__(self, max_cost: Decimal, price: Price) -> None:
        self.max_cost = max_cost
        self.price = price
        self.spent = Decimal(0)
        self._estimate = Decimal(0)

    @classmethod
    def of(cls, max_cost: Decimal | None, price: Price | None, model: Any) -> CostBudget | None:
        """The budget of a run (None without ``max_cost``).

        Raises:
            ConfigurationError: ``max_cost`` with no price for the model: the budget could
                not be checked before a call, so the run does not start.
        """
        if max_cost is None:
            return None
        if price is None:
            raise no_price_error(model)
        return cls(max_cost, price)

    def check(self) -> None:
        """Raise when the run already spent its budget."""
        if self.spent >= self.max_cost:
            raise CostBudgetExceeded(
                f"the run cost {self.spent}, which reaches its budget of {self.max_cost} (max_cost)"
            )

    def fit(self, request: dict[str, Any], prompt_tokens: int, price: Price | None = None) -> None:
        """Refuse a call whose estimate does not fit what is left; bound a small reply.

        The estimate is the prompt (``prompt_tokens`` at the input price) plus the request's
        reply bound (``max_tokens``/``max_completion_tokens``, when it has one) at the output
        price. A bound larger than what is left affords is lowered to it; so is no bound at all
        when what is left affords fewer than :data:`REPLY_BOUND` reply tokens. ``price``: the
        active model's (after a handoff), else the run's.
        """
        left = self.max_cost - self.spent
        price = price or self.price
        prompt = prompt_tokens * price.input / MILLION
        key = "max_completion_tokens" if "max_completion_tokens" in request else "max_tokens"
        bound = request.get(key)
        bound = bound if isinstance(bound, int) and not isinstance(bound, bool) else None
        if price.output > 0:
            affordable = int((left - prompt) * MILLION / price.output)
            if affordable < 1:
                raise self._refuse(prompt_tokens, prompt + price.output / MILLION, left)
            if (bound is None and affordable < REPLY_BOUND) or (
                bound is not None and bound > affordable
            ):
                bound = request[key] = affordable
        estimate = prompt + (bound or 0) * price.output / MILLION
        if estimate > left or prompt >= left:
            raise self._refuse(prompt_tokens, estimate, left)
        self._estimate = estimate

    def charge(self, usage: Usage | None) -> None:
        """Count a finished call: its cost, or its estimate when the cost is unknown."""
        cost = usage.cost if usage is not None else None
        self.spent += self._estimate if cost is None else cost

    def _refuse(self, tokens: int, estimate: Decimal, left: Decimal) -> CostBudgetExceeded:
        return CostBudgetExceeded(
            f"the next model call would cost about {estimate:.6f} (about {tokens} prompt tokens), "
            f"but only {left} of the run's budget of {self.max_cost} is left (max_cost); raise "
            "the budget or shorten the conversation"
        )
