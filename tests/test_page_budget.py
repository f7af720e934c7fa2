"""Issue 8's page budget: every main page of the web UI renders in under 10 SQL queries, whatever the data size.

Each test builds one organisation's data across every area (tests.api.world: `org` buys, sells and operates public
data, `other` is its trading partner), signs in as whoever uses the page, adds a few rows of what the page lists,
renders it, adds many more and renders it again. Both renders must stay under the budget, counting everything a
request costs: the session, the user, the memberships, the page. Each path is requested once before it is counted, so
per-process caches (content types) are warm as in a running server.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from integrations.models import WebhookEndpoint
from integrations.services.endpoints import MAX_ENDPOINTS
from marketplace.choices import ComplaintKind, EntitlementKind
from marketplace.models import Contract, Demand, Entitlement, Listing
from marketplace.services import feedback
from marketplace.services.stats import month_starts
from registry import services as registry_services
from registry.models import DataProduct
from sandbox.models import ExportRequest, SandboxDataset
from sandbox.services import exports, workspaces
from tests.api.world import SQL, World, build_world
from tests.factories import ApiKeyFactory, InvitationFactory, MembershipFactory, OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.bulk import at, bulk_contracts, calls, downloads
from tests.factories.integrations import delivery_for, endpoint_for
from tests.factories.marketplace import held, more_listings, offer, paid, payouts, post_demand
from tests.factories.registry import DataProductFactory, upload_version
from tests.factories.sandbox import sandbox_entitlement
from tests.factories.valuation import valuation_of
from tests.marketplace.stripe_helpers import booked_sale
from tests.sandbox.conftest import run
from valuation import services as valuation_services
from valuation.models import RevaluationBatch

pytestmark = pytest.mark.django_db

BUDGET = 10  # queries per page, fewer than
FEW, MANY = 2, 25  # rows of what the page lists, in the first and the second render


def _none(world: World, count: int) -> None:
    """Pages that list nothing of their own: measured twice all the same."""


@dataclass(frozen=True)
class Page:
    path: Callable[[World], str]
    grow: Callable[[World, int], Any] = _none
    user: Callable[[World], User | None] = lambda world: owner_of(world.org)


def url(name: str, *args: Any, query: str = "") -> str:
    return reverse(name, args=args) + (f"?{query}" if query else "")


def page(name: str, key: str | None = None, *, query: str = "") -> Callable[[World], str]:
    """The path of `name`, with the world's object `key` as its argument."""
    return lambda world: url(name, *([world.ids[key]] if key else []), query=query)


def private(name: str, key: str, *args: Any) -> Callable[[World], str]:
    """The path of `name` for org's object `key` that only its members see (a draft product or listing)."""
    return lambda world: url(name, world.private_ids[key], *args)


def guest(world: World) -> None:
    return None


def partner(world: World) -> User:
    """The owner of `other`: the merchant answering org's demand, the operator of the dataset org queries."""
    return owner_of(world.other)


# --- what the pages list, in numbers ------------------------------------------------------------------------------


def own_listing(world: World) -> Listing:
    return Listing.objects.get(pk=world.ids["listings"])


def their_listing(world: World) -> Listing:
    return Listing.objects.get(pk=world.ids["listing_id"])


def memberships(world: World, count: int) -> None:
    for _ in range(count):
        MembershipFactory(user=owner_of(world.org), organization=OrganizationFactory(), role="viewer")


def members(world: World, count: int) -> None:
    for _ in range(count):
        member(world.org)
        InvitationFactory(organization=world.org)


def api_keys(world: World, count: int) -> None:
    for _ in range(count):
        ApiKeyFactory(organization=world.org)


def products(world: World, count: int) -> None:
    for _ in range(count):
        DataProductFactory(organization=world.org)


