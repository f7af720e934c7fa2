"""List filters for the valuation API.

`product` is a plain id filter, not a model choice: a choice filter would validate the id against every product and
so tell a caller which ids exist elsewhere. The querysets they narrow are already permission-scoped.
"""

import django_filters
from django.db.models import F, OrderBy
from django.utils.translation import gettext_lazy as _

from core.api import OrderingFilter, ordering
from registry.choices import Sector
from valuation.choices import Method, PerformerKind, ValuationStatus
from valuation.models import ComparableTransaction, Valuation


class NullsLastOrderingFilter(OrderingFilter):
    """Valuations not done yet have no value: they come last whichever way the list is sorted."""

    def get_ordering_value(self, param: str) -> OrderBy:
        name = super().get_ordering_value(param)
        field = F(name.lstrip("-"))
        return field.desc(nulls_last=True) if name.startswith("-") else field.asc(nulls_last=True)


class ValuationFilter(django_filters.FilterSet):
    product = django_filters.NumberFilter(field_name="product_id", help_text=_("Product id."))
    method = django_filters.ChoiceFilter(choices=Method.choices)
    status = django_filters.ChoiceFilter(choices=ValuationStatus.choices)
    performer_kind = django_filters.ChoiceFilter(
        choices=PerformerKind.choices, help_text=_("`self` for self-assessments, `accredited` for appraisals.")
    )
    ordering = ordering("created_at", "finished_at", "value", filter_class=NullsLastOrderingFilter)

    class Meta:
        model = Valuation
        fields = ["product", "method", "status", "performer_kind"]


class ComparableFilter(django_filters.FilterSet):
    sector = django_filters.ChoiceFilter(choices=Sector.choices)
    transacted_after = django_filters.DateFilter(
        field_name="transacted_on", lookup_expr="gte", help_text=_("On or after this date.")
    )
    transacted_before = django_filters.DateFilter(
        field_name="transacted_on", lookup_expr="lte", help_text=_("On or before this date.")
    )
    ordering = ordering("transacted_on", "created_at", "price")

    class Meta:
        model = ComparableTransaction
        fields = ["sector"]
