"""Listings through review, contracts through their states, and the access they grant."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from accounts.choices import Role, VerificationStatus
from audit.models import AuditEvent
from core.errors import OrganizationNotVerified, PermissionDeniedError
from marketplace.choices import ContractStatus, EntitlementStatus, ListingStatus
from marketplace.models import Contract, Entitlement, Listing
from marketplace.services import contracts, listings
from marketplace.services.common import MarketError
from registry import services as registry_services
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import (
    PURPOSE,
    contract_on,
    draft_listing,
    plan_fields,
    published_listing,
    registered_product,
    regulator,
)
from tests.factories.registry import DataProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return registered_product()


@pytest.fixture
def listing(product):
    return published_listing(product)


# --- listings ---------------------------------------------------------------------------------------------------


def test_only_a_registered_product_can_be_listed():
    draft = DataProductFactory()
    with pytest.raises(MarketError) as exc:
        listings.listing_create(product=draft, by=owner_of(draft.organization), permitted_purposes="x")
    assert exc.value.code == "product_not_registered"


def test_listing_review_and_search_index(product):
    listing = draft_listing(product)
    assert listing.status == ListingStatus.DRAFT and listing.title == product.title
    listings.listing_submit(listing=listing, by=owner_of(product.organization), ip_address="10.0.0.9")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_REVIEW and listing.offer_signed_ip == "10.0.0.9"
    listings.listing_approve(listing=listing, by=regulator())
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED and listing.published_at
    assert "tons" in listing.search_text.split() and listing.min_price == Decimal("5000.00")
    actions = set(AuditEvent.objects.for_object(listing).values_list("action", flat=True))
    assert {"listing.created", "listing.pending_review", "listing.published"} <= actions


def test_submitting_needs_a_plan_and_approval_needs_a_regulator(product):
    listing = draft_listing(product, plans=[])
    with pytest.raises(MarketError) as exc:
        listings.listing_submit(listing=listing, by=owner_of(product.organization))
    assert exc.value.code == "no_plans"
    listings.plan_add(listing=listing, by=owner_of(product.organization), **plan_fields())
    listings.listing_submit(listing=listing, by=owner_of(product.organization))
    with pytest.raises(PermissionDeniedError):
        listings.listing_approve(listing=listing, by=owner_of(product.organization))
    with pytest.raises(MarketError):  # a rejection needs a reason
        listings.listing_reject(listing=listing, by=regulator(), reason=" ")


def test_plans_need_their_own_fields(product):
    listing = draft_listing(product, plans=[])
    owner = owner_of(product.organization)
    with pytest.raises(ValidationError) as exc:
        listings.plan_add(listing=listing, by=owner, kind="subscription", name="Monthly", price=Decimal(100))
    assert "billing_period" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        listings.plan_add(listing=listing, by=owner, kind="licence", name="x", price=Decimal(-1))
    assert "price" in exc.value.message_dict


def test_suspending_the_product_delists_its_listings(product, listing):
    registry_services.product_suspend(product=product, by=regulator(), reason="Rights disputed.")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DELISTED and listing.status_reason == "Rights disputed."


def test_viewer_cannot_draft_a_listing(product):
    with pytest.raises(PermissionDeniedError):
        listings.listing_create(product=product, by=member(product.organization, Role.VIEWER), permitted_purposes="x")


# --- contracts --------------------------------------------------------------------------------------------------


def test_a_request_snapshots_and_signs_the_terms(listing):
    contract = contract_on(listing)
    assert contract.status == ContractStatus.AWAITING_PAYMENT
    assert contract.number.startswith(f"DBC-{timezone.now():%Y}-")
    assert contract.terms["licence"]["permitted_purposes"] == listing.permitted_purposes
    assert contract.terms_sha256 == contracts.terms_hash(contract.terms) and len(contract.terms_sha256) == 64
    buyer, merchant = contract.signatures.order_by("party")
    assert (buyer.party, buyer.ip_address, buyer.terms_sha256) == ("buyer", "10.0.0.2", contract.terms_sha256)
    assert merchant.party == "merchant" and merchant.standing and merchant.ip_address == "10.0.0.1"


def test_buyer_and_merchant_both_see_the_contract_others_do_not(listing):
    contract = contract_on(listing)
    assert Contract.objects.restrict(owner_of(contract.buyer)).filter(pk=contract.pk).exists()
    assert Contract.objects.restrict(owner_of(contract.merchant)).filter(pk=contract.pk).exists()
    assert not Contract.objects.restrict(owner_of(OrganizationFactory())).filter(pk=contract.pk).exists()


def test_a_plan_needing_approval_waits_for_the_merchant(product):
    listing = published_listing(product, plans=[plan_fields(requires_approval=True)])
    contract = contract_on(listing)
    assert contract.status == ContractStatus.REQUESTED and contract.signatures.count() == 1
    contracts.contract_approve(contract=contract, by=owner_of(listing.organization), ip_address="10.0.0.3")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.AWAITING_PAYMENT and contract.signatures.count() == 2


def test_a_request_signed_by_the_buyer_only_cannot_start(product):
    # given a free plan that needs the merchant's approval: only the buyer has signed
    listing = published_listing(product, plans=[plan_fields(price=Decimal(0), requires_approval=True)])
    contract = contract_on(listing)
    with pytest.raises(MarketError) as exc:
        contracts.contract_activate(contract=contract)
    assert exc.value.code == "not_signed"
    assert Contract.objects.get(pk=contract.pk).status == ContractStatus.REQUESTED
    assert not Entitlement.objects.filter(contract=contract).exists()


def test_a_declined_request_is_cancelled_with_the_reason(product):
    listing = published_listing(product, plans=[plan_fields(requires_approval=True)])
    contract = contracts.contract_decline(
        contract=contract_on(listing), by=owner_of(listing.organization), reason="Purpose not covered."
    )
    assert contract.status == ContractStatus.CANCELLED and contract.status_reason == "Purpose not covered."


def test_a_free_plan_is_active_at_once_with_a_download_entitlement(product):
    listing = published_listing(product, plans=[plan_fields(price=Decimal(0), download_days=7)])
    contract = contract_on(listing)
    assert contract.status == ContractStatus.ACTIVE
    entitlement = Entitlement.objects.get(contract=contract)
    assert entitlement.kind == "download" and entitlement.status == EntitlementStatus.ACTIVE
    assert (entitlement.ends_at - contract.starts_at).days == 7
    assert contract.ends_at > entitlement.ends_at  # the licence term (12 months) outlives the download window


def test_activation_grants_and_expiry_ends(listing):
    contract = contract_on(listing)
    contracts.contract_activate(contract=contract)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE and Entitlement.objects.active().filter(contract=contract)
    Contract.objects.filter(pk=contract.pk).update(ends_at=timezone.now() - timezone.timedelta(seconds=1))
    assert contracts.expire_due() == 1
    contract.refresh_from_db()
    assert contract.status == ContractStatus.EXPIRED
    assert not Entitlement.objects.active().filter(contract=contract).exists()


def test_metered_entitlement_copies_the_signed_quota(product):
    listing = published_listing(product, plans=[plan_fields("metered_api", price=Decimal(0))])
    entitlement = Entitlement.objects.get(contract=contract_on(listing))
    assert (entitlement.kind, entitlement.free_calls, entitlement.price_per_call) == ("api", 100, Decimal("0.05"))


@pytest.mark.parametrize(
    ("make_buyer", "code"),
    [
        (lambda listing: listing.organization, "own_listing"),
        (lambda listing: OrganizationFactory(can_buy=False), "not_a_buyer"),
    ],
)
def test_who_cannot_buy(listing, make_buyer, code):
    with pytest.raises(MarketError) as exc:
        contract_on(listing, buyer=make_buyer(listing))
    assert exc.value.code == code
    assert not Contract.objects.exists()


def test_an_unverified_buyer_cannot_buy(listing):
    with pytest.raises(OrganizationNotVerified):
        contract_on(listing, buyer=OrganizationFactory(status=VerificationStatus.PENDING))
    assert not Contract.objects.exists()


def test_a_delisted_listing_cannot_be_bought(listing):
    listings.listing_delist(listing=listing, by=owner_of(listing.organization), reason="Replaced by a new edition.")
    with pytest.raises(MarketError) as exc:
        contract_on(listing)
    assert exc.value.code == "listing_not_published"


def test_a_purpose_is_required(listing):
    buyer = OrganizationFactory()
    with pytest.raises(MarketError) as exc:
        contracts.contract_request(listing=listing, plan=listing.plans.get(), buyer=buyer, by=owner_of(buyer),
                                   purpose="  ")  # fmt: skip
    assert exc.value.code == "purpose_required"


def test_an_exclusive_plan_has_one_holder_until_it_is_released(product):
    listing = published_listing(product, plans=[plan_fields(exclusive=True)])
    first = contract_on(listing)
    with pytest.raises(MarketError) as exc:
        contract_on(listing)
    assert exc.value.code == "exclusive_taken"
    contracts.contract_cancel(contract=first, by=owner_of(first.buyer))
    assert contract_on(listing).status == ContractStatus.AWAITING_PAYMENT


@pytest.mark.django_db(transaction=True)
def test_two_buyers_racing_for_an_exclusive_plan_get_one_contract():
    product = registered_product()
    listing = published_listing(product, plans=[plan_fields(exclusive=True)])
    buyers = [OrganizationFactory(), OrganizationFactory()]
    barrier, outcomes = threading.Barrier(2), []

    def buy(buyer):
        barrier.wait()
        try:
            outcomes.append(contract_on(Listing.objects.get(pk=listing.pk), buyer=buyer).status)
        except MarketError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["awaiting_payment", "exclusive_taken"]
    assert Contract.objects.count() == 1


def test_termination_needs_a_reason_and_ends_access(listing):
    contract = contracts.contract_activate(contract=contract_on(listing))
    with pytest.raises(MarketError):
        contracts.contract_terminate(contract=contract, by=regulator(), reason="")
    contracts.contract_terminate(contract=contract, by=regulator(), reason="Data used beyond the licence.")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.TERMINATED
    assert not Entitlement.objects.active().filter(contract=contract).exists()


def test_an_active_contract_cannot_be_cancelled(listing):
    contract = contracts.contract_activate(contract=contract_on(listing))
    with pytest.raises(MarketError) as exc:
        contracts.contract_cancel(contract=contract, by=owner_of(contract.buyer))
    assert exc.value.code == "not_cancellable"


def test_purpose_is_in_the_terms(listing):
    assert contract_on(listing).terms["purpose"] == PURPOSE


def test_an_unverified_organisation_cannot_list(product):
    from accounts.models import Organization

    Organization.objects.filter(pk=product.organization_id).update(status=VerificationStatus.PENDING)
    with pytest.raises(OrganizationNotVerified):
        listings.listing_create(product=product, by=owner_of(product.organization), permitted_purposes="x")
    assert not Listing.objects.exists()
