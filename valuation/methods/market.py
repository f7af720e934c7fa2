"""Market approach (China Appraisal Society data-asset valuation guidance, 2023).

    combined coefficient_i = quality * supply and demand * date * volume * other          (exact, not rounded)
    adjusted price_i       = price_i * combined coefficient_i                                → cent
    value (mean)           = Σ adjusted price_i / n                                          → cent
    value (median)         = middle adjusted price, or the mean of the two middle ones       → cent
    value (weighted)       = Σ weight_i * adjusted price_i / Σ weight_i                      → cent

Spread of the adjusted prices: minimum, maximum, mean (→ cent), population standard deviation
sqrt(Σ (p_i - mean)² / n) (→ cent, from the unrounded mean) and coefficient of variation = standard deviation / mean,
both as shown (→ 4 places). Comparables come from the exchange's settled contracts (`source="exchange"`) or are
entered by hand (`source="manual"`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from valuation.methods.numbers import ONE, ZERO, Problems, decimal_context, money, round_coefficient

COEFFICIENTS = ("quality", "supply_demand", "date", "volume", "other")
AGGREGATIONS = ("mean", "median", "weighted")


@dataclass(frozen=True)
class Comparable:
    """One comparable transaction: its price and the coefficients that adjust it to the subject product."""

    price: Decimal
    quality: Decimal = ONE
    supply_demand: Decimal = ONE
    date: Decimal = ONE
    volume: Decimal = ONE
    other: Decimal = ONE
    weight: Decimal = ONE  # read by the weighted aggregation only
    reference: str = ""  # contract number or a description of the transaction
    source: str = "manual"  # "exchange" (a settled contract) or "manual"


@dataclass(frozen=True)
class MarketInputs:
    comparables: tuple[Comparable, ...]
    aggregation: str = "mean"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarketInputs:
        names = {f.name for f in dataclasses.fields(Comparable)}
        comparables = tuple(
            item if isinstance(item, Comparable) else Comparable(**{k: v for k, v in item.items() if k in names})
            for item in data.get("comparables", ())
        )
        return cls(comparables=comparables, aggregation=data.get("aggregation", "mean"))


@dataclass(frozen=True)
class AdjustedComparable:
    index: int
    reference: str
    source: str
    price: Decimal
    coefficients: dict[str, Decimal]  # in COEFFICIENTS order
    combined_coefficient: Decimal
    adjusted_price: Decimal
    weight: Decimal


@dataclass(frozen=True)
class MarketResult:
    aggregation: str
    comparables: tuple[AdjustedComparable, ...]
    count: int
    minimum: Decimal
    maximum: Decimal
    mean: Decimal
    standard_deviation: Decimal
    coefficient_of_variation: Decimal
    weight_total: Decimal | None  # weighted aggregation only
    value: Decimal
    method: str = field(default="market", init=False)


def _positive(problems: Problems, value: object, name: str, code: str, *, allow_zero: bool = False) -> Decimal:
    number = problems.number(value, name)
    if number is None:
        return ONE
    if number < 0 or (number == 0 and not allow_zero):
        bound = _("at least 0") if allow_zero else _("greater than 0")
        problems.add(name, _("%(field)s must be %(bound)s.") % {"field": name, "bound": bound}, code)
    return number


def _plain(value: object) -> bool:
    return type(value) is Decimal and value.is_finite() and value > 0


def _adjusted(problems: Problems, index: int, comparable: Comparable) -> AdjustedComparable:
    coefficients = {name: getattr(comparable, name) for name in COEFFICIENTS}
    price, weight = comparable.price, comparable.weight
    # Settled contracts arrive by the hundred thousand as valid Decimals: check them without building field names.
    if not (_plain(price) and all(map(_plain, coefficients.values())) and (_plain(weight) or weight == 0)):
        prefix = f"comparables[{index}]"
        price = _positive(problems, price, f"{prefix}.price", "comparable_price")
        for name, value in coefficients.items():
            coefficients[name] = _positive(problems, value, f"{prefix}.{name}", "comparable_coefficient")
        weight = _positive(problems, weight, f"{prefix}.weight", "comparable_weight", allow_zero=True)
    combined = ONE
    for coefficient in coefficients.values():
        combined *= coefficient
    price = money(price)
    return AdjustedComparable(
        index, comparable.reference, comparable.source, price, coefficients, combined, money(price * combined), weight
    )


def _median(prices: list[Decimal]) -> Decimal:
    ordered = sorted(prices)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return money((ordered[middle - 1] + ordered[middle]) / 2)


def _validated(inputs: MarketInputs) -> list[AdjustedComparable]:
    problems = Problems()
    if inputs.aggregation not in AGGREGATIONS:
        message = _("Choose one of: %(options)s.") % {"options": ", ".join(AGGREGATIONS)}
        problems.add("aggregation", message, "aggregation")
    if not inputs.comparables:
        problems.add(
            "comparables", _("A market valuation needs at least one comparable transaction."), "no_comparables"
        )
    adjusted = [_adjusted(problems, index, comparable) for index, comparable in enumerate(inputs.comparables)]
    if inputs.aggregation == "weighted" and adjusted and not problems.errors and not sum(c.weight for c in adjusted):
        problems.add("comparables", _("At least one comparable needs a weight above 0."), "comparable_weight")
    problems.check()
    return adjusted


@decimal_context
def market_approach(inputs: MarketInputs) -> MarketResult:
    """value = mean (or median, or weighted mean) of price_i * Π adjustment coefficients_i; see the module docstring."""
    adjusted = _validated(inputs)
    prices = [comparable.adjusted_price for comparable in adjusted]
    count = len(prices)
    exact_mean = sum(prices, ZERO) / count
    deviation = money((sum(((price - exact_mean) ** 2 for price in prices), ZERO) / count).sqrt())
    mean = money(exact_mean)
    weight_total = None
    if inputs.aggregation == "weighted":
        weight_total = sum((comparable.weight for comparable in adjusted), ZERO)
        value = money(sum((c.weight * c.adjusted_price for c in adjusted), ZERO) / weight_total)
    else:
        value = mean if inputs.aggregation == "mean" else _median(prices)
    return MarketResult(
        aggregation=inputs.aggregation,
        comparables=tuple(adjusted),
        count=count,
        minimum=min(prices),
        maximum=max(prices),
        mean=mean,
        standard_deviation=deviation,
        coefficient_of_variation=round_coefficient(deviation / mean) if mean else ZERO,
        weight_total=weight_total,
        value=value,
    )
