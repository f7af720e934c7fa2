"""The listings API: the catalogue, a listing's detail, and merchants' writes; scopes, visibility, errors."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.choices import ApiKeyScope, Role
from marketplace import filters
from marketplace.api.listings import CatalogueListingSerializer, ListingSummaryFields
from marketplace.choices import ListingStatus
from marketplace.filters import CatalogueResults, CatalogueRows, ListingFilter, catalogue_entries
from marketplace.models import Listing, PricePlan, Review
from marketplace.services import feedback, listings
from tests.api import assert_error, signed_in, with_key
from tests.factories import ApiKeyFactory, OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import contract_on, draft_listing, plan_fields, published_listing, registered_product
from tests.factories.registry import CSV, DataProductFactory
from tests.factories.valuation import valuation_of

pytestmark = pytest.mark.django_db

API = "/api/v1/listings/"
RAW_MOBILE, MASKED_MOBILE = "13812340001", "138****0001"


@pytest.fixture
def write_client(org) -> APIClient:
    return with_key(ApiKeyFactory(organization=org, scope=ApiKeyScope.WRITE)[1])


@pytest.fixture
def read_client(org) -> APIClient:
    return with_key(ApiKeyFactory(organization=org, scope=ApiKeyScope.READ)[1])


@pytest.fixture
def buyer_client() -> APIClient:
    return signed_in(owner_of(OrganizationFactory()))


@pytest.fixture
def product(org):
    return registered_product(org)


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return titles_of(response.json())


def titles_of(body: dict) -> list[str]:
    return [item["title"] for item in body["results"]]


# --- the catalogue ----------------------------------------------------------------------------------------------


def test_the_catalogue_needs_credentials(api_client):
    assert_error(api_client.get(API), 401, "not_authenticated")


def test_the_catalogue_lists_published_listings_in_pages(buyer_client, product):
    published_listing(product, title="Published")
    draft_listing(registered_product(), title="A draft")
    response = buyer_client.get(API)
    body = response.json()
    assert titles(response) == ["Published"]
    assert body["count"] == 1 and body["next"] is None and body["capped"] is False
    item = body["results"][0]
    assert item["organization"]["name"] == product.organization.name
    assert item["product"]["sector"] == "marine" and item["plan_kinds"] == ["licence"]
    assert item["min_price"] == "5000.00" and item["review_count"] == 0 and item["rating_average"] is None


def test_search_filters_and_sorting(buyer_client, product):
    published_listing(product, title="Qingdao port throughput", plans=[plan_fields(price=Decimal("900"))])
    published_listing(
        registered_product(title="医院床位占用", summary="每日床位。", sector="healthcare"),
        plans=[plan_fields("subscription", price=Decimal("100"))],
    )
    assert titles(buyer_client.get(API, {"search": "床位"})) == ["医院床位占用"]
    assert titles(buyer_client.get(API, {"search": "Throughput"})) == ["Qingdao port throughput"]
    assert titles(buyer_client.get(API, {"sector": "healthcare"})) == ["医院床位占用"]
    assert titles(buyer_client.get(API, {"plan_kind": "licence"})) == ["Qingdao port throughput"]
    assert titles(buyer_client.get(API, {"merchant": product.organization_id})) == ["Qingdao port throughput"]
    assert titles(buyer_client.get(API, {"price_max": "500"})) == ["医院床位占用"]
    assert titles(buyer_client.get(API, {"ordering": "price"})) == ["医院床位占用", "Qingdao port throughput"]
    assert titles(buyer_client.get(API, {"ordering": "-price"})) == ["Qingdao port throughput", "医院床位占用"]


def test_bad_filters_are_400_with_the_fields(buyer_client):
    body = assert_error(buyer_client.get(API, {"quality_min": "101", "ordering": "cheapest"}), 400, "invalid")
    assert set(body["fields"]) == {"quality_min", "ordering"}


def test_own_lists_the_organisations_listings_in_any_state(write_client, product):
    draft_listing(product, title="Our draft")
    published_listing(registered_product(), title="Theirs")
    assert titles(write_client.get(API, {"own": "true"})) == ["Our draft"]
    assert titles(write_client.get(API)) == ["Theirs"]


def test_pages_and_page_size(buyer_client):
    product = registered_product()
    for n in range(3):
        listings.listing_create(product=product, by=owner_of(product.organization), permitted_purposes="x",
                                title=f"L{n}")  # fmt: skip
    Listing.objects.update(status=ListingStatus.PUBLISHED)
    first = buyer_client.get(API, {"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and "page=2" in first["next"]
    assert len(buyer_client.get(API, {"page_size": 2, "page": 2}).json()["results"]) == 1
    assert_error(buyer_client.get(API, {"page": 9}), 404, "not_found")


def test_count_stops_at_the_cap_and_says_capped(buyer_client, product, monkeypatch):
    # given three listings, and a cap of two
    monkeypatch.setattr(filters, "MAX_RESULTS", 2)
    for title in ("First", "Second", "Third"):
        published_listing(product, title=title)
    # then the count stops at the cap, and so do the pages
    body = buyer_client.get(API, {"page_size": 1}).json()
    assert body["count"] == 2 and body["capped"] is True and titles_of(body) == ["Third"]
    assert titles_of(buyer_client.get(API, {"page_size": 1, "page": 2}).json()) == ["Second"]
    assert_error(buyer_client.get(API, {"page_size": 1, "page": 3}), 404, "not_found")
    narrowed = buyer_client.get(API, {"merchant": product.organization_id, "price_max": "1"}).json()
    assert narrowed["count"] == 0 and narrowed["capped"] is False


def test_a_search_ranks_its_window_of_newest_matches(buyer_client, product, monkeypatch):
    # given three listings with "throughput", the oldest the only one with it in its title, and a window of two
    monkeypatch.setattr(filters, "SEARCH_WINDOW", 2)
    published_listing(product, title="Throughput of the harbour")
    published_listing(product, title="Berths", description="Throughput per berth.")
    published_listing(product, title="Cranes", description="Throughput per crane.")
    # when searching
    body = buyer_client.get(API, {"search": "throughput"}).json()
    # then the two newest matches are ranked, and the answer says more matched
    assert body["count"] == 2 and body["capped"] is True
    assert titles_of(body) == ["Cranes", "Berths"]
    assert titles(buyer_client.get(API, {"search": "throughput", "ordering": "newest", "page_size": 1, "page": 2})) == [
        "Berths"
    ]
    assert buyer_client.get(API, {"search": "harbour"}).json() | {"results": []} == {
        "count": 1, "next": None, "previous": None, "results": [], "capped": False,
    }  # fmt: skip


QUERIES = [
    {},
    {"search": "tons"},
    {"search": "tons", "plan_kind": "licence", "ordering": "quality"},
    {"sector": "marine", "ordering": "quality"},
    {"classification": "general", "price_min": "1", "quality_min": "0", "ordering": "-price", "page_size": 10},
]


def _queries(client, **query) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(API, query).status_code == 200
    return len(captured)


def _more_listings(count: int) -> None:
    """`count` more published listings of one product, with two plans and a review each."""
    product = registered_product()
    for _ in range(count):
        listing = published_listing(product, plans=[plan_fields(), plan_fields("sandbox")])
        Review.objects.create(contract=contract_on(listing), listing=listing, rating=4, created_by=listing.created_by)
        feedback.refresh_rating(listing.pk)


def test_the_query_count_is_flat(buyer_client):
    # given 5 listings, and what each kind of page costs
    _more_listings(5)
    few = [_queries(buyer_client, **query) for query in QUERIES]
    # when there are 25, more than a page
    _more_listings(20)
    # then every page costs the same, the second one too
    assert [_queries(buyer_client, **query) for query in QUERIES] == few
    assert [_queries(buyer_client, page=2, **query) for query in QUERIES] == few


def test_a_page_is_one_query_a_search_too(buyer_client, product, django_assert_max_num_queries):
    published_listing(product)
    baseline = _queries(buyer_client, page_size=1)  # the session and the user, as for any endpoint, and the page
    with django_assert_max_num_queries(baseline):  # the page with its capped count
        buyer_client.get(API, {"sector": "marine", "ordering": "price"})
    with django_assert_max_num_queries(baseline):  # the newest matches' page, ranked, with their capped count
        buyer_client.get(API, {"search": "tons"})


def test_the_fast_catalogue_serializer_says_what_the_declared_fields_say(product):
    rated = published_listing(product)
    Review.objects.create(contract=contract_on(rated), listing=rated, rating=4, created_by=rated.created_by)
    feedback.refresh_rating(rated.pk)
    published_listing(registered_product(), plans=[plan_fields("metered_api"), plan_fields("sandbox")])
    rows = ListingFilter({}, queryset=catalogue_entries()).results(rows=True)[0:10]
    page = ListingFilter({}, queryset=catalogue_entries()).results()[0:10]
    assert len(rows) == 2
    assert CatalogueListingSerializer(rows, many=True).data == ListingSummaryFields(page, many=True).data


def test_q_still_searches_but_search_is_the_documented_name(buyer_client, product):
    published_listing(product, title="Harbour cranes")
    published_listing(registered_product(), title="Hospital beds")
    assert titles(buyer_client.get(API, {"q": "cranes"})) == ["Harbour cranes"]
    assert titles(buyer_client.get(API, {"search": "beds", "q": "cranes"})) == ["Hospital beds"]
    assert "search" in ListingFilter.base_filters and "q" not in ListingFilter.base_filters  # what the schema lists


SHAPES = [
    {},
    {"ordering": "newest"},
    {"ordering": "price"},
    {"ordering": "-price"},
    {"ordering": "quality"},
    {"sector": "healthcare"},
    {"classification": "general", "ordering": "price"},
    {"plan_kind": "subscription"},
    {"price_min": "100", "price_max": "900"},
    {"quality_min": "50", "ordering": "quality"},
    {"search": "port"},
    {"search": "port tons"},
    {"search": "港口"},
    {"search": "port", "ordering": "-price"},
    {"search": "tons", "sector": "marine", "ordering": "quality"},
]


@pytest.fixture
def varied_catalogue(product) -> None:
    """Listings with ties (the same publication time), no price, no quality, and words in titles or descriptions."""
    published_listing(product, title="Port tons", plans=[plan_fields(price=Decimal("900"))])
    published_listing(product, title="Berths", description="port 港口", plans=[plan_fields("subscription")])
    published_listing(
        registered_product(sector="healthcare"), title="港口 beds", description="tons",
        plans=[plan_fields("subscription", price=Decimal("100"))],
    )  # fmt: skip
    for n in range(4):
        published_listing(product, title=f"Port {n}", description="tons" if n % 2 else "")
    listings_ = list(Listing.objects.order_by("pk"))
    tie = listings_[0].published_at
    Listing.objects.filter(pk__in=[listings_[1].pk, listings_[3].pk, listings_[4].pk]).update(published_at=tie)
    Listing.objects.filter(pk=listings_[2].pk).update(min_price=None)
    Listing.objects.filter(pk__in=[listings_[3].pk, listings_[5].pk]).update(quality_score=None)


def _orm_page(data: dict, page: slice) -> tuple[list[dict], int]:
    found = ListingFilter(data, queryset=catalogue_entries())
    assert found.is_valid()
    page_rows = found.qs.values(*filters.ENTRY_VALUES)  # sets `searching`
    limit = filters.SEARCH_WINDOW if found.searching else filters.MAX_RESULTS
    results = CatalogueResults(page_rows, matching=found.matching, limit=limit)
    return list(results.expect(page)[page]), results.matched


@pytest.mark.parametrize("depth", [filters.SEARCH_DEPTH, 2], ids=["walk", "walk-then-gin"])
@pytest.mark.parametrize("data", SHAPES)
def test_the_api_pages_sql_reads_what_the_orm_reads(varied_catalogue, data, depth, monkeypatch):
    # given small caps, so that the count and the search's window are cut too (and a search's walk stops after the
    # two newest entries: its matches are then read off the GIN index)
    monkeypatch.setattr(filters, "MAX_RESULTS", 4)
    monkeypatch.setattr(filters, "SEARCH_WINDOW", 3)
    monkeypatch.setattr(filters, "SEARCH_DEPTH", depth)
    for page in (slice(0, 2), slice(2, 4), slice(6, 8)):
        # when the API's page is read with its hand-written SQL
        found = ListingFilter(data, queryset=catalogue_entries())
        assert found.is_valid()
        rows = found.results(rows=True).expect(page)
        assert isinstance(rows, CatalogueRows)
        entries = [{k: v for k, v in row.items() if k != "matched"} for row in rows[page]]
        # then it has the ORM's rows, in its order, and its capped count
        assert (entries, rows.matched) == _orm_page(data, page)


# --- a listing ----------------------------------------------------------------------------------------------------


def test_the_detail_has_plans_terms_quality_certificate_valuation_and_sample(
    buyer_client, django_capture_on_commit_callbacks
):
    product = registered_product(content=CSV, has_personal_info=True, deidentification_note="Mobiles masked.")
    listing = published_listing(product, plans=[plan_fields(), plan_fields("subscription", price=Decimal("90"))])
    with django_capture_on_commit_callbacks(execute=True):
        valuation_of(product)
    response = buyer_client.get(f"{API}{listing.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert [plan["kind"] for plan in body["plans"]] == ["licence", "subscription"]
    assert (
        body["terms"]["permitted_purposes"] == listing.permitted_purposes and body["terms"]["territory"] == "mainland"
    )
    assert body["quality"]["overall"] is not None and body["row_count"] == 20
    assert {"name": "手机", "type": body["columns"][5]["type"]} in body["columns"]
    assert body["certificate_number"] == product.certificates.get().number
    assert body["valuation"]["accredited"] is False and body["valuation"]["performer"] == product.organization.name
    assert body["masked_sample"]["columns"][5] == "手机"
    assert MASKED_MOBILE in response.content.decode() and RAW_MOBILE not in response.content.decode()
    assert body["rating_average"] is None and body["review_count"] == 0


def test_another_organisations_draft_is_a_404_the_own_one_is_not(buyer_client, write_client, product):
    listing = draft_listing(product)
    assert_error(buyer_client.get(f"{API}{listing.pk}/"), 404, "not_found")
    assert write_client.get(f"{API}{listing.pk}/").json()["status"] == "draft"
    assert buyer_client.get(f"{API}nope/").status_code == 404


def test_the_merchant_sees_withdrawn_plans_buyers_do_not(buyer_client, write_client, product):
    listing = published_listing(product, plans=[plan_fields(), plan_fields("sandbox")])
    listings.plan_withdraw(plan=listing.plans.get(kind="sandbox"), by=owner_of(product.organization))
    assert [p["kind"] for p in buyer_client.get(f"{API}{listing.pk}/").json()["plans"]] == ["licence"]
    plans = write_client.get(f"{API}{listing.pk}/").json()["plans"]
    assert [(p["kind"], p["is_active"]) for p in plans] == [("licence", True), ("sandbox", False)]


# --- writes -------------------------------------------------------------------------------------------------------


def test_create_a_draft_with_a_write_key(write_client, product):
    response = write_client.post(API, {"product": product.pk, "permitted_purposes": "Forecasting."}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["title"] == product.title
    assert body["terms"]["licence_template"] == product.licence_template


def test_create_refusals(write_client, read_client, org, product):
    assert_error(read_client.post(API, {"product": product.pk, "permitted_purposes": "x"}), 403, "insufficient_scope")
    other = registered_product()
    assert_error(write_client.post(API, {"product": other.pk, "permitted_purposes": "x"}), 404, "not_found")
    draft = DataProductFactory(organization=org)
    body = {"product": draft.pk, "permitted_purposes": "x"}
    assert_error(write_client.post(API, body, format="json"), 400, "product_not_registered")
    body = assert_error(write_client.post(API, {"product": product.pk}, format="json"), 400, "invalid")
    assert set(body["fields"]) == {"permitted_purposes"}
    unknown = {"product": product.pk, "permitted_purposes": "x", "price": 1}
    assert set(assert_error(write_client.post(API, unknown, format="json"), 400, "invalid")["fields"]) == {"price"}


def test_update_a_draft_but_not_a_listing_under_review(write_client, product):
    listing = draft_listing(product)
    response = write_client.patch(f"{API}{listing.pk}/", {"title": "Better", "territory": "city"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "Better"
    listings.listing_submit(listing=listing, by=owner_of(product.organization))
    assert_error(
        write_client.patch(f"{API}{listing.pk}/", {"title": "Late"}, format="json"), 409, "listing_not_editable"
    )


def test_add_plans_with_their_kinds_fields(write_client, org):
    listing = draft_listing(registered_product(org), plans=[])
    plan = {"kind": "subscription", "name": "Monthly", "price": "10.00"}
    body = assert_error(write_client.post(f"{API}{listing.pk}/plans/", plan, format="json"), 400, "invalid")
    assert "billing_period" in body["fields"]
    response = write_client.post(f"{API}{listing.pk}/plans/", {**plan, "billing_period": "month"}, format="json")
    assert response.status_code == 201 and response.json()["billing_period"] == "month"
    level4 = draft_listing(registered_product(org, sensitivity_level=4, classification="important"), plans=[])
    refused = write_client.post(
        f"{API}{level4.pk}/plans/", {"kind": "licence", "name": "x", "price": "1"}, format="json"
    )
    assert "kind" in assert_error(refused, 400, "invalid")["fields"]


def test_withdraw_a_plan(write_client, product):
    listing = published_listing(product, plans=[plan_fields(), plan_fields("subscription")])
    plan = listing.plans.get(kind="licence")
    response = write_client.post(f"{API}{listing.pk}/plans/{plan.pk}/withdraw/")
    assert response.status_code == 200 and response.json()["is_active"] is False
    other = published_listing(registered_product())
    assert_error(write_client.post(f"{API}{listing.pk}/plans/{other.plans.get().pk}/withdraw/"), 404, "not_found")


def test_submit_records_the_calling_address(write_client, product):
    listing = draft_listing(product)
    response = write_client.post(f"{API}{listing.pk}/submit/", REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 200 and response.json()["status"] == "pending_review"
    listing.refresh_from_db()
    assert listing.offer_signed_ip == "198.51.100.4"
    assert_error(write_client.post(f"{API}{listing.pk}/submit/"), 409, "invalid_transition")
    empty = draft_listing(registered_product(product.organization), plans=[])
    assert_error(write_client.post(f"{API}{empty.pk}/submit/"), 400, "no_plans")


def test_delist_with_a_reason(write_client, product):
    listing = published_listing(product)
    assert "reason" in assert_error(write_client.post(f"{API}{listing.pk}/delist/", {}), 400, "invalid")["fields"]
    response = write_client.post(f"{API}{listing.pk}/delist/", {"reason": "Replaced."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "delisted"
    assert response.json()["status_reason"] == "Replaced."


def test_a_viewer_cannot_write_and_an_outsider_gets_404(client, org, product):
    listing = draft_listing(product)
    viewer = signed_in(member(org, Role.VIEWER))
    assert_error(viewer.post(f"{API}{listing.pk}/submit/"), 403, "permission_denied")
    outsider = signed_in(owner_of(OrganizationFactory()))
    assert_error(outsider.post(f"{API}{listing.pk}/submit/"), 404, "not_found")
    assert_error(outsider.patch(f"{API}{listing.pk}/", {"title": "x"}, format="json"), 404, "not_found")
    assert PricePlan.objects.filter(listing=listing).count() == 1
