"""The valuation report: one presenter behind the HTML report page and the PDF (`valuation.pdf`).

Everything here is read from the stored valuation (inputs, `result` = `methods.as_data(result)`, sensitivity rows)
and formatted once, in the active language, so the page and the PDF cannot disagree.
"""

# ruff: noqa: RUF001, RUF002, RUF003 -- the typographic −, × and – are meant: reports print them

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from valuation import services
from valuation.accounting import AmortisationRow
from valuation.choices import Method, PerformerKind
from valuation.methods import COEFFICIENTS, COST_ITEMS, DIRECT_COST_ITEMS
from valuation.methods.cost import COST_ITEM_LABELS
from valuation.methods.income import VARIANT_SERIES
from valuation.models import Valuation

MINUS = "\u2212"
DASH = "—"
SCHEDULE_ROWS = 12  # periods of the amortisation schedule the report shows

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
COEFFICIENT_LABELS = {
    "quality": gettext_lazy("quality"),
    "supply_demand": gettext_lazy("supply and demand"),
    "date": gettext_lazy("date"),
    "volume": gettext_lazy("volume"),
    "other": gettext_lazy("other"),
}
VARIANT_LABELS = {
    "direct": gettext_lazy("Direct income"),
    "incremental": gettext_lazy("Incremental income"),
    "royalty_savings": gettext_lazy("Royalty savings"),
    "profit_split": gettext_lazy("Profit split"),
}
SOURCE_LABELS = {
    "income": gettext_lazy("Income"),
    "income_with_data": gettext_lazy("Income with the data"),
    "income_without_data": gettext_lazy("Income without the data"),
    "revenue": gettext_lazy("Revenue"),
    "profit": gettext_lazy("Profit"),
}
INCOME_LABELS = {
    "direct": gettext_lazy("Income"),
    "incremental": gettext_lazy("Incremental income"),
    "royalty_savings": gettext_lazy("Royalty saved"),
    "profit_split": gettext_lazy("Profit share of the data"),
}
AGGREGATION_LABELS = {
    "mean": gettext_lazy("Mean of the adjusted prices"),
    "median": gettext_lazy("Median of the adjusted prices"),
    "weighted": gettext_lazy("Weighted mean of the adjusted prices"),
}
ASSET_CLASS_LABELS = {"intangible_asset": gettext_lazy("Intangible asset"), "inventory": gettext_lazy("Inventory")}
STANDARD_LABELS = {
    "CAS 6 Intangible Assets": gettext_lazy("CAS 6 Intangible Assets"),
    "CAS 1 Inventories": gettext_lazy("CAS 1 Inventories"),
}
_COMPARABLE_KEY = re.compile(r"^comparables(?:\[(\d+)\])?\.(\w+)$")
_RATE_PARAMETERS = {"obsolescence_rate", "profit_rate", "discount_rate", "attribution_share", "royalty_rate"}
_RATE_PARAMETERS |= {"split_share", "growth_rate"}


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    note: str = ""
    emphasis: bool = False


@dataclass(frozen=True)
class Table:
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    footer: tuple[str, ...] | None = None
    note: str = ""  # a line under the table (e.g. what a marker in the rows means)


@dataclass(frozen=True)
class TornadoBar:
    parameter: str
    low_input: str
    high_input: str
    low_value: Decimal
    high_value: Decimal
    swing: Decimal
    low_pct: float = 50.0  # where low_value lies on the chart's axis, 0-100 (for drawing without arithmetic)
    high_pct: float = 50.0


@dataclass(frozen=True)
class Tick:
    """One labelled mark on the tornado chart's value axis."""

    pct: float
    label: str


