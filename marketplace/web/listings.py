"""The merchant's side of the exchange: its listings by state, drafting a listing of a registered product, its price
plans, submitting it to the regulators and delisting it.

Every write calls marketplace.services.listings; every lookup goes through `restrict(user, action)`, so another
organisation's product or listing answers 404 like a missing one. The listing's own page (public for published
listings, and for its merchant in any state) is marketplace.web.catalogue.listing_detail; the forms here go back to it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.web import can, form_status, organization_view, paginate, run_action, submit, user_memberships
from marketplace.choices import ListingStatus, PlanKind
from marketplace.models import Listing, PricePlan
from marketplace.services import listings as services
from marketplace.web.listings_forms import PLAN_KIND_HELP, DelistForm, ListingForm, PlanForm
from registry.choices import ProductStatus
from registry.models import DataProduct

STATE_TABS = (
    ("", gettext_lazy("All")),
    (ListingStatus.DRAFT, ListingStatus.DRAFT.label),
    (ListingStatus.PENDING_REVIEW, ListingStatus.PENDING_REVIEW.label),
    (ListingStatus.PUBLISHED, ListingStatus.PUBLISHED.label),
    (ListingStatus.REJECTED, ListingStatus.REJECTED.label),
    (ListingStatus.DELISTED, ListingStatus.DELISTED.label),
)


OPEN_STATES = (ListingStatus.DRAFT, ListingStatus.PENDING_REVIEW, ListingStatus.PUBLISHED, ListingStatus.REJECTED)


def _listing_or_404(request: HttpRequest, pk: int) -> Listing:
    listings = Listing.objects.restrict(request.user, "view").select_related("product", "organization")
    return get_object_or_404(listings, pk=pk)


def _require_change(request: HttpRequest, organization_id: int) -> None:
    """Forms are offered to roles that may change the organisation's listings; the services check again."""
    membership = next((m for m in user_memberships(request) if m.organization_id == organization_id), None)
    if not can(membership, "change"):
        raise PermissionDenied(_("Your role lets you read the organisation's listings, not change them."))


def _to_listing(listing: Listing) -> HttpResponse:
    return redirect("marketplace:listing_detail", pk=listing.pk)


# --- the organisation's listings ----------------------------------------------------------------------------------


@require_GET
@organization_view
def listing_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The active organisation's listings, by state, with their plans counted and their lowest price."""
    state = request.GET.get("status", "")
    state = state if state in ListingStatus.values else ""
    own = Listing.objects.restrict(request.user, "view").filter(organization=membership.organization)
    counts = dict(own.order_by().values_list("status").annotate(n=Count("pk")))
    tabs = [{"value": v, "label": label, "count": counts.get(v, 0) if v else sum(counts.values())}
            for v, label in STATE_TABS]  # fmt: skip
    active = Q(plans__is_active=True)
    listings = (
        (own.filter(status=state) if state else own)
        .select_related("product")
        .defer("search_text", "search_vector", "product__rule_results", "product__upload_error")
        .annotate(plan_count=Count("plans", filter=active), lowest_price=Min("plans__price", filter=active))
        .order_by("-updated_at", "-pk")
    )
    context = {
        "organization": membership.organization,
        "membership": membership,
        "can_add": can(membership, "add"),
        "state": state,
        "tabs": tabs,
        "listings_page": paginate(request, listings),
        "registered_products": _listable_products(request, membership),
    }
    return render(request, "marketplace/listings/listing_list.html", context)


def _listable_products(request: HttpRequest, membership: Membership) -> list[DataProduct]:
    """Registered products of the organisation without a listing in force, to start one from (20 at most)."""
    if not can(membership, "add"):
        return []
    products = DataProduct.objects.restrict(request.user, "view").filter(
        organization=membership.organization, status=ProductStatus.REGISTERED
    )
    products = products.exclude(listings__status__in=OPEN_STATES)
    return list(products.only("pk", "title", "sensitivity_level").order_by("title")[:20])


# --- drafting a listing -------------------------------------------------------------------------------------------


@organization_view
def listing_create(request: HttpRequest, membership: Membership, product_pk: int) -> HttpResponse:
    """List one of the organisation's registered products: its description and licence terms, as a draft."""
    products = DataProduct.objects.restrict(request.user, "view").filter(organization=membership.organization)
    product = get_object_or_404(products.select_related("organization"), pk=product_pk)
    if not can(membership, "add"):
        raise PermissionDenied(_("Your role lets you read the organisation's products, not list them."))
    if product.status != ProductStatus.REGISTERED:
        messages.error(request, _("Only a registered product can be listed on the exchange."))
        return redirect("registry:product_detail", pk=product.pk)
    if request.method != "POST":
        form = ListingForm.for_product(product)
    elif "apply_template" in request.POST:
        form = ListingForm.with_template(request.POST)
    else:
        form = ListingForm(request.POST)
        listing = form.is_valid() and submit(
            request, form, services.listing_create, product=product, by=request.user, **form.service_data()
        )
        if listing:
            messages.success(request, _("The listing is saved as a draft. Next, add its price plans."))
            return _to_listing(listing)
    context = {"form": form, "product": product, "listing": None, "organization": membership.organization}
    return render(request, "marketplace/listings/listing_form.html", context, status=form_status(form))


