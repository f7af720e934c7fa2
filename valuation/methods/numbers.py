"""Decimal arithmetic shared by the valuation methods: rounding rules, coercion of inputs, the problem collector."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
from collections.abc import Callable
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any

from django.utils.translation import gettext_lazy as _

from valuation.methods.errors import ValuationInputError, raise_errors

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
FACTOR_PLACES = Decimal("0.000001")  # discount factors: 6 decimal places
COEFFICIENT_PLACES = Decimal("0.0001")  # quality coefficient, coefficient of variation: 4 decimal places


# Every method computes in this context, whatever the caller's: 50 significant digits, and errors trapped.
CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])


def decimal_context[**P, R](function: Callable[P, R]) -> Callable[P, R]:
    """Run a method in CONTEXT; figures too large to round to the cent become an `out_of_range` input error."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(CONTEXT):
            try:
                return function(*args, **kwargs)
            except DecimalException as error:
                message = _("The figures are too large to compute; check the amounts, rates and useful life.")
                raise ValuationInputError("non_field_errors", message, "out_of_range") from error

    return wrapper


def money(value: Decimal) -> Decimal:
    """Round to the cent, half up: applied at the end of every step a report shows."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_factor(value: Decimal) -> Decimal:
    return value.quantize(FACTOR_PLACES, rounding=ROUND_HALF_UP)


def round_coefficient(value: Decimal) -> Decimal:
    return value.quantize(COEFFICIENT_PLACES, rounding=ROUND_HALF_UP)


def to_decimal(value: object) -> Decimal | None:
    """A finite Decimal from a Decimal, int, str or float (through its shortest repr); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


class Problems:
    """Collects the problems of one set of inputs so that they are reported together."""

    def __init__(self) -> None:
        self.errors: list[ValuationInputError] = []

    def add(self, field: str, message: str, code: str) -> None:
        self.errors.append(ValuationInputError(field, message, code))

    def number(self, value: object, field: str) -> Decimal | None:
        number = to_decimal(value)
        if number is None:
            self.add(field, _("%(field)s must be a number.") % {"field": field}, "invalid_number")
        return number

    def money(self, value: object, field: str) -> Decimal | None:
        number = self.number(value, field)
        return None if number is None else money(number)

    def whole(self, value: object, field: str, code: str) -> int | None:
        """A whole number given as int, or as a Decimal / str with no fraction (e.g. a form's Decimal("5"))."""
        number = to_decimal(value)
        if number is None or number != number.to_integral_value():
            self.add(field, _("%(field)s must be a whole number.") % {"field": field}, code)
            return None
        return int(number)

    def within(
        self, value: object, field: str, code: str, *, low: Decimal, high: Decimal, interval: str
    ) -> Decimal | None:
        """A number in the interval, written like `[)` (closed low, open high); None (and a problem) otherwise."""
        number = self.number(value, field)
        if number is None:
            return None
        above = number >= low if interval[0] == "[" else number > low
        below = number <= high if interval[1] == "]" else number < high
        if not (above and below):
            bounds = f"{interval[0]}{low}, {high}{interval[1]}"
            self.add(field, _("%(field)s must be in %(bounds)s.") % {"field": field, "bounds": bounds}, code)
            return None
        return number

    def check(self) -> None:
        raise_errors(self.errors)


def as_data(value: Any) -> Any:
    """A JSON-ready copy of inputs or a result: dataclasses become dicts, Decimals strings, dates ISO strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: as_data(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): as_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_data(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