@dataclass(frozen=True)
class Report:
    valuation: Valuation
    title: str
    method: str
    performer: str
    accredited: bool
    performer_label: str
    performer_note: str
    as_of: datetime.date
    formula: tuple[str, ...]
    inputs: tuple[Figure, ...]
    working: tuple[Figure, ...]
    tables: tuple[Table, ...]
    value: Decimal
    low: Decimal
    high: Decimal
    base_value: Decimal
    tornado: tuple[TornadoBar, ...]
    quality_score: str
    accounting: tuple[Figure, ...]
    schedule: Table | None
    disclaimer: str
    status: str
    # Added beyond the agreed interface:
    product: str = ""  # product title
    version: str = ""  # "v3", or "" when the valuation names no version
    holding_purpose: str = ""  # translated
    range_note: str = ""  # how low and high were found
    tornado_note: str = ""  # what the bars mean, or why there are none
    tornado_base_pct: float = 50.0  # where the base value lies on the chart's axis, 0-100
    tornado_ticks: tuple[Tick, ...] = ()
    schedule_note: str = ""  # "the first 12 of 60 monthly periods"


# --- formatting ------------------------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _signed(text: str, negative: bool) -> str:
    return f"{MINUS}{text}" if negative else text


def format_money(value: Decimal) -> str:
    """¥1,234,567.89, negative −¥1,234.56, rounded half up to the cent; the same in every language."""
    amount = _decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return _signed(f"¥{abs(amount):,.2f}", amount < 0)


def format_whole_money(value: Decimal) -> str:
    """¥1,234,568: money to the yuan, for chart axes."""
    amount = _decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return _signed(f"¥{abs(amount):,.0f}", amount < 0)


