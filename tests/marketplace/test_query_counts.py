"""Issue 5's done-when: the query counts of the marketplace's list endpoints (/api/v1/) and list pages (/market/)
stay flat as the lists grow. Each test makes one request with a few rows, adds many more rows (with related objects
of their own: plans of every kind, refunds, payouts, matches, offers), makes it again and expects the same number
of queries. The catalogue and its API (listings) are covered with the catalogue."""

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from marketplace.choices import ComplaintKind, EntitlementKind
from marketplace.models import Contract, DemandMatch, Entitlement
from marketplace.services import demands, feedback, metering, settlement
from marketplace.services.stats import month_starts
from registry.choices import Sector
from tests.api import signed_in
from tests.factories import OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.bulk import at, calls, downloads
from tests.factories.marketplace import (
    PLANS,
    contract_on,
    held,
    more_listings,
    offer,
    paid,
    payouts,
    post_demand,
    published_listing,
)
from tests.factories.marketplace import registered_product as product_of
from tests.marketplace.stripe_helpers import booked_sale

pytestmark = pytest.mark.django_db

API = "/api/v1"


def url(name: str, *args: Any) -> str:
    return reverse(f"marketplace:{name}", args=args)


# --- measuring --------------------------------------------------------------------------------------------------


def _count(client: Any, path: str, params: dict | None) -> tuple[CaptureQueriesContext, Any]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {})
    assert response.status_code == 200, response.content[:2000]
    return captured, response


def assert_flat(clients: Any, path: str, grow: Callable[[], Any], rows: Callable[[Any], int], params=None) -> None:
    """For each client, `client.get(path)` costs as many queries after `grow()` added rows as before, and shows more
    rows."""
    clients = clients if isinstance(clients, list) else [clients]
    before = []
    for client in clients:
        client.get(path, params or {})  # once first: the session, content types and other per-process caches
        few, response = _count(client, path, params)
        assert rows(response) >= 1, "measure with a few rows, not none"
        before.append((few, rows(response)))
    grow()
    for client, (few, shown) in zip(clients, before, strict=True):
        many, response = _count(client, path, params)
        assert rows(response) > shown, "the list did not grow"
        extra = "\n".join(query["sql"] for query in many.captured_queries[len(few) :])
        assert len(many) == len(few), f"{len(few)} queries for {shown} rows, {len(many)} for {rows(response)}:\n{extra}"


def results(response: Any) -> int:
    """Rows of a paginated API answer."""
    return len(response.json()["results"])


def items(response: Any) -> int:
    """Rows of an unpaginated API answer (a list)."""
    return len(response.json())


def json_rows(key: str) -> Callable[[Any], int]:
    """Rows of the list `key` of an API answer."""
    return lambda response: len(response.json()[key])


def on_page(name: str) -> Callable[[Any], int]:
    """Rows of the page's paginated context variable `name`."""
    return lambda response: len(response.context[name].object_list)


def in_context(name: str) -> Callable[[Any], int]:
    """Rows of the page's context variable `name` (a list)."""
    return lambda response: len(response.context[name])


# --- data -------------------------------------------------------------------------------------------------------


@pytest.fixture
def merchant():
    return OrganizationFactory(name="Haier Data Services")


@pytest.fixture
def buyer():
    return OrganizationFactory(name="Qingdao Port Logistics", can_sell=False)


@pytest.fixture
def listing(merchant):
    return published_listing(product_of(merchant, sector=Sector.MARINE), plans=PLANS, title="Container throughput")


# --- /api/v1/ -----------------------------------------------------------------------------------------------------


def test_contracts_api(listing, buyer):
    held(listing, buyer, 2)
    grow = partial(held, listing, buyer, 9)
    assert_flat(signed_in(owner_of(buyer)), f"{API}/contracts/", grow, results)


def test_payments_and_their_refunds_api(listing, buyer):
    paid(held(listing, buyer, 1)[0], refunds=1)

    def grow():
        for contract in held(listing, buyer, 6):
            paid(contract, refunds=3)

    parties = [signed_in(owner_of(buyer)), signed_in(owner_of(listing.organization))]
    assert_flat(parties, f"{API}/payments/", grow, results)


