from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def money(value: Decimal | None) -> str:
    """An amount in yuan as the reports write it (¥1,234,567.89); a dash when there is none."""
    if value is None or value == "":
        return "—"
    from valuation.report import format_money

    return format_money(Decimal(value))
