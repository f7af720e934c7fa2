"""The contracts partner API: purchases and sales, a contract's terms and signatures, requesting, the merchant's answer,
cancelling, terminating and the PDF; scopes, other organisations and the services' refusals."""

from decimal import Decimal

import pytest

from accounts.choices import ApiKeyScope, Role, VerificationStatus
from accounts.services import membership_add
from audit.models import AuditEvent
from marketplace.choices import ContractStatus
from marketplace.models import Contract, Listing, Signature
from marketplace.services import contracts, listings
from tests.api import assert_error, signed_in, with_key
from tests.concurrency import at_once
from tests.factories import ApiKeyFactory, OrganizationFactory, member
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

API = "/api/v1/contracts/"


def key_of(organization, scope: str = ApiKeyScope.WRITE):
    return with_key(ApiKeyFactory(organization=organization, scope=scope)[1])


def url(contract: Contract, verb: str = "") -> str:
    return f"{API}{contract.pk}/{verb + '/' if verb else ''}"


def body(listing: Listing, **fields) -> dict:
    return {"listing": listing.pk, "plan": listing.plans.first().pk, "purpose": PURPOSE, **fields}


def nothing_written() -> bool:
    events = AuditEvent.objects.filter(object_type="marketplace.contract")
    return not Contract.objects.exists() and not Signature.objects.exists() and not events.exists()


@pytest.fixture
def listing():
    return published_listing(registered_product(title="Qingdao port throughput"))


@pytest.fixture
def approval_listing():
    return published_listing(registered_product(), plans=[plan_fields(requires_approval=True)])


@pytest.fixture
def contract(listing):
    return contract_on(listing)


# --- reading ----------------------------------------------------------------------------------------------------


def test_the_list_is_the_callers_purchases_and_sales(listing):
    org = OrganizationFactory()
    bought = contract_on(listing, buyer=org)
    sold = contract_on(published_listing(registered_product(organization=org)))
    contract_on(listing)  # between two other organisations
    client = key_of(org, ApiKeyScope.READ)
    numbers = {row["number"] for row in client.get(API).json()["results"]}
    assert numbers == {bought.number, sold.number}
    assert [r["number"] for r in client.get(API, {"role": "buyer"}).json()["results"]] == [bought.number]
    assert [r["number"] for r in client.get(API, {"role": "merchant"}).json()["results"]] == [sold.number]
    assert client.get(API, {"listing": listing.pk}).json()["count"] == 1
    contracts.contract_cancel(contract=bought, by=owner_of(org))
    assert [r["number"] for r in client.get(API, {"status": "cancelled"}).json()["results"]] == [bought.number]
    row = client.get(API, {"role": "buyer"}).json()["results"][0]
    assert row["buyer"]["id"] == org.pk and row["price"] == "5000.00" and "terms" not in row


def test_the_list_pages_with_a_flat_query_count(listing, django_assert_max_num_queries):
    org = OrganizationFactory()
    client = key_of(org, ApiKeyScope.READ)
    contract_on(listing, buyer=org)
    with django_assert_max_num_queries(100) as few:
        client.get(API)
    for _ in range(11):
        contract_on(listing, buyer=org)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(API).json()
    assert page["count"] == 12 and len(page["results"]) == 12


def test_the_detail_has_the_terms_as_hashed_both_signatures_and_the_access(listing):
    contract = contracts.contract_activate(contract=contract_on(listing))
    data = key_of(contract.buyer, ApiKeyScope.READ).get(url(contract)).json()
    assert data["terms"] == contract.terms and contracts.terms_hash(data["terms"]) == data["terms_sha256"]
    signatures = {s["party"]: s for s in data["signatures"]}
    assert signatures["buyer"]["ip_address"] == "10.0.0.2" and signatures["merchant"]["standing"] is True
    assert {s["terms_sha256"] for s in data["signatures"]} == {contract.terms_sha256}
    assert [(e["kind"], e["status"]) for e in data["entitlements"]] == [("download", "active")]
    assert data["purpose"] == PURPOSE and data["status"] == "active"


