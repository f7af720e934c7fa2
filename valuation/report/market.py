"""The market method's part of the report: formula, inputs, working and the comparable transactions."""

# ruff: noqa: RUF001, RUF003 -- the typographic −, × and – are meant: reports print them

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from valuation.methods import COEFFICIENTS
from valuation.models import Valuation
from valuation.report.formatting import DASH, as_decimal, format_coefficient, format_money, money_figure
from valuation.report.model import Body, Figure, Table

COEFFICIENT_LABELS = {
    "quality": gettext_lazy("quality"),
    "supply_demand": gettext_lazy("supply and demand"),
    "date": gettext_lazy("date"),
    "volume": gettext_lazy("volume"),
    "other": gettext_lazy("other"),
}
AGGREGATION_LABELS = {
    "mean": gettext_lazy("Mean of the adjusted prices"),
    "median": gettext_lazy("Median of the adjusted prices"),
    "weighted": gettext_lazy("Weighted mean of the adjusted prices"),
}


def _formula(result: dict) -> tuple[str, ...]:
    value_line = {
        "mean": _("value = Σ adjusted price_i / n (to the cent)"),
        "median": _("value = the middle adjusted price, or the mean of the two middle ones (to the cent)"),
        "weighted": _("value = Σ weight_i × adjusted price_i / Σ weight_i (to the cent)"),
    }[result["aggregation"]]
    return (
        _("combined coefficient_i = quality × supply and demand × date × volume × other"),
        _("adjusted price_i = price_i × combined coefficient_i (to the cent)"),
        value_line,
        _("spread: standard deviation = √(Σ (p_i − mean)² / n); coefficient of variation = standard deviation / mean"),
    )


def _inputs(result: dict) -> tuple[Figure, ...]:
    comparables = result["comparables"]
    exchange = sum(1 for item in comparables if item.get("source") == "exchange")
    note = _("%(exchange)d settled on the exchange, %(manual)d entered by hand") % {
        "exchange": exchange,
        "manual": len(comparables) - exchange,
    }
    return (
        Figure(_("Aggregation"), str(AGGREGATION_LABELS[result["aggregation"]])),
        Figure(_("Comparable transactions"), str(len(comparables)), note),
    )


def _working(result: dict) -> tuple[Figure, ...]:
    figures = [
        Figure(_("Number of comparables"), str(result["count"])),
        money_figure(_("Lowest adjusted price"), result["minimum"]),
        money_figure(_("Highest adjusted price"), result["maximum"]),
        money_figure(_("Mean adjusted price"), result["mean"]),
        money_figure(_("Standard deviation"), result["standard_deviation"], _("population")),
        Figure(
            _("Coefficient of variation"),
            format_coefficient(as_decimal(result["coefficient_of_variation"])),
            _("standard deviation / mean"),
        ),
    ]
    if result.get("weight_total") is not None:
        figures.append(Figure(_("Total weight"), format_coefficient(as_decimal(result["weight_total"]))))
    aggregation = str(AGGREGATION_LABELS[result["aggregation"]])
    figures.append(money_figure(_("Value"), result["value"], aggregation.lower(), emphasis=True))
    return tuple(figures)


def _source_label(source: str) -> str:
    return _("exchange") if source == "exchange" else _("by hand")


def _table(result: dict) -> Table:
    weighted = result["aggregation"] == "weighted"
    columns = (
        "#",
        _("Reference"),
        _("Source"),
        _("Price"),
        *(str(COEFFICIENT_LABELS[name]).capitalize() for name in COEFFICIENTS),
        _("Combined"),
        _("Adjusted price"),
        *((_("Weight"),) if weighted else ()),
    )
    rows = tuple(
        (
            str(int(item["index"]) + 1),
            item.get("reference") or DASH,
            _source_label(item.get("source", "manual")),
            format_money(as_decimal(item["price"])),
            *(format_coefficient(as_decimal(item["coefficients"][name])) for name in COEFFICIENTS),
            format_coefficient(as_decimal(item["combined_coefficient"])),
            format_money(as_decimal(item["adjusted_price"])),
            *((format_coefficient(as_decimal(item["weight"])),) if weighted else ()),
        )
        for item in result["comparables"]
    )
    footer = [""] * len(columns)
    footer[1], footer[len(COEFFICIENTS) + 5] = _("Value"), format_money(as_decimal(result["value"]))
    numeric = (True, False, False, *(True for _column in columns[3:]))
    return Table(_("Comparable transactions and their adjustment"), columns, rows, numeric, tuple(footer))


def market_body(valuation: Valuation) -> Body:
    """The market method's formula, inputs, working and table of comparable transactions."""
    result = valuation.result
    formula = _formula(result)
    return Body(formula, _inputs(result), _working(result), (_table(result),))