@login_required
def listing_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a draft or rejected listing's description and terms."""
    listing = _listing_or_404(request, pk)
    _require_change(request, listing.organization_id)
    if not listing.is_editable:
        messages.warning(request, _("The listing is %(status)s: it cannot be changed now.")
                         % {"status": listing.get_status_display()})  # fmt: skip
        return _to_listing(listing)
    if request.method != "POST":
        form = ListingForm.for_listing(listing)
    elif "apply_template" in request.POST:
        form = ListingForm.with_template(request.POST)
    else:
        form = ListingForm.for_listing(listing, request.POST)
        if form.is_valid() and submit(
            request, form, services.listing_update, listing=listing, by=request.user, **form.service_data()
        ):
            messages.success(request, _("The changes are saved."))
            return _to_listing(listing)
    context = {"form": form, "product": listing.product, "listing": listing, "organization": listing.organization}
    return render(request, "marketplace/listings/listing_form.html", context, status=form_status(form))


# --- price plans --------------------------------------------------------------------------------------------------


def allowed_plan_kinds(product: DataProduct) -> list[PlanKind]:
    """Level-4 data is offered through the sandbox only."""
    return [PlanKind.SANDBOX] if product.sandbox_only else list(PlanKind)


@login_required
def plan_add(request: HttpRequest, pk: int) -> HttpResponse:
    """A price plan of one kind (`?kind=`), with only that kind's fields."""
    listing = _listing_or_404(request, pk)
    _require_change(request, listing.organization_id)
    if not listing.is_editable:
        messages.warning(request, _("Plans can be added while the listing is a draft or after a rejection."))
        return _to_listing(listing)
    kinds = allowed_plan_kinds(listing.product)
    requested = request.POST.get("kind") or request.GET.get("kind")
    kind = next((k for k in kinds if k == requested), kinds[0])
    form = PlanForm(request.POST if request.method == "POST" else None, kind=kind)
    plan = form.is_valid() and submit(
        request, form, services.plan_add, listing=listing, by=request.user, **form.service_data()
    )
    if plan:
        messages.success(request, _("The plan “%(name)s” is added.") % {"name": plan.name})
        return redirect("marketplace:listing_detail", pk=listing.pk)
    context = {
        "listing": listing,
        "organization": listing.organization,
        "form": form,
        "kind": kind,
        "kinds": [{"value": k.value, "label": k.label, "help": PLAN_KIND_HELP[k]} for k in kinds],
        "kind_help": PLAN_KIND_HELP[kind],
    }
    return render(request, "marketplace/listings/plan_form.html", context, status=form_status(form))


@require_POST
@login_required
def plan_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop offering a plan; contracts already made on it are kept."""
    plans = PricePlan.objects.filter(listing__in=Listing.objects.restrict(request.user, "view"))
    plan = get_object_or_404(plans.select_related("listing"), pk=pk)
    if run_action(request, services.plan_withdraw, plan=plan, by=request.user) is None:
        messages.success(request, _("The plan “%(name)s” is no longer offered.") % {"name": plan.name})
    return _to_listing(plan.listing)


# --- review and delisting -----------------------------------------------------------------------------------------


@require_POST
@login_required
def listing_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign the terms as a standing offer (from the client's address) and send the listing to the regulators."""
    listing = _listing_or_404(request, pk)
    ip_address = request.META.get("REMOTE_ADDR") or None
    if run_action(request, services.listing_submit, listing=listing, by=request.user, ip_address=ip_address) is None:
        messages.success(request, _("The listing is submitted. A regulator reviews it before buyers can see it."))
    return _to_listing(listing)


@require_POST
@login_required
def listing_delist(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a published listing off the exchange, with a reason; contracts already made run on."""
    listing = _listing_or_404(request, pk)
    form = DelistForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for delisting: it is recorded and shown on the listing."))
    elif run_action(request, services.listing_delist, listing=listing, by=request.user,
                    reason=form.cleaned_data["reason"]) is None:  # fmt: skip
        messages.success(request, _("The listing is off the exchange."))
    return _to_listing(listing)


urlpatterns = [
    path("my/listings/", listing_list, name="listing_list"),
    path("products/<int:product_pk>/list/", listing_create, name="listing_create"),
    path("my/listings/<int:pk>/edit/", listing_edit, name="listing_edit"),
    path("my/listings/<int:pk>/plans/new/", plan_add, name="plan_add"),
    path("my/plans/<int:pk>/withdraw/", plan_withdraw, name="plan_withdraw"),
    path("my/listings/<int:pk>/submit/", listing_submit, name="listing_submit"),
    path("my/listings/<int:pk>/delist/", listing_delist, name="listing_delist"),
]
