"""The contract pages: requesting from the product page, purchases and sales, a contract's page, buttons and PDF."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.choices import Role, VerificationStatus
from accounts.services import membership_add
from audit.models import AuditEvent
from marketplace.choices import ContractStatus
from marketplace.models import Contract, Listing, Signature
from marketplace.services import contracts, listings
from tests.concurrency import at_once
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import (
    PURPOSE,
    contract_on,
    draft_listing,
    plan_fields,
    published_listing,
    registered_product,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing():
    return published_listing(registered_product(title="Qingdao port throughput"))


@pytest.fixture
def approval_listing():
    return published_listing(registered_product(), plans=[plan_fields(requires_approval=True)])


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def request_url(listing: Listing) -> str:
    return reverse("marketplace:contract_request", args=[listing.pk])


def detail_url(contract: Contract) -> str:
    return reverse("marketplace:contract_detail", args=[contract.pk])


def back_to_listing(listing: Listing) -> str:
    try:
        return reverse("marketplace:listing_detail", args=[listing.pk])
    except NoReverseMatch:
        return reverse("marketplace:contract_list")


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def nothing_written() -> bool:
    events = AuditEvent.objects.filter(object_type="marketplace.contract")
    return not Contract.objects.exists() and not Signature.objects.exists() and not events.exists()


# --- requesting -------------------------------------------------------------------------------------------------


def test_a_request_signs_for_the_active_organisation_and_opens_the_contract(listing):
    buyer = OrganizationFactory()
    response = client_of(owner_of(buyer)).post(
        request_url(listing), {"plan": listing.plans.get().pk, "purpose": PURPOSE}, REMOTE_ADDR="203.0.113.7"
    )
    contract = Contract.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(contract)
    assert contract.buyer == buyer and contract.status == ContractStatus.AWAITING_PAYMENT
    assert contract.signatures.get(party="buyer").ip_address == "203.0.113.7"
    assert "Pay to start it" in messages_of(response)[0]


def test_the_active_organisation_is_the_buyer(listing):
    first, second = OrganizationFactory(), OrganizationFactory()
    user = owner_of(first)
    membership_add(organization=second, user=user, role=Role.EDITOR, by=None)
    client = client_of(user)
    session = client.session
    session["active_organization_id"] = second.pk
    session.save()
    client.post(request_url(listing), {"plan": listing.plans.get().pk, "purpose": PURPOSE})
    assert Contract.objects.get().buyer == second


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("own_listing", "cannot buy its own listing"),
        ("unverified", "Only verified organisations can do this."),
        ("delisted", "not on the exchange"),
        ("no_purpose", "Say what you will use the data for"),
        ("viewer", "does not allow this"),
    ],
)
def test_a_refused_request_is_a_message_on_the_product_page_and_writes_nothing(listing, case, expected):
    buyer = {
        "own_listing": listing.organization,
        "unverified": OrganizationFactory(status=VerificationStatus.PENDING),
    }.get(case) or OrganizationFactory()
    user = member(buyer, Role.VIEWER) if case == "viewer" else owner_of(buyer)
    if case == "delisted":
        listings.listing_delist(listing=listing, by=owner_of(listing.organization), reason="Replaced.")
    purpose = "" if case == "no_purpose" else PURPOSE
    response = client_of(user).post(request_url(listing), {"plan": listing.plans.get().pk, "purpose": purpose})
    assert response.status_code == 302 and response["Location"] == back_to_listing(listing)
    assert any(expected in message for message in messages_of(response)), messages_of(response)
    assert nothing_written()


def test_an_exclusive_plan_already_held_is_a_clear_message():
    listing = published_listing(registered_product(), plans=[plan_fields(exclusive=True)])
    contract_on(listing)
    buyer = OrganizationFactory()
    response = client_of(owner_of(buyer)).post(request_url(listing), {"plan": listing.plans.get().pk, "purpose": "x"})
    assert "another buyer holds it" in messages_of(response)[0]
    assert Contract.objects.count() == 1


def test_a_plan_of_another_listing_is_refused_by_the_form(listing):
    other = published_listing(registered_product())
    response = client_of(owner_of(OrganizationFactory())).post(
        request_url(listing), {"plan": other.plans.get().pk, "purpose": PURPOSE}
    )
    assert "Plan: Choose a plan." in messages_of(response) and nothing_written()


def test_another_organisations_draft_listing_is_a_404_and_get_is_not_allowed(listing):
    draft = draft_listing(registered_product())
    client = client_of(owner_of(OrganizationFactory()))
    assert client.post(request_url(draft), {"plan": draft.plans.get().pk, "purpose": PURPOSE}).status_code == 404
    assert client.get(request_url(listing)).status_code == 405


def test_anonymous_requests_go_to_sign_in(listing):
    response = Client().post(request_url(listing), {"plan": listing.plans.get().pk, "purpose": PURPOSE})
    assert response.status_code == 302 and response["Location"].startswith(reverse(settings.LOGIN_URL))


@pytest.mark.django_db(transaction=True)
def test_two_buyers_racing_through_the_web_for_an_exclusive_plan_get_one_contract():
    listing = published_listing(registered_product(), plans=[plan_fields(exclusive=True)])
    form = {"plan": listing.plans.get().pk, "purpose": PURPOSE}
    clients = [client_of(owner_of(OrganizationFactory())) for _ in range(2)]
    outcomes = at_once(lambda client: client.post(request_url(listing), form)["Location"], clients)
    contract = Contract.objects.get()
    assert sorted(outcomes) == sorted([detail_url(contract), back_to_listing(listing)])


# --- purchases and sales ----------------------------------------------------------------------------------------


def test_purchases_and_sales_are_tabs_of_the_active_organisation(listing):
    org = OrganizationFactory()
    bought = contract_on(listing, buyer=org)
    sold = contract_on(published_listing(registered_product(organization=org)))
    contract_on(listing)  # someone else's purchase
    client = client_of(owner_of(org))
    purchases = client.get(reverse("marketplace:contract_list")).content.decode()
    assert bought.number in purchases and sold.number not in purchases
    sales = client.get(reverse("marketplace:contract_list"), {"role": "merchant"}).content.decode()
    assert sold.number in sales and bought.number not in sales
    assert Contract.objects.count() == 3


def test_the_list_filters_by_state(listing):
    org = OrganizationFactory()
    waiting, cancelled = contract_on(listing, buyer=org), contract_on(listing, buyer=org)
    contracts.contract_cancel(contract=cancelled, by=owner_of(org))
    client = client_of(owner_of(org))
    page = client.get(reverse("marketplace:contract_list"), {"status": "cancelled"}).content.decode()
    assert cancelled.number in page and waiting.number not in page
    assert client.get(reverse("marketplace:contract_list"), {"status": "bogus", "role": "x"}).status_code == 200


def test_the_list_pages_and_its_query_count_does_not_grow(listing, django_assert_max_num_queries):
    org = OrganizationFactory()
    client = client_of(owner_of(org))
    contract_on(listing, buyer=org)
    with django_assert_max_num_queries(100) as few:
        client.get(reverse("marketplace:contract_list"))
    for _ in range(29):
        contract_on(listing, buyer=org)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("marketplace:contract_list"))
    assert response.content.decode().count('class="contract-link"') == 25
    assert "page=2" in response.content.decode()
    second = client.get(reverse("marketplace:contract_list"), {"page": 2}).content.decode()
    assert second.count('class="contract-link"') == 5


def test_the_list_in_chinese_at_phone_width_markup(listing):
    org = OrganizationFactory()
    contract_on(listing, buyer=org)
    client = client_of(owner_of(org))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(reverse("marketplace:contract_list")).content.decode()
    assert 'lang="zh-hans"' in page and "marketplace-contracts.css" in page
    assert 'data-label="' in page  # the table stacks into labelled cards on phones


# --- the contract page ------------------------------------------------------------------------------------------


def test_the_buyer_sees_terms_hash_signatures_and_timeline(listing):
    contract = contract_on(listing)
    page = client_of(owner_of(contract.buyer)).get(detail_url(contract)).content.decode()
    for expected in (
        contract.number,
        contract.terms_sha256,
        contract.buyer.credit_code,
        contract.merchant.credit_code,
        "Analysis and forecasting inside the buyer.",
        PURPOSE,
        "10.0.0.2",
        "10.0.0.1",
        "standing offer",
        "Signed by the buyer",
        "Awaiting payment",
        "The terms below hash to this fingerprint.",
        reverse("marketplace:contract_pdf", args=[contract.pk]),
    ):
        assert expected in page, expected


def test_only_the_parties_see_a_contract(listing):
    contract = contract_on(listing)
    assert client_of(owner_of(contract.merchant)).get(detail_url(contract)).status_code == 200
    assert client_of(member(contract.buyer, Role.VIEWER)).get(detail_url(contract)).status_code == 200
    outsider = client_of(owner_of(OrganizationFactory()))
    assert outsider.get(detail_url(contract)).status_code == 404
    assert outsider.get(reverse("marketplace:contract_pdf", args=[contract.pk])).status_code == 404
    assert Client().get(detail_url(contract)).status_code == 302


def test_buttons_follow_the_state_and_the_side(approval_listing):
    contract = contract_on(approval_listing)
    merchant_page = client_of(owner_of(contract.merchant)).get(detail_url(contract)).content.decode()
    assert reverse("marketplace:contract_approve", args=[contract.pk]) in merchant_page
    assert reverse("marketplace:contract_decline", args=[contract.pk]) in merchant_page
    assert reverse("marketplace:contract_cancel", args=[contract.pk]) not in merchant_page
    buyer_page = client_of(owner_of(contract.buyer)).get(detail_url(contract)).content.decode()
    assert reverse("marketplace:contract_cancel", args=[contract.pk]) in buyer_page
    assert reverse("marketplace:contract_approve", args=[contract.pk]) not in buyer_page
    viewer_page = client_of(member(contract.buyer, Role.VIEWER)).get(detail_url(contract)).content.decode()
    assert reverse("marketplace:contract_cancel", args=[contract.pk]) not in viewer_page


def test_an_unsigned_merchant_side_says_so(approval_listing):
    contract = contract_on(approval_listing)
    page = client_of(owner_of(contract.buyer)).get(detail_url(contract)).content.decode()
    assert "Not signed yet." in page


def test_the_merchant_approves_and_signs_from_its_address(approval_listing):
    contract = contract_on(approval_listing)
    response = client_of(owner_of(contract.merchant)).post(
        reverse("marketplace:contract_approve", args=[contract.pk]), REMOTE_ADDR="198.51.100.4"
    )
    contract.refresh_from_db()
    assert response["Location"] == detail_url(contract)
    assert contract.status == ContractStatus.AWAITING_PAYMENT
    assert contract.signatures.get(party="merchant").ip_address == "198.51.100.4"
    page = client_of(owner_of(contract.buyer)).get(detail_url(contract)).content.decode()
    assert "Approved by the merchant" in page and "198.51.100.4" in page


def test_a_decline_needs_a_reason_the_buyer_reads(approval_listing):
    contract = contract_on(approval_listing)
    merchant = client_of(owner_of(contract.merchant))
    url = reverse("marketplace:contract_decline", args=[contract.pk])
    assert "Give a reason" in messages_of(merchant.post(url, {"reason": " "}))[0]
    assert messages_of(merchant.post(url, {"reason": "x" * 2001}))[-1].startswith("Reason: Ensure this value")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.REQUESTED
    merchant.post(url, {"reason": "Purpose not covered by the licence."})
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELLED
    page = client_of(owner_of(contract.buyer)).get(detail_url(contract)).content.decode()
    assert "Purpose not covered by the licence." in page


def test_the_buyer_cannot_approve_its_own_request(approval_listing):
    contract = contract_on(approval_listing)
    response = client_of(owner_of(contract.buyer)).post(reverse("marketplace:contract_approve", args=[contract.pk]))
    assert "does not allow this" in messages_of(response)[0]
    contract.refresh_from_db()
    assert contract.status == ContractStatus.REQUESTED


def test_the_buyer_cancels_before_paying_but_not_after(listing):
    contract = contract_on(listing)
    buyer = client_of(owner_of(contract.buyer))
    url = reverse("marketplace:contract_cancel", args=[contract.pk])
    buyer.post(url, {"reason": "Bought elsewhere."})
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELLED and contract.status_reason == "Bought elsewhere."
    active = contracts.contract_activate(contract=contract_on(listing, buyer=contract.buyer))
    response = buyer.post(reverse("marketplace:contract_cancel", args=[active.pk]))
    assert "Only a contract that has not started can be cancelled." in messages_of(response)
    active.refresh_from_db()
    assert active.status == ContractStatus.ACTIVE


def test_the_merchant_terminates_an_active_contract_with_a_reason(listing):
    contract = contracts.contract_activate(contract=contract_on(listing))
    assert (
        reverse("marketplace:contract_terminate", args=[contract.pk])
        not in client_of(owner_of(contract.buyer)).get(detail_url(contract)).content.decode()
    )
    merchant = client_of(owner_of(contract.merchant))
    merchant.post(reverse("marketplace:contract_terminate", args=[contract.pk]), {"reason": "Resold the data."})
    contract.refresh_from_db()
    assert contract.status == ContractStatus.TERMINATED and contract.status_reason == "Resold the data."


def test_an_active_contract_lists_its_access_for_the_buyer_only():
    listing = published_listing(registered_product(), plans=[plan_fields("metered_api", price=Decimal(0))])
    contract = contract_on(listing)
    buyer_page = client_of(owner_of(contract.buyer)).get(detail_url(contract)).content.decode()
    assert 'id="access"' in buyer_page and "100 free calls a month" in buyer_page
    merchant_page = client_of(owner_of(contract.merchant)).get(detail_url(contract)).content.decode()
    assert 'id="access"' not in merchant_page


def test_the_contract_page_in_chinese(listing):
    contract = contract_on(listing)
    client = client_of(owner_of(contract.buyer))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(detail_url(contract)).content.decode()
    assert 'lang="zh-hans"' in page and contract.terms_sha256 in page


def test_the_pdf_downloads_in_the_readers_language(listing):
    contract = contract_on(listing)
    client = client_of(owner_of(contract.merchant))
    response = client.get(reverse("marketplace:contract_pdf", args=[contract.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f'filename="contract-{contract.number}.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF") and "no-store" in response["Cache-Control"]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert b"/Lang (zh-hans)" in client.get(reverse("marketplace:contract_pdf", args=[contract.pk])).content


def test_contract_page_query_count(listing, django_assert_max_num_queries):
    contract = contracts.contract_activate(contract=contract_on(listing))
    client = client_of(owner_of(contract.buyer))
    with django_assert_max_num_queries(10):
        assert client.get(detail_url(contract)).status_code == 200
