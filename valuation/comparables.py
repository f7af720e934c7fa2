"""Market comparables in bulk: the adjusted mean over many transactions computed by the database.

`market_approach` adjusts comparables one by one in Python, which suits the handful an appraiser picks. Over the
exchange's own settled contracts of a sector (tens of thousands) the same figure is an aggregate: with one set
of coefficients for all of them, each adjusted price is `round(price * product of coefficients, 2)` and the value
their mean, rounded half up to the cent — exactly what `market_approach` returns for those comparables, computed in SQL.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, DecimalField, F, Max, Min, QuerySet, Value
from django.db.models.functions import Round

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
    adjusted = Round(F(price) * Value(factor, output_field=DecimalField()), 2)
    # Rounding is monotonic and the factor positive: the extremes are adjusted after aggregating, only the mean
    # needs each row's rounded adjusted price.
    row = queryset.aggregate(count=Count("*"), mean=Avg(adjusted), low=Min(price), high=Max(price))
    if not row["count"]:
        raise ValuationInputError("comparables", "There are no comparable transactions.", "no_comparables")
    return MarketAggregate(
        count=row["count"],
        coefficient=factor,
        value=_cents(row["mean"]),
        low=_cents(Decimal(str(row["low"])) * factor),
        high=_cents(Decimal(str(row["high"])) * factor),
    )


def _cents(value: object) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
