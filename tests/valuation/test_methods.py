"""Worked examples for the valuation methods, computed by hand in the comments and reproduced to the cent."""

import dataclasses
import decimal
import json
from decimal import Decimal as D

import pytest

from valuation.methods import (
    Comparable,
    CompositeComponent,
    CompositeInputs,
    CostInputs,
    IncomeInputs,
    MarketInputs,
    ValuationInputError,
    ValuationInputErrors,
    as_data,
    composite,
    cost_approach,
    default_sensitivity_parameters,
    discount_factor,
    income_approach,
    market_approach,
    quality_adjustment,
    sensitivity,
    with_parameter,
)


def codes(excinfo) -> dict[str, str]:
    return {error.field: error.code for error in excinfo.value.errors}


# --- cost approach -------------------------------------------------------------------------------------------------

COST = CostInputs(
    planning=D("20000.00"),
    collection=D("150000.00"),
    storage=D("30000.00"),
    processing=D("80000.00"),
    labelling=D("45000.00"),
    maintenance=D("25000.00"),
    indirect=D("50000.00"),
    profit_rate=D("0.12"),
    obsolescence_rate=D("0.15"),
    quality_score=D("72.5"),
)


def test_cost_approach_worked_example():
    # direct cost      = 20,000 + 150,000 + 30,000 + 80,000 + 45,000 + 25,000       = 350,000.00
    # total cost       = 350,000.00 + 50,000.00 indirect                             = 400,000.00
    # profit           = 400,000.00 * 0.12                                           =  48,000.00
    # replacement cost = 400,000.00 + 48,000.00                                      = 448,000.00
    # obsolescence     = 448,000.00 * 0.15                                           =  67,200.00
    # depreciated cost = 448,000.00 - 67,200.00                                      = 380,800.00
    # coefficient      = 0.5 + 72.5 / 160 = 0.953125                                 → 0.9531
    # value            = 380,800.00 * 0.9531 = 361,760.00 + 1,180.48                 = 362,940.48
    result = cost_approach(COST)

    assert result.direct_cost == D("350000.00")
    assert result.indirect_cost == D("50000.00")
    assert result.total_cost == D("400000.00")
    assert result.profit == D("48000.00")
    assert result.replacement_cost == D("448000.00")
    assert result.obsolescence == D("67200.00")
    assert result.depreciated_cost == D("380800.00")
    assert result.adjustment_coefficient == D("0.9531")
    assert result.coefficient_source == "quality_score"
    assert result.value == D("362940.48")
    assert result.method == "cost"
    assert list(result.items) == [
        "planning",
        "collection",
        "storage",
        "processing",
        "labelling",
        "maintenance",
        "indirect",
    ]


def test_cost_approach_with_cents_and_an_explicit_coefficient():
    # direct cost      = 12,345.67 + 0 + 8,765.43 + 23,456.78 + 3,210.99 + 4,321.01   =  52,099.88
    # total cost       = 52,099.88 + 9,876.54                                         =  61,976.42
    # profit           = 61,976.42 * 0.0875 = 433,834.94 / 80 = 5,422.93675           →   5,422.94
    # replacement cost = 61,976.42 + 5,422.94                                         =  67,399.36
    # obsolescence     = 67,399.36 * 0.0333 = 22,443,986.88 / 10,000 = 2,244.398688   →   2,244.40
    # depreciated cost = 67,399.36 - 2,244.40                                         =  65,154.96
    # value            = 65,154.96 * 0.95 = 65,154.96 - 3,257.748 = 61,897.212        →  61,897.21
    # (the quality score is recorded but the explicit coefficient wins)
    result = cost_approach(
        CostInputs(
            planning=D("12345.67"),
            storage=D("8765.43"),
            processing=D("23456.78"),
            labelling=D("3210.99"),
            maintenance=D("4321.01"),
            indirect=D("9876.54"),
            profit_rate=D("0.0875"),
            obsolescence_rate=D("0.0333"),
            quality_score=D("40"),
            adjustment_coefficient=D("0.95"),
        )
    )

    assert result.direct_cost == D("52099.88")
    assert result.total_cost == D("61976.42")
    assert result.profit == D("5422.94")
    assert result.replacement_cost == D("67399.36")
    assert result.obsolescence == D("2244.40")
    assert result.depreciated_cost == D("65154.96")
    assert (result.adjustment_coefficient, result.coefficient_source) == (D("0.95"), "override")
    assert result.quality_score == D("40")
    assert result.value == D("61897.21")


