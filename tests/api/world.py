"""One organisation's data across every area of the API, for the schema-wide tests (tests/api/).

`org` is a verified organisation that buys, sells and operates public data; `other` is its trading partner
(sells to and buys from it, operates a dataset `org` queries); `outsider` has nothing to do with either.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.choices import ApiKeyScope
from accounts.models import Membership, Organization
from integrations.services import deliveries, endpoints
from marketplace.models import Entitlement, Listing
from marketplace.services import demands, downloads, feedback, payments, settlement
from registry import services as registry_services
from registry.models import DataProduct
from sandbox.services import exports, workspaces
from tests.factories import ApiKeyFactory, InvitationFactory, OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.bulk import ledger
from tests.factories.delivery import buy
from tests.factories.marketplace import (
    contract_on,
    draft_listing,
    plan_fields,
    published_listing,
    registered_product,
    regulator,
)
from tests.factories.registry import DataProductFactory, upload_version
from tests.factories.sandbox import operator_org, published_dataset, sandbox_entitlement
from tests.factories.valuation import valuation_of
from tests.sandbox.conftest import run
from valuation import services as valuation_services

SQL = "SELECT district, count(*) AS residents FROM data GROUP BY district ORDER BY district"


@dataclass
class World:
    org: Organization
    other: Organization
    outsider: Organization
    # "write", "read", "manage" (org's), "outsider", "outsider-manage" → raw key
    keys: dict[str, str] = field(default_factory=dict)
    # What fills a route's path parameters: `{id}` by the route's resource ("products", "sandbox/runs"), other
    # parameters by name ("plan_id", "listing_id", "number", "token", "month"); see tests.api.operations.
    ids: dict[str, object] = field(default_factory=dict)
    private_ids: dict[str, object] = field(default_factory=dict)  # overrides: org's objects no outsider may see


def build_world() -> World:
    org, other, outsider = operator_org(), operator_org(), OrganizationFactory()
    world = World(org=org, other=other, outsider=outsider)
    world.keys = {
        "write": ApiKeyFactory(organization=org)[1],
        "read": ApiKeyFactory(organization=org, scope=ApiKeyScope.READ)[1],
        "manage": ApiKeyFactory(organization=org, scope=ApiKeyScope.MANAGE)[1],
        "outsider": ApiKeyFactory(organization=outsider)[1],
        "outsider-manage": ApiKeyFactory(organization=outsider, scope=ApiKeyScope.MANAGE)[1],
    }
    world.ids |= _accounts(org)
    world.ids |= _catalogue(org)
    world.ids |= _sales(org)
    world.ids |= _purchases(org, other)
    world.ids |= _valuation(org, world.ids["products"])
    world.ids |= _sandbox(world)
    world.ids |= _webhooks(org)
    world.private_ids = _private(org)
    world.ids["documents"] = world.private_ids["documents"]  # a document is its organisation's only, always
    return world


def _accounts(org: Organization) -> dict:
    member(org)
    invitation, _token = InvitationFactory(organization=org)
    return {
        "organizations": org.pk,
        "memberships": Membership.objects.filter(organization=org).order_by("pk").last().pk,
        "invitations": invitation.pk,
        "api-keys": org.api_keys.order_by("pk").first().pk,
    }


def _catalogue(org: Organization) -> dict:
    product = registered_product(organization=org, title="Qingdao port throughput")
    listing = published_listing(product)
    return {
        "products": product.pk,
        "versions": product.versions.get().pk,
        "number": product.certificates.get().number,
        "listings": listing.pk,
        "plan_id": listing.plans.get().pk,
    }


def _sales(org: Organization) -> dict:
    """A third party buys org's listing and rates it; org is paid out part of its balance."""
    sold = buy(Listing.objects.get(organization=org))
    rating = feedback.review_create(contract=sold, by=owner_of(sold.buyer), rating=3, comment="Late updates.")
    ledger(org, "sale", "1000.00")
    payout = settlement.payout_create(organization=org, amount=Decimal("500.00"), by=regulator())
    return {
        "reviews": rating.pk,  # of org's listing: org may reply
        "payouts": payout.pk,
        "month": timezone.localdate().strftime("%Y-%m"),
    }


