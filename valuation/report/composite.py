"""The composite's part of the report: formula, its component valuations and the weighted reconciliation."""

# ruff: noqa: RUF001, RUF003 -- the typographic −, × and – are meant: reports print them

from __future__ import annotations

from django.utils.translation import gettext as _

from valuation.models import Valuation
from valuation.report.formatting import as_decimal, format_money, format_rate, method_label, money_figure
from valuation.report.model import Body, Figure, Table


def _formula() -> tuple[str, ...]:
    return (
        _("contribution_i = weight_i × value_i (to the cent)"),
        _("value = Σ contribution_i, the weights adding up to exactly 1"),
    )


def _inputs(valuation: Valuation) -> tuple[Figure, ...]:
    sources = valuation.inputs.get("sources", [])
    figures = []
    for index, item in enumerate(valuation.result["contributions"]):
        note = _("weight %(weight)s") % {"weight": format_rate(as_decimal(item["weight"]))}
        if index < len(sources):
            note = _("valuation no. %(id)s, %(note)s") % {"id": sources[index], "note": note}
        figures.append(money_figure(method_label(item["method"]), item["value"], note))
    return tuple(figures)


def _table(result: dict) -> Table:
    rows = tuple(
        (
            method_label(item["method"]),
            format_money(as_decimal(item["value"])),
            format_rate(as_decimal(item["weight"])),
            format_money(as_decimal(item["contribution"])),
        )
        for item in result["contributions"]
    )
    total = (_("Total"), "", format_rate(as_decimal(result["weight_total"])), format_money(as_decimal(result["value"])))
    columns = (_("Method"), _("Value"), _("Weight"), _("Contribution"))
    return Table(_("Weighted reconciliation"), columns, rows, (False, True, True, True), total)


def composite_body(valuation: Valuation) -> Body:
    """The composite's formula, its components, the total weight and the weighted reconciliation."""
    result = valuation.result
    working = (
        Figure(_("Total weight"), format_rate(as_decimal(result["weight_total"])), _("must be exactly 100 %")),
        money_figure(_("Value"), result["value"], _("Σ contributions"), emphasis=True),
    )
    return Body(_formula(), _inputs(valuation), working, (_table(result),))