@pytest.mark.parametrize(
    ("score", "coefficient"),
    [
        ("0", "0.5"),  # floor
        ("0.2", "0.5013"),  # 0.5 + 0.2 / 160 = 0.50125 → half up to 0.5013 (banker's rounding would give 0.5012)
        ("40", "0.75"),  # 0.5 + 40 / 160
        ("72.5", "0.9531"),  # 0.5 + 0.453125 = 0.953125 → 0.9531
        ("80", "1.0"),  # par: no adjustment
        ("85.3", "1.0265"),  # 1.0 + 5.3 / 200 = 1.0265
        ("90", "1.05"),  # 1.0 + 10 / 200
        ("100", "1.1"),  # cap
    ],
)
def test_quality_adjustment_mapping(score, coefficient):
    assert quality_adjustment(D(score)) == D(coefficient)


def test_quality_adjustment_is_monotonic_and_continuous_at_par():
    scores = [D(n) / 10 for n in range(1001)]
    coefficients = [quality_adjustment(score) for score in scores]
    assert coefficients == sorted(coefficients)
    assert quality_adjustment(D("79.9")) < quality_adjustment(D("80")) < quality_adjustment(D("80.1"))


@pytest.mark.parametrize("score", ["-0.1", "100.1", "abc"])
def test_quality_adjustment_rejects_scores_outside_0_to_100(score):
    with pytest.raises(ValuationInputError) as excinfo:
        quality_adjustment(score)
    assert excinfo.value.code == "quality_score"


def test_negative_cost_is_refused_naming_the_item():
    with pytest.raises(ValuationInputError) as excinfo:
        cost_approach(CostInputs(collection=D("-1.00"), quality_score=D("80")))
    assert (excinfo.value.field, excinfo.value.code) == ("collection", "negative_cost")
    assert "collection" in str(excinfo.value.message)


@pytest.mark.parametrize("field", ["profit_rate", "obsolescence_rate"])
@pytest.mark.parametrize("rate", ["-0.01", "1", "1.5"])
def test_rates_outside_0_to_1_are_refused(field, rate):
    with pytest.raises(ValuationInputError) as excinfo:
        cost_approach(CostInputs(storage=D("100"), quality_score=D("80"), **{field: D(rate)}))
    assert codes(excinfo) == {field: field}


def test_rate_of_zero_is_allowed():
    result = cost_approach(CostInputs(storage=D("100"), adjustment_coefficient=D("1")))
    assert result.value == D("100.00")


def test_cost_problems_are_reported_together():
    with pytest.raises(ValuationInputErrors) as excinfo:
        cost_approach(CostInputs(planning=D("-5"), indirect="lots", obsolescence_rate=D("1")))
    assert codes(excinfo) == {
        "planning": "negative_cost",
        "indirect": "invalid_number",
        "obsolescence_rate": "obsolescence_rate",
        "quality_score": "quality_missing",
    }
    assert excinfo.value.as_dict()["planning"][0]["code"] == "negative_cost"


@pytest.mark.parametrize("coefficient", ["0", "-0.5"])
def test_adjustment_coefficient_must_be_positive(coefficient):
    with pytest.raises(ValuationInputError) as excinfo:
        cost_approach(CostInputs(storage=D("100"), adjustment_coefficient=D(coefficient)))
    assert excinfo.value.code == "adjustment_coefficient"


# --- income approach -----------------------------------------------------------------------------------------------

DIRECT = IncomeInputs(
    useful_life_years=5,
    discount_rate=D("0.10"),
    attribution_share=D("0.40"),
    income=(D("1000000.00"), D("1100000.00"), D("1200000.00")),
    growth_rate=D("0.05"),
)


