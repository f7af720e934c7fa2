"""The report of a finished valuation: the method's body, the tornado chart, the books and the disclaimer."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from valuation import services
from valuation.choices import Method, PerformerKind
from valuation.models import Valuation
from valuation.report.accounting import accounting_figures, schedule_table
from valuation.report.composite import composite_body
from valuation.report.cost import cost_body
from valuation.report.formatting import format_score, method_label
from valuation.report.income import income_body
from valuation.report.market import market_body
from valuation.report.model import Body, Report
from valuation.report.sensitivity import range_note, tornado, tornado_note

BODIES: dict[str, Callable[[Valuation], Body]] = {
    Method.COST: cost_body,
    Method.INCOME: income_body,
    Method.MARKET: market_body,
    Method.COMPOSITE: composite_body,
}


def _performer_note(accredited: bool) -> str:
    if accredited:
        return _("Performed by an accredited appraisal institution independent of the data's owner.")
    return _("Estimated by the data's owner itself; it has not been reviewed by an independent appraiser.")


def _disclaimer(accredited: bool) -> str:
    if accredited:
        text = _(
            "This report gives the accredited appraiser's opinion of the value of the data asset at the valuation "
            "date, for the stated purpose (its holding purpose and use as collateral) and on the inputs shown; it is "
            "not valid for another date or purpose."
        )
    else:
        text = _(
            "This is the owner's own estimate, made with the method of the China Appraisal Society's guidance on "
            "data-asset valuation (2023) and the inputs shown; it is not an appraisal opinion and has not been "
            "reviewed by an accredited appraiser."
        )
    # The two sentences as one translatable text, so each language joins them its own way (no space in Chinese).
    return _("%(text)s It is not investment advice.") % {"text": text}


def valuation_report(valuation: Valuation) -> Report:
    """Everything the report page and the PDF show, formatted; `ValuationNotDone` unless the valuation is done."""
    books = services.valuation_accounting(valuation)
    body = BODIES[valuation.method](valuation)
    bars, base_pct, ticks = tornado(valuation)
    accredited = valuation.performer_kind == PerformerKind.ACCREDITED
    schedule = schedule_table(books)
    return Report(
        valuation=valuation,
        title=_("Valuation of %(product)s") % {"product": valuation.product.title},
        method=method_label(valuation.method),
        performer=valuation.organization.name,
        accredited=accredited,
        performer_label=str(PerformerKind(valuation.performer_kind).label),
        performer_note=_performer_note(accredited),
        as_of=valuation.as_of,
        formula=body.formula,
        inputs=body.inputs,
        working=body.working,
        tables=body.tables,
        value=valuation.value,
        low=valuation.low,
        high=valuation.high,
        base_value=valuation.value,
        tornado=bars,
        quality_score=format_score(valuation.quality_score),
        accounting=accounting_figures(books, valuation),
        schedule=schedule,
        disclaimer=_disclaimer(accredited),
        status=valuation.get_status_display(),
        product=valuation.product.title,
        version=f"v{valuation.version.number}" if valuation.version_id else "",
        holding_purpose=valuation.get_holding_purpose_display(),
        range_note=range_note(valuation),
        tornado_note=tornado_note(valuation),
        tornado_base_pct=base_pct,
        tornado_ticks=ticks,
        schedule_note=schedule.note if schedule else "",
    )
