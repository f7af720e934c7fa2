"""The regulator console for contracts: read-only lists and pages, and terminating an active contract with a reason."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from marketplace.choices import ContractStatus, EntitlementStatus
from marketplace.models import Contract
from marketplace.services import contracts
from tests.admin import otp_login
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import PURPOSE, contract_on, published_listing, registered_product

pytestmark = pytest.mark.django_db

REASON = "Data used beyond the licence, confirmed by the merchant's complaint."


@pytest.fixture
def regulator():
    return member(OrganizationFactory(kind="regulator", can_buy=False), "admin")


@pytest.fixture
def console(client, regulator):
    """A client logged into the admin as a regulator with a verified TOTP device."""
    otp_login(client, regulator)
    return client


@pytest.fixture
def listing():
    return published_listing(registered_product(title="Qingdao port throughput"))


@pytest.fixture
def active(listing):
    return contracts.contract_activate(contract=contract_on(listing))


def _url(name: str, *args) -> str:
    return reverse(f"admin:marketplace_contract_{name}", args=args)


def _decide(client, contract, reason: str):
    return client.post(_url("decide", contract.pk, "terminate"), {"reason": reason})


def test_the_list_searches_by_number_party_and_credit_code_and_filters_by_status(console, listing, active):
    waiting = contract_on(listing, buyer=OrganizationFactory(name="Rizhao Shipping Ltd"))
    page = console.get(_url("changelist")).content.decode()
    assert active.number in page and waiting.number in page
    for query in (waiting.number, waiting.buyer.name, waiting.buyer.credit_code):
        found = console.get(_url("changelist"), {"q": query}).content.decode()
        assert waiting.number in found and active.number not in found, query
    by_merchant = console.get(_url("changelist"), {"q": listing.organization.credit_code}).content.decode()
    assert waiting.number in by_merchant and active.number in by_merchant
    only_active = console.get(_url("changelist"), {"status__exact": "active"}).content.decode()
    assert active.number in only_active and waiting.number not in only_active


def test_the_list_query_count_does_not_grow(console, listing, django_assert_max_num_queries):
    contract_on(listing)
    with django_assert_max_num_queries(100) as few:
        console.get(_url("changelist"))
    for _ in range(9):
        contract_on(listing)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = console.get(_url("changelist"))
    assert response.content.decode().count('class="action-select"') == 10


def test_the_change_page_shows_terms_signatures_and_the_trail_read_only(console, active):
    page = console.get(_url("change", active.pk)).content.decode()
    for expected in (
        active.number,
        active.terms_sha256,
        active.buyer.credit_code,
        "Standard commercial licence",
        "Analysis and forecasting inside the buyer.",
        PURPOSE,
        "10.0.0.2",
        "10.0.0.1",
        "The stored terms hash to the SHA-256 both parties signed.",
        "contract.signed_by_buyer",
        "contract.active",
        "decide/terminate/",
    ):
        assert expected in page, expected
    assert 'name="_save"' not in page
    assert console.get(_url("add")).status_code == 403
    assert console.get(_url("delete", active.pk)).status_code == 403


def test_terminate_needs_a_reason_then_ends_the_contract_and_its_access(console, active, regulator):
    empty = _decide(console, active, "  ")
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()
    assert Contract.objects.get(pk=active.pk).status == ContractStatus.ACTIVE
    assert _decide(console, active, REASON).status_code == 302
    active.refresh_from_db()
    assert active.status == ContractStatus.TERMINATED and active.status_reason == REASON
    assert set(active.entitlements.values_list("status", flat=True)) == {EntitlementStatus.ENDED}
    event = AuditEvent.objects.for_object(active).get(action="contract.terminated")
    assert event.actor_id == str(regulator.pk) and event.data["reason"] == REASON


def test_terminate_applies_to_active_contracts_only(console, listing):
    waiting = contract_on(listing)
    assert "decide/terminate/" not in console.get(_url("change", waiting.pk)).content.decode()
    _decide(console, waiting, REASON)
    assert Contract.objects.get(pk=waiting.pk).status == ContractStatus.AWAITING_PAYMENT


def test_terminate_as_a_bulk_action(console, listing, active):
    other = contracts.contract_activate(contract=contract_on(listing))
    data = {"action": "decide_terminate", "_selected_action": [active.pk, other.pk]}
    assert console.post(_url("changelist"), data).status_code == 200  # the reason form
    console.post(_url("changelist"), {**data, "reason": REASON})
    statuses = set(Contract.objects.filter(pk__in=[active.pk, other.pk]).values_list("status", flat=True))
    assert statuses == {ContractStatus.TERMINATED}


def test_merchants_cannot_reach_the_contract_console(client, active):
    otp_login(client, owner_of(active.merchant))
    response = client.get(_url("change", active.pk))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert _decide(client, active, REASON).status_code == 302
    assert Contract.objects.get(pk=active.pk).status == ContractStatus.ACTIVE