def test_income_direct_worked_example_with_growth_extension():
    # Three years given, five needed: year 4 = 1,200,000 * 1.05 = 1,260,000.00; year 5 = 1,260,000 * 1.05 = 1,323,000.00
    # year  income        * 0.40 = attributable   DF = 1/1.1^t                    present value
    #  1    1,000,000.00    400,000.00     1/1.1     = 0.9090909 → 0.909091   400,000 * 0.909091 = 363,636.40
    #  2    1,100,000.00    440,000.00     1/1.21    = 0.8264463 → 0.826446   440,000 * 0.826446 = 363,636.24
    #  3    1,200,000.00    480,000.00     1/1.331   = 0.7513148 → 0.751315   480,000 * 0.751315 = 360,631.20
    #  4    1,260,000.00    504,000.00     1/1.4641  = 0.6830135 → 0.683013   504,000 * 0.683013 = 344,238.552 → .55
    #  5    1,323,000.00    529,200.00     1/1.61051 = 0.6209213 → 0.620921   529,200 * 0.620921 = 328,591.3932 → .39
    # value = 363,636.40 + 363,636.24 + 360,631.20 + 344,238.55 + 328,591.39 = 1,760,733.78
    result = income_approach(DIRECT)

    table = [(r.year, r.income, r.attributable_income, r.discount_factor, r.present_value) for r in result.rows]
    assert table == [
        (1, D("1000000.00"), D("400000.00"), D("0.909091"), D("363636.40")),
        (2, D("1100000.00"), D("440000.00"), D("0.826446"), D("363636.24")),
        (3, D("1200000.00"), D("480000.00"), D("0.751315"), D("360631.20")),
        (4, D("1260000.00"), D("504000.00"), D("0.683013"), D("344238.55")),
        (5, D("1323000.00"), D("529200.00"), D("0.620921"), D("328591.39")),
    ]
    assert [row.extrapolated for row in result.rows] == [False, False, False, True, True]
    assert result.total_income == D("5883000.00")
    assert result.total_attributable_income == D("2353200.00")
    assert result.value == D("1760733.78")
    assert result.method == "income"


def test_income_incremental_worked_example():
    # year  with data     without       income     * 0.6 = attributable   DF = 1/1.08^t            present value
    #  1    500,000.00    420,000.00    80,000.00        48,000.00        0.9259259 → 0.925926    44,444.448 → 44,444.45
    #  2    520,000.00    430,000.00    90,000.00        54,000.00        0.8573388 → 0.857339    46,296.306 → 46,296.31
    #  3    540,000.00    440,000.00   100,000.00        60,000.00        0.7938322 → 0.793832    47,629.92
    # value = 44,444.45 + 46,296.31 + 47,629.92 = 138,370.68
    result = income_approach(
        IncomeInputs(
            variant="incremental",
            useful_life_years=3,
            discount_rate=D("0.08"),
            attribution_share=D("0.6"),
            income_with_data=(D("500000.00"), D("520000.00"), D("540000.00")),
            income_without_data=(D("420000.00"), D("430000.00"), D("440000.00")),
        )
    )

    assert [row.income for row in result.rows] == [D("80000.00"), D("90000.00"), D("100000.00")]
    assert [row.discount_factor for row in result.rows] == [D("0.925926"), D("0.857339"), D("0.793832")]
    assert [row.present_value for row in result.rows] == [D("44444.45"), D("46296.31"), D("47629.92")]
    assert result.rows[0].sources == {"income_with_data": D("500000.00"), "income_without_data": D("420000.00")}
    assert result.value == D("138370.68")


def test_income_royalty_savings_worked_example():
    # Revenue given for two years, grown 10 %: year 3 = 2,300,000 * 1.1 = 2,530,000.00; year 4 = 2,783,000.00.
    # year  revenue        * 3.5 % = income   DF = 1/1.12^t               present value
    #  1    2,000,000.00    70,000.00         0.8928571 → 0.892857      62,499.99
    #  2    2,300,000.00    80,500.00         0.7971939 → 0.797194      64,174.117  → 64,174.12
    #  3    2,530,000.00    88,550.00         0.7117802 → 0.711780      63,028.119  → 63,028.12
    #  4    2,783,000.00    97,405.00         0.6355181 → 0.635518      61,902.63079 → 61,902.63
    # attribution share 1: the royalty rate already isolates the data's part.
    # value = 62,499.99 + 64,174.12 + 63,028.12 + 61,902.63 = 251,604.86
    result = income_approach(
        IncomeInputs(
            variant="royalty_savings",
            useful_life_years=4,
            discount_rate=D("0.12"),
            revenue=(D("2000000.00"), D("2300000.00")),
            royalty_rate=D("0.035"),
            growth_rate=D("0.10"),
        )
    )

    assert [row.sources["revenue"] for row in result.rows] == [
        D("2000000.00"),
        D("2300000.00"),
        D("2530000.00"),
        D("2783000.00"),
    ]
    assert [row.income for row in result.rows] == [D("70000.00"), D("80500.00"), D("88550.00"), D("97405.00")]
    assert [row.present_value for row in result.rows] == [D("62499.99"), D("64174.12"), D("63028.12"), D("61902.63")]
    assert (result.royalty_rate, result.split_share) == (D("0.035"), None)
    assert result.value == D("251604.86")


