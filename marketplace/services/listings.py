"""Listings and their price plans: drafts, the standing offer, regulator review, delisting, the search index."""

from typing import Any

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.timezone import now
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.services import grant_to_organization, person_of, require_role, require_verified
from audit.services import audit_record
from marketplace import search
from marketplace.choices import ListingStatus, PlanKind
from marketplace.models import Listing, PricePlan
from marketplace.services.common import MarketConflict, MarketError, is_regulator, require_reason, require_regulator
from registry.choices import ProductStatus
from registry.models import DataProduct, ProductVersion

LISTING_FIELDS = (
    "title",
    "description",
    "licence_template",
    "permitted_purposes",
    "term_months",
    "territory",
    "redistribution",
    "onward_transfer",
)
PLAN_FIELDS = (
    "kind",
    "name",
    "price",
    "billing_period",
    "price_per_call",
    "free_calls",
    "rate_limit_per_minute",
    "download_days",
    "requires_approval",
    "exclusive",
)
# The fields only some kinds of plan use (the rest apply to every plan). The download window is a licence's: a
# subscription delivers each new version while it runs, metered and sandbox plans deliver no files.
KIND_FIELDS = {
    PlanKind.LICENCE: frozenset({"download_days"}),
    PlanKind.SUBSCRIPTION: frozenset({"billing_period"}),
    PlanKind.METERED_API: frozenset({"price_per_call", "free_calls", "rate_limit_per_minute"}),
    PlanKind.SANDBOX: frozenset(),
}
KIND_FIELDS_ALL = frozenset().union(*KIND_FIELDS.values())


def _require_registered(product: DataProduct) -> None:
    if product.status != ProductStatus.REGISTERED:
        raise MarketError(_("Only a registered product can be listed."), code="product_not_registered")


def _require_seller(organization: Organization) -> None:
    require_verified(organization)
    if not organization.can_sell:
        raise MarketError(_("%(org)s is not a data merchant.") % {"org": organization.name}, code="not_a_merchant")


def _require_editable(listing: Listing) -> None:
    if not listing.is_editable:
        message = _("The listing is %(status)s: it cannot be changed now.") % {"status": listing.get_status_display()}
        raise MarketError(message, code="listing_not_editable")


# --- drafting ---------------------------------------------------------------------------------------------------


@transaction.atomic
def listing_create(*, product: DataProduct, by: Any, **fields: Any) -> Listing:
    """Draft a listing of a registered product, its terms defaulting to the product's licence template."""
    product = DataProduct.objects.select_for_update().select_related("organization").get(pk=product.pk)
    organization = product.organization
    require_role(user=by, organization=organization, action="add")
    _require_seller(organization)
    _require_registered(product)
    data = {"title": product.title, "description": product.summary, "licence_template": product.licence_template}
    data.update({key: value for key, value in fields.items() if key in LISTING_FIELDS})
    listing = Listing(product=product, organization=organization, created_by=person_of(by), **data)
    listing.full_clean()
    listing.save()
    grant_to_organization(listing, organization)
    audit_record(action="listing.created", obj=listing, actor=by, organization_id=organization.pk,
                 data={"product": product.pk})  # fmt: skip
    return listing


@transaction.atomic
def listing_update(*, listing: Listing, by: Any, **fields: Any) -> Listing:
    """Change a draft (or rejected) listing's description and terms."""
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    require_role(user=by, organization=listing.organization, action="change")
    _require_editable(listing)
    changed = [key for key, value in fields.items() if key in LISTING_FIELDS and getattr(listing, key) != value]
    for key in changed:
        setattr(listing, key, fields[key])
    listing.full_clean()
    listing.save()
    audit_record(action="listing.updated", obj=listing, actor=by, organization_id=listing.organization_id,
                 data={"fields": changed})  # fmt: skip
    return listing


def _clean_plan(plan: PricePlan, product: DataProduct) -> None:
    """Each kind of plan needs its own fields, and keeps no other kind's; level-4 data is offered through the sandbox
    only."""
    errors: dict[str, str] = {}
    if plan.kind == PlanKind.SUBSCRIPTION and not plan.billing_period:
        errors["billing_period"] = _("A subscription is billed by the month or by the year.")
    if plan.kind == PlanKind.METERED_API and plan.price_per_call is None:
        errors["price_per_call"] = _("A metered plan needs a price per call (0 for free).")
    if plan.kind != PlanKind.SANDBOX and product.sandbox_only:
        errors["kind"] = _("Level-4 data can only be offered through the sandbox.")
    if errors:
        raise ValidationError(errors)
    _clear_other_kinds_fields(plan)


def _clear_other_kinds_fields(plan: PricePlan) -> None:
    """Reset the fields the plan's kind does not use to their defaults, so the terms snapshot quotes no stale value."""
    for name in KIND_FIELDS_ALL - KIND_FIELDS[plan.kind]:
        setattr(plan, name, PricePlan._meta.get_field(name).get_default())


@transaction.atomic
def plan_add(*, listing: Listing, by: Any, **fields: Any) -> PricePlan:
    """Add a price plan to a draft (or rejected) listing."""
    listing = Listing.objects.select_for_update().select_related("product").get(pk=listing.pk)
    require_role(user=by, organization=listing.organization, action="change")
    _require_editable(listing)
    plan = PricePlan(listing=listing, position=listing.plans.count(),
                     **{key: value for key, value in fields.items() if key in PLAN_FIELDS})  # fmt: skip
    plan.full_clean()
    _clean_plan(plan, listing.product)
    plan.save()
    audit_record(action="priceplan.added", obj=plan, actor=by, organization_id=listing.organization_id,
                 data={"listing": listing.pk, "kind": plan.kind, "price": str(plan.price)})  # fmt: skip
    _refresh_summary(listing)
    return plan


