from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.factories.accounts import owner_of
from valuation import comparables, services
from valuation.methods import Comparable, MarketInputs, ValuationInputError, market_approach
from valuation.models import ComparableTransaction

pytestmark = pytest.mark.django_db

PRICES = ["100000.05", "98765.43", "120000.00", "87654.31", "110000.99"]
COEFFICIENTS = {"quality": Decimal("1.07"), "supply_demand": Decimal("0.95"), "date": Decimal("1.013")}


def test_sql_aggregate_is_the_exact_adjusted_mean_rounded_once(org):
    for price in PRICES:
        services.comparable_add(
            organization=org,
            by=owner_of(org),
            sector="marine",
            description="port data",
            price=Decimal(price),
            transacted_on="2026-05-01",
            source="test",
        )
    result = comparables.aggregate_market_value(ComparableTransaction.objects.all(), coefficients=COEFFICIENTS)
    expected = market_approach(
        MarketInputs(comparables=tuple(Comparable(price=Decimal(p), **COEFFICIENTS) for p in PRICES))
    )
    factor = Decimal("1.07") * Decimal("0.95") * Decimal("1.013")
    exact_mean = sum(Decimal(p) for p in PRICES) / len(PRICES) * factor
    assert result.count == 5
    assert result.value == exact_mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == Decimal("106353.19")
    assert abs(result.value - expected.value) <= Decimal("0.01")  # market_approach rounds each row first
    assert (result.low, result.high) == (
        min(c.adjusted_price for c in expected.comparables),
        max(c.adjusted_price for c in expected.comparables),
    )


def test_no_comparables_and_bad_coefficients():
    with pytest.raises(ValuationInputError) as exc:
        comparables.aggregate_market_value(ComparableTransaction.objects.none(), coefficients={})
    assert exc.value.code == "no_comparables"
    with pytest.raises(ValuationInputError):
        comparables.coefficient_product({"quality": 0})