def test_entitlements_api(listing, buyer):
    held(listing, buyer, 2)
    grow = partial(held, listing, buyer, 9)
    assert_flat(signed_in(owner_of(buyer)), f"{API}/entitlements/", grow, results)


def test_usage_api(listing, buyer):
    entitlement = Entitlement.objects.get(contract=held(listing, buyer, 2)[1], kind=EntitlementKind.API)
    calls(entitlement, 3, period=metering.period_of(timezone.now()))

    def grow():
        for month in month_starts()[:-1]:
            calls(entitlement, 4, period=month, billable=True, amount="0.05")

    assert_flat(signed_in(owner_of(buyer)), f"{API}/entitlements/{entitlement.pk}/usage/", grow, json_rows("months"))


def test_demands_api(listing, merchant):
    post_demand(OrganizationFactory(can_sell=False))
    post_demand(merchant, title="Our own need")  # the merchant buys too

    def grow():
        for _ in range(6):
            post_demand(OrganizationFactory(can_sell=False))
        post_demand(merchant, title="Another need of ours")

    assert_flat(signed_in(owner_of(merchant)), f"{API}/demands/", grow, results)


def test_demand_matches_api(listing, buyer):
    demand = post_demand(buyer)
    assert demand.matches.count() == 1

    def grow():
        for clone in more_listings(listing, 8):
            DemandMatch.objects.create(demand=demand, listing=clone, score=0.5)

    assert_flat(signed_in(owner_of(buyer)), f"{API}/demands/{demand.pk}/matches/", grow, results)


def test_offers_api(listing, merchant, buyer):
    offer(post_demand(buyer), listing)

    def grow():
        for clone in more_listings(listing, 3):
            offer(post_demand(OrganizationFactory(can_sell=False)), clone)
            offer(post_demand(buyer, title="Another need"), clone)
        accepted = offer(post_demand(buyer, title="Accepted"), listing)
        demands.offer_accept(offer=accepted, by=owner_of(buyer), purpose="Forecasting.")

    parties = [signed_in(owner_of(merchant)), signed_in(owner_of(buyer))]
    assert_flat(parties, f"{API}/offers/", grow, results)


def test_reviews_api(listing, buyer):
    def rate(contract_list):
        for index, contract in enumerate(contract_list):
            review = feedback.review_create(contract=contract, by=owner_of(contract.buyer), rating=1 + index % 5)
            feedback.review_reply(review=review, by=owner_of(contract.merchant), reply="Thank you.")

    rate(held(listing, buyer, 2))

    def grow():
        rate(held(listing, OrganizationFactory(), 6))

    assert_flat(signed_in(owner_of(buyer)), f"{API}/reviews/", grow, results, {"listing": listing.pk})


def test_complaints_api(listing, buyer):
    def complain(contract_list):
        for contract in contract_list:
            feedback.complaint_create(contract=contract, by=owner_of(buyer), kind=ComplaintKind.choices[0][0],
                                      description="The file misses the last week.")  # fmt: skip

    complain(held(listing, buyer, 2))
    parties = [signed_in(owner_of(buyer)), signed_in(owner_of(listing.organization))]
    assert_flat(parties, f"{API}/complaints/", lambda: complain(held(listing, buyer, 6)), results)


def test_settlement_entries_api(listing, merchant):
    booked_sale(contract_on(listing), "100.00")

    def grow():
        for _ in range(6):
            booked_sale(contract_on(listing), "100.00")
        payouts(merchant, 3)

    assert_flat(signed_in(owner_of(merchant)), f"{API}/settlement/entries/", grow, results)


def test_settlement_statements_api(listing, merchant):
    booked_sale(contract_on(listing), "100.00")

    def grow():
        for month in month_starts()[:-1]:
            sale = booked_sale(contract_on(listing), "100.00")
            settlement.entries_of(merchant).filter(payment=sale).update(created_at=at(month))

    assert_flat(signed_in(owner_of(merchant)), f"{API}/settlement/statements/", grow, results)


