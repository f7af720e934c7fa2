"""The regulators' listing review queue in the OTP admin: the queue, the review page, approve / reject / delist."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from marketplace.choices import ListingStatus
from marketplace.models import Listing
from marketplace.services import listings
from tests.admin import otp_login
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import draft_listing, published_listing, registered_product
from tests.factories.registry import CSV

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:marketplace_listing_changelist")
REASON = "Terms and plans match the registered product."
RAW_MOBILE, MASKED_MOBILE = "13812340001", "138****0001"


@pytest.fixture
def console(client):
    otp_login(client, member(OrganizationFactory(kind="regulator", can_buy=False), "admin"))
    return client


def submitted(title: str = "Port throughput", **product_fields) -> Listing:
    listing = draft_listing(registered_product(**product_fields), title=title)
    return listings.listing_submit(listing=listing, by=owner_of(listing.organization), ip_address="10.0.0.3")


def change_url(listing: Listing) -> str:
    return reverse("admin:marketplace_listing_change", args=[listing.pk])


def decide(client, listing: Listing, verb: str, reason: str = REASON):
    return client.post(reverse("admin:marketplace_listing_decide", args=[listing.pk, verb]), {"reason": reason})


def test_a_merchant_cannot_reach_the_queue(client):
    listing = submitted()
    otp_login(client, owner_of(listing.organization))
    for url in (CHANGELIST, change_url(listing)):
        response = client.get(url)
        assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_the_queue_opens_on_listings_under_review(console):
    waiting = submitted("Waiting")
    published_listing(registered_product(), title="Already published")
    response = console.get(CHANGELIST)
    assert response.status_code == 200
    assert [listing.pk for listing in response.context["cl"].result_list] == [waiting.pk]
    everything = console.get(CHANGELIST, {"status": "all"})
    assert len(everything.context["cl"].result_list) == 2
    found = console.get(CHANGELIST, {"q": waiting.organization.credit_code})
    assert [listing.pk for listing in found.context["cl"].result_list] == [waiting.pk]


def test_the_queue_costs_the_same_for_more_listings(console, django_assert_max_num_queries):
    submitted()
    with django_assert_max_num_queries(20) as one:
        console.get(CHANGELIST)
    for n in range(4):
        submitted(f"Listing {n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        console.get(CHANGELIST)


def test_the_review_page_shows_terms_plans_signature_and_masked_sample(console):
    listing = submitted(content=CSV, has_personal_info=True, deidentification_note="Mobiles are masked.")
    listings.listing_reject(listing=listing, by=owner_of(OrganizationFactory(kind="regulator")), reason="Too vague.")
    listing.refresh_from_db()
    listing = listings.listing_submit(listing=listing, by=owner_of(listing.organization), ip_address="10.0.0.4")
    response = console.get(change_url(listing))
    assert response.status_code == 200
    page = response.content.decode()
    assert listing.permitted_purposes in page and "10.0.0.4" in page
    assert "licence plan" in page  # the plans inline
    assert MASKED_MOBILE in page and RAW_MOBILE not in page
    assert listing.product.certificates.get().number in page
    assert "decision-approve" in page and "decision-reject" in page and "decision-delist" not in page


def test_the_plans_are_read_only_on_the_review_page(console):
    listing = submitted()
    formset = console.get(change_url(listing)).context["inline_admin_formsets"][0]
    assert not formset.has_add_permission and not formset.has_change_permission and not formset.has_delete_permission


def test_approving_publishes_and_indexes_the_listing(console):
    listing = submitted()
    response = decide(console, listing, "approve")
    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED and listing.search_text and listing.min_price is not None
    assert AuditEvent.objects.for_object(listing).filter(action="listing.published").exists()


def test_rejecting_needs_a_reason_the_merchant_reads(console):
    listing = submitted()
    response = decide(console, listing, "reject", reason="")
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    decide(console, listing, "reject", reason="The permitted purposes are too vague.")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.REJECTED and listing.status_reason == "The permitted purposes are too vague."


def test_delisting_a_published_listing(console):
    listing = published_listing(registered_product())
    assert "decision-delist" in console.get(change_url(listing)).content.decode()
    decide(console, listing, "delist", reason="Complaints about the data's source.")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DELISTED and listing.status_reason == "Complaints about the data's source."


def test_a_decision_in_the_wrong_state_is_refused(console):
    listing = published_listing(registered_product())
    response = decide(console, listing, "approve")
    assert response.status_code == 200  # the reason page again, with the service's refusal as a message
    messages = [str(m) for m in response.context["messages"]]
    assert any("not allowed" in m for m in messages)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED


def test_approving_several_at_once(console):
    first, second = submitted("First"), submitted("Second")
    data = {"action": "decide_approve", "_selected_action": [first.pk, second.pk], "reason": REASON}
    console.post(CHANGELIST, data)
    assert set(Listing.objects.values_list("status", flat=True)) == {ListingStatus.PUBLISHED}
