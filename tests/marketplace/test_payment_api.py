"""The payments part of /api/v1/: payments of the caller's contracts, starting one, refunds, settlement, payouts."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import ApiKeyScope
from marketplace.choices import ContractStatus
from marketplace.models import Contract, Payment
from marketplace.services import payments, settlement
from tests.api import assert_error, signed_in, with_key
from tests.factories import ApiKeyFactory, OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.marketplace import contract_on, published_listing, registered_product
from tests.marketplace import stripe_helpers as stripe_test

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def contract():
    return contract_on(published_listing(registered_product()))


def paid_payment(contract) -> Payment:
    checkout = payments.payment_start(contract=contract, by=owner_of(contract.buyer))
    stripe_test.confirm_with_card(checkout.payment.stripe_payment_intent)
    return payments.payment_refresh(payment=checkout.payment)


# --- payments ---------------------------------------------------------------------------------------------------


def test_a_partner_starts_a_payment_and_gets_the_client_secret(contract):
    _key, raw = ApiKeyFactory(organization=contract.buyer)
    response = with_key(raw).post(f"{API}/payments/", {"contract": contract.pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    payment = Payment.objects.get()
    assert body["payment"]["id"] == payment.pk and body["payment"]["amount"] == "5000.00"
    assert body["client_secret"].startswith(payment.stripe_payment_intent) and body["needs_payment"]
    assert body["intent_status"] == "requires_payment_method"
    # starting again resumes the same payment
    again = with_key(raw).post(f"{API}/payments/", {"contract": contract.pk}, format="json").json()
    assert again["payment"]["id"] == payment.pk


def test_starting_a_payment_refuses_what_it_must(contract):
    merchant = signed_in(owner_of(contract.merchant))
    assert_error(merchant.post(f"{API}/payments/", {"contract": contract.pk}, format="json"), 403, "permission_denied")
    stranger = signed_in(owner_of(OrganizationFactory()))
    assert_error(stranger.post(f"{API}/payments/", {"contract": contract.pk}, format="json"), 404, "not_found")
    _key, read_only = ApiKeyFactory(organization=contract.buyer, scope=ApiKeyScope.READ)
    response = with_key(read_only).post(f"{API}/payments/", {"contract": contract.pk}, format="json")
    assert_error(response, 403, "insufficient_scope")
    buyer = signed_in(owner_of(contract.buyer))
    body = assert_error(buyer.post(f"{API}/payments/", {"contract": "x"}, format="json"), 400, "invalid")
    assert "contract" in body["fields"]
    assert_error(buyer.post(f"{API}/payments/", {"contract": 1, "amount": 1}, format="json"), 400, "invalid")
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.CANCELLED)
    response = buyer.post(f"{API}/payments/", {"contract": contract.pk}, format="json")
    assert_error(response, 400, "not_awaiting_payment")
    assert not Payment.objects.exists()


def test_anonymous_callers_are_refused(api_client):
    assert api_client.get(f"{API}/payments/").status_code in (401, 403)


def test_buyer_and_merchant_list_their_payments_others_do_not(contract, django_assert_max_num_queries):
    payment = paid_payment(contract)
    for n in range(5):
        stripe_test.booked_sale(contract, f"{10 + n}.00")
    for who in (contract.buyer, contract.merchant):
        client = signed_in(owner_of(who))
        with django_assert_max_num_queries(8):
            body = client.get(f"{API}/payments/").json()
        assert payment.pk in [row["id"] for row in body["results"]]
    stranger = signed_in(owner_of(OrganizationFactory()))
    assert stranger.get(f"{API}/payments/").json()["results"] == []
    assert_error(stranger.get(f"{API}/payments/{payment.pk}/"), 404, "not_found")
    detail = signed_in(owner_of(contract.buyer)).get(f"{API}/payments/{payment.pk}/").json()
    assert (detail["status"], detail["contract_number"], detail["refundable"]) == (
        "succeeded",
        contract.number,
        "5000.00",
    )
    filtered = signed_in(owner_of(contract.buyer)).get(f"{API}/payments/?status=failed").json()
    assert filtered["results"] == []


def test_refresh_applies_what_stripe_says(contract):
    checkout = payments.payment_start(contract=contract, by=owner_of(contract.buyer))
    stripe_test.confirm_with_card(checkout.payment.stripe_payment_intent, stripe_test.DECLINED)
    response = signed_in(owner_of(contract.buyer)).post(f"{API}/payments/{checkout.payment.pk}/refresh/")
    assert response.status_code == 200
    assert response.json()["status"] == "failed" and response.json()["failure_message"] == "Your card was declined."


# --- refunds ----------------------------------------------------------------------------------------------------


def test_the_merchant_refunds_through_the_api(contract):
    payment = paid_payment(contract)
    _key, raw = ApiKeyFactory(organization=contract.merchant)
    url = f"{API}/payments/{payment.pk}/refund/"
    response = with_key(raw).post(url, {"amount": "250.00", "reason": "Partial delivery."}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "250.00" and response.json()["stripe_refund"].startswith("re_")
    too_much = with_key(raw).post(url, {"amount": "4750.01", "reason": "x"}, format="json")
    assert "amount" in assert_error(too_much, 400, "invalid")["fields"]
    assert_error(with_key(raw).post(url, {"amount": "1.00"}, format="json"), 400, "invalid")  # no reason
    rest = with_key(raw).post(url, {"reason": "Everything else."}, format="json")
    assert rest.status_code == 201 and rest.json()["amount"] == "4750.00"
    detail = with_key(raw).get(f"{API}/payments/{payment.pk}/").json()
    assert detail["status"] == "refunded" and len(detail["refunds"]) == 2


def test_the_buyer_cannot_refund_and_nothing_after_expiry(contract):
    payment = paid_payment(contract)
    url = f"{API}/payments/{payment.pk}/refund/"
    buyer = signed_in(owner_of(contract.buyer))
    assert_error(buyer.post(url, {"reason": "Please."}, format="json"), 403, "permission_denied")
    Contract.objects.filter(pk=contract.pk).update(ends_at=timezone.now() - datetime.timedelta(days=1))
    merchant = signed_in(owner_of(contract.merchant))
    assert_error(merchant.post(url, {"reason": "Goodwill."}, format="json"), 400, "contract_ended")


# --- settlement -------------------------------------------------------------------------------------------------


def test_the_merchant_reads_balance_entries_and_statements(contract, django_assert_max_num_queries):
    for _ in range(3):
        stripe_test.booked_sale(contract)
    settlement.payout_create(organization=contract.merchant, amount=Decimal(100), by=None)
    client = signed_in(owner_of(contract.merchant))
    balance = client.get(f"{API}/settlement/").json()
    assert balance == {"organization": contract.merchant.pk, "balance": "185.00", "fee_percent": "5.00"}
    with django_assert_max_num_queries(8):
        entries = client.get(f"{API}/settlement/entries/").json()
    assert entries["count"] == 4 and entries["results"][0]["kind"] == "payout"
    assert entries["results"][1]["contract_number"] == contract.number and entries["results"][1]["fee"] == "5.00"
    month = f"{timezone.localdate():%Y-%m}"
    months = client.get(f"{API}/settlement/statements/").json()
    assert months["count"] == 1 and months["next"] is None
    assert months["results"][0]["month"] == month and months["results"][0]["closing"] == "185.00"
    assert client.get(f"{API}/settlement/statements/", {"ordering": "month"}).json()["results"] == months["results"]
    assert_error(client.get(f"{API}/settlement/statements/", {"ordering": "net"}), 400, "invalid")
    statement = client.get(f"{API}/settlement/statements/{month}/").json()
    assert statement["opening"] == "0.00" and statement["closing"] == "185.00" and len(statement["entries"]) == 4
    assert statement["totals"]["sale"]["net"] == "285.00"
    assert_error(client.get(f"{API}/settlement/statements/2026-13/"), 404, "not_found")
    payouts = client.get(f"{API}/payouts/").json()["results"]
    assert [(p["amount"], p["status"]) for p in payouts] == [("100.00", "pending")]


def test_settlement_is_the_callers_own(contract):
    stripe_test.booked_sale(contract)
    _key, raw = ApiKeyFactory(organization=contract.buyer)
    assert with_key(raw).get(f"{API}/settlement/").json()["balance"] == "0.00"
    response = with_key(raw).get(f"{API}/settlement/?organization={contract.merchant.pk}")
    assert_error(response, 404, "not_found")
    assert with_key(raw).get(f"{API}/payouts/").json()["results"] == []
    assert_error(signed_in(owner_of(contract.buyer)).get(f"{API}/settlement/?organization=x"), 400, "invalid")


def test_the_schema_documents_the_payment_endpoints(api_client):
    paths = api_client.get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    for path in ("/payments/", "/payments/{id}/", "/payments/{id}/refund/", "/payments/{id}/refresh/",
                 "/settlement/", "/settlement/entries/", "/settlement/statements/", "/payouts/"):  # fmt: skip
        assert f"{API}{path}" in paths, path
