"""The valuation report (`valuation.report.valuation_report`) as an A4 PDF in the active language.

Fonts, mixed-script text, the shared styles, the running header and footer and the page count come from `core.pdf`
(Helvetica, Symbol and the built-in CID font STSong-Light: no font file needed).
"""

# ruff: noqa: RUF001, RUF003 -- the typographic −, × and – are meant: reports print them

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils import formats
from django.utils.translation import gettext as _
from reportlab.graphics.shapes import Drawing, Group, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, LongTable, Paragraph, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from core.pdf import (
    BRAND,
    BRAND_STYLE,
    CELL,
    CELL_BOLD,
    HEADING,
    INK,
    MUTED,
    NAVY,
    PALE,
    RULE,
    SMALL,
    TITLE,
    WIDTH,
    ZEBRA,
    paragraph,
    paragraph_style,
    register_fonts,
    render_pdf,
    runs,
    text_start,
    text_width,
)
from valuation.models import Valuation
from valuation.report import Figure, Report, Table, format_money, valuation_report

MAX_BARS = 15
NUMBER = re.compile(r"^[−+]?¥?\d")  # a formatted figure, right-aligned; words are not

LOW_BAR = colors.HexColor("#4a78b5")
HIGH_BAR = colors.HexColor("#e08a2e")
ACCREDITED = colors.HexColor("#1e6b3a")
SELF_INK, SELF_FILL = colors.HexColor("#8a4b00"), colors.HexColor("#fff3e0")


# --- styles ----------------------------------------------------------------------------------------------------


CELL_RIGHT = paragraph_style("cell_right", 8, alignment=TA_RIGHT)
CELL_BOLD_RIGHT = paragraph_style("cell_bold_right", 8, bold=True, alignment=TA_RIGHT)
TINY = paragraph_style("tiny", 7)
TINY_RIGHT = paragraph_style("tiny_right", 7, alignment=TA_RIGHT)
TINY_BOLD = paragraph_style("tiny_bold", 7, bold=True)
TINY_BOLD_RIGHT = paragraph_style("tiny_bold_right", 7, bold=True, alignment=TA_RIGHT)
CAPTION = paragraph_style("caption", 8.5, bold=True, spaceBefore=6, spaceAfter=3)
VALUE = paragraph_style("value", 20, bold=True, color=NAVY)


def _heading(text: str, style: ParagraphStyle = HEADING, *, room: float = 70) -> list[Flowable]:
    """A heading that starts a new page unless `room` points are left for what follows it (tables still split)."""
    return [CondPageBreak(room), paragraph(text, style)]


def _is_number(text: str) -> bool:
    return bool(NUMBER.match(text))


# --- building blocks -------------------------------------------------------------------------------------------


def _badge(report: Report) -> PdfTable:
    """A filled green box for an accredited appraisal, an outlined amber one for a self-assessment."""
    ink = colors.white if report.accredited else SELF_INK
    label = paragraph_style("badge", 11, bold=True, color=ink)
    note = paragraph_style("badge_note", 7.5, color=ink)
    box = PdfTable(
        [[paragraph(report.performer_label, label)], [paragraph(report.performer_note, note)]], colWidths=[58 * mm]
    )
    fill, border = (ACCREDITED, ACCREDITED) if report.accredited else (SELF_FILL, SELF_INK)
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), fill),
                ("BOX", (0, 0), (-1, -1), 1.5, border),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
                ("TOPPADDING", (0, 0), (-1, 0), 6),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 6),
            ]
        )
    )
    return box


def _header(report: Report) -> list[Flowable]:
    left = [
        paragraph(BRAND, BRAND_STYLE),
        paragraph(_("Data-asset valuation report"), SMALL),
        paragraph(report.title, TITLE),
    ]
    top = PdfTable([[left, _badge(report)]], colWidths=[WIDTH - 60 * mm, 60 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0)]))
    return [top, Spacer(1, 4), _metadata(report)]


