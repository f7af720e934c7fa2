"""List filters for the registry API.

`organization` and `product` are plain id filters, not model choices: a choice filter would validate the id against
every row and so tell a caller which ids exist elsewhere. The querysets they narrow are already visibility-scoped.
"""

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from core.api import ordering
from registry.choices import Classification, ProductStatus, Sector, SensitivityLevel
from registry.models import DataProduct, ProductVersion, ProfileStatus, VersionStatus

MAX_FILTER_TAGS = 20


class ProductFilter(django_filters.FilterSet):
    sector = django_filters.ChoiceFilter(choices=Sector.choices)
    classification = django_filters.ChoiceFilter(choices=Classification.choices)
    sensitivity_level = django_filters.TypedChoiceFilter(choices=SensitivityLevel.choices, coerce=int)
    status = django_filters.ChoiceFilter(
        choices=ProductStatus.choices, help_text="Other organisations' products are always `registered`."
    )
    organization = django_filters.NumberFilter(field_name="organization_id", help_text="Organisation id.")
    own = django_filters.BooleanFilter(field_name="is_own", help_text="Only (or no) products of your organisations.")
    tags = django_filters.CharFilter(method="filter_tags", help_text="Comma-separated tags; any of them matches.")
    quality_min = django_filters.NumberFilter(
        field_name="latest_quality_score",
        lookup_expr="gte",
        min_value=0,
        max_value=100,
        help_text="Minimum overall quality score (0-100) of the latest registered version.",
    )
    search = django_filters.CharFilter(method="filter_search", help_text="Words in the title or the summary.")
    ordering = ordering("title", "created_at", "updated_at", "registered_at", ("latest_quality_score", "quality_score"))

    class Meta:
        model = DataProduct
        fields = ["sector", "classification", "sensitivity_level", "status", "organization", "own"]

    def filter_tags(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        names = sorted({tag.strip().lower() for tag in value.split(",") if tag.strip()})
        if not names:
            return queryset
        if len(names) > MAX_FILTER_TAGS:
            raise ValidationError({"tags": [_("Filter by %(n)s tags at most.") % {"n": MAX_FILTER_TAGS}]})
        tagged = DataProduct.tags.through.objects.filter(tag__name__in=names).values("dataproduct_id")
        return queryset.filter(pk__in=tagged)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        for word in value.split()[:10]:
            queryset = queryset.filter(Q(title__icontains=word) | Q(summary__icontains=word))
        return queryset


class VersionFilter(django_filters.FilterSet):
    product = django_filters.NumberFilter(field_name="product_id", help_text="Product id.")
    status = django_filters.ChoiceFilter(choices=VersionStatus.choices)
    profile_status = django_filters.ChoiceFilter(choices=ProfileStatus.choices)
    ordering = ordering("created_at", "registered_at", "number", "size", "row_count")

    class Meta:
        model = ProductVersion
        fields = ["product", "status", "profile_status"]
