"""Charts of valuation as inline SVG, drawn on the server: no chart library, no CDN, no script, no inline style.

The page's CSP allows styles from the app's stylesheet only, so shapes carry classes (`static/css/app.css` colours
them) and geometry as attributes. Every chart has a title and description for screen readers, and the page shows the
same figures as a table next to it.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
LABEL_WIDTH = 190
ROW_HEIGHT = 30
AXIS_HEIGHT = 28
TICKS = 4


def scale(low: float, high: float, start: float, end: float):
    """A linear map from [low, high] onto [start, end] (a flat domain maps to the middle)."""
    span = high - low
    if span == 0:
        return lambda value: (start + end) / 2
    return lambda value: start + (float(value) - low) * (end - start) / span


def short_money(value: float) -> str:
    """An axis label: ¥ and the amount with k / M, e.g. ¥1.25M (the table beside the chart has the exact figures)."""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"¥{value / limit:.3g}{suffix}"
    return f"¥{value:.0f}"


def coord(value: float) -> str:
    """A coordinate for an SVG attribute (format_html escapes its arguments to strings first, so format here)."""
    return f"{value:.1f}"


def ticks(low: float, high: float) -> list[float]:
    step = (high - low) / TICKS if high > low else 1
    return [low + step * index for index in range(TICKS + 1)]


def svg(height: int, title: str, description: str, body: SafeString, css: str) -> SafeString:
    return format_html(
        '<svg class="chart {}" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc" focusable="false">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        css, WIDTH, height, css, css, css, title, css, description, body,
    )  # fmt: skip


# --- tornado ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One parameter of the tornado: its label, inputs at each end, and the values they give."""

    label: str
    low_input: str
    high_input: str
    low_value: Decimal
    high_value: Decimal


def tornado_svg(bars: Sequence[Bar], base: Decimal, *, title: str, description: str) -> SafeString:
    """Horizontal bars from each parameter's low-input value to its high-input value, split at the base value."""
    if not bars:
        return mark_safe("")
    values = [float(base)] + [float(v) for bar in bars for v in (bar.low_value, bar.high_value)]
    low, high = min(values), max(values)
    pad = (high - low) * 0.08 or abs(float(base)) * 0.1 or 1
    x = scale(low - pad, high + pad, LABEL_WIDTH + 70, WIDTH - 70)
    height = len(bars) * ROW_HEIGHT + AXIS_HEIGHT + 8
    rows = format_html_join("", "{}", ((_tornado_row(index, bar, x, float(base)),) for index, bar in enumerate(bars)))
    centre = x(float(base))
    axis = _axis(x, low - pad, high + pad, len(bars) * ROW_HEIGHT + 4)
    body = format_html(
        '{}{}<line class="chart-base" x1="{}" y1="0" x2="{}" y2="{}"/>',
        rows, axis, coord(centre), coord(centre), len(bars) * ROW_HEIGHT,
    )  # fmt: skip
    return svg(height, title, description, body, "chart-tornado")


def _tornado_row(index: int, bar: Bar, x, base: float) -> SafeString:
    top = index * ROW_HEIGHT + 5
    ends = sorted(((float(bar.low_value), bar.low_input), (float(bar.high_value), bar.high_input)))
    (left, left_input), (right, right_input) = ends
    below = format_html(
        '<rect class="chart-bar-down" x="{}" y="{}" width="{}" height="20"/>',
        coord(x(left)), top, coord(max(x(min(base, right)) - x(left), 0)),
    ) if left < base else ""  # fmt: skip
    above = format_html(
        '<rect class="chart-bar-up" x="{}" y="{}" width="{}" height="20"/>',
        coord(x(max(base, left))), top, coord(max(x(right) - x(max(base, left)), 0)),
    ) if right > base else ""  # fmt: skip
    return format_html(
        '<text class="chart-label" x="{}" y="{}">{}</text>{}{}'
        '<text class="chart-end" x="{}" y="{}" text-anchor="end">{}</text>'
        '<text class="chart-end" x="{}" y="{}">{}</text>',
        LABEL_WIDTH, top + 15, bar.label, below, above,
        coord(x(left) - 4), top + 15, left_input, coord(x(right) + 4), top + 15, right_input,
    )  # fmt: skip


