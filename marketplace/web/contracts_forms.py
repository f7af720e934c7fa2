"""Forms, the list filter and the lookups of the contract pages; the filter and the lookups also serve the API.

The forms only parse what was posted; the rules (a purpose is required, a decline needs a reason, who may buy)
are the services' and come back as their errors.
"""

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.forms import ServiceForm
from accounts.models import Membership
from marketplace.choices import ContractStatus, Party
from marketplace.models import Contract, Listing, PricePlan

PURPOSE_MAX_LENGTH = 4000
REASON_MAX_LENGTH = 2000


class ContractRequestForm(ServiceForm):
    """The buyer's request from the product page: which plan, and what the data is for."""

    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=PricePlan.objects.none(), error_messages={"invalid_choice": _("Choose a plan.")}
    )
    purpose = forms.CharField(
        label=_("What will you use the data for?"),
        required=False,  # the service says why a purpose is needed
        max_length=PURPOSE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The licence permits some purposes only; this goes into the contract you sign."),
    )

    def __init__(self, *args: Any, listing: Listing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = listing.plans.all()


class ReasonForm(ServiceForm):
    """A decline or a termination: the other side reads the reason."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The other side sees this reason."),
    )


class CancelForm(ServiceForm):
    """Withdrawing a request before paying; a reason is welcome but not needed."""

    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=REASON_MAX_LENGTH, widget=forms.Textarea({"rows": 2})
    )


class ContractFilter(django_filters.FilterSet):
    """Contracts by side, state and listing; `organizations` are the ids whose purchases or sales `role` means
    (by default the caller's: an API key's organisation, or the person's).

    `listing` is a plain id filter, not a model choice: a choice filter would validate the id against every listing.
    """

    role = django_filters.ChoiceFilter(
        choices=Party.choices, method="filter_role", label=_("Side"),
        help_text=_("`buyer`: your organisation's purchases; `merchant`: its sales."),
    )  # fmt: skip
    status = django_filters.ChoiceFilter(choices=ContractStatus.choices, label=_("Status"), empty_label=_("Any status"))
    listing = django_filters.NumberFilter(field_name="listing_id", label=_("Listing"), help_text=_("Listing id."))

    class Meta:
        model = Contract
        fields = ["role", "status", "listing"]

    def __init__(self, *args: Any, organizations: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if organizations is None and self.request is not None:
            organizations = party_organization_ids(self.request.user)
        self.organizations = organizations if organizations is not None else []

    def filter_role(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        side = "buyer_id__in" if value == Party.BUYER else "merchant_id__in"
        return queryset.filter(**{side: self.organizations})


# --- lookups shared with the API --------------------------------------------------------------------------------


def party_organization_ids(user: Any) -> QuerySet | list[int]:
    """The organisations whose contracts the caller reads: an API key's own, else the person's memberships."""
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return [api_key.organization_id]
    return Membership.objects.filter(user=user).values("organization_id")


def party_contracts(user: Any) -> QuerySet:
    """Contracts the caller's organisations are a party to (a superuser's `restrict` sees all; this does not)."""
    ids = party_organization_ids(user)
    return Contract.objects.restrict(user, "view").filter(Q(buyer_id__in=ids) | Q(merchant_id__in=ids))


def requestable_listings(user: Any) -> QuerySet:
    """Listings a buyer may ask about: what they can see, and listings once published (the service says when one
    is no longer on the exchange, rather than a 404)."""
    return Listing.objects.filter(
        Q(pk__in=Listing.objects.visible_to(user).values("pk")) | Q(published_at__isnull=False)
    )
