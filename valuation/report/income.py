"""The income method's part of the report: formula, inputs, working and the income by year."""

# ruff: noqa: RUF001, RUF003 -- the typographic −, × and – are meant: reports print them

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from valuation.methods.income import VARIANT_SERIES
from valuation.models import Valuation
from valuation.report.formatting import (
    as_decimal,
    format_coefficient,
    format_money,
    format_rate,
    format_years,
    format_yes_no,
    money_figure,
)
from valuation.report.model import Body, Figure, Table

VARIANT_LABELS = {
    "direct": gettext_lazy("Direct income"),
    "incremental": gettext_lazy("Incremental income"),
    "royalty_savings": gettext_lazy("Royalty savings"),
    "profit_split": gettext_lazy("Profit split"),
}
SOURCE_LABELS = {
    "income": gettext_lazy("Income"),
    "income_with_data": gettext_lazy("Income with the data"),
    "income_without_data": gettext_lazy("Income without the data"),
    "revenue": gettext_lazy("Revenue"),
    "profit": gettext_lazy("Profit"),
}
INCOME_LABELS = {
    "direct": gettext_lazy("Income"),
    "incremental": gettext_lazy("Incremental income"),
    "royalty_savings": gettext_lazy("Royalty saved"),
    "profit_split": gettext_lazy("Profit share of the data"),
}


def _formula(result: dict) -> tuple[str, ...]:
    variant_line = {
        "direct": _("income_t = the income the data brings in year t"),
        "incremental": _("income_t = income with the data − income without it"),
        "royalty_savings": _("income_t = revenue_t × royalty rate (to the cent)"),
        "profit_split": _("income_t = profit_t × profit split share (to the cent)"),
    }[result["variant"]]
    factor = (
        _("DF_t = 1 / (1 + r)^(t − 0.5), mid-year convention (6 places)")
        if result.get("mid_year")
        else _("DF_t = 1 / (1 + r)^t (6 places)")
    )
    return (
        _("value = Σ_{t=1..n} income_t × attribution share × DF_t"),
        variant_line,
        _("attributable income_t = income_t × attribution share (to the cent)"),
        factor,
        _("present value_t = attributable income_t × DF_t (to the cent); value = Σ present value_t"),
        _("n = remaining useful life in years, r = discount rate; a short series grows by the growth rate"),
    )


def _inputs(result: dict) -> tuple[Figure, ...]:
    figures = [
        Figure(_("Variant"), str(VARIANT_LABELS[result["variant"]])),
        Figure(_("Remaining useful life"), format_years(int(result["useful_life_years"])), _("n, whole years")),
        Figure(_("Discount rate"), format_rate(as_decimal(result["discount_rate"])), _("r")),
        Figure(
            _("Attribution share"),
            format_rate(as_decimal(result["attribution_share"])),
            _("share of the income due to the data"),
        ),
    ]
    if result.get("royalty_rate") is not None:
        figures.append(Figure(_("Royalty rate"), format_rate(as_decimal(result["royalty_rate"]))))
    if result.get("split_share") is not None:
        figures.append(Figure(_("Profit split share"), format_rate(as_decimal(result["split_share"]))))
    growth_note = _("extends a series shorter than the useful life")
    figures.append(Figure(_("Growth rate"), format_rate(as_decimal(result["growth_rate"])), growth_note))
    figures.append(Figure(_("Mid-year convention"), format_yes_no(bool(result.get("mid_year")))))
    return tuple(figures)


def _working(result: dict) -> tuple[Figure, ...]:
    years = int(result["useful_life_years"])
    return (
        money_figure(_("Total income"), result["total_income"], format_years(years)),
        money_figure(_("Total attributable income"), result["total_attributable_income"], _("before discounting")),
        money_figure(_("Value"), result["value"], _("Σ present values"), emphasis=True),
    )


def _table(result: dict) -> Table:
    rows = result["rows"]
    sources = [] if result["variant"] == "direct" else list(VARIANT_SERIES[result["variant"]])
    columns = (
        _("Year"),
        *(str(SOURCE_LABELS[name]) for name in sources),
        str(INCOME_LABELS[result["variant"]]),
        _("Attributable income"),
        _("Discount factor"),
        _("Present value"),
    )
    body = tuple(
        (
            f"{row['year']}*" if row.get("extrapolated") else str(row["year"]),
            *(format_money(as_decimal(row["sources"][name])) for name in sources),
            format_money(as_decimal(row["income"])),
            format_money(as_decimal(row["attributable_income"])),
            format_coefficient(as_decimal(row["discount_factor"]), 6),
            format_money(as_decimal(row["present_value"])),
        )
        for row in rows
    )
    footer = (
        _("Total"),
        *("" for _name in sources),
        format_money(as_decimal(result["total_income"])),
        format_money(as_decimal(result["total_attributable_income"])),
        "",
        format_money(as_decimal(result["value"])),
    )
    note = (
        _("* extended from the last given year with the growth rate")
        if any(r.get("extrapolated") for r in rows)
        else ""
    )
    numeric = (False, *(True for _column in columns[1:]))
    return Table(_("Income by year"), columns, body, numeric, footer, note)


def income_body(valuation: Valuation) -> Body:
    """The income method's formula, inputs, working and table of income by year."""
    result = valuation.result
    formula = _formula(result)
    return Body(formula, _inputs(result), _working(result), (_table(result),))
