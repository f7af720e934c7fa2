"""The public side of the exchange: the catalogue of published listings and a listing's page. No sign-in needed.

The catalogue pages through `marketplace.filters.CatalogueFilter` (ListingFilter, its search named `q`) in one query
whatever the page size (the page with its capped count; a search's page is its newest matches, ranked, with their
capped count).
A listing's page is public once published; its merchant sees it in any state (with the regulator's reason and the
buttons to manage it), anyone else gets 404 for an unpublished one. The masked sample is the only row-level data it
shows; column statistics that come from single rows (minimum, maximum, frequent values) are left out.
"""

from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, F, OuterRef, StringAgg, Subquery, Value, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from accounts.web import PAGE_SIZE, can, paginate, user_memberships
from marketplace.choices import ContractStatus, ListingStatus, PlanKind
from marketplace.filters import CatalogueFilter, catalogue_entries, expected_page
from marketplace.models import HOLDING_STATES, Contract, Listing
from marketplace.services import feedback
from marketplace.web.listings_forms import DelistForm
from registry.choices import Classification, Sector
from registry.models import DataProduct, ProductVersion, RegistrationCertificate, Tag
from registry.views import DIMENSION_LABELS, QUALITY_DIMENSIONS
from valuation.choices import PerformerKind
from valuation.models import Valuation

LATEST_REVIEWS = 5
# Short names of the plan kinds for the catalogue's cards (the full labels explain them on the listing's page).
PLAN_BADGES = {
    PlanKind.LICENCE: pgettext_lazy("plan kind", "Licence"),
    PlanKind.SUBSCRIPTION: pgettext_lazy("plan kind", "Subscription"),
    PlanKind.METERED_API: pgettext_lazy("plan kind", "API"),
    PlanKind.SANDBOX: pgettext_lazy("plan kind", "Sandbox"),
}


# --- the catalogue ------------------------------------------------------------------------------------------------


@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    """Published listings: full-text search, filters, sorting and pages."""
    filters = CatalogueFilter(request.GET, queryset=catalogue_entries(), request=request)
    results = filters.results().expect(expected_page(request.GET.get("page"), PAGE_SIZE))
    page = paginate(request, results)
    for listing in page:
        listing.plan_labels = [PLAN_BADGES[kind] for kind in listing.plan_kind_list]
        listing.sector_label = Sector(listing.product_sector).label
        listing.classification_label = Classification(listing.product_classification).label
    context = {
        "filters": filters,
        "listings_page": page,
        "merchant_name": _merchant_name(filters, page),
        "capped": results.capped,
        "max_results": results.limit,
        "searching": bool(filters.form.cleaned_data.get("q")) if filters.is_valid() else False,
    }
    return render(request, "marketplace/catalogue/catalogue.html", context)


def _merchant_name(filters: CatalogueFilter, page: Any) -> str | None:
    """The merchant the catalogue is narrowed to, named only if it has published listings (ids tell nothing else):
    read off the page's first entry when there is one."""
    merchant = filters.form.cleaned_data.get("merchant") if filters.is_valid() else None
    if not merchant:
        return None
    if page.object_list and page.object_list[0].status == ListingStatus.PUBLISHED:
        return page.object_list[0].merchant_name
    published = Listing.objects.published().filter(organization_id=merchant)
    return published.values_list("organization__name", flat=True).first()


# --- a listing's page ---------------------------------------------------------------------------------------------


@require_GET
def listing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    listings = Listing.objects.visible_to(request.user).select_related("product", "organization", "offer_signed_by")
    listing = get_object_or_404(listings.annotate(tag_names=_tag_names()), pk=pk)
    return render(request, "marketplace/catalogue/listing_detail.html", listing_context(request, listing))


def listing_context(request: HttpRequest, listing: Listing) -> dict[str, Any]:
    """Everything the listing page shows; the management panel only for members of the merchant."""
    membership = next((m for m in user_memberships(request) if m.organization_id == listing.organization_id), None)
    version = registered_version(listing.product_id)
    is_member = membership is not None
    return {
        "listing": listing,
        "product": listing.product,
        "organization": listing.organization,
        "is_member": is_member,
        "can_change": can(membership, "change"),
        "can_request": request.user.is_authenticated and not is_member and listing.status == ListingStatus.PUBLISHED,
        "version": version,
        **_profile(version),
        **_plans(listing, include_withdrawn=is_member, buyers=_buyer_ids(request)),
        **_reviews(listing),
        "valuations": latest_valuations(listing.product),
        "certificate": RegistrationCertificate.objects.current().filter(product=listing.product_id).first(),
        "tags": listing.tag_names.split(TAG_SEPARATOR) if getattr(listing, "tag_names", None) else [],
        "delist_form": DelistForm() if listing.status == ListingStatus.PUBLISHED else None,
    }


