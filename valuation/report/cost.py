"""The cost method's part of the report: formula, inputs, working and the table of cost items."""

# ruff: noqa: RUF001, RUF003 -- the typographic −, × and – are meant: reports print them

from __future__ import annotations

from django.utils.translation import gettext as _

from valuation.methods import COST_ITEMS, DIRECT_COST_ITEMS
from valuation.methods.cost import COST_ITEM_LABELS
from valuation.models import Valuation
from valuation.report.formatting import (
    as_decimal,
    format_coefficient,
    format_money,
    format_rate,
    format_score,
    money_figure,
)
from valuation.report.model import Body, Figure, Table


def _formula() -> tuple[str, ...]:
    return (
        _("direct cost = planning + collection + storage + processing and cleaning + labelling + maintenance"),
        _("total cost = direct cost + indirect costs"),
        _("profit = total cost × reasonable profit rate (to the cent)"),
        _("replacement cost = total cost + profit"),
        _("obsolescence = replacement cost × obsolescence rate (to the cent)"),
        _("depreciated cost = replacement cost − obsolescence"),
        _("value = depreciated cost × value adjustment coefficient (to the cent)"),
        _("coefficient from the quality score s: 0.5 + s / 160 up to s = 80, then 1.0 + (s − 80) / 200 (4 places)"),
    )


def _inputs(result: dict) -> tuple[Figure, ...]:
    figures = [
        Figure(_("Reasonable profit rate"), format_rate(as_decimal(result["profit_rate"]))),
        Figure(_("Obsolescence rate"), format_rate(as_decimal(result["obsolescence_rate"]))),
    ]
    if result.get("quality_score") is not None:
        figures.append(Figure(_("Quality score"), format_score(as_decimal(result["quality_score"])), _("out of 100")))
    if result.get("coefficient_source") == "override":
        coefficient = format_coefficient(as_decimal(result["adjustment_coefficient"]))
        figures.append(Figure(_("Value adjustment coefficient"), coefficient, _("given explicitly")))
    return tuple(figures)


def _coefficient_note(result: dict) -> str:
    if result.get("coefficient_source") == "override":
        return _("given explicitly")
    return _("from the quality score %(score)s") % {"score": format_score(as_decimal(result["quality_score"]))}


def _working(result: dict) -> tuple[Figure, ...]:
    profit_rate, obsolescence_rate = (
        format_rate(as_decimal(result[key])) for key in ("profit_rate", "obsolescence_rate")
    )
    coefficient = format_coefficient(as_decimal(result["adjustment_coefficient"]))
    return (
        money_figure(_("Direct cost"), result["direct_cost"], _("sum of the six direct cost items")),
        money_figure(_("Indirect costs"), result["indirect_cost"]),
        money_figure(_("Total cost"), result["total_cost"], _("direct cost + indirect costs")),
        money_figure(_("Reasonable profit"), result["profit"], _("total cost × %(rate)s") % {"rate": profit_rate}),
        money_figure(_("Replacement cost"), result["replacement_cost"], _("total cost + profit"), emphasis=True),
        money_figure(
            _("Obsolescence"), result["obsolescence"], _("replacement cost × %(rate)s") % {"rate": obsolescence_rate}
        ),
        money_figure(_("Depreciated cost"), result["depreciated_cost"], _("replacement cost − obsolescence")),
        Figure(_("Value adjustment coefficient"), coefficient, _coefficient_note(result)),
        money_figure(
            _("Value"),
            result["value"],
            _("depreciated cost × %(coefficient)s") % {"coefficient": coefficient},
            emphasis=True,
        ),
    )


def _table(result: dict) -> Table:
    items = result["items"]
    rows = tuple(
        (
            str(COST_ITEM_LABELS[name]).capitalize(),
            _("direct") if name in DIRECT_COST_ITEMS else _("indirect"),
            format_money(as_decimal(items[name])),
        )
        for name in COST_ITEMS
    )
    return Table(
        caption=_("Cost items at replacement cost"),
        columns=(_("Item"), _("Kind"), _("Amount")),
        rows=rows,
        numeric=(False, False, True),
        footer=(_("Total cost"), "", format_money(as_decimal(result["total_cost"]))),
    )


def cost_body(valuation: Valuation) -> Body:
    """The cost method's formula, inputs, working and cost-item table."""
    result = valuation.result
    return Body(_formula(), _inputs(result), _working(result), (_table(result),))
