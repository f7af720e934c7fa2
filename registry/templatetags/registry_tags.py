from django import template

from registry.rules import localised

register = template.Library()


@register.filter
def localised_rules(results: list) -> list[dict]:
    """Negative-list results with built-in rules in the reader's language."""
    return localised(results or [])
