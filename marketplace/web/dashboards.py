"""Web pages of the marketplace dashboards: a merchant's sales, a buyer's purchases, the exchange's public statistics.

The figures come from marketplace.services.stats (a few aggregate queries per page, whatever the data size), the
charts from marketplace.charts; each page shows the same figures in a table beside every chart. Links into pages of
other areas are resolved with `{% url ... as var %}` in the templates, so a page never breaks on a missing one.
"""

import datetime
from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from accounts.models import Membership
from accounts.web import organization_view
from marketplace import charts
from marketplace.services import stats
from valuation.report.formatting import format_money

HIDDEN_TEXT = {"small": "<3", "secondary": "—"}


# --- chart inputs -----------------------------------------------------------------------------------------------


def _month_label(month: datetime.date) -> str:
    return date_format(month, pgettext("a month on a chart axis, as a date format", "M"))


def _columns(months: Sequence[datetime.date], values: Sequence, hidden: Sequence[str] = ()) -> list[charts.Column]:
    """One column per month; the year under January, and under the first month unless a January follows closely."""
    hidden = list(hidden) or [""] * len(months)
    return [
        charts.Column(
            label=_month_label(month),
            value=None if flag else value,
            year=str(month.year) if month.month == 1 or (index == 0 and month.month < 11) else "",
            hidden_text=HIDDEN_TEXT.get(flag, ""),
        )
        for index, (month, value, flag) in enumerate(zip(months, values, hidden, strict=True))
    ]


def _states_chart(states: Sequence[stats.StateCount], css: str) -> str:
    return charts.stacked_svg(
        [charts.Segment(state.status, str(state.label), state.count) for state in states],
        title=_("Contracts by state"),
        description=_("One bar divided in proportion to the number of contracts in each state."),
        css=css,
    )


# --- merchant ---------------------------------------------------------------------------------------------------


@organization_view
@require_GET
def merchant_dashboard(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The active organisation's sales: this month, by month, the balance owed, payouts, contracts, best sellers."""
    summary = stats.merchant_summary(membership.organization)
    months = summary.months
    context = {
        "organization": membership.organization,
        "summary": summary,
        "sales_chart": charts.columns_svg(
            _columns([m.month for m in months], [m.gross for m in months]),
            title=_("Sales by month"),
            description=_("Gross sales in each of the last twelve months, in yuan."),
            css="chart-sales",
            money=True,
        ),
        "states_chart": _states_chart(summary.states, "chart-sales-states"),
    }
    return render(request, "marketplace/dashboards/merchant.html", context)


# --- buyer ------------------------------------------------------------------------------------------------------


@organization_view
@require_GET
def buyer_dashboard(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The active organisation's purchases: contracts, access it holds, downloads and API calls by month."""
    summary = stats.buyer_summary(membership.organization)
    months = [m.month for m in summary.months]
    context = {
        "organization": membership.organization,
        "summary": summary,
        "states_chart": _states_chart(summary.states, "chart-purchase-states"),
        "downloads_chart": charts.columns_svg(
            _columns(months, [m.downloads for m in summary.months]),
            title=_("Downloads by month"),
            description=_("Files downloaded in each of the last twelve months."),
            css="chart-downloads",
        ),
        "calls_chart": charts.columns_svg(
            _columns(months, [m.calls for m in summary.months]),
            title=_("API calls by month"),
            description=_("Metered API calls made in each of the last twelve months."),
            css="chart-calls",
        ),
    }
    return render(request, "marketplace/dashboards/buyer.html", context)


# --- public statistics ------------------------------------------------------------------------------------------


def _sector_rows(rows: Sequence[tuple[str, stats.Cell | int]], money: bool = False) -> list[charts.Row]:
    result = []
    for label, figure in rows:
        if isinstance(figure, int):
            result.append(charts.Row(label, figure, f"{figure:,}"))
        elif figure.hidden:
            result.append(charts.Row(label, None, HIDDEN_TEXT[figure.hidden]))
        else:
            value = figure.value if money else figure.contracts
            result.append(charts.Row(label, value, format_money(value) if money else f"{value:,}"))
    return result


def _statistics_charts(figures: stats.ExchangeStatistics) -> dict:
    sectors = figures.sectors
    months = [cell.key for cell in figures.months]
    hidden = [cell.hidden for cell in figures.months]
    return {
        "listings_chart": charts.rows_svg(
            _sector_rows([(str(s.label), s.listings) for s in sectors if s.listings]),
            title=_("Published listings by sector"),
            description=_("Listings on the exchange now, by the sector of their data product."),
            css="chart-listings",
        ),
        "sector_value_chart": charts.rows_svg(
            _sector_rows([(str(s.label), s.trade) for s in sectors if s.trade.contracts], money=True),
            title=_("Transaction value by sector"),
            description=_("Sum of the contract prices of the contracts started in the twelve months, by sector."),
            css="chart-sector-value",
        ),
        "month_contracts_chart": charts.columns_svg(
            _columns(months, [cell.contracts for cell in figures.months], hidden),
            title=_("Contracts started by month"),
            description=_("Contracts started in each of the twelve complete months."),
            css="chart-month-contracts",
        ),
        "month_value_chart": charts.columns_svg(
            _columns(months, [cell.value for cell in figures.months], hidden),
            title=_("Transaction value by month"),
            description=_("Sum of the contract prices of the contracts started in each month, in yuan."),
            css="chart-month-value",
            money=True,
        ),
    }


@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    """The exchange's public statistics: members, listings and products by sector, contracts and value by month."""
    figures = stats.exchange_statistics()
    context = {"figures": figures, "min_contracts": stats.MIN_CONTRACTS, **_statistics_charts(figures)}
    return render(request, "marketplace/dashboards/statistics.html", context)


urlpatterns = [
    path("dashboard/sales/", merchant_dashboard, name="merchant_dashboard"),
    path("dashboard/purchases/", buyer_dashboard, name="buyer_dashboard"),
    path("statistics/", statistics, name="statistics"),
]