def _purchases(org: Organization, other: Organization) -> dict:
    """Org buys a licence (downloaded, rated, complained about) and metered API access from `other`, has a contract
    awaiting payment, and a demand `other` answered."""
    owner = owner_of(org)
    theirs = published_listing(
        registered_product(organization=other), plans=[plan_fields(), plan_fields("metered_api", name="API")]
    )
    licence, metered = theirs.plans.order_by("pk")
    bought = buy(theirs, plan=licence, buyer=org)
    buy(theirs, plan=metered, buyer=org)
    awaiting = contract_on(published_listing(registered_product(organization=other)), buyer=org)
    payment = payments.payment_start(contract=awaiting, by=owner).payment
    entitlement = Entitlement.objects.get(contract=bought)
    demand = demands.demand_post(
        organization=org, by=owner, title="Port congestion data", sector="marine", need="Daily port congestion."
    )
    offer = demands.offer_make(demand=demand, listing=theirs, plan=licence, price=Decimal("4000"), by=owner_of(other))
    feedback.review_create(contract=bought, by=owner, rating=4, comment="Clean data.")
    complaint = feedback.complaint_create(
        contract=bought, by=owner, kind="quality", description="Some rows are duplicated in March."
    )
    return {
        "contracts": awaiting.pk,
        "payments": payment.pk,
        "entitlements": entitlement.pk,
        "token": downloads.download_link(entitlement=entitlement, by=owner),
        "listing_id": theirs.pk,
        "demands": demand.pk,
        "offers": offer.pk,
        "complaints": complaint.pk,
    }


def _valuation(org: Organization, product_id: int) -> dict:
    owner = owner_of(org)
    valuation = valuation_of(DataProduct.objects.get(pk=product_id))
    valuation_services.valuation_execute(valuation_id=valuation.pk)
    comparable = valuation_services.comparable_add(
        organization=org, by=owner, sector="marine", description="Port throughput feed, 12 months",
        price=Decimal("120000"), transacted_on=datetime.date(2026, 1, 15), source="Qingdao exchange bulletin",
    )  # fmt: skip
    batch = valuation_services.revaluation_start(organization=org, by=owner, queue=False)
    return {"valuations": valuation.pk, "comparables": comparable.pk, "revaluations": batch.pk}


def _sandbox(world: World) -> dict:
    org, other = world.org, world.other
    own = published_dataset(org)
    theirs = published_dataset(other)
    sandbox_entitlement(theirs, buyer=org)
    owner = owner_of(org)
    done = run(theirs, owner, SQL)
    saved = workspaces.saved_query_save(dataset=theirs, by=owner, title="Residents by district", sql=SQL)
    export = exports.export_request(run=done, by=owner, purpose="Plan the district's clinics.")
    exports.export_decide(export=export, by=owner_of(other), approve=True)
    return {
        "sandbox/datasets": own.pk,
        "sandbox/workspaces": theirs.pk,
        "sandbox/runs": done.pk,
        "sandbox/saved-queries": saved.pk,
        "sandbox/exports": export.pk,
    }


def _webhooks(org: Organization) -> dict:
    endpoint = endpoints.endpoint_create(
        organization=org, url="https://erp.example.com/databourse/hooks", events=["listing.published"], by=owner_of(org)
    )
    delivery = deliveries.test_delivery_create(endpoint=endpoint)
    return {"webhook-endpoints": endpoint.pk, "webhook-deliveries": delivery.pk}


def _private(org: Organization) -> dict:
    """Objects of `org` that only its own members see (the catalogue shows registered products to everyone)."""
    product = DataProductFactory(organization=org)
    version = upload_version(product)  # not profiled: the profiling task waits for a commit that never comes
    listing = draft_listing(registered_product(organization=org))
    consent = SimpleUploadedFile("consent.pdf", b"%PDF-1.4 consent of the data subjects")
    document = registry_services.document_add(product=product, by=owner_of(org), title="Consent form", file=consent)
    return {
        "documents": document.pk,
        "products": product.pk,
        "versions": version.pk,
        "listings": listing.pk,
        "listing_id": listing.pk,
        "plan_id": listing.plans.get().pk,
    }