def _metadata(report: Report) -> PdfTable:
    pairs = [
        (_("Product"), report.product),
        (_("Version"), report.version or "—"),
        (_("Method"), report.method),
        (_("Valuation date"), formats.date_format(report.as_of, "DATE_FORMAT")),
        (_("Performed by"), report.performer),
        (_("Performed as"), report.performer_label),
        (_("Holding purpose"), report.holding_purpose),
        (_("Quality score"), report.quality_score),
        (_("Valuation no."), str(report.valuation.pk)),
        (_("Status"), report.status),
    ]
    rows = [
        [paragraph(a, SMALL), paragraph(b, CELL), paragraph(c, SMALL), paragraph(d, CELL)]
        for (a, b), (c, d) in zip(pairs[::2], pairs[1::2], strict=True)
    ]
    table = PdfTable(rows, colWidths=[0.16 * WIDTH, 0.34 * WIDTH, 0.16 * WIDTH, 0.34 * WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, 0), (-1, 0), 0.8, NAVY),
                ("LINEBELOW", (0, -1), (-1, -1), 0.8, NAVY),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _result_box(report: Report) -> PdfTable:
    value_range = _("Range %(low)s – %(high)s") % {"low": format_money(report.low), "high": format_money(report.high)}
    cells = [
        [paragraph(_("Value"), SMALL), paragraph(_("Range"), SMALL)],
        [paragraph(format_money(report.value), VALUE), paragraph(value_range, paragraph_style("range", 11, bold=True))],
        [paragraph(report.method, SMALL), paragraph(report.range_note, SMALL)],
    ]
    box = PdfTable(cells, colWidths=[0.45 * WIDTH, 0.55 * WIDTH])
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), PALE),
                ("BOX", (0, 0), (-1, -1), 1, NAVY),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 1), (-1, 1), 4),
                ("BOTTOMPADDING", (0, 1), (-1, 1), 6),
            ]
        )
    )
    return box


def _formula(lines: Iterable[str]) -> PdfTable:
    box = PdfTable([[paragraph(line, CELL)] for line in lines], colWidths=[WIDTH])
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), ZEBRA),
                ("LINEBEFORE", (0, 0), (0, -1), 2, NAVY),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return box


def _figures(figures: Iterable[Figure]) -> LongTable:
    rows, style = [], [("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    for index, figure in enumerate(figures):
        bold = figure.emphasis
        styles = (CELL_BOLD, CELL_BOLD_RIGHT) if bold else (CELL, CELL_RIGHT)
        value_style = styles[1] if _is_number(figure.value) else styles[0]
        rows.append(
            [paragraph(figure.label, styles[0]), paragraph(figure.value, value_style), paragraph(figure.note, SMALL)]
        )
        if bold:
            style.append(("BACKGROUND", (0, index), (-1, index), PALE))
    table = LongTable(rows, colWidths=[0.3 * WIDTH, 0.28 * WIDTH, 0.42 * WIDTH])
    table.setStyle(TableStyle(style))
    return table


def _column_widths(table: Table) -> list[float]:
    """Columns sized by their widest cell (headers by their widest word, as they wrap), stretched to the full width."""
    weights = []
    for index, column in enumerate(table.columns):
        cells = [row[index] for row in table.rows[:200]] + ([table.footer[index]] if table.footer else [])
        widest = max(text_width(text, 8) for text in [*column.split(), *cells, "00"])
        weights.append(min(widest, 150) + 8)  # a long reference wraps rather than squeeze the figures
    total = sum(weights)
    return [WIDTH * weight / total for weight in weights]


def _cell_styles(wide: bool) -> tuple[ParagraphStyle, ...]:
    return (TINY, TINY_RIGHT, TINY_BOLD, TINY_BOLD_RIGHT) if wide else (CELL, CELL_RIGHT, CELL_BOLD, CELL_BOLD_RIGHT)


def _row(cells: Iterable[str], numeric: tuple[bool, ...], *, bold: bool, wide: bool) -> list[Paragraph]:
    plain, right, strong, strong_right = _cell_styles(wide)
    styles = (strong, strong_right) if bold else (plain, right)
    return [
        paragraph(cell, styles[1] if is_number else styles[0]) for cell, is_number in zip(cells, numeric, strict=True)
    ]


def _table(table: Table) -> list[Flowable]:
    """A report table that splits across pages, repeating its header row; its note travels with its last rows."""
    wide = len(table.columns) > 7
    rows = [_row(table.columns, table.numeric, bold=True, wide=wide)]
    rows += [_row(row, table.numeric, bold=False, wide=wide) for row in table.rows]
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), PALE),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, NAVY),
        ("LINEBELOW", (0, 1), (-1, len(rows) - 1), 0.25, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    style += [("BACKGROUND", (0, i), (-1, i), ZEBRA) for i in range(2, len(rows), 2)]
    if table.footer:
        style.append(("LINEABOVE", (0, len(rows)), (-1, len(rows)), 0.8, NAVY))
        rows.append(_row(table.footer, table.numeric, bold=True, wide=wide))
    if table.note:
        style.append(("SPAN", (0, len(rows)), (-1, len(rows))))
        rows.append([paragraph(table.note, SMALL), *([""] * (len(table.columns) - 1))])
    style.append(("NOSPLIT", (0, max(len(rows) - 3, 1)), (-1, -1)))  # no total or note alone on a page
    pdf_table = LongTable(rows, colWidths=_column_widths(table), repeatRows=1)
    pdf_table.setStyle(TableStyle(style))
    return [*_heading(table.caption, CAPTION), pdf_table]


def _boxed(text: str) -> PdfTable:
    box = PdfTable([[paragraph(text, SMALL)]], colWidths=[WIDTH])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.6, RULE), ("BACKGROUND", (0, 0), (-1, -1), ZEBRA)]))
    return box


