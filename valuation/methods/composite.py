"""Composite value: weighted reconciliation of the methods run.

    contribution_i = weight_i * value_i          → cent
    value          = Σ contribution_i            (the shown contributions add up to the value)

Weights are Decimals ≥ 0 that sum to exactly 1 (no tolerance: 0.6 + 0.4, not 0.33 + 0.33 + 0.33).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from valuation.methods.numbers import ONE, ZERO, Problems, decimal_context, money


@dataclass(frozen=True)
class CompositeComponent:
    """One method's value and the weight it gets in the reconciliation."""

    method: str
    value: Decimal
    weight: Decimal

    @classmethod
    def of(cls, result: Any, weight: Decimal) -> CompositeComponent:
        """A component from a method result (anything with `method` and `value`)."""
        return cls(method=result.method, value=result.value, weight=weight)


@dataclass(frozen=True)
class CompositeInputs:
    components: tuple[CompositeComponent, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompositeInputs:
        return cls(components=tuple(CompositeComponent(**item) for item in data.get("components", ())))


@dataclass(frozen=True)
class Contribution:
    method: str
    value: Decimal
    weight: Decimal
    contribution: Decimal


@dataclass(frozen=True)
class CompositeResult:
    contributions: tuple[Contribution, ...]
    weight_total: Decimal
    value: Decimal
    method: str = field(default="composite", init=False)


def _validated(inputs: CompositeInputs) -> list[tuple[str, Decimal, Decimal]]:
    problems = Problems()
    if not inputs.components:
        problems.add("components", _("Reconcile at least one method's value."), "no_components")
    valid = []
    for index, component in enumerate(inputs.components):
        value = problems.money(component.value, f"components[{index}].value")
        weight = problems.number(component.weight, f"components[{index}].weight")
        if weight is not None and weight < 0:
            problems.add(f"components[{index}].weight", _("A weight cannot be negative."), "negative_weight")
        valid.append((component.method, value, weight))
    if inputs.components and not problems.errors and sum(weight for _m, _v, weight in valid) != ONE:
        total = sum(weight for _m, _v, weight in valid)
        message = _("The weights must add up to exactly 1; they add up to %(total)s.") % {"total": total}
        problems.add("components", message, "weights_sum")
    problems.check()
    return valid


@decimal_context
def composite(inputs: CompositeInputs) -> CompositeResult:
    """value = Σ weight_i * value_i, each product rounded to the cent; weights ≥ 0 summing to exactly 1."""
    contributions = tuple(
        Contribution(method, value, weight, money(weight * value)) for method, value, weight in _validated(inputs)
    )
    return CompositeResult(
        contributions=contributions,
        weight_total=sum((item.weight for item in contributions), ZERO),
        value=sum((item.contribution for item in contributions), ZERO),
    )