def _axis(x, low: float, high: float, top: int) -> SafeString:
    marks = format_html_join(
        "",
        '<line class="chart-tick" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
        ((coord(x(t)), top, coord(x(t)), top + 4, coord(x(t)), top + 18, short_money(t)) for t in ticks(low, high)),
    )
    line = '<line class="chart-axis-line" x1="{}" y1="{}" x2="{}" y2="{}"/>{}'
    return format_html(line, coord(x(low)), top, coord(x(high)), top, marks)


# --- valuation history -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One finished valuation on the history chart."""

    day: datetime.date
    value: Decimal
    low: Decimal
    high: Decimal
    accredited: bool
    label: str  # accessible name: method, date, value


HISTORY_HEIGHT = 240
PLOT = (70, 16, WIDTH - 20, HISTORY_HEIGHT - 34)  # left, top, right, bottom


def history_svg(points: Sequence[Point], *, title: str, description: str) -> SafeString:
    """Value over time with its low-high range as a band; accredited appraisals as squares, self-assessments round."""
    if not points:
        return mark_safe("")
    points = sorted(points, key=lambda p: p.day)
    left, top, right, bottom = PLOT
    first, last = points[0].day.toordinal(), points[-1].day.toordinal()
    x = scale(first - 1, last + 1, left + 10, right - 10) if first != last else _index_scale(len(points), left, right)
    ceiling = max(float(p.high) for p in points) * 1.1 or 1
    y = scale(0, ceiling, bottom, top)
    xs = [x(p.day.toordinal()) if first != last else x(index) for index, p in enumerate(points)]
    band = " ".join(f"{cx:.1f},{y(float(p.high)):.1f}" for cx, p in zip(xs, points, strict=True))
    band += " " + " ".join(f"{cx:.1f},{y(float(p.low)):.1f}" for cx, p in reversed(list(zip(xs, points, strict=True))))
    line = " ".join(f"{cx:.1f},{y(float(p.value)):.1f}" for cx, p in zip(xs, points, strict=True))
    body = format_html(
        '{}<polygon class="chart-band" points="{}"/><polyline class="chart-line" points="{}"/>{}{}',
        _value_grid(y, ceiling), band, line,
        format_html_join("", "{}", ((_marker(cx, y(float(p.value)), p),) for cx, p in zip(xs, points, strict=True))),
        _date_labels(xs, points),
    )  # fmt: skip
    return svg(HISTORY_HEIGHT, title, description, body, "chart-history")


def _index_scale(count: int, left: float, right: float):
    return scale(-1, count, left, right)


def _value_grid(y, ceiling: float) -> SafeString:
    left, _top, right, _bottom = PLOT
    return format_html_join(
        "",
        '<line class="chart-grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
        ((left, coord(y(t)), right, coord(y(t)), left - 6, coord(y(t) + 4), short_money(t)) for t in ticks(0, ceiling)),
    )


def _marker(cx: float, cy: float, point: Point) -> SafeString:
    if point.accredited:
        return format_html(
            '<rect class="chart-point chart-point-accredited" x="{}" y="{}" width="10" height="10">'
            "<title>{}</title></rect>",
            coord(cx - 5), coord(cy - 5), point.label,
        )  # fmt: skip
    return format_html(
        '<circle class="chart-point chart-point-self" cx="{}" cy="{}" r="5"><title>{}</title></circle>',
        coord(cx), coord(cy), point.label,
    )  # fmt: skip


def _date_labels(xs: list[float], points: Sequence[Point]) -> SafeString:
    """Dates under their points, left to right, skipping those that would crowd the previous label."""
    bottom = PLOT[3]
    shown, last_x, last_day = [], -1000.0, None
    for cx, point in zip(xs, points, strict=True):
        if cx - last_x >= 80 and point.day != last_day:  # several valuations of one day: one label
            shown.append((coord(cx), bottom + 18, point.day.isoformat()))
            last_x, last_day = cx, point.day
    return format_html_join("", '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>', shown)