def format_rate(value: Decimal) -> str:
    """A fraction as a percentage with two places: 0.12 → "12.00 %"."""
    percent = (_decimal(value) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return _signed(f"{abs(percent):.2f} %", percent < 0)


def format_change(factor: Decimal) -> str:
    """A multiplying factor as a signed change: 0.9 → "−10.00 %", 1.1 → "+10.00 %"."""
    change = _decimal(factor) - 1
    return format_rate(change) if change < 0 else f"+{format_rate(change)}"


def format_coefficient(value: Decimal, places: int = 4) -> str:
    """At least `places` decimals, more when the figure has them (coefficients are used as given), at most 8."""
    number = _decimal(value)
    given = max(-number.as_tuple().exponent, 0) if number.is_finite() else places
    shown = min(max(places, given), 8)
    text = f"{abs(number):,.{shown}f}"
    if shown > places:
        text = text.rstrip("0")
        text += "0" * max(places - len(text.partition(".")[2]), 0)
    return _signed(text, number < 0)


def format_years(years: int) -> str:
    return ngettext("%(count)d year", "%(count)d years", years) % {"count": years}


def format_score(score: float | Decimal | None) -> str:
    return DASH if score is None else f"{float(score):.1f}"


def format_yes_no(flag: bool) -> str:
    return _("Yes") if flag else _("No")


# --- formula lines ---------------------------------------------------------------------------------------------


def _cost_formula() -> tuple[str, ...]:
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


def _income_formula(result: dict) -> tuple[str, ...]:
    variant_line = {
        "direct": _("income_t = the income the data brings in year t"),
        "incremental": _("income_t = income with the data − income without it"),
        "royalty_savings": _("income_t = revenue_t × royalty rate (to the cent)"),
        "profit_split": _("income_t = profit_t × profit split share (to the cent)"),
    }[result["variant"]]
    factor = (
        _("DF_t = 1 / (1 + r)^(t − 0.5), mid-year convention (6 places)")
        if result.get("mid_year")
        else _("DF_t = 1 / (1 + r)^t (6 places)")
    )
    return (
        _("value = Σ_{t=1..n} income_t × attribution share × DF_t"),
        variant_line,
        _("attributable income_t = income_t × attribution share (to the cent)"),
        factor,
        _("present value_t = attributable income_t × DF_t (to the cent); value = Σ present value_t"),
        _("n = remaining useful life in years, r = discount rate; a short series grows by the growth rate"),
    )


def _market_formula(result: dict) -> tuple[str, ...]:
    value_line = {
        "mean": _("value = Σ adjusted price_i / n (to the cent)"),
        "median": _("value = the middle adjusted price, or the mean of the two middle ones (to the cent)"),
        "weighted": _("value = Σ weight_i × adjusted price_i / Σ weight_i (to the cent)"),
    }[result["aggregation"]]
    return (
        _("combined coefficient_i = quality × supply and demand × date × volume × other"),
        _("adjusted price_i = price_i × combined coefficient_i (to the cent)"),
        value_line,
        _("spread: standard deviation = √(Σ (p_i − mean)² / n); coefficient of variation = standard deviation / mean"),
    )


def _composite_formula() -> tuple[str, ...]:
    return (
        _("contribution_i = weight_i × value_i (to the cent)"),
        _("value = Σ contribution_i, the weights adding up to exactly 1"),
    )


# --- inputs, working and tables, per method --------------------------------------------------------------------


@dataclass(frozen=True)
class _Body:
    formula: tuple[str, ...]
    inputs: tuple[Figure, ...]
    working: tuple[Figure, ...]
    tables: tuple[Table, ...]


def _money_figure(label: str, value: Any, note: str = "", *, emphasis: bool = False) -> Figure:
    return Figure(label, format_money(_decimal(value)), note, emphasis)


def _cost_inputs(result: dict) -> tuple[Figure, ...]:
    figures = [
        Figure(_("Reasonable profit rate"), format_rate(_decimal(result["profit_rate"]))),
        Figure(_("Obsolescence rate"), format_rate(_decimal(result["obsolescence_rate"]))),
    ]
    if result.get("quality_score") is not None:
        figures.append(Figure(_("Quality score"), format_score(_decimal(result["quality_score"])), _("out of 100")))
    if result.get("coefficient_source") == "override":
        coefficient = format_coefficient(_decimal(result["adjustment_coefficient"]))
        figures.append(Figure(_("Value adjustment coefficient"), coefficient, _("given explicitly")))
    return tuple(figures)


def _coefficient_note(result: dict) -> str:
    if result.get("coefficient_source") == "override":
        return _("given explicitly")
    return _("from the quality score %(score)s") % {"score": format_score(_decimal(result["quality_score"]))}


def _cost_working(result: dict) -> tuple[Figure, ...]:
    profit_rate, obsolescence_rate = (
        format_rate(_decimal(result[key])) for key in ("profit_rate", "obsolescence_rate")
    )
    coefficient = format_coefficient(_decimal(result["adjustment_coefficient"]))
    return (
        _money_figure(_("Direct cost"), result["direct_cost"], _("sum of the six direct cost items")),
        _money_figure(_("Indirect costs"), result["indirect_cost"]),
        _money_figure(_("Total cost"), result["total_cost"], _("direct cost + indirect costs")),
        _money_figure(_("Reasonable profit"), result["profit"], _("total cost × %(rate)s") % {"rate": profit_rate}),
        _money_figure(_("Replacement cost"), result["replacement_cost"], _("total cost + profit"), emphasis=True),
        _money_figure(
            _("Obsolescence"), result["obsolescence"], _("replacement cost × %(rate)s") % {"rate": obsolescence_rate}
        ),
        _money_figure(_("Depreciated cost"), result["depreciated_cost"], _("replacement cost − obsolescence")),
        Figure(_("Value adjustment coefficient"), coefficient, _coefficient_note(result)),
        _money_figure(
            _("Value"),
            result["value"],
            _("depreciated cost × %(coefficient)s") % {"coefficient": coefficient},
            emphasis=True,
        ),
    )


def _cost_table(result: dict) -> Table:
    items = result["items"]
    rows = tuple(
        (
            str(COST_ITEM_LABELS[name]).capitalize(),
            _("direct") if name in DIRECT_COST_ITEMS else _("indirect"),
            format_money(_decimal(items[name])),
        )
        for name in COST_ITEMS
    )
    return Table(
        caption=_("Cost items at replacement cost"),
        columns=(_("Item"), _("Kind"), _("Amount")),
        rows=rows,
        numeric=(False, False, True),
        footer=(_("Total cost"), "", format_money(_decimal(result["total_cost"]))),
    )


def _cost_body(valuation: Valuation) -> _Body:
    result = valuation.result
    return _Body(_cost_formula(), _cost_inputs(result), _cost_working(result), (_cost_table(result),))


def _income_inputs(result: dict) -> tuple[Figure, ...]:
    figures = [
        Figure(_("Variant"), str(VARIANT_LABELS[result["variant"]])),
        Figure(_("Remaining useful life"), format_years(int(result["useful_life_years"])), _("n, whole years")),
        Figure(_("Discount rate"), format_rate(_decimal(result["discount_rate"])), _("r")),
        Figure(
            _("Attribution share"),
            format_rate(_decimal(result["attribution_share"])),
            _("share of the income due to the data"),
        ),
    ]
    if result.get("royalty_rate") is not None:
        figures.append(Figure(_("Royalty rate"), format_rate(_decimal(result["royalty_rate"]))))
    if result.get("split_share") is not None:
        figures.append(Figure(_("Profit split share"), format_rate(_decimal(result["split_share"]))))
    growth_note = _("extends a series shorter than the useful life")
    figures.append(Figure(_("Growth rate"), format_rate(_decimal(result["growth_rate"])), growth_note))
    figures.append(Figure(_("Mid-year convention"), format_yes_no(bool(result.get("mid_year")))))
    return tuple(figures)


def _income_working(result: dict) -> tuple[Figure, ...]:
    years = int(result["useful_life_years"])
    return (
        _money_figure(_("Total income"), result["total_income"], format_years(years)),
        _money_figure(_("Total attributable income"), result["total_attributable_income"], _("before discounting")),
        _money_figure(_("Value"), result["value"], _("Σ present values"), emphasis=True),
    )


def _income_table(result: dict) -> Table:
    rows = result["rows"]
    sources = [] if result["variant"] == "direct" else list(VARIANT_SERIES[result["variant"]])
    columns = (
        _("Year"),
        *(str(SOURCE_LABELS[name]) for name in sources),
        str(INCOME_LABELS[result["variant"]]),
        _("Attributable income"),
        _("Discount factor"),
        _("Present value"),
    )
    body = tuple(
        (
            f"{row['year']}*" if row.get("extrapolated") else str(row["year"]),
            *(format_money(_decimal(row["sources"][name])) for name in sources),
            format_money(_decimal(row["income"])),
            format_money(_decimal(row["attributable_income"])),
            format_coefficient(_decimal(row["discount_factor"]), 6),
            format_money(_decimal(row["present_value"])),
        )
        for row in rows
    )
    footer = (
        _("Total"),
        *("" for _name in sources),
        format_money(_decimal(result["total_income"])),
        format_money(_decimal(result["total_attributable_income"])),
        "",
        format_money(_decimal(result["value"])),
    )
    note = (
        _("* extended from the last given year with the growth rate")
        if any(r.get("extrapolated") for r in rows)
        else ""
    )
    numeric = (False, *(True for _column in columns[1:]))
    return Table(_("Income by year"), columns, body, numeric, footer, note)


def _income_body(valuation: Valuation) -> _Body:
    result = valuation.result
    formula = _income_formula(result)
    return _Body(formula, _income_inputs(result), _income_working(result), (_income_table(result),))


def _market_inputs(result: dict) -> tuple[Figure, ...]:
    comparables = result["comparables"]
    exchange = sum(1 for item in comparables if item.get("source") == "exchange")
    note = _("%(exchange)d settled on the exchange, %(manual)d entered by hand") % {
        "exchange": exchange,
        "manual": len(comparables) - exchange,
    }
    return (
        Figure(_("Aggregation"), str(AGGREGATION_LABELS[result["aggregation"]])),
        Figure(_("Comparable transactions"), str(len(comparables)), note),
    )


def _market_working(result: dict) -> tuple[Figure, ...]:
    figures = [
        Figure(_("Number of comparables"), str(result["count"])),
        _money_figure(_("Lowest adjusted price"), result["minimum"]),
        _money_figure(_("Highest adjusted price"), result["maximum"]),
        _money_figure(_("Mean adjusted price"), result["mean"]),
        _money_figure(_("Standard deviation"), result["standard_deviation"], _("population")),
        Figure(
            _("Coefficient of variation"),
            format_coefficient(_decimal(result["coefficient_of_variation"])),
            _("standard deviation / mean"),
        ),
    ]
    if result.get("weight_total") is not None:
        figures.append(Figure(_("Total weight"), format_coefficient(_decimal(result["weight_total"]))))
    aggregation = str(AGGREGATION_LABELS[result["aggregation"]])
    figures.append(_money_figure(_("Value"), result["value"], aggregation.lower(), emphasis=True))
    return tuple(figures)


def _source_label(source: str) -> str:
    return _("exchange") if source == "exchange" else _("by hand")


def _market_table(result: dict) -> Table:
    weighted = result["aggregation"] == "weighted"
    columns = (
        "#",
        _("Reference"),
        _("Source"),
        _("Price"),
        *(str(COEFFICIENT_LABELS[name]).capitalize() for name in COEFFICIENTS),
        _("Combined"),
        _("Adjusted price"),
        *((_("Weight"),) if weighted else ()),
    )
    rows = tuple(
        (
            str(int(item["index"]) + 1),
            item.get("reference") or DASH,
            _source_label(item.get("source", "manual")),
            format_money(_decimal(item["price"])),
            *(format_coefficient(_decimal(item["coefficients"][name])) for name in COEFFICIENTS),
            format_coefficient(_decimal(item["combined_coefficient"])),
            format_money(_decimal(item["adjusted_price"])),
            *((format_coefficient(_decimal(item["weight"])),) if weighted else ()),
        )
        for item in result["comparables"]
    )
    footer = [""] * len(columns)
    footer[1], footer[len(COEFFICIENTS) + 5] = _("Value"), format_money(_decimal(result["value"]))
    numeric = (True, False, False, *(True for _column in columns[3:]))
    return Table(_("Comparable transactions and their adjustment"), columns, rows, numeric, tuple(footer))


def _market_body(valuation: Valuation) -> _Body:
    result = valuation.result
    formula = _market_formula(result)
    return _Body(formula, _market_inputs(result), _market_working(result), (_market_table(result),))


def _method_label(method: str) -> str:
    return str(Method(method).label) if method in Method.values else method


def _composite_inputs(valuation: Valuation) -> tuple[Figure, ...]:
    sources = valuation.inputs.get("sources", [])
    figures = []
    for index, item in enumerate(valuation.result["contributions"]):
        note = _("weight %(weight)s") % {"weight": format_rate(_decimal(item["weight"]))}
        if index < len(sources):
            note = _("valuation no. %(id)s, %(note)s") % {"id": sources[index], "note": note}
        figures.append(_money_figure(_method_label(item["method"]), item["value"], note))
    return tuple(figures)


def _composite_table(result: dict) -> Table:
    rows = tuple(
        (
            _method_label(item["method"]),
            format_money(_decimal(item["value"])),
            format_rate(_decimal(item["weight"])),
            format_money(_decimal(item["contribution"])),
        )
        for item in result["contributions"]
    )
    total = (_("Total"), "", format_rate(_decimal(result["weight_total"])), format_money(_decimal(result["value"])))
    columns = (_("Method"), _("Value"), _("Weight"), _("Contribution"))
    return Table(_("Weighted reconciliation"), columns, rows, (False, True, True, True), total)


def _composite_body(valuation: Valuation) -> _Body:
    result = valuation.result
    working = (
        Figure(_("Total weight"), format_rate(_decimal(result["weight_total"])), _("must be exactly 100 %")),
        _money_figure(_("Value"), result["value"], _("Σ contributions"), emphasis=True),
    )
    return _Body(_composite_formula(), _composite_inputs(valuation), working, (_composite_table(result),))


BODIES: dict[str, Callable[[Valuation], _Body]] = {
    Method.COST: _cost_body,
    Method.INCOME: _income_body,
    Method.MARKET: _market_body,
    Method.COMPOSITE: _composite_body,
}


# --- tornado ---------------------------------------------------------------------------------------------------


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
        return format_change(_decimal(value))
    if name == "useful_life_years":
        return format_years(int(value))
    if name in _RATE_PARAMETERS:
        return format_rate(_decimal(value))
    return format_coefficient(_decimal(value))


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


def _tornado(valuation: Valuation) -> tuple[tuple[TornadoBar, ...], float, tuple[Tick, ...]]:
    rows = sorted(valuation.sensitivity or [], key=lambda row: (-_decimal(row["swing"]), row["parameter"]))
    if not rows:
        return (), 50.0, ()
    values = [valuation.value, *(_decimal(r["low_value"]) for r in rows), *(_decimal(r["high_value"]) for r in rows)]
    start, end, step = _axis(values)
    bars = tuple(
        TornadoBar(
            parameter=parameter_label(row["parameter"]),
            low_input=format_parameter_input(row["parameter"], row["low_input"]),
            high_input=format_parameter_input(row["parameter"], row["high_input"]),
            low_value=_decimal(row["low_value"]),
            high_value=_decimal(row["high_value"]),
            swing=_decimal(row["swing"]),
            low_pct=_position(_decimal(row["low_value"]), start, end),
            high_pct=_position(_decimal(row["high_value"]), start, end),
        )
        for row in rows
    )
    label = format_whole_money if step >= 1 else format_money
    marks = [start + index * step for index in range(round((end - start) / step) + 1)]
    ticks = tuple(Tick(_position(mark, start, end), label(Decimal(repr(mark)))) for mark in marks)
    return bars, _position(valuation.value, start, end), ticks


def _tornado_note(valuation: Valuation) -> str:
    if valuation.method == Method.COMPOSITE:
        return _("A composite has no sensitivity analysis of its own; see the tornado charts of its components.")
    return _(
        "Each bar re-runs the method with one parameter at its low and then at its high input, all others at their "
        "base; the largest swing comes first."
    )


def _range_note(valuation: Valuation) -> str:
    if valuation.method == Method.COMPOSITE:
        return _("The weighted sum of the components' own low and high values.")
    return _("The lowest and highest value over the sensitivity analysis.")


# --- accounting ------------------------------------------------------------------------------------------------


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
        figures.append(_money_figure(_("Monthly amortisation"), first.amortisation, note))
    return figures


def _pledge_figures(books: services.Accounting, valuation: Valuation) -> list[Figure]:
    own = valuation.pledge_ratio is not None
    ratio_note = _("set for this valuation") if own else _("the exchange's default ratio")
    return [
        Figure(_("Pledge ratio"), format_rate(books.pledge.ratio), ratio_note),
        _money_figure(_("Lending ceiling"), books.pledge.ceiling, _("value × pledge ratio"), emphasis=True),
    ]


def _accounting_figures(books: services.Accounting, valuation: Valuation) -> tuple[Figure, ...]:
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


def _schedule(books: services.Accounting) -> Table | None:
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


# --- performer and disclaimer ----------------------------------------------------------------------------------


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
    advice = _("It is not investment advice.")
    return f"{text} {advice}"


# --- the report ------------------------------------------------------------------------------------------------


def valuation_report(valuation: Valuation) -> Report:
    """Everything the report page and the PDF show, formatted; `ValuationNotDone` unless the valuation is done."""
    books = services.valuation_accounting(valuation)
    body = BODIES[valuation.method](valuation)
    bars, base_pct, ticks = _tornado(valuation)
    accredited = valuation.performer_kind == PerformerKind.ACCREDITED
    schedule = _schedule(books)
    return Report(
        valuation=valuation,
        title=_("Valuation of %(product)s") % {"product": valuation.product.title},
        method=_method_label(valuation.method),
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
        accounting=_accounting_figures(books, valuation),
        schedule=schedule,
        disclaimer=_disclaimer(accredited),
        status=valuation.get_status_display(),
        product=valuation.product.title,
        version=f"v{valuation.version.number}" if valuation.version_id else "",
        holding_purpose=valuation.get_holding_purpose_display(),
        range_note=_range_note(valuation),
        tornado_note=_tornado_note(valuation),
        tornado_base_pct=base_pct,
        tornado_ticks=ticks,
        schedule_note=schedule.note if schedule else "",
    )