def test_the_merchant_reads_it_too_and_others_get_404(contract):
    assert key_of(contract.merchant, ApiKeyScope.READ).get(url(contract)).status_code == 200
    outsider = key_of(OrganizationFactory())
    for path in (url(contract), url(contract, "pdf")):
        assert_error(outsider.get(path), 404, "not_found")
    for verb in ("approve", "decline", "cancel", "terminate"):
        assert_error(outsider.post(url(contract, verb), {"reason": "x"}, format="json"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "verb"),
    [("get", None), ("get", ""), ("get", "pdf"), ("post", None), ("post", "approve"), ("post", "decline"),
     ("post", "cancel"), ("post", "terminate")],
)  # fmt: skip
def test_anonymous_gets_401(api_client, contract, method, verb):
    path = API if verb is None else url(contract, verb)
    assert_error(getattr(api_client, method)(path, {}, format="json"), 401, "not_authenticated")


@pytest.mark.parametrize("verb", [None, "approve", "decline", "cancel", "terminate"])
def test_a_read_key_cannot_write(contract, listing, verb):
    client = key_of(contract.merchant if verb in ("approve", "decline", "terminate") else contract.buyer, "read")
    path = API if verb is None else url(contract, verb)
    assert_error(client.post(path, body(listing) if verb is None else {"reason": "x"}, format="json"), 403,
                 "insufficient_scope")  # fmt: skip
    assert Contract.objects.count() == 1


def test_the_pdf(contract):
    response = key_of(contract.buyer, ApiKeyScope.READ).get(url(contract, "pdf"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and b"/Lang (zh-hans)" in response.content
    assert f'filename="contract-{contract.number}.pdf"' in response["Content-Disposition"]


# --- requesting -------------------------------------------------------------------------------------------------


def test_a_key_requests_for_its_own_organisation_and_signs_from_the_callers_address(listing):
    buyer = OrganizationFactory()
    response = key_of(buyer).post(API, body(listing), format="json", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["buyer"]["id"] == buyer.pk and data["status"] == "awaiting_payment"
    assert {s["party"]: s["ip_address"] for s in data["signatures"]} == {"buyer": "203.0.113.9", "merchant": "10.0.0.1"}
    event = AuditEvent.objects.for_object(Contract.objects.get()).get(action="contract.requested")
    assert event.actor_kind == "api_key"


def test_a_person_in_several_organisations_names_the_buyer(listing):
    first, second = OrganizationFactory(), OrganizationFactory()
    user = owner_of(first)
    membership_add(organization=second, user=user, role=Role.EDITOR, by=None)
    client = signed_in(user)
    assert_error(client.post(API, body(listing), format="json"), 400, "invalid")
    response = client.post(API, body(listing, organization=second.pk), format="json")
    assert response.status_code == 201 and response.json()["buyer"]["id"] == second.pk


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"plan": 1, "purpose": "x"}, "listing"), ({"listing": "x", "plan": 1, "purpose": "x"}, "listing"),
     ({"listing": 1, "plan": 1}, "purpose"), ({"listing": 1, "plan": 1, "purpose": "x", "price": "1"}, "price")],
)  # fmt: skip
def test_a_bad_body_is_400(payload, field):
    response = assert_error(key_of(OrganizationFactory()).post(API, payload, format="json"), 400, "invalid")
    assert field in response["fields"] and nothing_written()


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("own_listing", 400, "own_listing"),
        ("purpose_required", 400, "purpose_required"),
        ("listing_not_published", 400, "listing_not_published"),
        ("plan_not_offered", 400, "plan_not_offered"),
        ("not_a_buyer", 400, "not_a_buyer"),
        ("viewer", 403, "permission_denied"),
    ],
)
def test_refused_requests_keep_the_services_code_and_write_nothing(listing, case, status, code):
    buyer = listing.organization if case == "own_listing" else OrganizationFactory(can_buy=case != "not_a_buyer")
    client = signed_in(member(buyer, Role.VIEWER)) if case == "viewer" else key_of(buyer)
    payload = body(listing)
    if case == "purpose_required":
        payload["purpose"] = "   "
    if case == "listing_not_published":
        listings.listing_delist(listing=listing, by=owner_of(listing.organization), reason="Replaced.")
    if case == "plan_not_offered":
        payload["plan"] = published_listing(registered_product()).plans.get().pk
    assert_error(client.post(API, payload, format="json"), status, code)
    assert nothing_written()


def test_an_unverified_organisation_cannot_buy(listing):
    pending = OrganizationFactory(status=VerificationStatus.PENDING)
    assert_error(signed_in(owner_of(pending)).post(API, body(listing), format="json"), 403, "organization_not_verified")
    assert nothing_written()


