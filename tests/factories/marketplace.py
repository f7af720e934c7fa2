"""Marketplace data built through the services: registered products, published listings with plans, contracts; and
the rows a list page shows, made in numbers (contracts held, listing clones, payments, demands, offers, payouts)."""

import itertools
import uuid
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.services import grant_to_organization
from marketplace.choices import ContractStatus, ListingStatus, PaymentStatus, PlanKind
from marketplace.models import Contract, Listing, Payment, PricePlan, Refund
from marketplace.services import contracts, demands, listings, settlement
from registry import services as registry_services
from registry.choices import Sector
from registry.tasks import version_profile
from tests.factories.accounts import OrganizationFactory, owner_of
from tests.factories.registry import DataProductFactory, upload_version

CLEAN_CSV = ("date,port,tons\n" + "".join(f"2026-11-{d:02d},Qingdao,{1000 + d}\n" for d in range(1, 21))).encode()
PURPOSE = "Port congestion forecasting for our logistics planning."
_serial = itertools.count(1)


def regulator():
    """The owner of a (new) regulator organisation."""
    return owner_of(OrganizationFactory(kind="regulator"))


def registered_product(organization=None, content: bytes = CLEAN_CSV, **fields):
    """A product with a version profiled here and now (not waiting for the commit), submitted and approved."""
    product = DataProductFactory(organization=organization or OrganizationFactory(), **fields)
    version_profile(upload_version(product, content).pk)
    registry_services.product_submit(product=product, by=owner_of(product.organization))
    registry_services.product_approve(product=product, by=regulator(), reason="Complete and lawful.")
    return product


def plan_fields(kind: str = "licence", **overrides) -> dict:
    base = {"kind": kind, "name": f"{kind} plan", "price": Decimal("5000.00")}
    if kind == "subscription":
        base["billing_period"] = "month"
    if kind == "metered_api":
        base.update(price=Decimal(0), price_per_call=Decimal("0.05"), free_calls=100)
    return {**base, **overrides}


# A plan of each kind that needs no payment to start or that delivers differently: a download, metered API, sandbox.
PLANS = [plan_fields("licence"), plan_fields("metered_api"), plan_fields("sandbox", price=Decimal(0))]


def draft_listing(product, plans: list[dict] | None = None, **fields) -> Listing:
    owner = owner_of(product.organization)
    listing = listings.listing_create(
        product=product, by=owner, permitted_purposes="Analysis and forecasting inside the buyer.", **fields
    )
    for plan in plans if plans is not None else [plan_fields()]:
        listings.plan_add(listing=listing, by=owner, **plan)
    return listing


def published_listing(product, plans: list[dict] | None = None, **fields) -> Listing:
    listing = draft_listing(product, plans, **fields)
    listings.listing_submit(listing=listing, by=owner_of(product.organization), ip_address="10.0.0.1")
    return listings.listing_approve(listing=listing, by=regulator())


def contract_on(listing: Listing, plan: PricePlan | None = None, buyer=None, **kwargs) -> Contract:
    buyer = buyer or OrganizationFactory()
    plan = plan or listing.plans.first()
    return contracts.contract_request(
        listing=listing, plan=plan, buyer=buyer, by=owner_of(buyer), purpose=PURPOSE, ip_address="10.0.0.2", **kwargs
    )


# --- rows in numbers, for the pages and endpoints that list them ---------------------------------------------


def held(listing: Listing, buyer, count: int) -> list[Contract]:
    """`count` active contracts of the buyer on the listing, on each of its plans in turn (a download, metered API
    or sandbox entitlement each)."""
    plans = list(listing.plans.order_by("position"))
    made = []
    for index in range(count):
        contract = contract_on(listing, plan=plans[index % len(plans)], buyer=buyer)
        if contract.status != ContractStatus.ACTIVE:  # free plans start at once
            contract = contracts.contract_activate(contract=contract)
        made.append(contract)
    return made


def more_listings(listing: Listing, count: int) -> list[Listing]:
    """`count` more published listings of the same merchant and product, each with a plan, granted like real ones."""
    made = []
    for _ in range(count):
        clone = Listing.objects.create(
            product=listing.product, organization=listing.organization, title=f"{listing.title} {next(_serial)}",
            permitted_purposes=listing.permitted_purposes, status=ListingStatus.PUBLISHED,
            created_by=listing.created_by, published_at=timezone.now(), min_price=Decimal(100),
        )  # fmt: skip
        PricePlan.objects.create(listing=clone, kind=PlanKind.LICENCE, name="Licence", price=Decimal(100))
        grant_to_organization(clone, listing.organization)
        made.append(clone)
    return made


def paid(contract: Contract, refunds: int = 0) -> Payment:
    """A succeeded payment of the contract, visible to both parties, with `refunds` partial refunds."""
    payment = Payment.objects.create(
        contract=contract, amount=Decimal(5000), status=PaymentStatus.SUCCEEDED,
        stripe_payment_intent=f"pi_{uuid.uuid4().hex[:20]}", idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip
    grant_to_organization(payment, contract.buyer)
    grant_to_organization(payment, contract.merchant)
    by = owner_of(contract.merchant)
    Refund.objects.bulk_create(
        Refund(payment=payment, amount=Decimal(10), reason="Late delivery.", idempotency_key=uuid.uuid4().hex,
               stripe_refund=f"re_{uuid.uuid4().hex[:20]}", requested_by=by)
        for _ in range(refunds)
    )  # fmt: skip
    return payment


def post_demand(buyer, title: str = "Container throughput by terminal", **fields) -> Any:
    return demands.demand_post(organization=buyer, by=owner_of(buyer), title=title, sector=Sector.MARINE,
                               need="Daily container throughput at Qingdao port terminals.", **fields)  # fmt: skip


def offer(demand, listing: Listing) -> Any:
    return demands.offer_make(demand=demand, listing=listing, plan=listing.plans.first(), price=Decimal(4200),
                              by=owner_of(listing.organization), message="Ready to deliver.")  # fmt: skip


def payouts(merchant, count: int) -> None:
    by = regulator()
    for _ in range(count):
        settlement.payout_create(organization=merchant, amount=Decimal(10), by=by)


# --- one small product both buy journeys trade (tests/marketplace/test_journey.py, tests/browser/) --------------

REEFER_TITLE = "Qingdao reefer container throughput"
REEFER_WORD = "reefer"
REEFER_PRICE = Decimal("5000.00")
REEFER_PORTS = ("Qingdao", "Rizhao", "Yantai", "Weihai", "Dongying")
# 120 distinct records: enough for the fingerprint to name its contract (25 matching records reach z = 5).
REEFER_CSV = ("date,port,berth,reefers\n" + "".join(
    f"2026-{1 + i % 12:02d}-{1 + i % 28:02d},{REEFER_PORTS[i % 5]},B{i % 17},{300 + 7 * i}\n" for i in range(120)
)).encode()  # fmt: skip