def _buyer_ids(request: HttpRequest) -> list[int]:
    return [membership.organization_id for membership in user_memberships(request)]


def _profile(version: ProductVersion | None) -> dict[str, Any]:
    """Row count, columns with their types and empty share, quality scores, and the masked sample, in column order."""
    if version is None:
        return {"columns": [], "quality_rows": [], "sample_columns": [], "sample_rows": []}
    names = [column.get("name", "") for column in version.columns]
    columns = [
        {
            "name": c.get("name", ""),
            "type": c.get("type", ""),
            "null_percent": round(100 * float(c.get("null_rate") or 0), 1),
        }
        for c in version.columns
    ]
    return {
        "columns": columns,
        "quality_rows": _quality(version.quality),
        "sample_columns": names,
        "sample_rows": [[row.get(name) for name in names] for row in version.masked_sample],
    }


def _quality(quality: dict) -> list[dict[str, Any]]:
    if not quality:
        return []
    return [{"key": key, "label": DIMENSION_LABELS[key], "score": quality.get(key)} for key in QUALITY_DIMENSIONS]


def _plans(listing: Listing, *, include_withdrawn: bool, buyers: Iterable[int] = ()) -> dict[str, Any]:
    """The plans, each knowing whether another buyer holds it (`is_held`, exclusive plans) and the open contract on
    it of one of `buyers` (the viewer's organisations: `own_contract_id`, `own_contract_label`), in one query."""
    plans = listing.plans.all() if include_withdrawn else listing.plans.filter(is_active=True)
    buyers = list(buyers)
    open_contracts = Contract.objects.filter(plan=OuterRef("pk"), status__in=HOLDING_STATES)
    own = open_contracts.filter(buyer__in=buyers).order_by("-pk")
    plans = list(
        plans.annotate(
            taken=Exists(open_contracts.exclude(buyer__in=buyers)),
            own_contract_id=Subquery(own.values("pk")[:1]),
            own_contract_status=Subquery(own.values("status")[:1]),
        )
    )
    for plan in plans:
        plan.is_held = plan.exclusive and plan.taken
        plan.own_contract_label = ContractStatus(plan.own_contract_status).label if plan.own_contract_id else ""
    return {"plans": plans, "has_active_plans": any(plan.is_active for plan in plans)}


TAG_SEPARATOR = "\x1f"  # ASCII unit separator: not in a tag name


def _tag_names() -> Subquery:
    """The product's tag names, sorted, as one string (read with the listing instead of a query of their own)."""
    tags = Tag.objects.filter(products=OuterRef("product_id")).order_by().values("products")
    names = tags.annotate(names=StringAgg("name", Value(TAG_SEPARATOR), order_by="name")).values("names")[:1]
    return Subquery(names)


def _reviews(listing: Listing) -> dict[str, Any]:
    """The latest reviews, and the average and count stored on the listing (`feedback.refresh_rating`)."""
    latest = list(feedback.listing_reviews(listing)[:LATEST_REVIEWS])
    rating = {"average": feedback.rounded_average(listing.rating_average), "count": listing.review_count}
    return {"rating": rating, "reviews": latest}


def registered_version(product_id: int) -> ProductVersion | None:
    """The product's latest registered version: what buyers get, and what the page describes."""
    return ProductVersion.objects.registered().filter(product=product_id).order_by("-number").first()


def latest_valuations(product: DataProduct) -> list[Valuation]:
    """The latest finished valuation and, when that is a self-assessment, the latest accredited appraisal too."""
    newest = [F("finished_at").desc(), F("pk").desc()]
    newest_of_kind = Window(RowNumber(), partition_by=F("performer_kind"), order_by=newest)
    done = Valuation.objects.done().for_product(product).select_related("organization")
    found = list(done.annotate(rank=newest_of_kind).filter(rank=1).order_by("-finished_at", "-pk"))  # one per kind
    if not found or found[0].is_accredited:
        return found[:1]
    accredited = next((v for v in found if v.performer_kind == PerformerKind.ACCREDITED), None)
    return [found[0], accredited] if accredited else [found[0]]


urlpatterns = [
    path("", catalogue, name="catalogue"),
    path("listings/<int:pk>/", listing_detail, name="listing_detail"),
]
