"""The accounting part of the report: classification, amortisation, pledge and the amortisation schedule."""

# ruff: noqa: RUF001, RUF003 -- the typographic −, × and – are meant: reports print them

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from valuation import services
from valuation.accounting import AmortisationRow
from valuation.models import Valuation
from valuation.report.formatting import format_money, format_rate, format_years, money_figure
from valuation.report.model import Figure, Table

SCHEDULE_ROWS = 12  # periods of the amortisation schedule the report shows

ASSET_CLASS_LABELS = {"intangible_asset": gettext_lazy("Intangible asset"), "inventory": gettext_lazy("Inventory")}
STANDARD_LABELS = {
    "CAS 6 Intangible Assets": gettext_lazy("CAS 6 Intangible Assets"),
    "CAS 1 Inventories": gettext_lazy("CAS 1 Inventories"),
}


def _amortisation_figures(books: services.Accounting, valuation: Valuation) -> list[Figure]:
    if not books.classification.amortised:
        return [Figure(_("Amortised"), _("No"), _("Carried at the lower of cost and net realisable value."))]
    method = _("straight-line, monthly, over %(years)s") % {"years": format_years(valuation.amortisation_years)}
    if valuation.holding_purpose == "services":
        method = _("%(method)s; charged to the cost of the services provided") % {"method": method}
    figures = [Figure(_("Amortised"), _("Yes"), method)]
    if books.schedule:
        first = books.schedule[0]
        note = _("from %(start)s") % {"start": first.period_start.isoformat()}
        figures.append(money_figure(_("Monthly amortisation"), first.amortisation, note))
    return figures


def _pledge_figures(books: services.Accounting, valuation: Valuation) -> list[Figure]:
    own = valuation.pledge_ratio is not None
    ratio_note = _("set for this valuation") if own else _("the exchange's default ratio")
    return [
        Figure(_("Pledge ratio"), format_rate(books.pledge.ratio), ratio_note),
        money_figure(_("Lending ceiling"), books.pledge.ceiling, _("value × pledge ratio"), emphasis=True),
    ]


def accounting_figures(books: services.Accounting, valuation: Valuation) -> tuple[Figure, ...]:
    """The holding purpose, classification, standard, amortisation and pledge figures of the valuation's books."""
    classification = books.classification
    standard = str(STANDARD_LABELS.get(classification.standard, classification.standard))
    return (
        Figure(_("Holding purpose"), valuation.get_holding_purpose_display()),
        Figure(
            _("Classification"),
            str(ASSET_CLASS_LABELS[classification.asset_class]),
            _("MoF interim provisions on enterprise data resources (2024)"),
        ),
        Figure(_("Accounting standard"), standard),
        *_amortisation_figures(books, valuation),
        *_pledge_figures(books, valuation),
    )


def _schedule_row(row: AmortisationRow) -> tuple[str, ...]:
    return (
        str(row.period),
        row.period_start.isoformat(),
        row.period_end.isoformat(),
        format_money(row.opening),
        format_money(row.amortisation),
        format_money(row.accumulated),
        format_money(row.closing),
    )


def schedule_table(books: services.Accounting) -> Table | None:
    """The first periods of the amortisation schedule with a footer over all of them; None when nothing is amortised."""
    rows = books.schedule
    if not rows:
        return None
    first, last = rows[0], rows[-1]
    footer = (
        ngettext("All %(count)d period", "All %(count)d periods", len(rows)) % {"count": len(rows)},
        first.period_start.isoformat(),
        last.period_end.isoformat(),
        format_money(first.opening),
        format_money(last.accumulated),
        format_money(last.accumulated),
        format_money(last.closing),
    )
    columns = (
        _("Period"),
        _("From"),
        _("To"),
        _("Opening book value"),
        _("Amortisation"),
        _("Accumulated amortisation"),
        _("Closing book value"),
    )
    body = tuple(_schedule_row(row) for row in rows[:SCHEDULE_ROWS])
    numeric = (True, False, False, True, True, True, True)
    return Table(_("Amortisation schedule"), columns, body, numeric, footer, _schedule_note(len(rows)))


def _schedule_note(periods: int) -> str:
    if periods <= SCHEDULE_ROWS:
        return ""
    return _("The first %(shown)d of %(count)d monthly periods; the last period absorbs the rounding.") % {
        "shown": SCHEDULE_ROWS,
        "count": periods,
    }