def test_income_profit_split_worked_example():
    # year  profit        * 25 % = income              DF = 1/1.15^t           present value
    #  1    333,333.33    83,333.3325 → 83,333.33      0.8695652 → 0.869565   83,333.33 * 0.869565 = 72,463.7471 → .75
    #  2    350,000.00    87,500.00                    0.7561437 → 0.756144   87,500.00 * 0.756144 = 66,162.60
    # value = 72,463.75 + 66,162.60 = 138,626.35
    result = income_approach(
        IncomeInputs(
            variant="profit_split",
            useful_life_years=2,
            discount_rate=D("0.15"),
            profit=(D("333333.33"), D("350000.00")),
            split_share=D("0.25"),
        )
    )

    assert [row.income for row in result.rows] == [D("83333.33"), D("87500.00")]
    assert [row.discount_factor for row in result.rows] == [D("0.869565"), D("0.756144")]
    assert [row.present_value for row in result.rows] == [D("72463.75"), D("66162.60")]
    assert result.value == D("138626.35")


def test_income_mid_year_convention():
    # r = 21 % so that sqrt(1.21) = 1.1 exactly:
    # DF_1 = 1 / 1.21^0.5 = 1/1.1 → 0.909091;  DF_2 = 1 / 1.21^1.5 = 1/1.331 → 0.751315
    # value = 100,000 * 0.909091 + 100,000 * 0.751315 = 90,909.10 + 75,131.50 = 166,040.60
    # (end of year it would be 100,000/1.21 + 100,000/1.4641 = 82,644.60 + 68,301.30 = 150,945.90)
    inputs = IncomeInputs(useful_life_years=2, discount_rate=D("0.21"), income=(D("100000"), D("100000")))

    mid = income_approach(dataclasses.replace(inputs, mid_year=True))
    end = income_approach(inputs)

    assert [row.discount_factor for row in mid.rows] == [D("0.909091"), D("0.751315")]
    assert mid.value == D("166040.60")
    assert [row.discount_factor for row in end.rows] == [D("0.826446"), D("0.683013")]
    assert end.value == D("150945.90")
    assert mid.mid_year and not end.mid_year


def test_income_series_longer_than_the_useful_life_is_cut():
    # Only year 1 counts: 100.00 / 1.10 → 100.00 * 0.909091 = 90.9091 → 90.91
    result = income_approach(IncomeInputs(useful_life_years=1, discount_rate=D("0.1"), income=(D("100"), D("999"))))
    assert len(result.rows) == 1
    assert result.value == D("90.91")


def test_income_negative_discount_rate_inside_the_range_is_allowed():
    # r = -50 %: DF_1 = 1 / 0.5 = 2.000000; PV = 100.00 * 2 = 200.00
    result = income_approach(IncomeInputs(useful_life_years=1, discount_rate=D("-0.5"), income=(D("100"),)))
    assert result.rows[0].discount_factor == D("2.000000")
    assert result.value == D("200.00")


def test_discount_factor_rounds_half_up_to_six_places():
    # 1/1.6 = 0.625 exactly (no rounding); 1/1.08 = 0.925925925… → 0.925926
    assert discount_factor(D("0.6"), 1) == D("0.625000")
    assert discount_factor(D("0.08"), 1) == D("0.925926")


@pytest.mark.parametrize("rate", ["1", "-1", "1.5", "-2"])
def test_discount_rate_outside_minus_100_to_100_percent_is_refused(rate):
    with pytest.raises(ValuationInputError) as excinfo:
        income_approach(IncomeInputs(useful_life_years=3, discount_rate=D(rate), income=(D("100"),)))
    assert codes(excinfo) == {"discount_rate": "discount_rate"}


@pytest.mark.parametrize("years", [0, -3, D("2.5"), "two"])
def test_useful_life_must_be_whole_positive_years(years):
    with pytest.raises(ValuationInputError) as excinfo:
        income_approach(IncomeInputs(useful_life_years=years, discount_rate=D("0.1"), income=(D("100"),)))
    assert codes(excinfo) == {"useful_life_years": "useful_life"}


