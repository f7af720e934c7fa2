"""The public catalogue (search, filters, sorting, pages in a fixed number of queries) and a listing's page."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.choices import Role
from marketplace import filters
from marketplace.choices import ContractStatus, ListingStatus
from marketplace.models import Contract, Listing, Review
from marketplace.services import feedback, listings
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import (
    contract_on,
    draft_listing,
    plan_fields,
    published_listing,
    registered_product,
    regulator,
)
from tests.factories.registry import CSV
from tests.factories.valuation import valuation_of

pytestmark = pytest.mark.django_db

CATALOGUE = reverse("marketplace:catalogue")
RAW_MOBILE, MASKED_MOBILE = "13812340001", "138****0001"  # in the factory CSV's 手机 column


def detail_url(listing: Listing) -> str:
    return reverse("marketplace:listing_detail", args=[listing.pk])


def titles(client, **query) -> list[str]:
    response = client.get(CATALOGUE, query)
    assert response.status_code == 200
    return [listing.title for listing in response.context["listings_page"]]


def review(listing: Listing, rating: int, comment: str = "", reply: str = "") -> Review:
    contract = contract_on(listing)
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.ACTIVE)
    replied_at = timezone.now() if reply else None
    made = Review.objects.create(contract=contract, listing=listing, rating=rating, comment=comment, reply=reply,
                                 replied_at=replied_at, created_by=owner_of(contract.buyer))  # fmt: skip
    feedback.refresh_rating(listing.pk)  # as feedback.review_create does
    return made


@pytest.fixture
def listing():
    return published_listing(registered_product(title="Qingdao port throughput"))


# --- the catalogue ------------------------------------------------------------------------------------------------


def test_anyone_sees_published_listings_only(client, listing):
    product = registered_product(title="Draft product")
    draft_listing(product, title="A draft")
    pending = draft_listing(registered_product(), title="Under review")
    listings.listing_submit(listing=pending, by=owner_of(pending.organization))
    delisted = published_listing(registered_product(), title="Gone")
    listings.listing_delist(listing=delisted, by=regulator(), reason="Misleading title.")

    response = client.get(CATALOGUE)
    assert response.status_code == 200
    assert [item.title for item in response.context["listings_page"]] == ["Qingdao port throughput"]
    page = response.content.decode()
    assert "A draft" not in page and "Under review" not in page and "Gone" not in page
    assert detail_url(listing) in page and listing.organization.name in page


def test_search_in_english_and_chinese(client, listing):
    published_listing(registered_product(title="青岛港口集装箱吞吐量", summary="每日各码头的吞吐量。", description=""))
    assert titles(client, q="throughput") == ["Qingdao port throughput"]
    assert titles(client, q="集装箱") == ["青岛港口集装箱吞吐量"]
    assert titles(client, q="tons") == ["青岛港口集装箱吞吐量", "Qingdao port throughput"]  # a column of both
    page = client.get(CATALOGUE, {"q": "nothing-like-this"}).content.decode()
    assert "Nothing matches." in page


def test_filters_by_sector_classification_plan_kind_merchant_price_and_quality(client, listing):
    hospital = published_listing(
        registered_product(title="Hospital beds", sector="healthcare", classification="important"),
        plans=[plan_fields("subscription", price=Decimal("900.00"))],
    )
    assert titles(client, sector="healthcare") == ["Hospital beds"]
    assert titles(client, classification="important") == ["Hospital beds"]
    assert titles(client, plan_kind="subscription") == ["Hospital beds"]
    assert titles(client, plan_kind="sandbox") == []
    assert titles(client, price_max="1000") == ["Hospital beds"]
    assert titles(client, price_min="1000") == ["Qingdao port throughput"]
    assert titles(client, quality_min="0") == ["Hospital beds", "Qingdao port throughput"]
    assert titles(client, quality_min="100.1") == ["Hospital beds", "Qingdao port throughput"]  # out of range: ignored
    response = client.get(CATALOGUE, {"merchant": hospital.organization_id})
    assert [item.title for item in response.context["listings_page"]] == ["Hospital beds"]
    assert response.context["merchant_name"] == hospital.organization.name


def test_a_withdrawn_plan_does_not_count_for_the_plan_filter(client):
    listing = published_listing(registered_product(), plans=[plan_fields(), plan_fields("subscription")])
    assert titles(client, plan_kind="licence") == [listing.title]
    listings.plan_withdraw(plan=listing.plans.get(kind="licence"), by=owner_of(listing.organization))
    assert titles(client, plan_kind="licence") == []
    assert titles(client, plan_kind="subscription") == [listing.title]


def test_sorting_by_price_quality_and_newest(client, listing):
    cheap = published_listing(registered_product(title="Cheap"), plans=[plan_fields(price=Decimal("10.00"))])
    Listing.objects.filter(pk=cheap.pk).update(quality_score=99.0)
    Listing.objects.filter(pk=listing.pk).update(quality_score=50.0)
    assert titles(client, ordering="price") == ["Cheap", "Qingdao port throughput"]
    assert titles(client, ordering="-price") == ["Qingdao port throughput", "Cheap"]
    assert titles(client, ordering="quality") == ["Cheap", "Qingdao port throughput"]
    assert titles(client, ordering="newest") == ["Cheap", "Qingdao port throughput"]
    assert titles(client) == ["Cheap", "Qingdao port throughput"]  # without a query, relevance is the newest


def test_more_listings_than_the_cap_say_so(client, listing, monkeypatch):
    monkeypatch.setattr(filters, "MAX_RESULTS", 1)
    monkeypatch.setattr(filters, "SEARCH_WINDOW", 1)
    published_listing(registered_product(title="Second port"))
    for query in ({}, {"q": "port"}):
        response = client.get(CATALOGUE, query)
        assert len(response.context["listings_page"]) == 1 and response.context["capped"]
        assert "More than 1 listings" in response.content.decode()
    assert not client.get(CATALOGUE, {"q": "second"}).context["capped"]


def test_bad_filter_values_are_shown_and_ignored(client, listing):
    response = client.get(CATALOGUE, {"price_min": "lots", "sector": "moon"})
    assert response.status_code == 200
    assert [item.title for item in response.context["listings_page"]] == ["Qingdao port throughput"]
    assert "Some filters were ignored" in response.content.decode()


def test_the_card_shows_price_plans_quality_and_rating(client, listing):
    review(listing, 4)
    review(listing, 5)
    page = client.get(CATALOGUE).content.decode()
    assert "¥5,000.00" in page
    assert "One-off licence (download)" in page
    assert "4.5 (2 reviews)" in page


def _queries(client, **query) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(CATALOGUE, query).status_code == 200
    return len(captured)


def _more_listings(count: int) -> None:
    """`count` more published listings of one product, with two plans and a review each."""
    product = registered_product()
    for _ in range(count):
        review(published_listing(product, plans=[plan_fields(), plan_fields("sandbox")]), 4)


QUERIES = [
    {},
    {"q": "tons"},
    {"q": "tons", "plan_kind": "licence", "ordering": "quality"},
    {"sector": "marine", "ordering": "price"},
    {"classification": "general", "price_min": "1", "quality_min": "0", "ordering": "-price"},
]


def test_the_number_of_queries_does_not_grow_with_the_page(client):
    # given a catalogue of 5 listings, and what each kind of page costs
    _more_listings(5)
    few = [_queries(client, **query) for query in QUERIES]
    # when it holds 30, more than a page
    _more_listings(25)
    # then every page costs the same, the second one too
    assert [_queries(client, **query) for query in QUERIES] == few
    assert [_queries(client, page=2, **query) for query in QUERIES] == few


def test_a_page_is_one_query_a_search_too(client, listing, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):  # the page with its capped count
        client.get(CATALOGUE)
    with django_assert_max_num_queries(1):  # the newest matches' page, ranked, with their capped count
        client.get(CATALOGUE, {"q": "tons"})
    with django_assert_max_num_queries(1):  # the merchant's name comes with the page's entries
        client.get(CATALOGUE, {"merchant": listing.organization_id})


def test_signed_in_pages_add_only_the_session_and_memberships(client, listing, django_assert_max_num_queries):
    client.force_login(owner_of(OrganizationFactory()))
    with django_assert_max_num_queries(7):
        client.get(CATALOGUE)


def test_the_catalogue_pages_with_25_listings_a_page(client):
    product = registered_product()
    for n in range(26):
        listings.listing_create(product=product, by=owner_of(product.organization), permitted_purposes="x",
                                title=f"Listing {n:02d}")  # fmt: skip
    Listing.objects.update(status=ListingStatus.PUBLISHED, published_at=timezone.now())
    first = client.get(CATALOGUE)
    assert len(first.context["listings_page"]) == 25 and "page=2" in first.content.decode()
    assert len(client.get(CATALOGUE, {"page": 2}).context["listings_page"]) == 1


def test_the_catalogue_renders_in_chinese(client, listing):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.get(CATALOGUE, {"q": "港口"})
    assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode()


# --- a listing's page ---------------------------------------------------------------------------------------------


def test_anyone_sees_a_published_listing_with_terms_profile_and_certificate(client, listing):
    response = client.get(detail_url(listing))
    assert response.status_code == 200
    page = response.content.decode()
    assert listing.title in page and listing.organization.name in page
    assert listing.permitted_purposes in page and "Mainland China" in page and "Not allowed" in page
    assert "tons" in page and "BIGINT" in page.upper()  # columns with their types
    assert "Completeness" in page  # quality scores
    certificate = listing.product.certificates.get()
    assert certificate.number in page
    assert reverse("registry:certificate_verify", args=[certificate.number]) in page
    assert "Sign in to request a contract" in page


def test_the_masked_sample_is_the_only_row_level_data(client):
    product = registered_product(content=CSV, has_personal_info=True, deidentification_note="Mobiles are masked.")
    listing = published_listing(product)
    page = client.get(detail_url(listing)).content.decode()
    assert MASKED_MOBILE in page and RAW_MOBILE not in page
    assert "1381234" not in page.replace(MASKED_MOBILE[:3] + "****", "")  # no unmasked fragment of any mobile


def test_others_get_404_for_an_unpublished_listing_the_merchant_sees_it(client):
    listing = draft_listing(registered_product())
    assert client.get(detail_url(listing)).status_code == 404
    client.force_login(owner_of(OrganizationFactory()))
    assert client.get(detail_url(listing)).status_code == 404
    client.force_login(member(listing.organization, Role.VIEWER))
    response = client.get(detail_url(listing))
    assert response.status_code == 200 and response.context["is_member"]
    assert not response.context["can_change"]
    assert reverse("marketplace:listing_submit", args=[listing.pk]) not in response.content.decode()


def test_the_merchant_sees_the_regulators_reason_and_its_buttons(client):
    listing = draft_listing(registered_product())
    owner = owner_of(listing.organization)
    listings.listing_submit(listing=listing, by=owner, ip_address="10.1.2.3")
    listings.listing_reject(listing=listing, by=regulator(), reason="The purposes are too vague.")
    client.force_login(owner)
    page = client.get(detail_url(listing)).content.decode()
    assert "The purposes are too vague." in page and "Reason given by the regulator" in page
    assert reverse("marketplace:listing_edit", args=[listing.pk]) in page
    assert reverse("marketplace:listing_submit", args=[listing.pk]) in page
    assert "10.1.2.3" in page  # the standing offer's signature


def test_a_buyer_gets_a_request_form_per_plan(client, listing):
    client.force_login(owner_of(OrganizationFactory()))
    response = client.get(detail_url(listing))
    page = response.content.decode()
    try:
        action = reverse("marketplace:contract_request", args=[listing.pk])
    except NoReverseMatch:  # the contracts area is not wired in: the page still renders, without the form
        assert 'name="purpose"' not in page
        return
    plan = listing.plans.get()
    assert f'action="{action}"' in page
    assert f'name="plan" value="{plan.pk}"' in page and 'name="purpose"' in page


def test_the_merchant_gets_no_request_form_on_its_own_listing(client, listing):
    client.force_login(owner_of(listing.organization))
    page = client.get(detail_url(listing)).content.decode()
    assert 'name="purpose"' not in page
    assert reverse("marketplace:listing_delist", args=[listing.pk]) in page


def test_a_taken_exclusive_plan_says_so(client):
    listing = published_listing(registered_product(), plans=[plan_fields(exclusive=True)])
    contract_on(listing)
    client.force_login(owner_of(OrganizationFactory()))
    page = client.get(detail_url(listing)).content.decode()
    assert "currently taken" in page and 'name="purpose"' not in page


def test_a_buyer_with_an_open_contract_on_a_plan_is_sent_to_it_not_asked_again(client):
    listing = published_listing(
        registered_product(), plans=[plan_fields(), plan_fields("subscription", price=Decimal("90"))]
    )
    licence, subscription = listing.plans.order_by("position")
    buyer = OrganizationFactory()
    contract = contract_on(listing, plan=licence, buyer=buyer)
    client.force_login(owner_of(buyer))
    page = client.get(detail_url(listing)).content.decode()
    assert "Your organisation has a contract on this plan" in page and contract.get_status_display() in page
    assert reverse("marketplace:contract_detail", args=[contract.pk]) in page
    assert f'name="plan" value="{licence.pk}"' not in page  # no second request for the held plan
    assert f'name="plan" value="{subscription.pk}"' in page  # the other plan can still be requested
    assert "currently taken" not in page


def test_reviews_show_the_average_and_the_merchants_reply(client, listing):
    review(listing, 5, comment="Complete and on time.", reply="Thank you!")
    review(listing, 2, comment="Some days are missing.")
    page = client.get(detail_url(listing)).content.decode()
    assert "3.5 out of 5" in page and "from 2 buyers" in page
    assert "Complete and on time." in page and "Thank you!" in page and "Some days are missing." in page
    assert "Verified buyer" in page


def test_the_latest_valuation_tells_accredited_from_self_assessed(client, listing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        valuation_of(listing.product)
    page = client.get(detail_url(listing)).content.decode()
    assert "Self-assessment" in page and "Accredited appraisal" not in page
    appraiser = OrganizationFactory(can_appraise=True)
    with django_capture_on_commit_callbacks(execute=True):
        valuation_of(listing.product, organization=appraiser)
    response = client.get(detail_url(listing))
    assert [v.is_accredited for v in response.context["valuations"]] == [True]
    assert "Accredited appraisal" in response.content.decode()


def test_the_listing_page_renders_in_chinese_at_a_fixed_cost(client, listing, django_assert_max_num_queries):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with django_assert_max_num_queries(12):
        response = client.get(detail_url(listing))
    assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode()