def versions_and_documents(world: World, count: int) -> None:
    """Versions (uploaded, not profiled) and supporting documents of org's draft product."""
    product = DataProduct.objects.get(pk=world.private_ids["products"])
    for index in range(count):
        upload_version(product)
        upload = SimpleUploadedFile(f"consent-{index}.pdf", b"%PDF-1.4 consent", content_type="application/pdf")
        registry_services.document_add(product=product, by=owner_of(world.org), title="Consent", file=upload)


def valuations(world: World, count: int, batch: RevaluationBatch | None = None) -> None:
    product = DataProduct.objects.get(pk=world.ids["products"])
    for _ in range(count):
        valuation = valuation_of(product, batch=batch)
        valuation_services.valuation_execute(valuation_id=valuation.pk)


def batch_valuations(world: World, count: int) -> None:
    valuations(world, count, batch=RevaluationBatch.objects.get(pk=world.ids["revaluations"]))


def comparables(world: World, count: int) -> None:
    for index in range(count):
        valuation_services.comparable_add(
            organization=world.org, by=owner_of(world.org), sector="marine", description=f"Port feed {index}",
            price=Decimal("120000"), transacted_on=month_starts()[0], source="Qingdao exchange bulletin",
        )  # fmt: skip


def listings(world: World, count: int) -> None:
    more_listings(own_listing(world), count)


def reviews_received(world: World, count: int) -> None:
    for contract in held(own_listing(world), OrganizationFactory(), count):
        review = feedback.review_create(contract=contract, by=owner_of(contract.buyer), rating=4, comment="Good.")
        feedback.review_reply(review=review, by=owner_of(world.org), reply="Thank you.")


def purchases(world: World, count: int) -> list[Contract]:
    return held(their_listing(world), world.org, count)


def reviews_written(world: World, count: int) -> None:
    for contract in purchases(world, count):
        feedback.review_create(contract=contract, by=owner_of(world.org), rating=5, comment="Clean data.")


def complaints(world: World, count: int) -> None:
    for contract in purchases(world, count):
        feedback.complaint_create(contract=contract, by=owner_of(world.org), kind=ComplaintKind.choices[0][0],
                                  description="The file misses the last week.")  # fmt: skip


def sales(world: World, count: int) -> None:
    for contract in held(own_listing(world), OrganizationFactory(), count):
        paid(contract)
        booked_sale(contract, "100.00")


def settlement_lines(world: World, count: int) -> None:
    for contract in held(own_listing(world), OrganizationFactory(), count):
        booked_sale(contract, "1000.00")
    payouts(world.org, 2)


def refunds(world: World, count: int) -> None:
    """A payment of a sale of org's with `count` refunds (the page shows the newest)."""
    contract = held(own_listing(world), OrganizationFactory(), 1)[0]
    world.ids["payment_of_a_sale"] = paid(contract, refunds=count).pk


def downloads_made(world: World, count: int) -> None:
    downloads(Entitlement.objects.get(pk=world.ids["entitlements"]), count)


def api_entitlement(world: World) -> Entitlement:
    return Entitlement.objects.get(contract__buyer=world.org, kind=EntitlementKind.API)


def api_calls(world: World, count: int) -> None:
    months = month_starts()
    for index in range(count):
        calls(api_entitlement(world), 3, period=months[index % len(months)])


def purchases_used(world: World, count: int) -> None:
    for entitlement in Entitlement.objects.filter(contract__in=purchases(world, count)):
        downloads(entitlement, 1, when=at(month_starts()[-2]))
        calls(entitlement, 1, period=month_starts()[-3])


def exchange_contracts(world: World, count: int) -> None:
    last_month = month_starts(1, complete=True)[0]
    bulk_contracts(own_listing(world), OrganizationFactory(), count, starts_at=at(last_month))


def demands(world: World, count: int) -> None:
    for index in range(count):
        post_demand(world.org, title=f"Our need {index}")
        demand = post_demand(OrganizationFactory(can_sell=False), title=f"Their need {index}")
        if index % 2:
            offer(demand, own_listing(world))


