"""Web pages of the marketplace: buyers' demands and merchants' offers.

- The demand list shows the active organisation's own demands and, to merchants, the open demands of others (those
  that match one of their listings first), filtered by sector.
- A demand's page differs by who looks: its buyer sees the suggested listings and the offers, with accept and decline
  buttons; a merchant sees the demand, its own offers and a form offering one of its published listings' plans.
- Every write calls marketplace.services.demands; lookups go through `restrict` (or `demands_visible_to`), so a
  demand or offer the user may not see answers 404 like a missing one. Buttons post and come back to the demand.
"""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.forms import ServiceForm
from accounts.models import Membership
from accounts.web import can, form_status, organization_view, paginate, run_action, submit
from marketplace.choices import DemandStatus, ListingStatus, OfferStatus
from marketplace.models import Demand, DemandMatch, Offer, PricePlan
from marketplace.services import demands as services
from registry.choices import Sector

SECTOR_CHOICES = [("", gettext_lazy("Choose one")), *Sector.choices]


# --- forms --------------------------------------------------------------------------------------------------------


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DemandForm(ServiceForm):
    """What a buyer needs; the service checks the budget's order and the deadline."""

    title = forms.CharField(label=gettext_lazy("Title"), max_length=200,
                            help_text=gettext_lazy("One line merchants see in the list of demands."))  # fmt: skip
    sector = forms.ChoiceField(label=gettext_lazy("Sector"), choices=SECTOR_CHOICES)
    need = forms.CharField(
        label=gettext_lazy("What is needed"), widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy("The data you need: subject, coverage, fields, how fresh, how you will use it. "
                               "Listings are suggested by the words you use."),
    )  # fmt: skip
    budget_min = forms.DecimalField(label=gettext_lazy("Budget from (CNY)"), required=False, min_value=Decimal(0),
                                    max_digits=18, decimal_places=2)  # fmt: skip
    budget_max = forms.DecimalField(
        label=gettext_lazy("Budget up to (CNY)"), required=False, min_value=Decimal(0), max_digits=18,
        decimal_places=2, help_text=gettext_lazy("Listings whose lowest price is above it are not suggested."),
    )  # fmt: skip
    deadline = forms.DateField(label=gettext_lazy("Needed by"), required=False, widget=_date_widget())


