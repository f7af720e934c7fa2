"""One-at-a-time sensitivity analysis of a method's key parameters, the data behind a tornado chart.

Each parameter is set to its low and then its high input with every other input at its base; the method is re-run
each time. swing = |value at high - value at low|; rows come sorted by swing, largest first (ties by name). The range
is the lowest and highest value over the base run and every re-run.

Parameter names are fields of the method's inputs (`discount_rate`, `useful_life_years`, `obsolescence_rate`,
`adjustment_coefficient`, …), whose low and high are the values to use; or, for the market approach,
`comparables.<coefficient>` (every comparable) and `comparables[i].<coefficient>` (one comparable), whose low and
high are factors applied to that coefficient (0.9 and 1.1 for ±10 %).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from valuation.methods.cost import CostInputs, cost_approach
from valuation.methods.errors import ValuationInputError
from valuation.methods.income import IncomeInputs, income_approach
from valuation.methods.market import COEFFICIENTS, MarketInputs, market_approach
from valuation.methods.numbers import ONE, ZERO, to_decimal

RATE_STEP = Decimal("0.05")  # obsolescence and profit rates: ± 5 percentage points
DISCOUNT_STEP = Decimal("0.02")  # discount rate: ± 2 percentage points
COEFFICIENT_STEP = Decimal("0.1")  # value adjustment coefficient: ± 0.1
RELATIVE_STEP = Decimal("0.1")  # attribution share, royalty rate, split share, comparable coefficients: ± 10 %
RATE_CEILING = Decimal("0.99")  # rates that must stay below 100 % are capped here
COEFFICIENT_FLOOR = Decimal("0.01")

METHODS: dict[str, tuple[Callable[[Any], Any], type]] = {
    "cost": (cost_approach, CostInputs),
    "income": (income_approach, IncomeInputs),
    "market": (market_approach, MarketInputs),
}
_COMPARABLE_KEY = re.compile(r"^comparables(?:\[(\d+)\])?\.(\w+)$")


@dataclass(frozen=True)
class SensitivityRow:
    parameter: str
    base_input: Decimal | int  # int for the useful life
    low_input: Decimal | int
    high_input: Decimal | int
    low_value: Decimal  # the method's value with the parameter at low_input
    high_value: Decimal
    swing: Decimal  # |high_value - low_value|


@dataclass(frozen=True)
class SensitivityResult:
    base_value: Decimal
    rows: tuple[SensitivityRow, ...]  # largest swing first
    low: Decimal  # lowest value over the base run and every re-run
    high: Decimal


def _unknown(name: str) -> ValuationInputError:
    message = _("%(name)s is not a parameter of this method.") % {"name": name}
    return ValuationInputError(name, message, "sensitivity_parameter")


def _scaled_comparables(inputs: MarketInputs, index: int | None, coefficient: str, factor: Decimal) -> MarketInputs:
    if coefficient not in COEFFICIENTS or (index is not None and index >= len(inputs.comparables)):
        raise _unknown(f"comparables[{index}].{coefficient}" if index is not None else f"comparables.{coefficient}")
    comparables = tuple(
        dataclasses.replace(item, **{coefficient: to_decimal(getattr(item, coefficient)) * factor})
        if index in (None, position) and to_decimal(getattr(item, coefficient)) is not None
        else item
        for position, item in enumerate(inputs.comparables)
    )
    return dataclasses.replace(inputs, comparables=comparables)


def with_parameter(inputs: Any, name: str, value: Decimal) -> Any:
    """A copy of `inputs` with one parameter set (a field) or scaled (`comparables…` keys, by a factor)."""
    match = _COMPARABLE_KEY.match(name)
    if match and isinstance(inputs, MarketInputs):
        index = int(match[1]) if match[1] is not None else None
        return _scaled_comparables(inputs, index, match[2], value)
    if name not in {f.name for f in dataclasses.fields(inputs)} or name in ("variant", "mid_year", "aggregation"):
        raise _unknown(name)
    return dataclasses.replace(inputs, **{name: value})


def _base_input(inputs: Any, base: Any, name: str) -> Decimal:
    if _COMPARABLE_KEY.match(name):
        return ONE  # comparable keys are factors on the base coefficients
    value = getattr(base, name, None)  # the figure actually used, e.g. the coefficient from the quality score
    return value if value is not None else getattr(inputs, name)


def sensitivity(
    method_fn: Callable[[Any], Any], inputs: Any, parameters: dict[str, tuple[Decimal, Decimal]] | None = None
) -> SensitivityResult:
    """Re-run `method_fn` with each parameter at its low and its high; rows sorted by swing, and the overall range.

    `parameters` defaults to `default_sensitivity_parameters(method_fn, inputs)`.
    """
    base = method_fn(inputs)
    if parameters is None:
        parameters = _defaults(_method_name(method_fn), base)
    rows = []
    for name, (low, high) in parameters.items():
        low_value = method_fn(with_parameter(inputs, name, low)).value
        high_value = method_fn(with_parameter(inputs, name, high)).value
        base_input = _base_input(inputs, base, name)
        rows.append(SensitivityRow(name, base_input, low, high, low_value, high_value, abs(high_value - low_value)))
    rows.sort(key=lambda row: (-row.swing, row.parameter))
    values = [base.value, *(row.low_value for row in rows), *(row.high_value for row in rows)]
    return SensitivityResult(base_value=base.value, rows=tuple(rows), low=min(values), high=max(values))


def _around(value: Decimal, step: Decimal, *, floor: Decimal, ceiling: Decimal | None) -> tuple[Decimal, Decimal]:
    high = value + step if ceiling is None else min(value + step, ceiling)
    return max(value - step, floor), high


def _relative(value: Decimal, *, ceiling: Decimal | None = ONE) -> tuple[Decimal, Decimal]:
    high = value * (ONE + RELATIVE_STEP)
    return value * (ONE - RELATIVE_STEP), high if ceiling is None else min(high, ceiling)


def _method_name(method: str | Callable[[Any], Any]) -> str:
    for name, (function, _inputs) in METHODS.items():
        if method in (name, function):
            return name
    raise ValuationInputError(
        "method", _("Sensitivity analysis covers the cost, income and market approaches."), "sensitivity_method"
    )


def default_sensitivity_parameters(
    method: str | Callable[[Any], Any], inputs: Any
) -> dict[str, tuple[Decimal, Decimal]]:
    """The key parameters of a method around its (validated) inputs, kept inside the ranges the method accepts.

    cost:   obsolescence rate and profit rate ± 5 pp (within [0, 0.99]), adjustment coefficient ± 0.1 (≥ 0.01);
    income: discount rate ± 2 pp (within [-0.99, 0.99]), useful life ± 1 year (≥ 1), attribution share ± 10 % (≤ 1),
            and the royalty rate or the split share ± 10 % (≤ 1) for those variants;
    market: each kind of comparable coefficient ± 10 % on every comparable.
    """
    name = _method_name(method)
    return _defaults(name, METHODS[name][0](inputs))


def _defaults(name: str, base: Any) -> dict[str, tuple[Decimal, Decimal]]:
    if name == "cost":
        return {
            "obsolescence_rate": _around(base.obsolescence_rate, RATE_STEP, floor=ZERO, ceiling=RATE_CEILING),
            "profit_rate": _around(base.profit_rate, RATE_STEP, floor=ZERO, ceiling=RATE_CEILING),
            "adjustment_coefficient": _around(
                base.adjustment_coefficient, COEFFICIENT_STEP, floor=COEFFICIENT_FLOOR, ceiling=None
            ),
        }
    if name == "income":
        parameters = {
            "discount_rate": _around(base.discount_rate, DISCOUNT_STEP, floor=-RATE_CEILING, ceiling=RATE_CEILING),
            "useful_life_years": (max(base.useful_life_years - 1, 1), base.useful_life_years + 1),
            "attribution_share": _relative(base.attribution_share),
        }
        for multiplier in ("royalty_rate", "split_share"):
            if getattr(base, multiplier) is not None:
                parameters[multiplier] = _relative(getattr(base, multiplier))
        return parameters
    return {f"comparables.{coefficient}": _relative(ONE, ceiling=None) for coefficient in COEFFICIENTS}