@pytest.mark.parametrize("share", ["0", "-0.1", "1.01"])
def test_attribution_share_must_be_in_0_exclusive_to_1(share):
    with pytest.raises(ValuationInputError) as excinfo:
        income_approach(
            IncomeInputs(useful_life_years=1, discount_rate=D("0.1"), attribution_share=D(share), income=(D("1"),))
        )
    assert excinfo.value.code == "attribution_share"


def test_income_variant_inputs_are_checked():
    with pytest.raises(ValuationInputErrors) as excinfo:
        income_approach(
            IncomeInputs(variant="royalty_savings", useful_life_years=0, discount_rate=D("1"), royalty_rate=D("0"))
        )
    assert codes(excinfo) == {
        "useful_life_years": "useful_life",
        "discount_rate": "discount_rate",
        "revenue": "income_series",
        "royalty_rate": "royalty_rate",
    }

    with pytest.raises(ValuationInputError) as excinfo:
        income_approach(
            IncomeInputs(
                variant="incremental",
                useful_life_years=2,
                discount_rate=D("0.1"),
                income_with_data=(D("1"), D("2")),
                income_without_data=(D("1"),),
            )
        )
    assert excinfo.value.code == "series_length"

    with pytest.raises(ValuationInputError) as excinfo:
        income_approach(IncomeInputs(variant="magic", useful_life_years=2, discount_rate=D("0.1")))
    assert excinfo.value.code == "variant"

    with pytest.raises(ValuationInputError) as excinfo:
        income_approach(
            IncomeInputs(
                variant="royalty_savings",
                useful_life_years=1,
                discount_rate=D("0.1"),
                revenue=(D("-1"),),
                royalty_rate=D("0.1"),
            )
        )
    assert excinfo.value.code == "negative_revenue"


# --- market approach -----------------------------------------------------------------------------------------------

COMPARABLES = (
    Comparable(
        price=D("100000.00"), quality=D("1.05"), supply_demand=D("0.98"), date=D("1.02"), reference="A", weight=D(2)
    ),
    Comparable(price=D("85000.00"), quality=D("1.10"), date=D("0.97"), volume=D("1.03"), reference="B"),
    Comparable(price=D("120000.00"), quality=D("0.92"), date=D("1.01"), other=D("0.95"), reference="C"),
)


def test_market_approach_mean_worked_example():
    # A: 1.05 * 0.98 * 1.02 * 1 * 1 = 1.04958      100,000.00 * 1.04958 = 104,958.00
    # B: 1.10 * 1 * 0.97 * 1.03 * 1 = 1.09901       85,000.00 * 1.09901 =  93,415.85
    # C: 0.92 * 1 * 1.01 * 1 * 0.95 = 0.88274      120,000.00 * 0.88274 = 105,928.80
    # mean = (104,958.00 + 93,415.85 + 105,928.80) / 3 = 304,302.65 / 3 = 101,434.2166… → 101,434.22
    # spread: min 93,415.85, max 105,928.80;
    #   deviations from 101,434.2167: +3,523.7833, -8,018.3667, +4,494.5833
    #   squares: 12,417,048.98 + 64,294,204.00 + 20,201,279.34 = 96,912,532.32; / 3 = 32,304,177.44
    #   standard deviation = sqrt(32,304,177.44) = 5,683.6764 → 5,683.68
    #   CV = 5,683.68 / 101,434.22 = 0.056033 → 0.0560
    result = market_approach(MarketInputs(comparables=COMPARABLES))

    assert [c.combined_coefficient for c in result.comparables] == [D("1.04958"), D("1.09901"), D("0.88274")]
    assert [c.adjusted_price for c in result.comparables] == [D("104958.00"), D("93415.85"), D("105928.80")]
    assert result.value == result.mean == D("101434.22")
    assert (result.minimum, result.maximum) == (D("93415.85"), D("105928.80"))
    assert result.standard_deviation == D("5683.68")
    assert result.coefficient_of_variation == D("0.0560")
    assert result.count == 3
    assert result.method == "market"


def test_market_approach_median_and_weighted():
    # median of 93,415.85 / 104,958.00 / 105,928.80 = 104,958.00
    # weighted (A 2, B 1, C 1): (2 * 104,958.00 + 93,415.85 + 105,928.80) / 4 = 409,260.65 / 4 = 102,315.1625 → .16
    assert market_approach(MarketInputs(COMPARABLES, aggregation="median")).value == D("104958.00")
    weighted = market_approach(MarketInputs(COMPARABLES, aggregation="weighted"))
    assert weighted.value == D("102315.16")
    assert weighted.weight_total == D("4")


