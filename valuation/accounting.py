"""Accounting treatment of data resources (MoF interim provisions on enterprise data resources, Caikuai [2023] 11,
in force from 1 January 2024) and the pledge value of a valued data asset.

- Held for the enterprise's own use, or used to provide services to customers: an intangible asset (CAS 6), amortised
  over its useful life; the amortisation of one used to provide services goes into the cost of those services.
- Held in the ordinary course of business for sale: inventory (CAS 1), not amortised; carried at the lower of cost
  and net realisable value.

Amortisation here is straight-line: each period = (cost - residual) / periods → cent (half up), and the last period
takes whatever rounding left over so that the amortisation adds up to cost - residual exactly.
"""

from __future__ import annotations

import calendar
import csv
import datetime
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.utils.translation import gettext_lazy as _

from valuation.methods.errors import ValuationInputError
from valuation.methods.numbers import CENT, ONE, ZERO, Problems, decimal_context, money

INTERNAL_USE, SERVICES, SALE = "internal_use", "services", "sale"
INTANGIBLE_ASSET, INVENTORY = "intangible_asset", "inventory"
MAX_USEFUL_LIFE_MONTHS = 100 * 12


@dataclass(frozen=True)
class Classification:
    holding_purpose: str
    asset_class: str  # "intangible_asset" or "inventory"
    standard: str  # the accounting standard that then applies
    amortised: bool


_TREATMENTS = {
    INTERNAL_USE: (INTANGIBLE_ASSET, "CAS 6 Intangible Assets", True),
    SERVICES: (INTANGIBLE_ASSET, "CAS 6 Intangible Assets", True),
    SALE: (INVENTORY, "CAS 1 Inventories", False),
}


def classify(holding_purpose: str) -> Classification:
    """Internal use or providing services → intangible asset (amortised); held for sale → inventory."""
    if holding_purpose not in _TREATMENTS:
        message = _("The holding purpose must be internal use, providing services or sale.")
        raise ValuationInputError("holding_purpose", message, "holding_purpose")
    asset_class, standard, amortised = _TREATMENTS[holding_purpose]
    return Classification(str(holding_purpose), asset_class, standard, amortised)


@dataclass(frozen=True)
class AmortisationRow:
    period: int
    period_start: datetime.date
    period_end: datetime.date
    opening: Decimal  # book value at the start of the period
    amortisation: Decimal
    accumulated: Decimal
    closing: Decimal  # book value at the end of the period


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, moved back to the month's last day where that month is shorter."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return datetime.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _periods(problems: Problems, months: object, years: object, frequency: str) -> int | None:
    if (months is None) == (years is None):
        message = _("Give the useful life in months or in years, not both.")
        problems.add("useful_life", message, "useful_life")
        return None
    field = "useful_life_months" if years is None else "useful_life_years"
    count = problems.whole(months if years is None else years, field, "useful_life")
    if count is None:
        return None
    total_months = count if years is None else count * 12
    if not 1 <= total_months <= MAX_USEFUL_LIFE_MONTHS:
        problems.add(field, _("The useful life must be between 1 month and 100 years."), "useful_life")
        return None
    if frequency == "annual" and total_months % 12:
        problems.add(field, _("Amortising by year needs a useful life in whole years."), "useful_life")
        return None
    return total_months if frequency == "monthly" else total_months // 12


def _validated(cost, months, years, start, residual, method, frequency) -> tuple[Decimal, Decimal, int]:
    problems = Problems()
    amount = problems.money(cost, "cost")
    if amount is not None and amount <= 0:
        problems.add("cost", _("The cost must be greater than 0."), "cost")
    rest = problems.money(residual, "residual")
    above_cost = amount is not None and amount > 0 and rest is not None and rest > amount
    if rest is not None and (rest < 0 or above_cost):
        problems.add("residual", _("The residual value must be between 0 and the cost."), "residual")
    if method != "straight_line":
        problems.add("method", _("Only straight-line amortisation is supported."), "amortisation_method")
    if frequency not in ("monthly", "annual"):
        problems.add("frequency", _("Amortise monthly or annually."), "frequency")
    if not isinstance(start, datetime.date):
        problems.add("start", _("Give the date the data resource is ready for its intended use."), "start")
    periods = _periods(problems, months, years, frequency)
    problems.check()
    return amount, rest, periods


@decimal_context
def amortisation_schedule(
    cost: Decimal,
    *,
    useful_life_months: int | None = None,
    useful_life_years: int | None = None,
    start: datetime.date,
    residual: Decimal = ZERO,
    method: str = "straight_line",
    frequency: str = "monthly",
) -> tuple[AmortisationRow, ...]:
    """Straight-line schedule: amortisation = (cost - residual) / periods → cent; the last period absorbs rounding.

    Period 1 starts on `start` (give the first of the month the resource is ready for use to follow calendar months;
    under CAS 6 an intangible asset is amortised from the month it becomes available). Should half-up rounding of
    the regular amount leave the last period negative (tiny amounts over many periods), it is rounded down instead.
    """
    amount, residual_value, periods = _validated(
        cost, useful_life_months, useful_life_years, start, residual, method, frequency
    )
    base = amount - residual_value
    regular = money(base / periods)
    if regular * (periods - 1) > base:
        regular = (base / periods).quantize(CENT, rounding=ROUND_DOWN)
    step = 1 if frequency == "monthly" else 12
    rows, accumulated = [], ZERO
    for period in range(1, periods + 1):
        charge = regular if period < periods else base - accumulated
        opening = amount - accumulated
        accumulated += charge
        period_start = add_months(start, (period - 1) * step)
        period_end = add_months(start, period * step) - datetime.timedelta(days=1)
        rows.append(
            AmortisationRow(period, period_start, period_end, opening, charge, accumulated, amount - accumulated)
        )
    return tuple(rows)


CSV_HEADER = (
    "period",
    "period_start",
    "period_end",
    "opening_book_value",
    "amortisation",
    "accumulated_amortisation",
    "closing_book_value",
)


def schedule_csv(rows: Iterable[AmortisationRow]) -> str:
    """The schedule as CSV (RFC 4180, CRLF line ends), one header line then one line per period."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            (
                row.period,
                row.period_start.isoformat(),
                row.period_end.isoformat(),
                f"{row.opening:.2f}",
                f"{row.amortisation:.2f}",
                f"{row.accumulated:.2f}",
                f"{row.closing:.2f}",
            )
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class PledgeValue:
    value: Decimal
    ratio: Decimal
    ceiling: Decimal  # lending ceiling = value * ratio → cent


@decimal_context
def pledge_value(value: Decimal, ratio: Decimal) -> PledgeValue:
    """Lending ceiling for a data asset pledged as collateral: value * pledge ratio → cent, ratio in (0, 1]."""
    problems = Problems()
    amount = problems.money(value, "value")
    if amount is not None and amount < 0:
        problems.add("value", _("The value cannot be negative."), "negative_value")
    rate = problems.within(ratio, "ratio", "pledge_ratio", low=ZERO, high=ONE, interval="(]")
    problems.check()
    return PledgeValue(value=amount, ratio=rate, ceiling=money(amount * rate))
