# ruff: noqa: RUF001, RUF003 -- the typographic −, × and – are meant: reports print them

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from registry import services as registry_services
from tests.factories import OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.valuation import valuation_of
from valuation import services
from valuation.report import (
    Figure,
    Report,
    Table,
    format_change,
    format_coefficient,
    format_money,
    format_rate,
    format_years,
    parameter_label,
    valuation_report,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(run, product):
    """A market valuation over three hand-entered comparables, weighted."""
    owner = owner_of(product.organization)
    rows = [
        services.comparable_add(
            organization=product.organization,
            by=owner,
            sector="marine",
            description=f"Port data {n}",
            price=Decimal(100000 + n * 1000),
            transacted_on="2026-06-01",
            source="Exchange bulletin",
        )
        for n in range(3)
    ]
    comparables = [{"id": row.pk, "quality": "1.1", "weight": str(n + 1)} for n, row in enumerate(rows)]
    return run(product, "market", {"comparables": comparables, "aggregation": "weighted"})


def figure(figures: tuple[Figure, ...], label: str) -> Figure:
    return next(item for item in figures if item.label == label)


# --- formatting ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1234567.89"), "¥1,234,567.89"),
        (Decimal("-1234.5"), "−¥1,234.50"),
        (Decimal("0.005"), "¥0.01"),
        (Decimal("-0.001"), "¥0.00"),
        (Decimal(0), "¥0.00"),
    ],
)
def test_format_money(value, text):
    assert format_money(value) == text
    with translation.override("zh-hans"):
        assert format_money(value) == text


def test_format_rate_coefficient_and_change():
    assert format_rate(Decimal("0.12")) == "12.00 %"
    assert format_rate(Decimal("-0.015")) == "−1.50 %"
    assert format_coefficient(Decimal("0.975")) == "0.9750"
    assert format_coefficient(Decimal("1.097250")) == "1.09725"  # coefficients are used as given: nothing hidden
    assert format_coefficient(Decimal("0.909091"), 6) == "0.909091"
    assert format_change(Decimal("0.9")) == "−10.00 %" and format_change(Decimal("1.1")) == "+10.00 %"
    assert format_years(1) == "1 year" and format_years(5) == "5 years"


def test_parameter_labels():
    assert parameter_label("discount_rate") == "Discount rate"
    assert parameter_label("comparables[1].quality") == "Comparable 2: quality"
    assert parameter_label("comparables.supply_demand") == "All comparables: supply and demand"


# --- per method ------------------------------------------------------------------------------------------------


def test_cost_report(run, product):
    valuation = run(product, "cost")
    report = valuation_report(valuation)
    assert isinstance(report, Report)
    assert report.title == f"Valuation of {product.title}" and report.product == product.title
    assert report.method == "Cost approach" and report.status == "Done"
    assert report.as_of == valuation.as_of and report.version == "v1"
    assert report.value == report.base_value == valuation.value
    assert (report.low, report.high) == (valuation.low, valuation.high)
    value = figure(report.working, "Value")
    assert value.value == format_money(valuation.value) and value.emphasis
    replacement = figure(report.working, "Replacement cost")
    assert replacement.value == format_money(Decimal(valuation.result["replacement_cost"])) and replacement.emphasis
    labels = [item.label for item in report.working]
    assert labels == [
        "Direct cost",
        "Indirect costs",
        "Total cost",
        "Reasonable profit",
        "Replacement cost",
        "Obsolescence",
        "Depreciated cost",
        "Value adjustment coefficient",
        "Value",
    ]
    assert figure(report.inputs, "Reasonable profit rate").value == "12.00 %"
    assert figure(report.inputs, "Quality score").value == f"{valuation.quality_score:.1f}"
    assert report.quality_score == f"{valuation.quality_score:.1f}"
    (items,) = report.tables
    assert len(items.rows) == 7 and items.footer == ("Total cost", "", format_money(Decimal("370000")))
    assert items.numeric == (False, False, True)
    assert any("replacement cost" in line for line in report.formula)


def test_cost_tornado_is_sorted_by_swing_and_positioned(run, product):
    report = valuation_report(run(product, "cost"))
    assert len(report.tornado) == 3
    swings = [bar.swing for bar in report.tornado]
    assert swings == sorted(swings, reverse=True)
    by_name = {bar.parameter: bar for bar in report.tornado}
    assert by_name["Obsolescence rate"].low_input == "5.00 %" and by_name["Obsolescence rate"].high_input == "15.00 %"
    for bar in report.tornado:
        assert 0 <= bar.low_pct <= 100 and 0 <= bar.high_pct <= 100
        assert (bar.low_pct < report.tornado_base_pct) == (bar.low_value < report.base_value)
    assert report.tornado_ticks[0].pct == 0 and report.tornado_ticks[-1].pct == 100
    assert all(tick.label.startswith("¥") for tick in report.tornado_ticks)


def test_income_report(run, product):
    valuation = run(product, "income")
    report = valuation_report(valuation)
    assert report.method == "Income approach"
    assert figure(report.inputs, "Remaining useful life").value == "5 years"
    assert figure(report.inputs, "Discount rate").value == "10.00 %"
    assert figure(report.working, "Value").value == format_money(valuation.value)
    assert figure(report.working, "Total income").value == format_money(Decimal(valuation.result["total_income"]))
    (years,) = report.tables
    assert years.columns[0] == "Year" and len(years.rows) == 5
    assert [row[0] for row in years.rows] == ["1", "2", "3", "4*", "5*"] and "growth rate" in years.note
    assert years.rows[0][-2] == valuation.result["rows"][0]["discount_factor"]
    assert years.footer[-1] == format_money(valuation.value)
    assert {bar.parameter for bar in report.tornado} == {"Discount rate", "Remaining useful life", "Attribution share"}
    life = figure_bar(report, "Remaining useful life")
    assert (life.low_input, life.high_input) == ("4 years", "6 years")


