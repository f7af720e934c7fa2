"""Market comparables in bulk: the adjusted mean over many transactions computed by the database.

`market_approach` adjusts comparables one by one in Python, which suits the handful an appraiser picks and shows in
the report, each adjusted price rounded to the cent. Over a pool of the exchange's own settled contracts of a sector
(tens of thousands) adjusted by one set of coefficients, the figure is an aggregate, and linearity lets the database
do only what a bare `AVG(price)` does:

    value = round(Π coefficients * AVG(price), 2)     (half up; low and high likewise from MIN and MAX)

No adjusted price of the pool is shown, so none is rounded: the value is the exact mean rounded once. It equals
`market_approach` over the same comparables up to that function's per-row cent rounding, so within one cent.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Max, Min, QuerySet

from valuation.methods import COEFFICIENTS, ValuationInputError

CENT = Decimal("0.01")


@dataclass(frozen=True)
class MarketAggregate:
    """The adjusted mean of many comparables and their spread."""

    count: int
    coefficient: Decimal
    value: Decimal
    low: Decimal
    high: Decimal


def coefficient_product(coefficients: dict[str, Decimal]) -> Decimal:
    """Π of the adjustment coefficients (quality, supply and demand, date, volume, other); each must be > 0."""
    product = Decimal(1)
    for name in COEFFICIENTS:
        value = Decimal(str(coefficients.get(name, 1)))
        if value <= 0:
            raise ValuationInputError(name, "Adjustment coefficients must be above zero.", "comparable_coefficient")
        product *= value
    return product


def aggregate_market_value(
    queryset: QuerySet, *, coefficients: dict[str, Decimal], price: str = "price"
) -> MarketAggregate:
    """Adjusted mean, min and max of `queryset`'s prices in one SQL aggregate; no comparables is an input error."""
    factor = coefficient_product(coefficients)
    # The factor is common to every row, so it multiplies the aggregates, not the rows (see the module docstring).
    row = queryset.aggregate(count=Count("*"), mean=Avg(price), low=Min(price), high=Max(price))
    if not row["count"]:
        raise ValuationInputError("comparables", "There are no comparable transactions.", "no_comparables")
    return MarketAggregate(
        count=row["count"],
        coefficient=factor,
        value=_cents(Decimal(str(row["mean"])) * factor),
        low=_cents(Decimal(str(row["low"])) * factor),
        high=_cents(Decimal(str(row["high"])) * factor),
    )


def _cents(value: object) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
