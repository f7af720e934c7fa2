"""The listing services: each plan kind keeps only its own fields, a published listing keeps a plan, and a change
registration of the product reindexes its published listings."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.choices import ApiKeyScope
from audit.models import AuditEvent
from marketplace import search
from marketplace.choices import ListingStatus, PlanKind
from marketplace.models import Listing, PricePlan
from marketplace.services import listings
from marketplace.services.common import MarketConflict
from registry import services as registry_services
from registry.models import DataProduct
from registry.tasks import version_profile
from tests.api import assert_error, with_key
from tests.factories import ApiKeyFactory
from tests.factories.accounts import owner_of
from tests.factories.marketplace import (
    CLEAN_CSV,
    contract_on,
    draft_listing,
    plan_fields,
    published_listing,
    registered_product,
    regulator,
)
from tests.factories.registry import upload_version

pytestmark = pytest.mark.django_db

# Every kind-specific field set to something other than its default.
EVERY_FIELD = {
    "billing_period": "year",
    "price_per_call": Decimal("0.50"),
    "free_calls": 500,
    "rate_limit_per_minute": 5,
    "download_days": 7,
}
BERTHS_CSV = (
    "date,port,tons,berth\n" + "".join(f"2026-12-{d:02d},Qingdao,{1000 + d},{d % 4}\n" for d in range(1, 21))
).encode()
DEFAULTS = {"billing_period": "", "price_per_call": None, "free_calls": 0, "rate_limit_per_minute": 60,
            "download_days": 30}  # fmt: skip


@pytest.fixture
def product():
    return registered_product()


def kind_fields(plan: PricePlan) -> dict:
    return {name: getattr(plan, name) for name in EVERY_FIELD}


# --- plan fields by kind ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(PlanKind))
def test_a_plan_keeps_only_its_kinds_fields(product, kind):
    listing = draft_listing(product, plans=[])
    plan = listings.plan_add(listing=listing, by=owner_of(product.organization), kind=kind, name="Plan",
                             price=Decimal(10), **EVERY_FIELD)  # fmt: skip
    plan.refresh_from_db()
    own = listings.KIND_FIELDS[kind]
    assert kind_fields(plan) == {name: EVERY_FIELD[name] if name in own else DEFAULTS[name] for name in EVERY_FIELD}


def test_the_contract_terms_quote_no_other_kinds_values(product):
    listing = published_listing(product, plans=[plan_fields("licence", **EVERY_FIELD)])
    terms = contract_on(listing).terms["plan"]
    assert (terms["download_days"], terms["price_per_call"], terms["free_calls"]) == (7, None, 0)
    assert (terms["rate_limit_per_minute"], terms["billing_period"]) == (60, "")


def test_a_plan_missing_its_own_fields_is_refused_before_anything_is_cleared(product):
    listing = draft_listing(product, plans=[])
    with pytest.raises(ValidationError) as exc:
        listings.plan_add(listing=listing, by=owner_of(product.organization), kind=PlanKind.METERED_API,
                          name="Per call", price=Decimal(0), free_calls=10)  # fmt: skip
    assert "price_per_call" in exc.value.message_dict
    assert not PricePlan.objects.exists()


# --- withdrawing plans ------------------------------------------------------------------------------------------


def test_the_last_plan_of_a_published_listing_cannot_be_withdrawn(product):
    listing = published_listing(product, plans=[plan_fields(), plan_fields("sandbox", price=Decimal(0))])
    owner = owner_of(product.organization)
    first, last = listing.plans.order_by("position")
    listings.plan_withdraw(plan=first, by=owner)
    listings.plan_withdraw(plan=first, by=owner)  # withdrawn already: nothing to refuse
    with pytest.raises(MarketConflict) as exc:
        listings.plan_withdraw(plan=last, by=owner)
    assert exc.value.code == "last_plan" and exc.value.status == 409
    assert PricePlan.objects.get(pk=last.pk).is_active
    assert not AuditEvent.objects.for_object(last).filter(action="priceplan.withdrawn").exists()
    assert Listing.objects.get(pk=listing.pk).min_price == Decimal(0)


def test_the_last_plan_of_a_draft_or_delisted_listing_can_be_withdrawn(product):
    owner = owner_of(product.organization)
    draft = draft_listing(product)
    assert not listings.plan_withdraw(plan=draft.plans.get(), by=owner).is_active
    delisted = published_listing(registered_product(product.organization))
    listings.listing_delist(listing=delisted, by=owner, reason="Data no longer maintained.")
    assert not listings.plan_withdraw(plan=delisted.plans.get(), by=owner).is_active


def test_the_api_refuses_the_last_plan_with_its_code(product):
    listing = published_listing(product)
    _key, raw = ApiKeyFactory(organization=product.organization, scope=ApiKeyScope.WRITE)
    response = with_key(raw).post(f"/api/v1/listings/{listing.pk}/plans/{listing.plans.get().pk}/withdraw/")
    assert "delist" in assert_error(response, 409, "last_plan")["detail"]
    assert listing.plans.get().is_active


# --- change registration ----------------------------------------------------------------------------------------


def register_new_version(product: DataProduct, content: bytes) -> None:
    """Upload, profile, submit and approve a new version of a registered product (change registration)."""
    version = upload_version(product, content)
    version_profile(version.pk)
    registry_services.version_submit(version=version, by=owner_of(product.organization))
    registry_services.version_approve(version=version, by=regulator(), reason="New column, same source.")


def found(words: str) -> set[int]:
    return set(search.filter_search(Listing.objects.all(), words).values_list("pk", flat=True))


def test_a_change_registration_reindexes_the_products_published_listings(product):
    published = Listing.objects.get(pk=published_listing(product).pk)
    draft = draft_listing(product)
    other = Listing.objects.get(pk=published_listing(registered_product()).pk)
    assert "port" in published.search_text.split() and "berth" not in published.search_text
    assert found("berth") == set()

    register_new_version(DataProduct.objects.get(pk=product.pk), BERTHS_CSV)

    published.refresh_from_db()
    assert "berth" in published.search_text.split() and found("berth") == {published.pk}
    assert Listing.objects.get(pk=draft.pk).search_text == ""  # indexed when a regulator publishes it
    assert Listing.objects.get(pk=other.pk).search_text == other.search_text
    latest = product.versions.registered().latest("number")
    assert latest.number == 2 and published.quality_score == latest.quality_score


def test_a_delisted_listing_is_not_reindexed(product):
    listing = published_listing(product)
    listings.listing_delist(listing=listing, by=owner_of(product.organization), reason="Paused.")
    before = Listing.objects.get(pk=listing.pk).search_text
    register_new_version(DataProduct.objects.get(pk=product.pk), CLEAN_CSV.replace(b"tons", b"tonnage"))
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DELISTED and listing.search_text == before