def test_settlement_statement_of_a_month_api(listing, merchant):
    booked_sale(contract_on(listing), "100.00")

    def grow():
        for _ in range(6):
            booked_sale(contract_on(listing), "100.00")
        payouts(merchant, 2)

    month = timezone.localtime().strftime("%Y-%m")
    assert_flat(signed_in(owner_of(merchant)), f"{API}/settlement/statements/{month}/", grow, json_rows("entries"))


def test_payouts_api(listing, merchant):
    booked_sale(contract_on(listing), "1000.00")
    payouts(merchant, 1)
    assert_flat(signed_in(owner_of(merchant)), f"{API}/payouts/", lambda: payouts(merchant, 6), results)


# --- /market/ -----------------------------------------------------------------------------------------------------


def web_client(client, organization):
    client.force_login(owner_of(organization))
    return client


def test_merchant_listings_page(client, listing, merchant):
    def grow():
        more_listings(listing, 4)
        published_listing(product_of(merchant), plans=PLANS)

    assert_flat(web_client(client, merchant), url("listing_list"), grow, on_page("listings_page"))


def test_contracts_page(client, listing, buyer):
    held(listing, buyer, 2)
    grow = partial(held, listing, buyer, 9)
    assert_flat(web_client(client, buyer), url("contract_list"), grow, on_page("contracts_page"))


def test_contracts_page_of_sales(client, listing, merchant, buyer):
    held(listing, buyer, 2)
    grow = partial(held, listing, OrganizationFactory(), 6)
    rows, sales = on_page("contracts_page"), {"role": "merchant"}
    assert_flat(web_client(client, merchant), url("contract_list"), grow, rows, sales)


def test_demands_page(client, listing, merchant):
    post_demand(OrganizationFactory(can_sell=False))
    post_demand(merchant, title="Our own need")

    def grow():
        for index in range(6):
            demand = post_demand(OrganizationFactory(can_sell=False))
            if index % 2:
                offer(demand, listing)
        for _ in range(3):
            post_demand(merchant, title="Another need of ours")

    def rows(response: Any) -> int:
        return on_page("open_page")(response) + on_page("mine_page")(response)

    assert_flat(web_client(client, merchant), url("demand_list"), grow, rows)


def test_demand_page_with_its_offers_for_the_buyer(client, listing, buyer):
    demand = post_demand(buyer)
    offer(demand, listing)

    def grow():
        for clone in more_listings(listing, 4):
            offer(demand, clone)
        for other in more_listings(published_listing(product_of(), plans=PLANS), 2):
            offer(demand, other)

    assert_flat(web_client(client, buyer), url("demand_detail", demand.pk), grow, in_context("offers"))


def test_demand_page_with_the_merchants_offers_and_plans(client, listing, merchant, buyer):
    demand = post_demand(buyer)
    offer(demand, listing)

    def grow():
        for clone in more_listings(listing, 5):
            offer(demand, clone)
        demands.offer_withdraw(offer=demand.offers.order_by("pk").first(), by=owner_of(merchant))

    assert_flat(web_client(client, merchant), url("demand_detail", demand.pk), grow, in_context("own_offers"))


def test_reviews_pages(client, listing, merchant, buyer):
    def rate(contract_list):
        for contract in contract_list:
            review = feedback.review_create(contract=contract, by=owner_of(contract.buyer), rating=4, comment="Good.")
            feedback.review_reply(review=review, by=owner_of(contract.merchant), reply="Thank you.")

    other_listing = published_listing(product_of(), plans=PLANS)
    rate(held(listing, buyer, 2))
    assert_flat(web_client(client, merchant), url("review_list"), lambda: rate(held(listing, buyer, 6)),
                on_page("reviews_page"))  # fmt: skip

    def grow():
        rate(held(other_listing, buyer, 3))

    assert_flat(web_client(client, buyer), url("review_list"), grow, on_page("reviews_page"), {"side": "written"})