# --- the tornado chart -----------------------------------------------------------------------------------------


def _text(x: float, y: float, text: str, size: float, *, anchor: str = "start", color=INK, bold=False) -> Group:
    """A chart label in as many Strings as it has font runs."""
    group, x = Group(), text_start(x, text, size, anchor, bold)
    for font, chunk in runs(text, bold=bold):
        group.add(String(x, y, chunk, fontName=font, fontSize=size, fillColor=color))
        x += pdfmetrics.stringWidth(chunk, font, size)
    return group


def _fitted(text: str, width: float, size: float) -> str:
    """Text cut with an ellipsis to fit the width."""
    while len(text) > 1 and text_width(text, size) > width:
        text = text[:-2] + "…"
    return text


class _Chart:
    """Geometry of the tornado chart: one row per bar, the value axis as percentages of the plot width."""

    label_width, row_height, bar_height, top, bottom = 150.0, 20.0, 12.0, 26.0, 44.0

    def __init__(self, report: Report) -> None:
        self.report, self.bars = report, report.tornado[:MAX_BARS]
        self.left, self.right = self.label_width + 48, WIDTH - 48
        self.height = self.top + len(self.bars) * self.row_height + self.bottom

    def x(self, pct: float) -> float:
        return self.left + (self.right - self.left) * pct / 100

    def drawing(self) -> Drawing:
        drawing = Drawing(WIDTH, self.height)
        base = self.x(self.report.tornado_base_pct)
        for index, bar in enumerate(self.bars):
            self._bar(drawing, bar, base, self.height - self.top - (index + 1) * self.row_height)
        self._axis(drawing, base)
        self._legend(drawing)
        return drawing

    def _bar(self, drawing: Drawing, bar, base: float, y: float) -> None:
        drawing.add(_text(0, y + 7, _fitted(bar.parameter, self.label_width, 7.5), 7.5))
        ends = [(self.x(bar.low_pct), LOW_BAR, bar.low_input), (self.x(bar.high_pct), HIGH_BAR, bar.high_input)]
        ends.sort(key=lambda end: -abs(end[0] - base))  # the longer segment first, should both lie on one side
        for end, color, label in ends:
            drawing.add(
                Rect(min(base, end), y + 3, abs(end - base), self.bar_height, fillColor=color, strokeColor=None)
            )
            anchor, offset = ("end", -3) if end < base else ("start", 3)
            drawing.add(_text(end + offset, y + 7, label, 6.5, anchor=anchor, color=MUTED))

    def _axis(self, drawing: Drawing, base: float) -> None:
        bottom = self.bottom - 14
        drawing.add(Line(self.left, bottom, self.right, bottom, strokeColor=MUTED, strokeWidth=0.5))
        for tick in self.report.tornado_ticks:
            x = self.x(tick.pct)
            drawing.add(Line(x, bottom, x, bottom - 3, strokeColor=MUTED, strokeWidth=0.5))
            drawing.add(_text(x, bottom - 11, tick.label, 6.5, anchor="middle", color=MUTED))
        drawing.add(
            Line(
                base, bottom, base, self.height - self.top + 6, strokeColor=INK, strokeWidth=0.8, strokeDashArray=[2, 2]
            )
        )
        label = _("Base value %(value)s") % {"value": format_money(self.report.base_value)}
        drawing.add(_text(base, self.height - self.top + 10, label, 7.5, anchor="middle", bold=True))

    def _legend(self, drawing: Drawing) -> None:
        x = self.left
        for color, label in ((LOW_BAR, _("parameter at its low input")), (HIGH_BAR, _("parameter at its high input"))):
            drawing.add(Rect(x, 2, 8, 6, fillColor=color, strokeColor=None))
            drawing.add(_text(x + 11, 2.5, label, 7, color=MUTED))
            x += 24 + text_width(label, 7)