class OfferForm(ServiceForm):
    """A merchant's offer: one of its published listings' active plans (grouped by listing), a price, a message."""

    plan = forms.TypedChoiceField(label=gettext_lazy("Listing and plan"), coerce=int)
    price = forms.DecimalField(
        label=gettext_lazy("Price offered (CNY)"), min_value=Decimal(0), max_digits=18, decimal_places=2,
        help_text=gettext_lazy("The contract is made at this price when the buyer accepts."),
    )  # fmt: skip
    message = forms.CharField(label=gettext_lazy("Message to the buyer"), required=False,
                              widget=forms.Textarea(attrs={"rows": 4}))  # fmt: skip

    def __init__(self, plans: list[PricePlan], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plans = {plan.pk: plan for plan in plans}
        groups: dict[str, list] = {}
        for plan in plans:
            label = _("%(name)s — %(kind)s, list price ¥%(price)s") % {
                "name": plan.name, "kind": plan.get_kind_display(), "price": plan.price}  # fmt: skip
            groups.setdefault(plan.listing.title, []).append((plan.pk, label))
        self.fields["plan"].choices = [("", _("Choose one")), *groups.items()]

    def service_data(self) -> dict:
        plan = self.plans[self.cleaned_data["plan"]]
        return {"listing": plan.listing, "plan": plan, "price": self.cleaned_data["price"],
                "message": self.cleaned_data["message"]}  # fmt: skip


class AcceptForm(ServiceForm):
    purpose = forms.CharField(
        label=gettext_lazy("Purpose"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("What you will use the data for; it goes into the contract's terms."),
    )  # fmt: skip
    close_demand = forms.BooleanField(
        label=gettext_lazy("This offer fulfils the demand"), required=False,
        help_text=gettext_lazy("Closes the demand as fulfilled and declines its other pending offers."),
    )  # fmt: skip


class ReasonForm(ServiceForm):
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip


class CloseForm(ReasonForm):
    fulfilled = forms.BooleanField(label=gettext_lazy("An accepted offer fulfilled the demand"), required=False)


class DemandFilterForm(forms.Form):
    sector = forms.ChoiceField(label=gettext_lazy("Sector"), required=False,
                               choices=[("", gettext_lazy("All sectors")), *Sector.choices])  # fmt: skip

    def filter(self, queryset: QuerySet) -> QuerySet:
        if self.is_valid() and self.cleaned_data["sector"]:
            return queryset.filter(sector=self.cleaned_data["sector"])
        return queryset

    @property
    def is_filtered(self) -> bool:
        return self.is_valid() and bool(self.cleaned_data["sector"])


# --- lookups --------------------------------------------------------------------------------------------------


def _demand_or_404(request: HttpRequest, pk: int) -> Demand:
    visible = services.demands_visible_to(request.user).select_related("organization", "created_by")
    return get_object_or_404(visible, pk=pk)


def _offer_or_404(request: HttpRequest, pk: int) -> Offer:
    return get_object_or_404(Offer.objects.restrict(request.user, "view").select_related("demand"), pk=pk)


def _to_demand(demand_id: int) -> HttpResponse:
    return redirect("marketplace:demand_detail", pk=demand_id)


def _offerable_plans(membership: Membership, demand: Demand) -> list[PricePlan]:
    """The active plans of the organisation's published listings, when it may offer on this demand now."""
    org = membership.organization
    if not (org.can_sell and org.is_verified and can(membership, "add") and demand.status == DemandStatus.OPEN):
        return []
    plans = PricePlan.objects.filter(
        listing__organization=org, listing__status=ListingStatus.PUBLISHED, is_active=True
    ).select_related("listing")
    return list(plans.order_by("listing__title", "listing_id", "position", "pk"))


def _flash_errors(request: HttpRequest, form: forms.Form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


# --- lists and the form -------------------------------------------------------------------------------------------


@require_GET
@organization_view
def demand_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The organisation's own demands, and (for merchants) the open demands they may answer."""
    org = membership.organization
    pending = Count("offers", filter=Q(offers__status=OfferStatus.PENDING))
    mine = Demand.objects.restrict(request.user, "view").filter(organization=org).annotate(pending_offers=pending)
    filters = DemandFilterForm(request.GET or None)
    context = {
        "membership": membership,
        "organization": org,
        "can_post": org.can_buy and can(membership, "add"),
        "filters": filters,
        "mine_page": paginate(request, mine.order_by("-created_at", "-pk"), "mine_page"),
        "open_page": paginate(request, _open_for(org, filters), "page") if org.can_sell else None,
    }
    return render(request, "marketplace/demands/demand_list.html", context)


def _open_for(org: Any, filters: DemandFilterForm) -> QuerySet:
    """Others' open demands, those matching one of the merchant's listings first."""
    matched = DemandMatch.objects.filter(demand=OuterRef("pk"), listing__organization=org)
    offered = Offer.objects.filter(demand=OuterRef("pk"), organization=org)
    return (
        filters.filter(services.open_demands().exclude(organization=org))
        .select_related("organization")
        .annotate(suggested=Exists(matched), offered=Exists(offered))
        .order_by("-suggested", "-created_at", "-pk")
    )


@organization_view
def demand_create(request: HttpRequest, membership: Membership) -> HttpResponse:
    org = membership.organization
    if request.method != "POST" and not (can(membership, "add") and org.can_buy):
        raise PermissionDenied(_("Your role or your organisation's registration does not let you post demands."))
    form = DemandForm(request.POST if request.method == "POST" else None)
    demand = form.is_valid() and submit(
        request, form, services.demand_post, organization=org, by=request.user, **form.cleaned_data
    )
    if demand:
        messages.success(request, _("The demand is published. Merchants whose listings match it have been told."))
        return _to_demand(demand.pk)
    context = {"form": form, "organization": org}
    return render(request, "marketplace/demands/demand_form.html", context, status=form_status(form))


# --- the demand's page ----------------------------------------------------------------------------------------


@require_GET
@organization_view
def demand_detail(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    return _demand_page(request, membership, _demand_or_404(request, pk))


def _demand_page(
    request: HttpRequest, membership: Membership, demand: Demand, *, offer_form: OfferForm | None = None, status=200
) -> HttpResponse:
    is_buyer = demand.organization_id == membership.organization_id
    context = {"demand": demand, "membership": membership, "organization": membership.organization,
               "is_buyer": is_buyer, "is_open": demand.status == DemandStatus.OPEN}  # fmt: skip
    context |= _buyer_context(membership, demand) if is_buyer else _merchant_context(membership, demand, offer_form)
    return render(request, "marketplace/demands/demand_detail.html", context, status=status)


def _buyer_context(membership: Membership, demand: Demand) -> dict:
    offers = demand.offers.select_related("organization", "listing", "plan", "contract").order_by("-created_at", "-pk")
    is_open = demand.status == DemandStatus.OPEN
    return {
        "suggestions": services.suggested(demand) if is_open else [],
        "offers": list(offers),
        "can_decide": is_open and can(membership, "add"),
        "accept_form": AcceptForm(initial={"purpose": demand.need}),
        "decline_form": ReasonForm(),
        "close_form": CloseForm(),
    }


def _merchant_context(membership: Membership, demand: Demand, offer_form: OfferForm | None) -> dict:
    org = membership.organization
    own = list(demand.offers.filter(organization=org).select_related("listing", "plan").order_by("-created_at"))
    reasons = services.decline_reasons(own)
    for offer in own:
        offer.decline_reason = reasons.get(offer.pk, "")
    plans = _offerable_plans(membership, demand)
    matched = DemandMatch.objects.filter(demand=demand, listing__organization=org)
    return {
        "own_offers": own,
        "matched_listings": [match.listing for match in matched.select_related("listing")],
        "offer_form": offer_form or (OfferForm(plans) if plans else None),
        "can_withdraw": can(membership, "change"),
        "is_merchant": org.can_sell,
    }


# --- offers and decisions -------------------------------------------------------------------------------------


@require_POST
@organization_view
def offer_create(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    demand = _demand_or_404(request, pk)
    plans = _offerable_plans(membership, demand)
    if not plans:
        messages.error(request, _("Your organisation has no published listing to offer, or may not offer here."))
        return _to_demand(demand.pk)
    form = OfferForm(plans, request.POST)
    offer = form.is_valid() and submit(request, form, services.offer_make, demand=demand, by=request.user,
                                       **form.service_data())  # fmt: skip
    if offer:
        messages.success(request, _("Your offer is sent. The buyer has been told."))
        return _to_demand(demand.pk)
    return _demand_page(request, membership, demand, offer_form=form, status=form_status(form))


@require_POST
@organization_view
def offer_accept(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    offer = _offer_or_404(request, pk)
    form = AcceptForm(request.POST)
    contract = form.is_valid() and submit(
        request, form, services.offer_accept, offer=offer, by=request.user, purpose=form.cleaned_data["purpose"],
        close_demand=form.cleaned_data["close_demand"], ip_address=request.META.get("REMOTE_ADDR") or None,
    )  # fmt: skip
    if not contract:
        _flash_errors(request, form)
        return _to_demand(offer.demand_id)
    messages.success(request, _("Offer accepted: contract %(number)s is made at the offered price.")
                     % {"number": contract.number})  # fmt: skip
    try:
        return redirect(reverse("marketplace:contract_detail", args=[contract.pk]))
    except NoReverseMatch:
        return _to_demand(offer.demand_id)


@require_POST
@organization_view
def offer_decline(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    offer = _offer_or_404(request, pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    if run_action(request, services.offer_decline, offer=offer, by=request.user, reason=reason) is None:
        messages.success(request, _("The offer is declined; the merchant has been told."))
    return _to_demand(offer.demand_id)


@require_POST
@organization_view
def offer_withdraw(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    offer = _offer_or_404(request, pk)
    if run_action(request, services.offer_withdraw, offer=offer, by=request.user) is None:
        messages.success(request, _("Your offer is withdrawn."))
    return _to_demand(offer.demand_id)


@require_POST
@organization_view
def demand_close(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    demand = get_object_or_404(Demand.objects.restrict(request.user, "view"), pk=pk)
    form = CloseForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {"fulfilled": False, "reason": ""}
    if run_action(request, services.demand_close, demand=demand, by=request.user, **data) is None:
        messages.success(request, _("The demand is closed; its pending offers are declined."))
    return _to_demand(demand.pk)


urlpatterns = [
    path("demands/", demand_list, name="demand_list"),
    path("demands/new/", demand_create, name="demand_create"),
    path("demands/<int:pk>/", demand_detail, name="demand_detail"),
    path("demands/<int:pk>/offers/", offer_create, name="offer_create"),
    path("demands/<int:pk>/close/", demand_close, name="demand_close"),
    path("offers/<int:pk>/accept/", offer_accept, name="offer_accept"),
    path("offers/<int:pk>/decline/", offer_decline, name="offer_decline"),
    path("offers/<int:pk>/withdraw/", offer_withdraw, name="offer_withdraw"),
]
