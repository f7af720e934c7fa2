"""Accounting treatment of data resources (MoF 2024 interim provisions), amortisation schedules and pledge values."""

import csv
import datetime
import io
import itertools
from decimal import Decimal as D

import pytest

from valuation.accounting import (
    CSV_HEADER,
    add_months,
    amortisation_schedule,
    classify,
    pledge_value,
    schedule_csv,
)
from valuation.methods import ValuationInputError, ValuationInputErrors


@pytest.mark.parametrize(
    ("purpose", "asset_class", "amortised"),
    [("internal_use", "intangible_asset", True), ("services", "intangible_asset", True), ("sale", "inventory", False)],
)
def test_classify_by_holding_purpose(purpose, asset_class, amortised):
    treatment = classify(purpose)
    assert (treatment.asset_class, treatment.amortised) == (asset_class, amortised)


def test_classify_unknown_purpose():
    with pytest.raises(ValuationInputError) as excinfo:
        classify("gift")
    assert excinfo.value.code == "holding_purpose"


def test_100000_over_seven_years_monthly():
    # 100,000.00 / 84 months = 1,190.476190… → 1,190.48 a month
    # 83 months * 1,190.48 = 98,809.84; month 84 = 100,000.00 - 98,809.84 = 1,190.16
    rows = amortisation_schedule(D("100000.00"), useful_life_years=7, start=datetime.date(2024, 1, 1))

    assert len(rows) == 84
    assert {row.amortisation for row in rows[:-1]} == {D("1190.48")}
    assert rows[-1].amortisation == D("1190.16")
    assert rows[-2].accumulated == D("98809.84")
    assert sum(row.amortisation for row in rows) == D("100000.00")
    assert (rows[-1].accumulated, rows[-1].closing) == (D("100000.00"), D("0.00"))
    assert (rows[0].period_start, rows[0].period_end) == (datetime.date(2024, 1, 1), datetime.date(2024, 1, 31))
    assert (rows[-1].period_start, rows[-1].period_end) == (datetime.date(2030, 12, 1), datetime.date(2030, 12, 31))


def test_rows_chain_opening_to_closing():
    rows = amortisation_schedule(D("100000.00"), useful_life_months=84, start=datetime.date(2024, 1, 1))
    assert rows[0].opening == D("100000.00")
    for previous, row in itertools.pairwise(rows):
        assert row.opening == previous.closing
        assert row.closing == row.opening - row.amortisation
        assert row.accumulated == previous.accumulated + row.amortisation


def test_residual_value_is_left_at_the_end():
    # (250,000.00 - 10,000.00) / 36 = 6,666.666… → 6,666.67; 35 * 6,666.67 = 233,333.45;
    # month 36 = 240,000.00 - 233,333.45 = 6,666.55; closing book value = the residual 10,000.00
    rows = amortisation_schedule(
        D("250000.00"), useful_life_months=36, start=datetime.date(2025, 7, 1), residual=D("10000.00")
    )
    assert rows[0].amortisation == D("6666.67")
    assert rows[-1].amortisation == D("6666.55")
    assert rows[-1].closing == D("10000.00")
    assert sum(row.amortisation for row in rows) == D("240000.00")


def test_annual_schedule():
    # 10,000.00 / 3 = 3,333.33, 3,333.33, then 10,000.00 - 6,666.66 = 3,333.34
    rows = amortisation_schedule(
        D("10000.00"), useful_life_years=3, start=datetime.date(2024, 1, 1), frequency="annual"
    )
    assert [row.amortisation for row in rows] == [D("3333.33"), D("3333.33"), D("3333.34")]
    assert [row.period_end for row in rows] == [
        datetime.date(2024, 12, 31),
        datetime.date(2025, 12, 31),
        datetime.date(2026, 12, 31),
    ]


@pytest.mark.parametrize(
    ("cost", "months", "residual"),
    [
        ("100000.00", 84, "0"),
        ("99999.99", 83, "0"),
        ("0.10", 7, "0"),
        ("1234567.89", 120, "0.01"),
        ("1.00", 40, "0"),  # 1.00 / 40 = 0.025 → 0.03 half up, and 39 * 0.03 = 1.17 > 1.00: rounded down to 0.02
        ("777.77", 1200, "7.77"),
    ],
)
def test_total_amortisation_equals_cost_less_residual_exactly(cost, months, residual):
    rows = amortisation_schedule(
        D(cost), useful_life_months=months, start=datetime.date(2024, 2, 1), residual=D(residual)
    )
    assert len(rows) == months
    assert sum(row.amortisation for row in rows) == D(cost) - D(residual)
    assert rows[-1].closing == D(residual)
    assert all(row.amortisation >= 0 for row in rows)