def test_market_median_of_an_even_count_averages_the_middle_two():
    # adjusted 100.00, 200.00, 300.01, 400.00 → (200.00 + 300.01) / 2 = 250.005 → 250.01 (half up)
    prices = ["100", "200", "300.01", "400"]
    result = market_approach(MarketInputs(tuple(Comparable(price=D(p)) for p in prices), aggregation="median"))
    assert result.value == D("250.01")


def test_market_spread_of_a_symmetric_set():
    # 90,000 / 100,000 / 110,000: mean 100,000; variance (10,000² + 0 + 10,000²) / 3 = 66,666,666.67
    # standard deviation = 8,164.9658 → 8,164.97; CV = 8,164.97 / 100,000 = 0.0816497 → 0.0816
    result = market_approach(MarketInputs(tuple(Comparable(price=D(p)) for p in ("90000", "100000", "110000"))))
    assert (result.standard_deviation, result.coefficient_of_variation) == (D("8164.97"), D("0.0816"))


def test_market_with_no_comparables_is_refused():
    with pytest.raises(ValuationInputError) as excinfo:
        market_approach(MarketInputs(comparables=()))
    assert (excinfo.value.field, excinfo.value.code) == ("comparables", "no_comparables")


def test_market_comparable_problems_name_the_comparable():
    bad = (Comparable(price=D("100")), Comparable(price=D("0"), quality=D("0"), weight=D("-1")))
    with pytest.raises(ValuationInputErrors) as excinfo:
        market_approach(MarketInputs(bad, aggregation="mode"))
    assert codes(excinfo) == {
        "aggregation": "aggregation",
        "comparables[1].price": "comparable_price",
        "comparables[1].quality": "comparable_coefficient",
        "comparables[1].weight": "comparable_weight",
    }


def test_market_weighted_needs_some_weight():
    zero = tuple(Comparable(price=D("100"), weight=D(0)) for _ in range(2))
    with pytest.raises(ValuationInputError) as excinfo:
        market_approach(MarketInputs(zero, aggregation="weighted"))
    assert excinfo.value.code == "comparable_weight"


# --- composite -----------------------------------------------------------------------------------------------------


def test_composite_worked_example():
    # income 1,234,567.89 * 0.6 = 740,740.734 → 740,740.73
    # cost     987,654.32 * 0.4 = 395,061.728 → 395,061.73
    # value = 740,740.73 + 395,061.73 = 1,135,802.46
    result = composite(
        CompositeInputs(
            (
                CompositeComponent("income", D("1234567.89"), D("0.6")),
                CompositeComponent("cost", D("987654.32"), D("0.4")),
            )
        )
    )
    assert [(c.method, c.contribution) for c in result.contributions] == [
        ("income", D("740740.73")),
        ("cost", D("395061.73")),
    ]
    assert result.weight_total == D("1.0")
    assert result.value == D("1135802.46")
    assert result.method == "composite"


def test_composite_of_method_results():
    # cost 362,940.48 * 0.5 = 181,470.24; market 101,434.22 * 0.3 = 30,430.266 → 30,430.27;
    # income 1,760,733.78 * 0.2 = 352,146.756 → 352,146.76; value = 564,047.27
    components = (
        CompositeComponent.of(cost_approach(COST), D("0.5")),
        CompositeComponent.of(market_approach(MarketInputs(COMPARABLES)), D("0.3")),
        CompositeComponent.of(income_approach(DIRECT), D("0.2")),
    )
    result = composite(CompositeInputs(components))
    assert [c.contribution for c in result.contributions] == [D("181470.24"), D("30430.27"), D("352146.76")]
    assert result.value == D("564047.27")


@pytest.mark.parametrize("weights", [("0.33", "0.33", "0.33"), ("0.5", "0.6"), ("0.999",)])
def test_composite_weights_must_sum_to_exactly_one(weights):
    components = tuple(CompositeComponent(f"m{i}", D("100"), D(w)) for i, w in enumerate(weights))
    with pytest.raises(ValuationInputError) as excinfo:
        composite(CompositeInputs(components))
    assert (excinfo.value.field, excinfo.value.code) == ("components", "weights_sum")


