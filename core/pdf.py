"""The building blocks of the exchange's A4 PDFs (the valuation report, the contract), in the active language.

Latin text is set in Helvetica, mathematical signs Helvetica cannot encode (−, Σ, √, ≤, →) in Symbol, and the rest
(Chinese) in reportlab's built-in CID font STSong-Light. None needs a font file, so a PDF is made offline; the viewer
supplies the glyphs (Adobe-GB1 for Chinese), as for any PDF set in STSong-Light.

Call `register_fonts()` before building a story: a paragraph with Chinese in it names the CID font.
"""

# ruff: noqa: RUF002, RUF003 -- the typographic − is meant

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from itertools import groupby
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate

CID_FONT = "STSong-Light"
SANS, SANS_BOLD, SYMBOL = "Helvetica", "Helvetica-Bold", "Symbol"
BRAND = "Databourse"
MARGIN = 16 * mm
WIDTH = A4[0] - 2 * MARGIN

INK = colors.HexColor("#1d2733")
MUTED = colors.HexColor("#5b6675")
NAVY = colors.HexColor("#1f3a5f")
RULE = colors.HexColor("#c9d1db")
PALE = colors.HexColor("#eef2f7")
ZEBRA = colors.HexColor("#f7f9fb")


@functools.cache
def register_fonts() -> None:
    """Register the CID font for Chinese (once per process)."""
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))


# --- mixed-script text -----------------------------------------------------------------------------------------


@functools.cache
def _font_of(char: str) -> str:
    """Helvetica for what WinAnsi encodes, Symbol for mathematical signs (−, Σ, √, ≤, →), else the CID font."""
    for font, codec in ((SANS, "cp1252"), (SYMBOL, "symbol")):
        try:
            char.encode(codec)
        except UnicodeEncodeError:
            continue
        return font
    return CID_FONT


def runs(text: str, *, bold: bool = False) -> list[tuple[str, str]]:
    """The text cut into (font, chunk) runs that each font can show."""
    out = []
    for font, chars in groupby(str(text), key=_font_of):
        out.append((SANS_BOLD if bold and font == SANS else font, "".join(chars)))
    return out


def markup(text: str) -> str:
    """Paragraph markup for text: XML-escaped, runs Helvetica cannot show switched to Symbol or the CID font."""
    return "".join(
        escape(chunk) if font in (SANS, SANS_BOLD) else f'<font face="{font}">{escape(chunk)}</font>'
        for font, chunk in runs(text)
    )


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    return sum(pdfmetrics.stringWidth(chunk, font, size) for font, chunk in runs(text, bold=bold))


def text_start(x: float, text: str, size: float, anchor: str, bold: bool) -> float:
    """Where text anchored at `x` ("start", "middle" or "end") begins."""
    width = text_width(text, size, bold=bold)
    return x - {"start": 0, "middle": width / 2, "end": width}[anchor]


def draw_text(pdf: canvas.Canvas, x: float, y: float, text: str, size: float, *, anchor: str = "start") -> None:
    """Draw mixed-script text on a canvas, one run per font."""
    x = text_start(x, text, size, anchor, False)
    for font, chunk in runs(text):
        pdf.setFont(font, size)
        pdf.drawString(x, y, chunk)
        x += pdfmetrics.stringWidth(chunk, font, size)


# --- styles ----------------------------------------------------------------------------------------------------


def paragraph_style(name: str, size: float = 8.5, *, bold: bool = False, color=INK, **extra) -> ParagraphStyle:
    """Helvetica (bold or not) at `size` points, leading 1.3 times the size."""
    font = SANS_BOLD if bold else SANS
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.3, textColor=color, **extra)


BODY = paragraph_style("body")
SMALL = paragraph_style("small", 7.5, color=MUTED)
CELL = paragraph_style("cell", 8)
CELL_BOLD = paragraph_style("cell_bold", 8, bold=True)
BRAND_STYLE = paragraph_style("brand", 10, bold=True, color=NAVY)
TITLE = paragraph_style("title", 16, bold=True, spaceBefore=2, spaceAfter=2)
HEADING = paragraph_style("heading", 11, bold=True, color=NAVY, spaceBefore=10, spaceAfter=4)


def paragraph(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    """Mixed-script text as a paragraph."""
    return Paragraph(markup(text), style)


# --- the document ----------------------------------------------------------------------------------------------


class NumberedCanvas(canvas.Canvas):
    """Holds the pages back until the end so that each can say "page 2 of 3"."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        for state in self._pages:
            self.__dict__.update(state)
            label = _("Page %(page)d of %(pages)d") % {"page": self._pageNumber, "pages": len(self._pages)}
            self.setFillColor(MUTED)
            draw_text(self, A4[0] - MARGIN, MARGIN - 17, label, 7, anchor="end")
            super().showPage()
        super().save()


def page_decoration(header: str, footer: str) -> Callable[[canvas.Canvas, SimpleDocTemplate], None]:
    """A running header and footer (the page count is drawn by `NumberedCanvas` once it is known)."""

    def decorate(pdf: canvas.Canvas, doc: SimpleDocTemplate) -> None:
        pdf.saveState()
        pdf.setStrokeColor(RULE)
        pdf.setFillColor(MUTED)
        pdf.line(MARGIN, A4[1] - MARGIN + 8, A4[0] - MARGIN, A4[1] - MARGIN + 8)
        draw_text(pdf, MARGIN, A4[1] - MARGIN + 11, header, 7)
        pdf.line(MARGIN, MARGIN - 8, A4[0] - MARGIN, MARGIN - 8)
        draw_text(pdf, MARGIN, MARGIN - 17, footer, 7)
        pdf.restoreState()

    return decorate


def render_pdf(story: list[Flowable], *, header: str, footer: str, invariant: bool = False, **metadata) -> bytes:
    """An A4 PDF of the story with the running header, footer and page count; `metadata` (title, author, subject,
    keywords) goes into the document information; `invariant` gives the same bytes for the same story."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        creator=BRAND, lang=translation.get_language() or "en", invariant=int(invariant), **metadata,
    )  # fmt: skip
    decorate = page_decoration(header, footer)
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate, canvasmaker=NumberedCanvas)
    return buffer.getvalue()
