"""What the report is made of: figures, tables, tornado bars and the report itself."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from valuation.models import Valuation


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
class Body:
    """The method-specific part of a report: its formula, inputs, working and tables."""

    formula: tuple[str, ...]
    inputs: tuple[Figure, ...]
    working: tuple[Figure, ...]
    tables: tuple[Table, ...]


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