def test_a_listing_the_caller_cannot_see_is_404():
    draft = draft_listing(registered_product())
    assert_error(key_of(OrganizationFactory()).post(API, body(draft), format="json"), 404, "not_found")
    assert nothing_written()


def test_an_exclusive_plan_held_by_another_buyer():
    listing = published_listing(registered_product(), plans=[plan_fields(exclusive=True)])
    contract_on(listing)
    assert_error(key_of(OrganizationFactory()).post(API, body(listing), format="json"), 400, "exclusive_taken")
    assert Contract.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_buyers_racing_over_the_api_for_an_exclusive_plan_get_one_contract():
    listing = published_listing(registered_product(), plans=[plan_fields(exclusive=True)])
    clients = [key_of(OrganizationFactory()) for _ in range(2)]

    def buy(client) -> str:
        data = client.post(API, body(listing), format="json").json()
        return data.get("code") or data["status"]

    assert sorted(at_once(buy, clients)) == ["awaiting_payment", "exclusive_taken"]
    assert Contract.objects.count() == 1


# --- the merchant's answer, cancelling, terminating -------------------------------------------------------------


def test_the_merchant_approves_and_signs_from_its_address(approval_listing):
    contract = contract_on(approval_listing)
    assert_error(key_of(contract.buyer).post(url(contract, "approve")), 403, "permission_denied")
    response = key_of(contract.merchant).post(url(contract, "approve"), REMOTE_ADDR="198.51.100.8")
    assert response.status_code == 200 and response.json()["status"] == "awaiting_payment"
    merchant = next(s for s in response.json()["signatures"] if s["party"] == "merchant")
    assert merchant["ip_address"] == "198.51.100.8" and merchant["standing"] is False
    assert_error(key_of(contract.merchant).post(url(contract, "approve")), 409, "invalid_transition")


def test_a_decline_needs_a_reason(approval_listing):
    contract = contract_on(approval_listing)
    merchant = key_of(contract.merchant)
    assert_error(merchant.post(url(contract, "decline"), {}, format="json"), 400, "invalid")
    assert_error(merchant.post(url(contract, "decline"), {"reason": " "}, format="json"), 400, "reason_required")
    assert_error(merchant.post(url(contract, "decline"), {"reason": "x", "y": 1}, format="json"), 400, "invalid")
    response = merchant.post(url(contract, "decline"), {"reason": "Purpose not covered."}, format="json")
    assert response.json()["status"] == "cancelled" and response.json()["status_reason"] == "Purpose not covered."
    assert_error(merchant.post(url(contract, "decline"), {"reason": "again"}, format="json"), 409, "not_requested")


def test_the_buyer_cancels_before_paying_not_after(listing, contract):
    buyer = key_of(contract.buyer)
    response = buyer.post(url(contract, "cancel"), {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    active = contracts.contract_activate(contract=contract_on(listing, buyer=contract.buyer))
    assert_error(buyer.post(url(active, "cancel"), {"reason": "Changed our mind."}, format="json"), 409,
                 "not_cancellable")  # fmt: skip
    assert Contract.objects.get(pk=active.pk).status == ContractStatus.ACTIVE


def test_the_merchant_terminates_an_active_contract(listing, contract):
    merchant = key_of(contract.merchant)
    assert_error(merchant.post(url(contract, "terminate"), {"reason": "Breach."}, format="json"), 409,
                 "invalid_transition")  # fmt: skip
    contracts.contract_activate(contract=contract)
    assert_error(key_of(contract.buyer).post(url(contract, "terminate"), {"reason": "x"}, format="json"), 403,
                 "permission_denied")  # fmt: skip
    assert_error(merchant.post(url(contract, "terminate"), {"reason": ""}, format="json"), 400, "reason_required")
    response = merchant.post(url(contract, "terminate"), {"reason": "Resold the data."}, format="json")
    assert response.json()["status"] == "terminated"
    assert all(e["status"] == "ended" for e in response.json()["entitlements"])


def test_a_free_plan_is_active_at_once():
    listing = published_listing(registered_product(), plans=[plan_fields(price=Decimal(0))])
    response = key_of(OrganizationFactory()).post(API, body(listing), format="json")
    assert response.json()["status"] == "active" and response.json()["entitlements"]
