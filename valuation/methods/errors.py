"""Errors raised by the valuation methods: each names the input it is about and carries a stable code."""

from __future__ import annotations


class ValuationInputError(ValueError):
    """One bad input: `field` names it (dotted for nested inputs, e.g. `comparables[2].price`), `code` is stable."""

    def __init__(self, field: str, message: str, code: str) -> None:
        self.field = field
        self.message = message
        self.code = code
        super().__init__(f"{field}: {message}")

    @property
    def errors(self) -> list[ValuationInputError]:
        return [self]

    @property
    def codes(self) -> list[str]:
        return [error.code for error in self.errors]

    def as_dict(self) -> dict[str, list[dict[str, str]]]:
        """`{field: [{"code": ..., "message": ...}]}`, the shape of DRF's field errors."""
        out: dict[str, list[dict[str, str]]] = {}
        for error in self.errors:
            out.setdefault(error.field, []).append({"code": error.code, "message": str(error.message)})
        return out


class ValuationInputErrors(ValuationInputError):
    """Several bad inputs reported together.

    A subclass of `ValuationInputError` so one `except ValuationInputError` handles both; `field`, `message` and
    `code` are the first error's, `errors` lists them all.
    """

    def __init__(self, errors: list[ValuationInputError]) -> None:
        if not errors:
            raise ValueError("ValuationInputErrors needs at least one error")
        self._errors = list(errors)
        first = self._errors[0]
        ValueError.__init__(self, "; ".join(str(error) for error in self._errors))
        self.field, self.message, self.code = first.field, first.message, first.code

    @property
    def errors(self) -> list[ValuationInputError]:
        return list(self._errors)


def raise_errors(errors: list[ValuationInputError]) -> None:
    """Raise nothing, the one error, or all of them together."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ValuationInputErrors(errors)
