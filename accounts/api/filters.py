"""List filters for the accounts API.

`organization` is a plain id filter, not a model choice: a choice filter would validate the id against every
organisation and so tell a caller which ids exist elsewhere.
"""

import django_filters
from django.db.models import QuerySet

from accounts.choices import ApiKeyScope, Role, VerificationStatus
from accounts.models import ApiKey, Invitation, Membership, Organization
from core.api import ordering


class OrganizationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=VerificationStatus.choices)
    ordering = ordering("name", "created_at", "verified_at")

    class Meta:
        model = Organization
        fields = ["status"]


class MembershipFilter(django_filters.FilterSet):
    organization = django_filters.NumberFilter(field_name="organization_id", help_text="Organisation id.")
    role = django_filters.ChoiceFilter(choices=Role.choices)
    ordering = ordering("created_at", "role", ("user__email", "email"))

    class Meta:
        model = Membership
        fields = ["organization", "role"]


class InvitationFilter(django_filters.FilterSet):
    organization = django_filters.NumberFilter(field_name="organization_id", help_text="Organisation id.")
    open = django_filters.BooleanFilter(method="filter_open", help_text="Only open (or only closed) invitations.")
    ordering = ordering("created_at", "expires_at", "email")

    class Meta:
        model = Invitation
        fields = ["organization", "open"]

    def filter_open(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        is_open = Invitation.objects.open().values("pk")
        return queryset.filter(pk__in=is_open) if value else queryset.exclude(pk__in=is_open)


class ApiKeyFilter(django_filters.FilterSet):
    organization = django_filters.NumberFilter(field_name="organization_id", help_text="Organisation id.")
    scope = django_filters.ChoiceFilter(choices=ApiKeyScope.choices)
    active = django_filters.BooleanFilter(method="filter_active", help_text="Only usable (or only unusable) keys.")
    ordering = ordering("created_at", "expires_at", "last_used_at", "name")

    class Meta:
        model = ApiKey
        fields = ["organization", "scope", "active"]

    def filter_active(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        active = ApiKey.objects.active().values("pk")
        return queryset.filter(pk__in=active) if value else queryset.exclude(pk__in=active)
