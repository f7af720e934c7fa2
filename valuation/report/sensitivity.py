"""The sensitivity part of the report: parameter labels, the tornado chart's bars and axis, and its notes."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from valuation.choices import Method
from valuation.models import Valuation
from valuation.report.formatting import (
    as_decimal,
    format_change,
    format_coefficient,
    format_money,
    format_rate,
    format_whole_money,
    format_years,
)
from valuation.report.market import COEFFICIENT_LABELS
from valuation.report.model import Tick, TornadoBar

PARAMETER_LABELS = {
    "obsolescence_rate": gettext_lazy("Obsolescence rate"),
    "profit_rate": gettext_lazy("Reasonable profit rate"),
    "adjustment_coefficient": gettext_lazy("Value adjustment coefficient"),
    "quality_score": gettext_lazy("Quality score"),
    "discount_rate": gettext_lazy("Discount rate"),
    "useful_life_years": gettext_lazy("Remaining useful life"),
    "attribution_share": gettext_lazy("Attribution share"),
    "royalty_rate": gettext_lazy("Royalty rate"),
    "split_share": gettext_lazy("Profit split share"),
    "growth_rate": gettext_lazy("Growth rate"),
}
_COMPARABLE_KEY = re.compile(r"^comparables(?:\[(\d+)\])?\.(\w+)$")
_RATE_PARAMETERS = {"obsolescence_rate", "profit_rate", "discount_rate", "attribution_share", "royalty_rate"}
_RATE_PARAMETERS |= {"split_share", "growth_rate"}


def parameter_label(name: str) -> str:
    """The translated label of a sensitivity parameter: "Discount rate", "Comparable 2: quality"."""
    match = _COMPARABLE_KEY.match(name)
    if match:
        coefficient = str(COEFFICIENT_LABELS.get(match[2], match[2]))
        if match[1] is None:
            return _("All comparables: %(coefficient)s") % {"coefficient": coefficient}
        return _("Comparable %(number)d: %(coefficient)s") % {"number": int(match[1]) + 1, "coefficient": coefficient}
    return str(PARAMETER_LABELS.get(name, name))


def format_parameter_input(name: str, value: Any) -> str:
    """A sensitivity input as the reader knows it: a rate, years, a coefficient, or a change to the comparables."""
    if _COMPARABLE_KEY.match(name):
        return format_change(as_decimal(value))
    if name == "useful_life_years":
        return format_years(int(value))
    if name in _RATE_PARAMETERS:
        return format_rate(as_decimal(value))
    return format_coefficient(as_decimal(value))


def _nice_step(span: float, target: int = 4) -> float:
    raw = span / target
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if step * magnitude >= raw)


def _axis(values: Iterable[Decimal]) -> tuple[float, float, float]:
    """Start, end and tick step of a value axis that holds every value, on round numbers."""
    numbers = [float(value) for value in values]
    low, high = min(numbers), max(numbers)
    if high == low:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = _nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _position(value: Decimal | float, start: float, end: float) -> float:
    return round((float(value) - start) / (end - start) * 100, 2)


def tornado(valuation: Valuation) -> tuple[tuple[TornadoBar, ...], float, tuple[Tick, ...]]:
    """The tornado chart's bars (largest swing first), where the base value lies on its axis, and the axis ticks."""
    rows = sorted(valuation.sensitivity or [], key=lambda row: (-as_decimal(row["swing"]), row["parameter"]))
    if not rows:
        return (), 50.0, ()
    values = [
        valuation.value,
        *(as_decimal(r["low_value"]) for r in rows),
        *(as_decimal(r["high_value"]) for r in rows),
    ]
    start, end, step = _axis(values)
    bars = tuple(
        TornadoBar(
            parameter=parameter_label(row["parameter"]),
            low_input=format_parameter_input(row["parameter"], row["low_input"]),
            high_input=format_parameter_input(row["parameter"], row["high_input"]),
            low_value=as_decimal(row["low_value"]),
            high_value=as_decimal(row["high_value"]),
            swing=as_decimal(row["swing"]),
            low_pct=_position(as_decimal(row["low_value"]), start, end),
            high_pct=_position(as_decimal(row["high_value"]), start, end),
        )
        for row in rows
    )
    label = format_whole_money if step >= 1 else format_money
    marks = [start + index * step for index in range(round((end - start) / step) + 1)]
    ticks = tuple(Tick(_position(mark, start, end), label(Decimal(repr(mark)))) for mark in marks)
    return bars, _position(valuation.value, start, end), ticks


def tornado_note(valuation: Valuation) -> str:
    """What the tornado chart's bars mean, or why a composite has none."""
    if valuation.method == Method.COMPOSITE:
        return _("A composite has no sensitivity analysis of its own; see the tornado charts of its components.")
    return _(
        "Each bar re-runs the method with one parameter at its low and then at its high input, all others at their "
        "base; the largest swing comes first."
    )


def range_note(valuation: Valuation) -> str:
    """How the low and high values of the range were found."""
    if valuation.method == Method.COMPOSITE:
        return _("The weighted sum of the components' own low and high values.")
    return _("The lowest and highest value over the sensitivity analysis.")
