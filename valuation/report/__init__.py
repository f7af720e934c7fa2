"""The valuation report: one presenter behind the HTML report page and the PDF (`valuation.pdf`).

Everything here is read from the stored valuation (inputs, `result` = `methods.as_data(result)`, sensitivity rows)
and formatted once, in the active language, so the page and the PDF cannot disagree.
"""

from valuation.report.accounting import ASSET_CLASS_LABELS, SCHEDULE_ROWS, STANDARD_LABELS
from valuation.report.build import BODIES, valuation_report
from valuation.report.formatting import (
    DASH,
    MINUS,
    format_change,
    format_coefficient,
    format_money,
    format_rate,
    format_score,
    format_whole_money,
    format_years,
    format_yes_no,
)
from valuation.report.income import INCOME_LABELS, SOURCE_LABELS, VARIANT_LABELS
from valuation.report.market import AGGREGATION_LABELS, COEFFICIENT_LABELS
from valuation.report.model import Figure, Report, Table, Tick, TornadoBar
from valuation.report.sensitivity import PARAMETER_LABELS, format_parameter_input, parameter_label

__all__ = [
    "AGGREGATION_LABELS",
    "ASSET_CLASS_LABELS",
    "BODIES",
    "COEFFICIENT_LABELS",
    "DASH",
    "INCOME_LABELS",
    "MINUS",
    "PARAMETER_LABELS",
    "SCHEDULE_ROWS",
    "SOURCE_LABELS",
    "STANDARD_LABELS",
    "VARIANT_LABELS",
    "Figure",
    "Report",
    "Table",
    "Tick",
    "TornadoBar",
    "format_change",
    "format_coefficient",
    "format_money",
    "format_parameter_input",
    "format_rate",
    "format_score",
    "format_whole_money",
    "format_years",
    "format_yes_no",
    "parameter_label",
    "valuation_report",
]