def test_complaints_page(client, listing, buyer):
    def complain(contract_list):
        for contract in contract_list:
            feedback.complaint_create(contract=contract, by=owner_of(buyer), kind=ComplaintKind.choices[0][0],
                                      description="The file misses the last week.")  # fmt: skip

    complain(held(listing, buyer, 2))
    assert_flat(web_client(client, buyer), url("complaint_list"), lambda: complain(held(listing, buyer, 6)),
                on_page("complaints_page"))  # fmt: skip


def test_access_page(client, listing, buyer):
    held(listing, buyer, 2)
    grow = partial(held, listing, buyer, 9)
    assert_flat(web_client(client, buyer), url("entitlement_list"), grow, on_page("entitlements_page"))


def test_usage_page_of_a_metered_entitlement(client, listing, buyer):
    entitlement = Entitlement.objects.get(contract=held(listing, buyer, 2)[1], kind=EntitlementKind.API)
    calls(entitlement, 3, period=metering.period_of(timezone.now()))

    def grow():
        for month in month_starts()[:-1]:
            calls(entitlement, 2, period=month)

    def rows(response: Any) -> int:
        return len(response.context["usage"].months)

    assert_flat(web_client(client, buyer), url("entitlement_usage", entitlement.pk), grow, rows)


def test_downloads_page_of_a_download_entitlement(client, listing, buyer):
    entitlement = Entitlement.objects.get(contract=held(listing, buyer, 1)[0], kind=EntitlementKind.DOWNLOAD)
    downloads(entitlement, 2)
    grow = partial(downloads, entitlement, 20)
    assert_flat(web_client(client, buyer), url("entitlement_usage", entitlement.pk), grow, on_page("downloads_page"))


def test_settlement_page(client, listing, merchant):
    booked_sale(contract_on(listing), "1000.00")
    payouts(merchant, 1)

    def grow():
        for month in month_starts()[:-1]:
            sale = booked_sale(contract_on(listing), "100.00")
            settlement.entries_of(merchant).filter(payment=sale).update(created_at=at(month))
        payouts(merchant, 4)

    assert_flat(web_client(client, merchant), url("settlement"), grow, on_page("entries_page"))


def dashboard_rows(response: Any) -> int:
    summary = response.context["summary"]
    return sum(state.count for state in summary.states)


def test_sales_dashboard(client, listing, merchant, buyer):
    held(listing, buyer, 2)

    def grow():
        for contract in held(listing, OrganizationFactory(), 6):
            paid(contract)
            booked_sale(contract, "100.00")
        payouts(merchant, 2)

    assert_flat(web_client(client, merchant), url("merchant_dashboard"), grow, dashboard_rows)


def test_purchases_dashboard(client, listing, buyer):
    held(listing, buyer, 3)

    def grow():
        for entitlement in Entitlement.objects.filter(contract__in=held(listing, buyer, 6)):
            downloads(entitlement, 2, when=at(month_starts()[-2]))
            calls(entitlement, 2, period=month_starts()[-3])

    assert_flat(web_client(client, buyer), url("buyer_dashboard"), grow, dashboard_rows)


def test_statistics_page(client, listing, buyer, settings):
    settings.MARKETPLACE_STATISTICS_CACHE_SECONDS = 0  # computed on every request, to count its queries
    last_month = month_starts(1, complete=True)[0]
    started = held(listing, buyer, 3)
    Contract.objects.filter(pk__in=[c.pk for c in started]).update(starts_at=at(last_month))

    def grow():
        more = held(published_listing(product_of(sector=Sector.FINANCE), plans=PLANS), OrganizationFactory(), 6)
        Contract.objects.filter(pk__in=[c.pk for c in more]).update(starts_at=at(last_month))

    def rows(response: Any) -> int:
        return sum(cell.contracts for cell in response.context["figures"].months)

    assert_flat(client, url("statistics"), grow, rows)
