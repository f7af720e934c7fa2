"""Marketplace data built through the services: registered products, published listings with plans, contracts."""

from decimal import Decimal

from marketplace.models import Contract, Listing, PricePlan
from marketplace.services import contracts, listings
from registry import services as registry_services
from registry.tasks import version_profile
from tests.factories.accounts import OrganizationFactory, owner_of
from tests.factories.registry import DataProductFactory, upload_version

CLEAN_CSV = ("date,port,tons\n" + "".join(f"2026-11-{d:02d},Qingdao,{1000 + d}\n" for d in range(1, 21))).encode()
PURPOSE = "Port congestion forecasting for our logistics planning."


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
