"""Cost approach (China Appraisal Society data-asset valuation guidance, 2023).

    direct cost       = planning + collection + storage + processing and cleaning + labelling + maintenance
    total cost        = direct cost + indirect costs
    profit            = total cost * reasonable profit rate                                  → cent
    replacement cost  = total cost + profit                 ( = total cost * (1 + profit rate) )
    obsolescence      = replacement cost * obsolescence rate                                 → cent
    depreciated cost  = replacement cost - obsolescence     ( = replacement cost * (1 - obsolescence rate) )
    value             = depreciated cost * value adjustment coefficient                      → cent

Costs are replacement costs (what re-creating the data would cost at the valuation date), each rounded to the cent
on entry. The adjustment coefficient is `quality_adjustment(quality score)` unless an explicit coefficient is given.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from valuation.methods.errors import ValuationInputError
from valuation.methods.numbers import ONE, ZERO, Problems, decimal_context, money, round_coefficient, to_decimal

DIRECT_COST_ITEMS = ("planning", "collection", "storage", "processing", "labelling", "maintenance")
COST_ITEMS = (*DIRECT_COST_ITEMS, "indirect")
COST_ITEM_LABELS = {
    "planning": _("planning"),
    "collection": _("collection"),
    "storage": _("storage"),
    "processing": _("processing and cleaning"),
    "labelling": _("labelling"),
    "maintenance": _("maintenance"),
    "indirect": _("indirect"),
}

# quality_adjustment: (score, coefficient) corners of the piecewise-linear mapping.
QUALITY_FLOOR = (Decimal(0), Decimal("0.5"))
QUALITY_PAR = (Decimal(80), Decimal("1.0"))
QUALITY_TOP = (Decimal(100), Decimal("1.1"))


@decimal_context
def quality_adjustment(score: Decimal) -> Decimal:
    """Value adjustment coefficient for a product's overall quality score (0-100), rounded half up to 4 places.

    Two straight lines through (0, 0.5), (80, 1.0) and (100, 1.1):
        score ≤ 80:  coefficient = 0.5 + score * 0.5 / 80   ( = 0.5 + score / 160)
        score > 80:  coefficient = 1.0 + (score - 80) * 0.1 / 20   ( = 1.0 + (score - 80) / 200)
    80 is the par score (no adjustment); a perfect score earns at most a 10 % premium, a worthless one halves the
    value. The registry's scores are floats with one decimal: pass `Decimal(str(score))`.
    """
    number = to_decimal(score)
    if number is None or not QUALITY_FLOOR[0] <= number <= QUALITY_TOP[0]:
        raise ValuationInputError("quality_score", _("The quality score must be between 0 and 100."), "quality_score")
    (low_score, low_coef), (par_score, par_coef) = QUALITY_FLOOR, QUALITY_PAR
    if number <= par_score:
        return round_coefficient(low_coef + (number - low_score) * (par_coef - low_coef) / (par_score - low_score))
    top_score, top_coef = QUALITY_TOP
    return round_coefficient(par_coef + (number - par_score) * (top_coef - par_coef) / (top_score - par_score))


@dataclass(frozen=True)
class CostInputs:
    """Cost approach inputs: money at replacement cost, rates as fractions (0.1 = 10 %)."""

    planning: Decimal = ZERO
    collection: Decimal = ZERO
    storage: Decimal = ZERO
    processing: Decimal = ZERO  # processing and cleaning
    labelling: Decimal = ZERO
    maintenance: Decimal = ZERO
    indirect: Decimal = ZERO
    profit_rate: Decimal = ZERO
    obsolescence_rate: Decimal = ZERO
    quality_score: Decimal | None = None
    adjustment_coefficient: Decimal | None = None  # overrides the coefficient taken from the quality score

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CostInputs:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclass(frozen=True)
class CostResult:
    """The cost approach's working: every figure a report shows, and the value."""

    items: dict[str, Decimal]  # the seven cost items, in COST_ITEMS order
    direct_cost: Decimal
    indirect_cost: Decimal
    total_cost: Decimal
    profit_rate: Decimal
    profit: Decimal
    replacement_cost: Decimal
    obsolescence_rate: Decimal
    obsolescence: Decimal
    depreciated_cost: Decimal
    quality_score: Decimal | None
    adjustment_coefficient: Decimal
    coefficient_source: str  # "quality_score" or "override"
    value: Decimal
    method: str = field(default="cost", init=False)


def _validated(inputs: CostInputs) -> tuple[dict[str, Decimal], Decimal, Decimal, Decimal | None, Decimal | None]:
    problems = Problems()
    items: dict[str, Decimal] = {}
    for name in COST_ITEMS:
        amount = problems.money(getattr(inputs, name), name)
        if amount is not None and amount < 0:
            message = _("The %(item)s cost cannot be negative.") % {"item": COST_ITEM_LABELS[name]}
            problems.add(name, message, "negative_cost")
        items[name] = amount if amount is not None else ZERO
    rates = {
        name: problems.within(getattr(inputs, name), name, name, low=ZERO, high=ONE, interval="[)")
        for name in ("profit_rate", "obsolescence_rate")
    }
    score = coefficient = None
    if inputs.adjustment_coefficient is not None:
        coefficient = problems.number(inputs.adjustment_coefficient, "adjustment_coefficient")
        if coefficient is not None and coefficient <= 0:
            message = _("The adjustment coefficient must be greater than 0.")
            problems.add("adjustment_coefficient", message, "adjustment_coefficient")
    if inputs.quality_score is not None:
        score = problems.within(
            inputs.quality_score, "quality_score", "quality_score", low=ZERO, high=Decimal(100), interval="[]"
        )
    elif inputs.adjustment_coefficient is None:
        message = _("Give the product's quality score or an explicit adjustment coefficient.")
        problems.add("quality_score", message, "quality_missing")
    problems.check()
    return items, rates["profit_rate"], rates["obsolescence_rate"], score, coefficient


@decimal_context
def cost_approach(inputs: CostInputs) -> CostResult:
    """value = (Σ direct costs + indirect costs) * (1 + profit rate) * (1 - obsolescence rate) * coefficient.

    See the module docstring for the steps and where each is rounded to the cent.
    """
    items, profit_rate, obsolescence_rate, score, override = _validated(inputs)
    direct_cost = sum((items[name] for name in DIRECT_COST_ITEMS), ZERO)
    total_cost = direct_cost + items["indirect"]
    profit = money(total_cost * profit_rate)
    replacement_cost = total_cost + profit
    obsolescence = money(replacement_cost * obsolescence_rate)
    depreciated_cost = replacement_cost - obsolescence
    coefficient = override if override is not None else quality_adjustment(score)
    return CostResult(
        items=items,
        direct_cost=direct_cost,
        indirect_cost=items["indirect"],
        total_cost=total_cost,
        profit_rate=profit_rate,
        profit=profit,
        replacement_cost=replacement_cost,
        obsolescence_rate=obsolescence_rate,
        obsolescence=obsolescence,
        depreciated_cost=depreciated_cost,
        quality_score=score,
        adjustment_coefficient=coefficient,
        coefficient_source="override" if override is not None else "quality_score",
        value=money(depreciated_cost * coefficient),
    )