def offers(world: World, count: int) -> None:
    """Offers of `other` on org's demand, each on a listing of its own."""
    demand = Demand.objects.get(pk=world.ids["demands"])
    for clone in more_listings(their_listing(world), count):
        offer(demand, clone)


def endpoints(world: World, count: int) -> None:
    """More endpoints of org's, up to the most an organisation may register."""
    for _ in range(min(count, MAX_ENDPOINTS - world.org.webhook_endpoints.count())):
        endpoint_for(world.org)


def deliveries(world: World, count: int) -> None:
    endpoint = WebhookEndpoint.objects.get(pk=world.ids["webhook-endpoints"])
    for _ in range(count):
        delivery_for(endpoint)


def runs_on_own_dataset(world: World, count: int) -> None:
    """Queries of a buyer of org's own dataset."""
    dataset = SandboxDataset.objects.get(pk=world.ids["sandbox/datasets"])
    buyer = OrganizationFactory()
    sandbox_entitlement(dataset, buyer)
    for _ in range(count):
        run(dataset, owner_of(buyer), SQL)


def workspace_use(world: World, count: int) -> None:
    """Org's runs and saved queries on the dataset it queries."""
    dataset = SandboxDataset.objects.get(pk=world.ids["sandbox/workspaces"])
    for index in range(count):
        run(dataset, owner_of(world.org), SQL)
        workspaces.saved_query_save(dataset=dataset, by=owner_of(world.org), title=f"Query {index}", sql=SQL)


def export_requests(world: World, count: int) -> None:
    """Org's export requests on the dataset `other` operates."""
    dataset = SandboxDataset.objects.get(pk=world.ids["sandbox/workspaces"])
    for _ in range(count):
        done = run(dataset, owner_of(world.org), SQL)
        exports.export_request(run=done, by=owner_of(world.org), purpose="Plan the district's clinics.")
    assert ExportRequest.objects.filter(dataset=dataset).count() > count


# --- the pages ----------------------------------------------------------------------------------------------------

