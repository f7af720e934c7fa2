"""Numbers as the report prints them: money, rates, coefficients, years, scores."""

# ruff: noqa: RUF002, RUF003 -- the typographic −, × and – are meant: reports print them

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from valuation.choices import Method
from valuation.report.model import Figure

MINUS = "\u2212"
DASH = "—"


def as_decimal(value: Any) -> Decimal:
    """The value as a Decimal, through its string form when it is not one already."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _signed(text: str, negative: bool) -> str:
    return f"{MINUS}{text}" if negative else text


def format_money(value: Decimal) -> str:
    """¥1,234,567.89, negative −¥1,234.56, rounded half up to the cent; the same in every language."""
    amount = as_decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return _signed(f"¥{abs(amount):,.2f}", amount < 0)


def format_whole_money(value: Decimal) -> str:
    """¥1,234,568: money to the yuan, for chart axes."""
    amount = as_decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return _signed(f"¥{abs(amount):,.0f}", amount < 0)


def format_rate(value: Decimal) -> str:
    """A fraction as a percentage with two places: 0.12 → "12.00 %"."""
    percent = (as_decimal(value) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return _signed(f"{abs(percent):.2f} %", percent < 0)


def format_change(factor: Decimal) -> str:
    """A multiplying factor as a signed change: 0.9 → "−10.00 %", 1.1 → "+10.00 %"."""
    change = as_decimal(factor) - 1
    return format_rate(change) if change < 0 else f"+{format_rate(change)}"


def format_coefficient(value: Decimal, places: int = 4) -> str:
    """At least `places` decimals, more when the figure has them (coefficients are used as given), at most 8."""
    number = as_decimal(value)
    given = max(-number.as_tuple().exponent, 0) if number.is_finite() else places
    shown = min(max(places, given), 8)
    text = f"{abs(number):,.{shown}f}"
    if shown > places:
        text = text.rstrip("0")
        text += "0" * max(places - len(text.partition(".")[2]), 0)
    return _signed(text, number < 0)


def format_years(years: int) -> str:
    """A whole number of years: "1 year", "5 years"."""
    return ngettext("%(count)d year", "%(count)d years", years) % {"count": years}


def format_score(score: float | Decimal | None) -> str:
    """A quality score with one place, or a dash when there is none."""
    return DASH if score is None else f"{float(score):.1f}"


def format_yes_no(flag: bool) -> str:
    """The translated Yes or No."""
    return _("Yes") if flag else _("No")


def money_figure(label: str, value: Any, note: str = "", *, emphasis: bool = False) -> Figure:
    """A figure whose value is an amount of money."""
    return Figure(label, format_money(as_decimal(value)), note, emphasis)


def method_label(method: str) -> str:
    """The translated name of a valuation method, or the code itself when it is not one."""
    return str(Method(method).label) if method in Method.values else method
