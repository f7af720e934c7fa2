"""The feedback pages: rating a contract, the merchant's reply, reporting a problem and following complaints."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from marketplace.models import Complaint, Review
from marketplace.services import contracts, feedback
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import contract_on, published_listing, registered_product, regulator

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


@pytest.fixture
def listing():
    return published_listing(registered_product())


@pytest.fixture
def contract(listing):
    return contracts.contract_activate(contract=contract_on(listing))


def login(client, user):
    client.force_login(user)
    return client


def url(name, *args) -> str:
    return reverse(f"marketplace:{name}", args=args)


# --- rating -----------------------------------------------------------------------------------------------------


def test_the_buyer_rates_from_the_form(client, contract):
    login(client, owner_of(contract.buyer))
    page = client.get(url("review_create", contract.pk)).content.decode()
    assert contract.number in page and 'name="rating"' in page
    response = client.post(url("review_create", contract.pk), {"rating": "4", "comment": "Clean and complete."})
    assert response.status_code == 302 and response["Location"] == url("contract_detail", contract.pk)
    review = Review.objects.get()
    assert (review.rating, review.comment) == (4, "Clean and complete.")
    # rated once: the form sends the buyer back
    assert client.get(url("review_create", contract.pk)).status_code == 302
    assert client.post(url("review_create", contract.pk), {"rating": "2"}).status_code == 400


def test_a_rating_is_required_and_bounded(client, contract):
    login(client, owner_of(contract.buyer))
    for data in ({"comment": "No stars."}, {"rating": "6"}):
        assert client.post(url("review_create", contract.pk), data).status_code == 200
    assert not Review.objects.exists()


def test_who_cannot_rate(client, contract, listing):
    login(client, owner_of(contract.merchant))
    assert client.get(url("review_create", contract.pk)).status_code == 403
    login(client, member(contract.buyer, Role.VIEWER))
    assert client.post(url("review_create", contract.pk), {"rating": "5"}).status_code == 403
    login(client, owner_of(OrganizationFactory()))
    assert client.get(url("review_create", contract.pk)).status_code == 404
    unpaid = contract_on(listing)
    login(client, owner_of(unpaid.buyer))
    assert client.get(url("review_create", unpaid.pk)).status_code == 302
    assert not Review.objects.exists()


def test_the_merchant_replies_from_the_review_list(client, contract):
    review = feedback.review_create(contract=contract, by=owner_of(contract.buyer), rating=2, comment=XSS)
    login(client, owner_of(contract.merchant))
    page = client.get(url("review_list")).content.decode()
    assert XSS not in page and "&lt;script&gt;" in page and url("review_reply", review.pk) in page
    assert client.get(url("review_reply", review.pk)).status_code == 200
    response = client.post(url("review_reply", review.pk), {"reply": "We re-sent the missing days."})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.reply == "We re-sent the missing days."
    assert url("review_reply", review.pk) not in client.get(url("review_list")).content.decode()
    # the buyer sees its rating, and the reply, among those it wrote
    page = login(client, owner_of(contract.buyer)).get(url("review_list"), {"side": "written"}).content.decode()
    assert "We re-sent the missing days." in page


def test_only_the_merchant_replies(client, contract):
    review = feedback.review_create(contract=contract, by=owner_of(contract.buyer), rating=3)
    login(client, owner_of(contract.buyer))
    assert client.get(url("review_reply", review.pk)).status_code == 403
    login(client, owner_of(OrganizationFactory()))
    assert client.get(url("review_reply", review.pk)).status_code == 404


def test_review_list_queries_are_bounded(client, listing, django_assert_max_num_queries):
    def rate(n):
        for _ in range(n):
            contract = contracts.contract_activate(contract=contract_on(listing))
            feedback.review_create(contract=contract, by=owner_of(contract.buyer), rating=5)

    login(client, owner_of(listing.organization))
    rate(1)
    with CaptureQueriesContext(connection) as few:
        client.get(url("review_list"))
    rate(4)
    with django_assert_max_num_queries(len(few)):
        page = client.get(url("review_list")).content.decode()
    assert page.count('class="feedback-item"') == 5


# --- complaints -------------------------------------------------------------------------------------------------


def test_reporting_a_problem_and_reading_the_decision(client, contract):
    login(client, owner_of(contract.buyer))
    assert client.get(url("complaint_create", contract.pk)).status_code == 200
    response = client.post(url("complaint_create", contract.pk), {"kind": "delivery", "description": "Link expired."})
    assert response.status_code == 302 and response["Location"] == url("complaint_list")
    complaint = Complaint.objects.get()
    feedback.complaint_resolve(complaint=complaint, by=regulator(), reason="The merchant issued new links.")
    for org in (contract.buyer, contract.merchant):
        page = login(client, owner_of(org)).get(url("complaint_list")).content.decode()
        assert "Link expired." in page and "The merchant issued new links." in page
    page = login(client, owner_of(OrganizationFactory())).get(url("complaint_list")).content.decode()
    assert "Link expired." not in page


def test_a_complaint_needs_a_kind_and_a_description(client, contract):
    login(client, owner_of(contract.buyer))
    response = client.post(url("complaint_create", contract.pk), {"kind": "price", "description": ""})
    assert response.status_code == 200 and not Complaint.objects.exists()


def test_a_second_open_complaint_of_a_kind_is_refused(client, contract):
    login(client, owner_of(contract.buyer))
    data = {"kind": "quality", "description": "Duplicates."}
    client.post(url("complaint_create", contract.pk), data)
    response = client.post(url("complaint_create", contract.pk), data)
    assert response.status_code == 400 and Complaint.objects.count() == 1


def test_complaint_pages_in_chinese(client, contract):
    login(client, owner_of(contract.buyer))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    for target in (url("complaint_create", contract.pk), url("complaint_list"), url("review_create", contract.pk)):
        page = client.get(target)
        assert page.status_code == 200 and 'lang="zh-hans"' in page.content.decode()