PAGES = {
    # a visitor
    "home (guest)": Page(page("home"), user=guest),
    "sign in": Page(page("accounts:login"), user=guest),
    "register": Page(page("accounts:register"), user=guest),
    "catalogue": Page(page("marketplace:catalogue"), listings, user=guest),
    "listing page (guest)": Page(page("marketplace:listing_detail", "listings"), reviews_received, user=guest),
    "exchange statistics": Page(page("marketplace:statistics"), exchange_contracts, user=guest),
    "certificate check": Page(page("registry:certificate_verify", "number"), user=guest),
    # accounts
    "dashboard": Page(page("home"), memberships),
    "organisation": Page(page("accounts:organization")),
    "organisation edit": Page(page("accounts:organization_edit")),
    "members": Page(page("accounts:members"), members),
    "API keys": Page(page("accounts:api_keys"), api_keys),
    # registry
    "products": Page(page("registry:product_list"), products),
    "product": Page(private("registry:product_detail", "products"), versions_and_documents),
    "registered product": Page(page("registry:product_detail", "products")),
    "new product": Page(page("registry:product_create")),
    "version with its profile": Page(page("registry:version_detail", "versions")),
    "version upload": Page(private("registry:version_upload", "products")),
    # valuation
    "valuations": Page(page("valuation:valuation_list"), valuations),
    "valuation report": Page(page("valuation:valuation_detail", "valuations")),
    "product valuations": Page(page("valuation:product_valuations", "products"), valuations),
    "valuation form": Page(lambda world: url("valuation:valuation_create", world.ids["products"], "cost")),
    "comparables": Page(page("valuation:comparable_list"), comparables),
    "revaluation": Page(page("valuation:revaluation_detail", "revaluations"), batch_valuations),
    # marketplace: the merchant
    "my listings": Page(page("marketplace:listing_list"), listings),
    "listing page (merchant)": Page(page("marketplace:listing_detail", "listings"), reviews_received),
    "listing edit": Page(private("marketplace:listing_edit", "listings")),
    "new plan": Page(private("marketplace:plan_add", "listings")),
    "sales contracts": Page(page("marketplace:contract_list", query="role=merchant"), sales),
    "sales dashboard": Page(page("marketplace:merchant_dashboard"), sales),
    "settlement": Page(page("marketplace:settlement"), settlement_lines),
    "refund form": Page(page("marketplace:payment_refund", "payment_of_a_sale"), refunds),
    "reviews received": Page(page("marketplace:review_list"), reviews_received),
    "demand page (merchant)": Page(page("marketplace:demand_detail", "demands"), offers, user=partner),
    # marketplace: the buyer
    "listing page (buyer)": Page(page("marketplace:listing_detail", "listing_id"), purchases),
    "purchase contracts": Page(page("marketplace:contract_list", query="role=buyer"), purchases),
    "contract": Page(page("marketplace:contract_detail", "contracts")),
    "pay page": Page(page("marketplace:payment_start", "contracts")),
    "my access": Page(page("marketplace:entitlement_list"), purchases),
    "downloads": Page(page("marketplace:entitlement_usage", "entitlements"), downloads_made),
    "download": Page(page("marketplace:download_link", "entitlements")),
    "API usage": Page(lambda world: url("marketplace:entitlement_usage", api_entitlement(world).pk), api_calls),
    "purchases dashboard": Page(page("marketplace:buyer_dashboard"), purchases_used),
    "demands": Page(page("marketplace:demand_list"), demands),
    "demand page (buyer)": Page(page("marketplace:demand_detail", "demands"), offers),
    "reviews written": Page(page("marketplace:review_list", query="side=written"), reviews_written),
    "complaints": Page(page("marketplace:complaint_list"), complaints),
    # sandbox
    "datasets": Page(page("sandbox:dataset_list"), runs_on_own_dataset),
    "dataset": Page(page("sandbox:dataset_detail", "sandbox/datasets"), runs_on_own_dataset),
    "dataset publish": Page(page("sandbox:dataset_publish")),
    "workspaces": Page(page("sandbox:workspace_list")),
    "workspace": Page(page("sandbox:workspace", "sandbox/workspaces"), workspace_use),
    "run": Page(page("sandbox:run_detail", "sandbox/runs")),
    "export queue": Page(page("sandbox:export_queue"), export_requests, user=partner),
    "export review": Page(page("sandbox:export_review", "sandbox/exports"), user=partner),
    # integrations
    "webhook endpoints": Page(page("integrations:endpoint_list"), endpoints),
    "webhook endpoint": Page(page("integrations:endpoint_detail", "webhook-endpoints"), deliveries),
    "webhook delivery": Page(page("integrations:delivery_detail", "webhook-deliveries")),
}


# --- measuring ----------------------------------------------------------------------------------------------------


def render(client: Any, path: str) -> CaptureQueriesContext:
    client.get(path)  # warm the per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return captured


def over_budget(name: str, rows: int, captured: CaptureQueriesContext) -> str:
    queries = "\n".join(f"{n}. {query['sql']}" for n, query in enumerate(captured.captured_queries, 1))
    return f"{name} with {rows} rows: {len(captured)} queries (budget: fewer than {BUDGET}):\n{queries}"


@pytest.fixture
def world(settings) -> World:
    settings.INTEGRATIONS_ALLOW_HTTP = True  # the world's webhook endpoint
    settings.MARKETPLACE_STATISTICS_CACHE_SECONDS = 0  # computed on every request, to count its queries
    return build_world()


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_within_the_budget(client, world, name):
    spec = PAGES[name]
    user = spec.user(world)
    if user is not None:
        client.force_login(user)
    spec.grow(world, FEW)
    few = render(client, spec.path(world))
    spec.grow(world, MANY - FEW)
    many = render(client, spec.path(world))
    print(f"{name}: {len(few)} queries with {FEW} rows, {len(many)} with {MANY}")
    assert len(few) < BUDGET, over_budget(name, FEW, few)
    assert len(many) < BUDGET, over_budget(name, MANY, many)