def _tornado_table(report: Report) -> Table:
    rows = tuple(
        (bar.parameter, bar.low_input, bar.high_input, *map(format_money, (bar.low_value, bar.high_value, bar.swing)))
        for bar in report.tornado
    )
    columns = (_("Parameter"), _("Low input"), _("High input"), _("Value at low"), _("Value at high"), _("Swing"))
    return Table(_("Sensitivity analysis"), columns, rows, (False, True, True, True, True, True))


def _sensitivity(report: Report) -> list[Flowable]:
    chart = _Chart(report).drawing() if report.tornado else None
    room = chart.height + 50 if chart else 70
    flowables = [*_heading(_("Sensitivity (tornado chart)"), room=room), paragraph(report.tornado_note, SMALL)]
    if chart:
        flowables += [Spacer(1, 4), chart, *_table(_tornado_table(report))]
    return flowables


# --- the document ----------------------------------------------------------------------------------------------


def _section(title: str, *flowables: Flowable) -> list[Flowable]:
    return [*_heading(title), *flowables]


def _story(report: Report) -> list[Flowable]:
    story: list[Flowable] = [*_header(report), Spacer(1, 8), _result_box(report)]
    story += _section(_("Formula"), _formula(report.formula))
    story += _section(_("Inputs"), _figures(report.inputs))
    story += _section(_("Working"), _figures(report.working))
    for table in report.tables:
        story += _table(table)
    story += _sensitivity(report)
    story += _section(_("Accounting treatment and pledge value"), _figures(report.accounting))
    if report.schedule:
        story += _table(report.schedule)
    story.append(KeepTogether([*_section(_("Disclaimer"), _boxed(report.disclaimer))]))
    return story


def report_pdf(report: Report, *, invariant: bool = False) -> bytes:
    """Render a report; `invariant` gives byte-identical output for the same report (no timestamps, fixed ids)."""
    register_fonts()
    return render_pdf(
        _story(report),
        header=f"{BRAND} · {report.title}",
        footer=f"{report.performer_label} · {report.performer} · {report.as_of.isoformat()}",
        invariant=invariant,
        title=report.title,
        author=report.performer,
        subject=_("Data-asset valuation report"),
        keywords=[report.method, report.performer_label],
    )


def valuation_pdf(valuation: Valuation) -> bytes:
    """The valuation's report as an A4 PDF in the active language; `ValuationNotDone` unless it is done."""
    return report_pdf(valuation_report(valuation))
