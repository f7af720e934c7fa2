"""Income approach (China Appraisal Society data-asset valuation guidance, 2023).

    value = Σ_{t=1..n} income_t * attribution share * DF_t,     DF_t = 1 / (1 + r)^t

n is the remaining useful life in whole years and r the discount rate, -100 % < r < 100 %. With the mid-year
convention (income arriving evenly through the year) DF_t = 1 / (1 + r)^(t - 0.5). The variants differ in income_t:

    direct          income_t = income the data brings in year t
    incremental     income_t = income with the data - income without it
    royalty savings income_t = revenue_t * royalty rate                        → cent
    profit split    income_t = profit_t * split share                          → cent

Rounding, per year: the source series to the cent on entry; attributable income_t = income_t * share → cent;
DF_t → 6 decimal places; present value_t = attributable income_t * DF_t (the rounded factor) → cent; the value is
the sum of the rounded present values, so the table adds up.

A source series shorter than the useful life is extended from its last year: x_{t+1} = x_t * (1 + growth) → cent;
a longer one is cut at n years.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from valuation.methods.numbers import ONE, ZERO, Problems, decimal_context, money, round_factor

VARIANT_SERIES = {
    "direct": ("income",),
    "incremental": ("income_with_data", "income_without_data"),
    "royalty_savings": ("revenue",),
    "profit_split": ("profit",),
}
VARIANTS = tuple(VARIANT_SERIES)
MAX_USEFUL_LIFE_YEARS = 100


@dataclass(frozen=True)
class IncomeInputs:
    """Income approach inputs; only the series of the chosen variant are read."""

    useful_life_years: int
    discount_rate: Decimal
    variant: str = "direct"
    attribution_share: Decimal = ONE
    income: tuple[Decimal, ...] = ()
    income_with_data: tuple[Decimal, ...] = ()
    income_without_data: tuple[Decimal, ...] = ()
    revenue: tuple[Decimal, ...] = ()
    royalty_rate: Decimal | None = None
    profit: tuple[Decimal, ...] = ()
    split_share: Decimal | None = None
    growth_rate: Decimal = ZERO
    mid_year: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IncomeInputs:
        names = {f.name for f in dataclasses.fields(cls)}
        series = {name for names_ in VARIANT_SERIES.values() for name in names_}
        return cls(**{key: tuple(value) if key in series else value for key, value in data.items() if key in names})


@dataclass(frozen=True)
class IncomeYear:
    """One line of the income table."""

    year: int
    sources: dict[str, Decimal]  # the variant's source figures for the year (revenue, profit, with / without data)
    income: Decimal
    attributable_income: Decimal
    discount_factor: Decimal
    present_value: Decimal
    extrapolated: bool  # the source series was extended with the growth rate to reach this year


@dataclass(frozen=True)
class IncomeResult:
    variant: str
    useful_life_years: int
    discount_rate: Decimal
    attribution_share: Decimal
    growth_rate: Decimal
    mid_year: bool
    royalty_rate: Decimal | None
    split_share: Decimal | None
    rows: tuple[IncomeYear, ...]
    total_income: Decimal
    total_attributable_income: Decimal
    value: Decimal
    method: str = field(default="income", init=False)


@dataclass(frozen=True)
class _Valid:
    years: int
    rate: Decimal
    share: Decimal
    growth: Decimal
    multiplier: Decimal | None  # royalty rate or split share
    series: dict[str, list[Decimal]]


def _series(problems: Problems, inputs: IncomeInputs, name: str) -> list[Decimal]:
    values = getattr(inputs, name)
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
        problems.add(name, _("Give at least one year of %(series)s.") % {"series": name}, "income_series")
        return []
    amounts = [problems.money(value, f"{name}[{index}]") for index, value in enumerate(values)]
    if name == "revenue" and any(amount is not None and amount < 0 for amount in amounts):
        problems.add(name, _("Revenue cannot be negative."), "negative_revenue")
    return [amount if amount is not None else ZERO for amount in amounts]


def _validated(inputs: IncomeInputs) -> _Valid:
    problems = Problems()
    years = problems.whole(inputs.useful_life_years, "useful_life_years", "useful_life")
    if years is not None and not 1 <= years <= MAX_USEFUL_LIFE_YEARS:
        message = _("The remaining useful life must be between 1 and %(max)s whole years.")
        problems.add("useful_life_years", message % {"max": MAX_USEFUL_LIFE_YEARS}, "useful_life")
    rate = problems.within(inputs.discount_rate, "discount_rate", "discount_rate", low=-ONE, high=ONE, interval="()")
    share = problems.within(
        inputs.attribution_share, "attribution_share", "attribution_share", low=ZERO, high=ONE, interval="(]"
    )
    growth = problems.within(inputs.growth_rate, "growth_rate", "growth_rate", low=-ONE, high=ONE, interval="()")
    if inputs.variant not in VARIANT_SERIES:
        message = _("Choose one of: %(variants)s.") % {"variants": ", ".join(VARIANTS)}
        problems.add("variant", message, "variant")
        problems.check()
    series = {name: _series(problems, inputs, name) for name in VARIANT_SERIES[inputs.variant]}
    if inputs.variant == "incremental" and len(set(map(len, series.values()))) > 1:
        message = _("Income with and without the data must cover the same years.")
        problems.add("income_without_data", message, "series_length")
    multiplier = None
    if inputs.variant in ("royalty_savings", "profit_split"):
        name = "royalty_rate" if inputs.variant == "royalty_savings" else "split_share"
        multiplier = problems.within(getattr(inputs, name), name, name, low=ZERO, high=ONE, interval="(]")
    problems.check()
    return _Valid(years, rate, share, growth, multiplier, series)


def _extended(values: list[Decimal], years: int, growth: Decimal) -> list[Decimal]:
    values = values[:years]
    while len(values) < years:
        values.append(money(values[-1] * (ONE + growth)))
    return values


@decimal_context
def discount_factor(rate: Decimal, year: int, *, mid_year: bool = False) -> Decimal:
    """1 / (1 + r)^t, or 1 / (1 + r)^(t - 0.5) mid-year, rounded half up to 6 decimal places."""
    base = ONE + rate
    periods = base ** (year - 1) * base.sqrt() if mid_year else base**year
    return round_factor(ONE / periods)


def _income(variant: str, sources: dict[str, Decimal], multiplier: Decimal | None) -> Decimal:
    if variant == "direct":
        return sources["income"]
    if variant == "incremental":
        return sources["income_with_data"] - sources["income_without_data"]
    source = sources["revenue"] if variant == "royalty_savings" else sources["profit"]
    return money(source * multiplier)


@decimal_context
def income_approach(inputs: IncomeInputs) -> IncomeResult:
    """value = Σ_{t=1..n} income_t * attribution share / (1 + r)^t (see the module docstring for the variants)."""
    valid = _validated(inputs)
    series = {name: _extended(values, valid.years, valid.growth) for name, values in valid.series.items()}
    given = min(len(values) for values in valid.series.values())
    rows = []
    for year in range(1, valid.years + 1):
        sources = {name: values[year - 1] for name, values in series.items()}
        income = _income(inputs.variant, sources, valid.multiplier)
        attributable = money(income * valid.share)
        factor = discount_factor(valid.rate, year, mid_year=bool(inputs.mid_year))
        rows.append(IncomeYear(year, sources, income, attributable, factor, money(attributable * factor), year > given))
    return IncomeResult(
        variant=inputs.variant,
        useful_life_years=valid.years,
        discount_rate=valid.rate,
        attribution_share=valid.share,
        growth_rate=valid.growth,
        mid_year=bool(inputs.mid_year),
        royalty_rate=valid.multiplier if inputs.variant == "royalty_savings" else None,
        split_share=valid.multiplier if inputs.variant == "profit_split" else None,
        rows=tuple(rows),
        total_income=sum((row.income for row in rows), ZERO),
        total_attributable_income=sum((row.attributable_income for row in rows), ZERO),
        value=sum((row.present_value for row in rows), ZERO),
    )