@transaction.atomic
def plan_withdraw(*, plan: PricePlan, by: Any) -> PricePlan:
    """Stop offering a plan (contracts already made on it are kept); a published listing keeps at least one."""
    # The listing's row first: two withdrawals of its last two plans at once must not both pass the check below.
    listing = Listing.objects.select_for_update().get(pk=plan.listing_id)
    plan = PricePlan.objects.select_for_update().get(pk=plan.pk)
    require_role(user=by, organization=listing.organization, action="change")
    _require_another_plan(listing, plan)
    plan.is_active = False
    plan.save(update_fields=["is_active"])
    audit_record(action="priceplan.withdrawn", obj=plan, actor=by, organization_id=listing.organization_id)
    _refresh_summary(listing)
    return plan


def _require_another_plan(listing: Listing, plan: PricePlan) -> None:
    """A published listing keeps a plan to contract for (its plans are frozen: no new one can be added)."""
    if listing.status != ListingStatus.PUBLISHED or not plan.is_active:
        return
    if not listing.plans.filter(is_active=True).exclude(pk=plan.pk).exists():
        message = _("This is the listing's last plan, and buyers need one to contract for: delist the listing instead.")
        raise MarketConflict(message, code="last_plan")


# --- review -----------------------------------------------------------------------------------------------------


@transaction.atomic
def listing_submit(*, listing: Listing, by: Any, ip_address: str | None = None) -> Listing:
    """Sign the terms as a standing offer and send the listing to the regulators."""
    listing = Listing.objects.select_for_update().select_related("product", "organization").get(pk=listing.pk)
    require_role(user=by, organization=listing.organization, action="change")
    _require_seller(listing.organization)
    _require_registered(listing.product)
    if not listing.plans.filter(is_active=True).exists():
        raise MarketError(_("Add at least one price plan before submitting."), code="no_plans")
    listing.offer_signed_by, listing.offer_signed_ip, listing.offer_signed_at = person_of(by), ip_address, now()
    listing.transition_to(ListingStatus.PENDING_REVIEW, by=by)  # saves the signature with the new state
    return listing


@transaction.atomic
def listing_approve(*, listing: Listing, by: User, reason: str = "") -> Listing:
    """A regulator publishes the listing: buyers find it in the catalogue."""
    require_regulator(by)
    listing = Listing.objects.select_for_update().select_related("product").get(pk=listing.pk)
    _require_registered(listing.product)
    listing.status_reason = reason
    listing.transition_to(ListingStatus.PUBLISHED, by=by, reason=reason)
    listing_reindex(listing)
    return listing


@transaction.atomic
def listing_reject(*, listing: Listing, by: User, reason: str) -> Listing:
    """A regulator refuses the listing, with the reason the merchant sees; it can be corrected and resubmitted."""
    require_regulator(by)
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    listing.status_reason = require_reason(reason)
    listing.transition_to(ListingStatus.REJECTED, by=by, reason=listing.status_reason)
    return listing


@transaction.atomic
def listing_delist(*, listing: Listing, by: Any, reason: str) -> Listing:
    """Take a published listing off the exchange (its merchant, or a regulator); active contracts run on."""
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if not is_regulator(by):
        require_role(user=by, organization=listing.organization, action="change")
    listing.status_reason = require_reason(reason)
    listing.transition_to(ListingStatus.DELISTED, by=by, reason=listing.status_reason)
    return listing


def delist_withdrawn_product(*, product: DataProduct, by: Any, reason: str) -> None:
    """Registry hook: a suspended or revoked product's published listings are delisted, with the same reason."""
    for listing in Listing.objects.select_for_update().filter(product=product, status=ListingStatus.PUBLISHED):
        listing.status_reason = reason or _("The product's registration was withdrawn.")
        listing.transition_to(ListingStatus.DELISTED, by=by, reason=listing.status_reason)


def reindex_changed_product(*, product: DataProduct, by: Any) -> None:
    """Registry hook: after a change registration, the product's published listings are searched by its new version's
    columns (and its metadata and tags as registered), and show the new version's quality score."""
    listings = Listing.objects.select_for_update().filter(product=product, status=ListingStatus.PUBLISHED)
    product_parts = _product_search_parts(product)
    for listing in listings.order_by("pk"):
        _reindex(listing, product_parts)


# --- search index -----------------------------------------------------------------------------------------------


def _column_names(product: DataProduct) -> list[str]:
    version = ProductVersion.objects.registered().filter(product=product).order_by("-number").first()
    columns = (version.profile or {}).get("columns", []) if version else []
    return [str(column.get("name", "")) for column in columns]


def _refresh_summary(listing: Listing) -> None:
    """What the catalogue filters and sorts by (sector, classification, plan kinds, lowest price, quality)."""
    search.refresh_catalogue_fields(listing)


def _product_search_parts(product: DataProduct) -> list[str]:
    """What a listing is found by from its product: title, summary, description, tags, the registered columns."""
    return [product.title, product.summary, product.description, *product.tags.values_list("name", flat=True),
            *_column_names(product)]  # fmt: skip


def listing_reindex(listing: Listing) -> None:
    """Rebuild a listing's search text (title, descriptions, tags, column names) and, on PostgreSQL, its vector."""
    _reindex(listing, _product_search_parts(listing.product))


def _reindex(listing: Listing, product_parts: list[str]) -> None:
    parts = [listing.title, listing.description, *product_parts]
    Listing.objects.filter(pk=listing.pk).update(search_text=search.search_text(parts))
    if connection.vendor == "postgresql":
        Listing.objects.filter(pk=listing.pk).update(search_vector=SearchVector("search_text", config="simple"))
    _refresh_summary(listing)