def test_half_up_falls_back_to_rounding_down_when_the_last_period_would_go_negative():
    # 1.00 / 40: 0.03 * 39 = 1.17 would leave -0.17; 0.02 * 39 = 0.78 leaves 0.22 for the last month
    rows = amortisation_schedule(D("1.00"), useful_life_months=40, start=datetime.date(2024, 1, 1))
    assert rows[0].amortisation == D("0.02")
    assert rows[-1].amortisation == D("0.22")


def test_month_end_start_keeps_to_month_ends():
    assert add_months(datetime.date(2024, 1, 31), 1) == datetime.date(2024, 2, 29)
    assert add_months(datetime.date(2024, 1, 31), 13) == datetime.date(2025, 2, 28)
    rows = amortisation_schedule(D("300.00"), useful_life_months=3, start=datetime.date(2024, 1, 31))
    assert [(row.period_start, row.period_end) for row in rows] == [
        (datetime.date(2024, 1, 31), datetime.date(2024, 2, 28)),
        (datetime.date(2024, 2, 29), datetime.date(2024, 3, 30)),
        (datetime.date(2024, 3, 31), datetime.date(2024, 4, 29)),
    ]


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"cost": D("0"), "useful_life_months": 12}, "cost", "cost"),
        ({"cost": D("-5"), "useful_life_months": 12}, "cost", "cost"),
        ({"cost": D("100"), "useful_life_months": 12, "residual": D("101")}, "residual", "residual"),
        ({"cost": D("100"), "useful_life_months": 12, "residual": D("-1")}, "residual", "residual"),
        ({"cost": D("100"), "useful_life_months": 0}, "useful_life_months", "useful_life"),
        ({"cost": D("100"), "useful_life_years": -1}, "useful_life_years", "useful_life"),
        ({"cost": D("100")}, "useful_life", "useful_life"),
        ({"cost": D("100"), "useful_life_months": 12, "useful_life_years": 1}, "useful_life", "useful_life"),
        ({"cost": D("100"), "useful_life_months": 30, "frequency": "annual"}, "useful_life_months", "useful_life"),
        ({"cost": D("100"), "useful_life_months": 12, "method": "declining_balance"}, "method", "amortisation_method"),
        ({"cost": D("100"), "useful_life_months": 12, "frequency": "weekly"}, "frequency", "frequency"),
    ],
)
def test_schedule_bad_input(kwargs, field, code):
    cost = kwargs.pop("cost")
    with pytest.raises(ValuationInputError) as excinfo:
        amortisation_schedule(cost, start=datetime.date(2024, 1, 1), **kwargs)
    assert (excinfo.value.field, excinfo.value.code) == (field, code)


def test_schedule_problems_come_together():
    with pytest.raises(ValuationInputErrors) as excinfo:
        amortisation_schedule(D("-1"), useful_life_months=0, start=None)
    assert {e.code for e in excinfo.value.errors} == {"cost", "start", "useful_life"}


def test_schedule_csv():
    rows = amortisation_schedule(D("100000.00"), useful_life_years=7, start=datetime.date(2024, 1, 1))
    text = schedule_csv(rows)

    lines = list(csv.reader(io.StringIO(text)))
    assert tuple(lines[0]) == CSV_HEADER
    assert len(lines) == 85
    assert lines[1] == ["1", "2024-01-01", "2024-01-31", "100000.00", "1190.48", "1190.48", "98809.52"]
    assert lines[-1] == ["84", "2030-12-01", "2030-12-31", "1190.16", "1190.16", "100000.00", "0.00"]
    assert text.endswith("\r\n")


def test_pledge_value():
    # 1,760,733.78 * 0.35 = 616,256.823 → 616,256.82
    pledge = pledge_value(D("1760733.78"), D("0.35"))
    assert (pledge.value, pledge.ratio, pledge.ceiling) == (D("1760733.78"), D("0.35"), D("616256.82"))
    assert pledge_value(D("1000000.00"), D("1")).ceiling == D("1000000.00")


@pytest.mark.parametrize("ratio", ["0", "-0.1", "1.01"])
def test_pledge_ratio_must_be_in_0_exclusive_to_1(ratio):
    with pytest.raises(ValuationInputError) as excinfo:
        pledge_value(D("1000"), D(ratio))
    assert (excinfo.value.field, excinfo.value.code) == ("ratio", "pledge_ratio")


def test_pledge_of_a_negative_value():
    with pytest.raises(ValuationInputError) as excinfo:
        pledge_value(D("-1"), D("0.5"))
    assert excinfo.value.code == "negative_value"