def test_composite_weights_cannot_be_negative_or_missing():
    with pytest.raises(ValuationInputError) as excinfo:
        composite(
            CompositeInputs((CompositeComponent("a", D("1"), D("-0.2")), CompositeComponent("b", D("1"), D("1.2"))))
        )
    assert codes(excinfo) == {"components[0].weight": "negative_weight"}
    with pytest.raises(ValuationInputError) as excinfo:
        composite(CompositeInputs(()))
    assert excinfo.value.code == "no_components"


# --- sensitivity ---------------------------------------------------------------------------------------------------


def test_income_sensitivity_rows_sorted_by_swing():
    # Base (test_income_direct_worked_example): 1,760,733.78. Defaults: useful life 4/6, share 0.36/0.44, r 8 %/12 %.
    # useful life 4: the first four present values = 1,432,142.39
    # useful life 6: year 6 income 1,323,000 * 1.05 = 1,389,150.00, * 0.40 = 555,660.00, DF 1/1.771561 → 0.564474,
    #                PV 313,655.62284 → 313,655.62; value 1,760,733.78 + 313,655.62 = 2,074,389.40; swing 642,247.01
    # share 0.36: 327,272.76 + 327,272.62 + 324,568.08 + 309,814.70 + 295,732.25 = 1,584,660.41
    # share 0.44: 400,000.04 + 399,999.86 + 396,694.32 + 378,662.41 + 361,450.53 = 1,936,807.16; swing 352,146.75
    # r 8 %  (DF .925926 .857339 .793832 .735030 .680583):
    #            370,370.40 + 377,229.16 + 381,039.36 + 370,455.12 + 360,164.52 = 1,859,258.56
    # r 12 % (DF .892857 .797194 .711780 .635518 .567427):
    #            357,142.80 + 350,765.36 + 341,654.40 + 320,301.07 + 300,282.37 = 1,670,146.00; swing 189,112.56
    result = sensitivity(income_approach, DIRECT)

    rows = [(r.parameter, r.low_input, r.high_input, r.low_value, r.high_value, r.swing) for r in result.rows]
    assert rows == [
        ("useful_life_years", 4, 6, D("1432142.39"), D("2074389.40"), D("642247.01")),
        ("attribution_share", D("0.360"), D("0.440"), D("1584660.41"), D("1936807.16"), D("352146.75")),
        ("discount_rate", D("0.08"), D("0.12"), D("1859258.56"), D("1670146.00"), D("189112.56")),
    ]
    assert [r.base_input for r in result.rows] == [5, D("0.40"), D("0.10")]
    assert result.base_value == D("1760733.78")
    assert (result.low, result.high) == (D("1432142.39"), D("2074389.40"))


def test_cost_sensitivity_defaults_and_order():
    # Base (test_cost_approach_worked_example) 362,940.48 with coefficient 0.9531 from the quality score.
    # coefficient 0.8531 / 1.0531: 380,800.00 * 0.8531 = 324,860.48; 380,800.00 * 1.0531 = 401,020.48; swing 76,160.00
    # obsolescence 0.10 / 0.20:    403,200.00 * 0.9531 = 384,289.92; 358,400.00 * 0.9531 = 341,591.04; swing 42,698.88
    # profit 0.07: 428,000 - 64,200 = 363,800.00 * 0.9531 = 346,737.78
    # profit 0.17: 468,000 - 70,200 = 397,800.00 * 0.9531 = 379,143.18;                                swing 32,405.40
    assert default_sensitivity_parameters("cost", COST) == {
        "obsolescence_rate": (D("0.10"), D("0.20")),
        "profit_rate": (D("0.07"), D("0.17")),
        "adjustment_coefficient": (D("0.8531"), D("1.0531")),
    }
    result = sensitivity(cost_approach, COST)

    assert [(r.parameter, r.low_value, r.high_value, r.swing) for r in result.rows] == [
        ("adjustment_coefficient", D("324860.48"), D("401020.48"), D("76160.00")),
        ("obsolescence_rate", D("384289.92"), D("341591.04"), D("42698.88")),
        ("profit_rate", D("346737.78"), D("379143.18"), D("32405.40")),
    ]
    assert result.rows[0].base_input == D("0.9531")
    assert (result.low, result.high) == (D("324860.48"), D("401020.48"))


