"""Data-asset valuation methods as pure functions over Decimal.

Follows the China Appraisal Society's data-asset valuation guidance (2023): cost, income and market approaches, a
weighted composite, and a one-at-a-time sensitivity analysis for the tornado chart. Each method takes a frozen
inputs dataclass, validates it (raising `ValuationInputError`, or `ValuationInputErrors` for several problems at
once, each with a `field` and a stable `code`) and returns a frozen result with every figure the report shows.

Rounding: money is rounded half up to the cent at the end of each step the report shows (each module's docstring
says which); discount factors to 6 places; the quality adjustment coefficient and the coefficient of variation to
4 places; rates and market coefficients are used as given. Every method computes in a fixed Decimal context
(50 digits) whatever the caller's, and figures too large to round become an `out_of_range` error.
`as_data(result)` gives a JSON-ready copy; `<Inputs>.from_dict(data)` reads one back.
"""

from valuation.methods.composite import CompositeComponent, CompositeInputs, CompositeResult, Contribution, composite
from valuation.methods.cost import (
    COST_ITEM_LABELS,
    COST_ITEMS,
    DIRECT_COST_ITEMS,
    CostInputs,
    CostResult,
    cost_approach,
    quality_adjustment,
)
from valuation.methods.errors import ValuationInputError, ValuationInputErrors
from valuation.methods.income import VARIANTS, IncomeInputs, IncomeResult, IncomeYear, discount_factor, income_approach
from valuation.methods.market import (
    AGGREGATIONS,
    COEFFICIENTS,
    AdjustedComparable,
    Comparable,
    MarketInputs,
    MarketResult,
    market_approach,
)
from valuation.methods.numbers import as_data, money
from valuation.methods.sensitivity import (
    SensitivityResult,
    SensitivityRow,
    default_sensitivity_parameters,
    sensitivity,
    with_parameter,
)

METHOD_FUNCTIONS = {"cost": cost_approach, "income": income_approach, "market": market_approach, "composite": composite}
INPUT_TYPES = {"cost": CostInputs, "income": IncomeInputs, "market": MarketInputs, "composite": CompositeInputs}

__all__ = [
    "AGGREGATIONS",
    "COEFFICIENTS",
    "COST_ITEMS",
    "COST_ITEM_LABELS",
    "DIRECT_COST_ITEMS",
    "INPUT_TYPES",
    "METHOD_FUNCTIONS",
    "VARIANTS",
    "AdjustedComparable",
    "Comparable",
    "CompositeComponent",
    "CompositeInputs",
    "CompositeResult",
    "Contribution",
    "CostInputs",
    "CostResult",
    "IncomeInputs",
    "IncomeResult",
    "IncomeYear",
    "MarketInputs",
    "MarketResult",
    "SensitivityResult",
    "SensitivityRow",
    "ValuationInputError",
    "ValuationInputErrors",
    "as_data",
    "composite",
    "cost_approach",
    "default_sensitivity_parameters",
    "discount_factor",
    "income_approach",
    "market_approach",
    "money",
    "quality_adjustment",
    "sensitivity",
    "with_parameter",
]