def figure_bar(report: Report, parameter: str):
    return next(bar for bar in report.tornado if bar.parameter == parameter)


def test_market_report(market):
    report = valuation_report(market)
    assert report.method == "Market approach"
    assert figure(report.working, "Number of comparables").value == "3"
    assert figure(report.working, "Coefficient of variation").value == market.result["coefficient_of_variation"]
    assert figure(report.working, "Total weight").value == "6.0000"
    assert figure(report.working, "Value").value == format_money(market.value)
    (comparables,) = report.tables
    assert len(comparables.rows) == 3 and comparables.columns[-1] == "Weight"
    assert comparables.rows[0][1] == "Port data 0" and comparables.rows[0][4] == "1.1000"
    assert comparables.rows[0][10] == format_money(Decimal(market.result["comparables"][0]["adjusted_price"]))
    assert comparables.footer[10] == format_money(market.value)
    assert len(comparables.numeric) == len(comparables.columns) == len(comparables.rows[0])
    assert report.tornado and report.tornado[0].parameter.startswith("All comparables: ")
    assert report.tornado[0].low_input == "−10.00 %"


def test_composite_report(run, product):
    cost, income = run(product, "cost"), run(product, "income")
    components = [{"valuation": cost.pk, "weight": "0.6"}, {"valuation": income.pk, "weight": "0.4"}]
    composite = run(product, "composite", {"components": components})
    report = valuation_report(composite)
    assert report.method == "Composite (weighted reconciliation)"
    assert report.tornado == () and report.tornado_ticks == () and "composite" in report.tornado_note.lower()
    assert figure(report.working, "Total weight").value == "100.00 %"
    assert figure(report.working, "Value").value == format_money(composite.value)
    assert figure(report.inputs, "Cost approach").value == format_money(cost.value)
    assert f"no. {cost.pk}" in figure(report.inputs, "Cost approach").note
    (contributions,) = report.tables
    assert [row[0] for row in contributions.rows] == ["Cost approach", "Income approach"]
    assert contributions.rows[0][2] == "60.00 %" and contributions.footer[-1] == format_money(composite.value)


# --- performer, accounting, disclaimer -------------------------------------------------------------------------


def test_self_assessment_is_told_apart(run, product):
    report = valuation_report(run(product, "cost"))
    assert not report.accredited and report.performer_label == "Self-assessment"
    assert report.performer == product.organization.name
    assert "not an appraisal opinion" in report.disclaimer and "China Appraisal Society" in report.disclaimer
    assert "not investment advice" in report.disclaimer


def test_accredited_appraisal_is_told_apart(run, product):
    owner = owner_of(product.organization)
    registry_services.product_submit(product=product, by=owner)
    registry_services.product_approve(product=product, by=owner_of(OrganizationFactory(kind="regulator")), reason="ok")
    appraiser = OrganizationFactory(can_appraise=True)
    report = valuation_report(run(product, organization=appraiser))
    assert report.accredited and report.performer_label == "Accredited appraisal"
    assert report.performer == appraiser.name and "independent" in report.performer_note
    assert "appraiser's opinion" in report.disclaimer and "valuation date" in report.disclaimer
    assert "not an appraisal opinion" not in report.disclaimer and "not investment advice" in report.disclaimer


def test_internal_use_has_an_amortisation_schedule_and_a_pledge(run, product):
    valuation = run(product, "cost", amortisation_years=3, pledge_ratio="0.4")
    report = valuation_report(valuation)
    assert figure(report.accounting, "Classification").value == "Intangible asset"
    assert figure(report.accounting, "Accounting standard").value == "CAS 6 Intangible Assets"
    assert figure(report.accounting, "Amortised").value == "Yes"
    books = services.valuation_accounting(valuation)
    assert figure(report.accounting, "Monthly amortisation").value == format_money(books.schedule[0].amortisation)
    assert figure(report.accounting, "Pledge ratio").value == "40.00 %"
    ceiling = figure(report.accounting, "Lending ceiling")
    assert ceiling.value == format_money(books.pledge.ceiling) and ceiling.emphasis
    schedule = report.schedule
    assert isinstance(schedule, Table) and len(schedule.rows) == 12
    assert schedule.rows[0][1] == valuation.as_of.replace(day=1).isoformat()
    assert schedule.footer[0] == "All 36 periods" and schedule.footer[4] == format_money(valuation.value)
    assert "12 of 36" in report.schedule_note


def test_held_for_sale_is_inventory_without_a_schedule(run, product):
    report = valuation_report(run(product, "cost", holding_purpose="sale"))
    assert report.schedule is None and report.schedule_note == ""
    assert figure(report.accounting, "Classification").value == "Inventory"
    assert figure(report.accounting, "Amortised").value == "No"
    assert report.holding_purpose == "Held for sale"


def test_a_queued_valuation_has_no_report(product):
    valuation = valuation_of(product, "cost")  # callbacks not run: still queued
    with pytest.raises(services.ValuationNotDone):
        valuation_report(valuation)


def test_report_in_chinese_keeps_the_figures(run, product):
    valuation = run(product, "cost")
    with translation.override("zh-hans"):
        report = valuation_report(valuation)
    assert report.value == valuation.value
    assert format_money(valuation.value) in {item.value for item in report.working}
    assert isinstance(report.as_of, datetime.date)