def test_market_sensitivity_scales_each_coefficient_by_ten_percent():
    # Scaling one kind of coefficient on every comparable scales every adjusted price, so all five rows swing alike
    # and ties are ordered by name. quality * 0.9:
    #   A 1.04958 * 0.9 = 0.944622 →  94,462.20;  B 1.09901 * 0.9 = 0.989109 → 84,074.265 → 84,074.27;
    #   C 0.88274 * 0.9 = 0.794466 → 95,335.92;   mean 273,872.39 / 3 = 91,290.7966 → 91,290.80
    # quality * 1.1:
    #   A 1.154538 → 115,453.80;  B 1.208911 → 102,757.435 → 102,757.44;  C 0.971014 → 116,521.68
    #   mean 334,732.92 / 3 = 111,577.64; swing 20,286.84
    result = sensitivity(market_approach, MarketInputs(COMPARABLES))

    assert [r.parameter for r in result.rows] == [
        "comparables.date",
        "comparables.other",
        "comparables.quality",
        "comparables.supply_demand",
        "comparables.volume",
    ]
    assert {(r.low_value, r.high_value, r.swing) for r in result.rows} == {
        (D("91290.80"), D("111577.64"), D("20286.84"))
    }
    assert (result.low, result.high) == (D("91290.80"), D("111577.64"))


def test_sensitivity_with_explicit_parameters_and_one_comparable():
    # Comparable B's quality * 0.5 / * 1.5 → 1.09901 * 0.5 = 0.549505 → 46,707.925 → 46,707.93;
    #   mean (104,958.00 + 46,707.93 + 105,928.80) / 3 = 257,594.73 / 3 = 85,864.91
    # * 1.5 → 1.648515 → 140,123.775 → 140,123.78; mean 351,010.58 / 3 = 117,003.5266 → 117,003.53
    result = sensitivity(market_approach, MarketInputs(COMPARABLES), {"comparables[1].quality": (D("0.5"), D("1.5"))})
    assert [(r.low_value, r.high_value) for r in result.rows] == [(D("85864.91"), D("117003.53"))]


def test_sensitivity_unknown_parameter_and_method():
    with pytest.raises(ValuationInputError) as excinfo:
        sensitivity(income_approach, DIRECT, {"colour": (D(0), D(1))})
    assert excinfo.value.code == "sensitivity_parameter"
    with pytest.raises(ValuationInputError) as excinfo:
        default_sensitivity_parameters(composite, CompositeInputs(()))
    assert excinfo.value.code == "sensitivity_method"


def test_default_parameters_stay_inside_the_valid_ranges():
    edge = IncomeInputs(useful_life_years=1, discount_rate=D("0.98"), attribution_share=D("1"), income=(D("100"),))
    assert default_sensitivity_parameters(income_approach, edge) == {
        "discount_rate": (D("0.96"), D("0.99")),
        "useful_life_years": (1, 2),
        "attribution_share": (D("0.9"), D("1")),
    }
    sensitivity(income_approach, edge)  # every re-run passes validation


# --- serialisation -------------------------------------------------------------------------------------------------


def test_inputs_and_results_round_trip_through_json():
    for inputs, method in (
        (COST, cost_approach),
        (DIRECT, income_approach),
        (MarketInputs(COMPARABLES), market_approach),
    ):
        data = json.loads(json.dumps(as_data(inputs)))
        again = type(inputs).from_dict(data)
        assert method(again).value == method(inputs).value
        json.dumps(as_data(method(again)))


def test_with_parameter_changes_one_input_and_refuses_switches():
    assert with_parameter(DIRECT, "discount_rate", D("0.2")).discount_rate == D("0.2")
    assert DIRECT.discount_rate == D("0.10")
    with pytest.raises(ValuationInputError) as excinfo:
        with_parameter(DIRECT, "variant", "incremental")
    assert excinfo.value.code == "sensitivity_parameter"


def test_figures_too_large_to_round_are_an_input_error():
    # (1 - 0.99)^-100 = 1e200: no discount factor to 6 places fits; nor does a 1e60 cost to the cent.
    with pytest.raises(ValuationInputError) as excinfo:
        income_approach(IncomeInputs(useful_life_years=100, discount_rate=D("-0.99"), income=(D("1"),)))
    assert excinfo.value.code == "out_of_range"
    with pytest.raises(ValuationInputError) as excinfo:
        cost_approach(CostInputs(storage=D("1e60"), adjustment_coefficient=D("1")))
    assert excinfo.value.code == "out_of_range"


def test_results_do_not_depend_on_the_callers_decimal_context():
    with decimal.localcontext(decimal.Context(prec=6, rounding=decimal.ROUND_FLOOR)):
        assert income_approach(DIRECT).value == D("1760733.78")
        assert cost_approach(COST).value == D("362940.48")
