"""Charts of the marketplace dashboards as inline SVG drawn on the server, in the manner of valuation.charts.

Columns by month, bars by sector (label above its bar, so that the chart stays readable at phone width), and one
stacked bar of contracts by state. Shapes carry classes that static/css/marketplace-dashboards.css colours (the CSP
forbids inline style); every chart has a title and a description for screen readers, and each page shows the same
figures in a table next to it. `css` names the chart: it is the svg's class and the prefix of its title's and
description's ids, so it must be unique on the page.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from valuation.charts import TICKS, WIDTH, coord, scale, short_money, svg, ticks

Number = Decimal | int | float

# --- scales -----------------------------------------------------------------------------------------------------


def nice_ceiling(value: float, *, integer: bool = False) -> float:
    """The top of an axis at or above `value` whose TICKS steps are round (1, 2, 2.5 or 5 times a power of ten)."""
    step = max(float(value), 0) / TICKS
    if step <= 0:
        return float(TICKS if integer else 1)
    magnitude = 10 ** math.floor(math.log10(step))
    for multiple in (1, 2, 2.5, 5, 10):
        if step <= multiple * magnitude * (1 + 1e-9):
            step = multiple * magnitude
            break
    if integer:
        step = max(math.ceil(step), 1)
    return step * TICKS


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _short(value: Number | None, money: bool) -> str:
    return short_money(float(value or 0)) if money else _count(float(value or 0))


# --- columns by month -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One month on a column chart: axis label, value (None: hidden, `hidden_text` instead) and, for January and
    the first column, the year under the label."""

    label: str
    value: Number | None
    year: str = ""
    hidden_text: str = "<3"


COLUMNS_HEIGHT = 250
COLUMNS_PLOT = (86, 24, WIDTH - 6, COLUMNS_HEIGHT - 58)  # left, top, right, bottom (room for larger type on phones)


def columns_svg(
    columns: Sequence[Column], *, title: str, description: str, css: str, money: bool = False
) -> SafeString:
    """Vertical bars, one per month, on a value axis from zero; a hidden month shows its marker instead of a bar."""
    if not columns:
        return mark_safe("")
    left, top, right, bottom = COLUMNS_PLOT
    ceiling = nice_ceiling(max(float(c.value or 0) for c in columns), integer=not money)
    y = scale(0, ceiling, bottom, top)
    slot = (right - left) / len(columns)
    body = format_html(
        "{}{}",
        _column_grid(y, ceiling, money),
        format_html_join(
            "", "{}", ((_column(left + slot * (i + 0.5), slot, c, y, money, i),) for i, c in enumerate(columns))
        ),
    )
    return svg(COLUMNS_HEIGHT, title, description, body, css)


def _column_grid(y, ceiling: float, money: bool) -> SafeString:
    left, _top, right, _bottom = COLUMNS_PLOT
    return format_html_join(
        "",
        '<line class="chart-grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
        (
            (left, coord(y(t)), right, coord(y(t)), left - 6, coord(y(t) + 4), _short(t, money))
            for t in ticks(0, ceiling)
        ),
    )


def _column(cx: float, slot: float, column: Column, y, money: bool, index: int) -> SafeString:
    bottom = COLUMNS_PLOT[3]
    labels = format_html(
        '<text class="chart-col-label" x="{}" y="{}" text-anchor="middle">{}</text>'
        '<text class="chart-col-year" x="{}" y="{}" text-anchor="middle">{}</text>',
        coord(cx), bottom + 26, column.label, coord(cx), bottom + 52, column.year,
    )  # fmt: skip
    if column.value is None:
        mark = format_html(
            '<text class="chart-col-hidden" x="{}" y="{}" text-anchor="middle">{}</text>',
            coord(cx), bottom - 6, column.hidden_text,
        )  # fmt: skip
    elif float(column.value) > 0:
        mark = _column_bar(cx, slot, column, y, money)
    else:
        mark = ""
    return format_html('<g class="chart-col chart-col-{}">{}{}</g>', "even" if index % 2 == 0 else "odd", mark, labels)


def _column_bar(cx: float, slot: float, column: Column, y, money: bool) -> SafeString:
    width, top, bottom = slot * 0.62, y(float(column.value)), COLUMNS_PLOT[3]
    text = _short(column.value, money)
    return format_html(
        '<rect class="chart-col-bar" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>'
        '<text class="chart-col-value" x="{}" y="{}" text-anchor="middle">{}</text>',
        coord(cx - width / 2), coord(top), coord(width), coord(bottom - top), column.label, text,
        coord(cx), coord(top - 5), text,
    )  # fmt: skip


# --- bars by sector ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One bar: its label, its value (None: hidden) and the text at its right, the exact figure or "<3"."""

    label: str
    value: Number | None
    text: str


ROW_PITCH = 56


def rows_svg(rows: Sequence[Row], *, title: str, description: str, css: str) -> SafeString:
    """Horizontal bars from zero, each under its label with the figure at the right; the longest spans the width."""
    if not rows:
        return mark_safe("")
    high = max(float(row.value or 0) for row in rows) or 1
    x = scale(0, high, 0, WIDTH)
    body = format_html_join("", "{}", ((_row(index * ROW_PITCH, row, x),) for index, row in enumerate(rows)))
    return svg(len(rows) * ROW_PITCH, title, description, body, css)


def _row(top: int, row: Row, x) -> SafeString:
    bar = ""
    if row.value is not None and float(row.value) > 0:
        bar = format_html(
            '<rect class="chart-row-bar" x="0" y="{}" width="{}" height="12" rx="3"/>',
            top + 34,
            coord(max(x(row.value), 2)),
        )
    return format_html(
        '<text class="chart-row-label" x="0" y="{}">{}</text>'
        '<text class="chart-row-value" x="{}" y="{}" text-anchor="end">{}</text>'
        '<rect class="chart-row-track" x="0" y="{}" width="{}" height="12" rx="3"/>{}',
        top + 24, row.label, WIDTH, top + 24, row.text, top + 34, WIDTH, bar,
    )  # fmt: skip


# --- contracts by state -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One state's share of a stacked bar: `key` picks its colour class (`seg-<key>`)."""

    key: str
    label: str
    count: int


STACK_HEIGHT = 36


def stacked_svg(segments: Sequence[Segment], *, title: str, description: str, css: str) -> SafeString:
    """One bar split into the segments, in proportion to their counts (an empty chart when all are zero)."""
    total = sum(segment.count for segment in segments)
    if not total:
        return mark_safe("")
    x = scale(0, total, 0, WIDTH)
    parts, start = [], 0
    for segment in segments:
        if segment.count:
            parts.append((segment.key, coord(x(start)), coord(x(start + segment.count) - x(start)), segment.label,
                          _count(segment.count)))  # fmt: skip
            start += segment.count
    body = format_html_join(
        "",
        '<rect class="chart-seg seg-{}" x="{}" y="0" width="{}" height="{}"><title>{}: {}</title></rect>',
        ((key, left, width, STACK_HEIGHT, label, count) for key, left, width, label, count in parts),
    )
    return svg(STACK_HEIGHT, title, description, body, css)
