"""POST /webhooks/stripe/: the signature is checked on the raw body, each event id is processed once, and events
arriving out of order still leave the payment and the contract in the right state."""

import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from audit.services import ledger_verify
from marketplace.choices import ContractStatus, EntitlementStatus, PaymentStatus, SettlementKind
from marketplace.models import Contract, Entitlement, Payment, SettlementEntry, StripeEvent
from marketplace.services import payments, settlement
from marketplace.services.common import MarketError
from tests.factories.accounts import owner_of
from tests.factories.marketplace import contract_on, published_listing, registered_product
from tests.marketplace import stripe_helpers as stripe_test

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract():
    return contract_on(published_listing(registered_product()))


@pytest.fixture
def charged(contract):
    """A payment whose card went through at localstripe, and the succeeded event localstripe recorded for it
    (not delivered yet)."""
    checkout = payments.payment_start(contract=contract, by=owner_of(contract.buyer))
    intent = stripe_test.confirm_with_card(checkout.payment.stripe_payment_intent)
    return checkout.payment, stripe_test.event_from_localstripe("payment_intent.succeeded", intent["id"])


def _state(payment: Payment) -> tuple[str, str]:
    payment.refresh_from_db()
    return payment.status, Contract.objects.get(pk=payment.contract_id).status


def _activations(contract: Contract) -> int:
    return AuditEvent.objects.filter(action="contract.active", object_id=str(contract.pk)).count()


# --- signatures -------------------------------------------------------------------------------------------------


def test_a_signed_event_is_accepted(client, charged):
    _payment, event = charged
    response = stripe_test.deliver(client, event)
    assert response.status_code == 200
    assert response.json() == {"received": event["id"], "replay": False, "outcome": "contract activated"}
    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.type, stored.processed_at is not None) == (event["id"], event["type"], True)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda body: {"secret": "whsec_someone_else"}, id="forged: another secret"),
        pytest.param(lambda body: {"timestamp": int(time.time()) - 301}, id="stale: older than 5 minutes"),
        pytest.param(lambda body: {"header": ""}, id="no signature"),
        pytest.param(lambda body: {"header": "t=abc,v1=zz"}, id="garbled header"),
        pytest.param(
            lambda body: {"header": stripe_test.signature_header(body.replace(b"succeeded", b"failed!!!"))},
            id="body changed after signing",
        ),
    ],
)
def test_a_forged_or_stale_signature_gets_400_and_changes_nothing(client, charged, tamper):
    payment, event = charged
    body = json.dumps(event).encode()
    response = stripe_test.deliver(client, body, **tamper(body))
    assert response.status_code == 400 and response.json()["code"] == "bad_signature"
    assert not StripeEvent.objects.exists()
    assert _state(payment) == (PaymentStatus.CREATED, ContractStatus.AWAITING_PAYMENT)


def test_a_signed_body_that_is_not_an_event_gets_400(client):
    assert stripe_test.deliver(client, b"not json").status_code == 400
    assert stripe_test.deliver(client, b'{"hello": "world"}').status_code == 400


def test_only_post(client):
    assert client.get("/webhooks/stripe/").status_code == 405


# --- exactly once -----------------------------------------------------------------------------------------------


def test_the_same_event_delivered_100_times_activates_the_contract_once(client, charged, contract):
    payment, event = charged
    responses = [stripe_test.deliver(client, event) for _ in range(100)]
    assert {r.status_code for r in responses} == {200}
    assert [r.json()["replay"] for r in responses] == [False] + [True] * 99
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert _state(payment) == (PaymentStatus.SUCCEEDED, ContractStatus.ACTIVE)
    assert _activations(contract) == 1
    assert Entitlement.objects.filter(contract=contract).count() == 1
    assert SettlementEntry.objects.filter(payment=payment).count() == 1
    assert ledger_verify().ok


# Look the event up, lock the contract and the payment, write the payment, the contract, the entitlement, the sale and
# the event, then the ledger (lock its head, one INSERT, update its head), inside one transaction.
MAX_QUERIES_PER_ACTIVATION = 13


def test_an_activation_costs_a_bounded_number_of_queries_and_one_ledger_lock(client, charged, contract):
    _payment, event = charged
    with CaptureQueriesContext(connection) as queries:
        assert stripe_test.deliver(client, event).json()["outcome"] == "contract activated"
    sql = [query["sql"] for query in queries.captured_queries]
    assert len(sql) <= MAX_QUERIES_PER_ACTIVATION, "\n".join(sql)
    head_locks = [n for n, text in enumerate(sql) if "audit_ledgerhead" in text and "FOR UPDATE" in text]
    stored = next(n for n, text in enumerate(sql) if text.startswith('INSERT INTO "marketplace_stripeevent"'))
    assert len(head_locks) == 1 and head_locks[0] > stored  # locked once, last
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"payment.succeeded", "contract.active", "entitlement.granted"} <= actions
    assert ledger_verify().ok


def test_a_replay_is_answered_from_one_read(client, charged, django_assert_num_queries):
    _payment, event = charged
    stripe_test.deliver(client, event)
    with django_assert_num_queries(1):
        response = stripe_test.deliver(client, event)
    assert response.json() == {"received": event["id"], "replay": True, "outcome": "contract activated"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_event_activate_the_contract_once():
    # given 100 deliveries of one event, ten at a time from ten threads (each with its own connection)
    contract = contract_on(published_listing(registered_product()))
    checkout = payments.payment_start(contract=contract, by=owner_of(contract.buyer))
    intent = stripe_test.confirm_with_card(checkout.payment.stripe_payment_intent)
    event = stripe_test.event_from_localstripe("payment_intent.succeeded", intent["id"])
    barrier, statuses = threading.Barrier(10), []

    def deliver_ten():
        barrier.wait()
        try:
            statuses.extend(stripe_test.deliver(Client(), event).status_code for _ in range(10))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_ten) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every delivery was answered 200 and the contract was activated once
    assert statuses == [200] * 100
    assert StripeEvent.objects.count() == 1
    assert _state(checkout.payment) == (PaymentStatus.SUCCEEDED, ContractStatus.ACTIVE)
    assert _activations(contract) == 1 and SettlementEntry.objects.count() == 1
    assert ledger_verify().ok


def test_an_event_a_rule_refuses_is_recorded_and_its_changes_and_audit_events_roll_back(
    client, charged, contract, monkeypatch
):
    # given booking the sale is refused, after the payment and the contract have moved and been audited
    payment, event = charged
    audited = AuditEvent.objects.count()

    def refuse(**kwargs):
        raise MarketError("Not now.", code="sale_refused")

    monkeypatch.setattr(settlement, "sale_record", refuse)
    response = stripe_test.deliver(client, event)
    # then Stripe is told it arrived, the refusal is stored, and nothing else was written
    assert response.status_code == 200 and response.json()["outcome"] == "refused: sale_refused"
    assert _state(payment) == (PaymentStatus.CREATED, ContractStatus.AWAITING_PAYMENT)
    assert not Entitlement.objects.filter(contract=contract).exists()
    assert AuditEvent.objects.count() == audited and ledger_verify().ok


# --- out of order -----------------------------------------------------------------------------------------------


def test_a_refund_overtaking_the_success_still_ends_refunded(client, charged, contract):
    # given the charge went through and was refunded in full at Stripe; the refund's event comes first
    payment, succeeded = charged
    stripe_test.refund_at_stripe(payment.stripe_payment_intent)
    refunded = stripe_test.charge_refunded_event(payment.stripe_payment_intent)
    assert stripe_test.deliver(client, refunded).json()["outcome"] == "refund recorded"
    # then the success was applied first (the charge did go through), then the refund
    assert _state(payment) == (PaymentStatus.REFUNDED, ContractStatus.REFUNDED)
    assert not Entitlement.objects.filter(contract=contract, status=EntitlementStatus.ACTIVE).exists()
    kinds = sorted(SettlementEntry.objects.values_list("kind", "net"))
    assert kinds == [(SettlementKind.REFUND, Decimal(-4750)), (SettlementKind.SALE, Decimal(4750))]
    # and the late success event changes nothing
    assert stripe_test.deliver(client, succeeded).json()["outcome"] == "already paid"
    assert _state(payment) == (PaymentStatus.REFUNDED, ContractStatus.REFUNDED)
    assert _activations(contract) == 1


def test_a_failure_arriving_after_the_success_changes_nothing(client, charged, contract):
    payment, succeeded = charged
    stripe_test.deliver(client, succeeded)
    intent = stripe_test.intent(payment.stripe_payment_intent)
    late = {**intent, "status": "requires_payment_method", "last_payment_error": {"message": "Your card was declined."}}
    response = stripe_test.deliver(client, stripe_test.event("payment_intent.payment_failed", late))
    assert response.json()["outcome"] == "ignored: already paid"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.failure_message == ""
    assert Contract.objects.get(pk=contract.pk).status == ContractStatus.ACTIVE


def test_partial_refund_events_in_reverse_order_keep_the_larger_total(client, charged):
    # given two partial refunds at Stripe (¥1,000 then ¥2,000 more), their events delivered newest first
    payment, succeeded = charged
    stripe_test.deliver(client, succeeded)
    stripe_test.refund_at_stripe(payment.stripe_payment_intent, 100000)
    first = stripe_test.charge_refunded_event(payment.stripe_payment_intent)
    stripe_test.refund_at_stripe(payment.stripe_payment_intent, 200000)
    second = stripe_test.charge_refunded_event(payment.stripe_payment_intent)
    assert stripe_test.deliver(client, second).json()["outcome"] == "refund recorded"
    assert stripe_test.deliver(client, first).json()["outcome"] == "refund already recorded"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED and payment.refunded_amount == Decimal(3000)
    refund = SettlementEntry.objects.get(kind=SettlementKind.REFUND)
    assert (refund.gross, refund.fee, refund.net) == (Decimal(-3000), Decimal(-150), Decimal(-2850))


def test_our_own_refund_is_not_counted_twice_when_stripe_reports_it(client, charged, contract):
    payment, succeeded = charged
    stripe_test.deliver(client, succeeded)
    refund = payments.refund_create(
        payment=payment, amount=Decimal(500), reason="Late.", by=owner_of(contract.merchant)
    )
    refund_object = {"id": refund.stripe_refund, "object": "refund", "amount": 50000, "status": "succeeded",
                     "charge": stripe_test.charge_of(payment.stripe_payment_intent)["id"]}  # fmt: skip
    assert stripe_test.deliver(client, stripe_test.event("refund.created", refund_object)).json()["outcome"] == (
        "refund already recorded"
    )
    charge_event = stripe_test.charge_refunded_event(payment.stripe_payment_intent)
    assert stripe_test.deliver(client, charge_event).json()["outcome"] == "refund already recorded"
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal(500)
    assert SettlementEntry.objects.filter(kind=SettlementKind.REFUND).count() == 1


def test_a_refund_made_in_stripes_dashboard_is_recorded_from_its_refund_event(client, charged):
    payment, succeeded = charged
    stripe_test.deliver(client, succeeded)
    outside = stripe_test.refund_at_stripe(payment.stripe_payment_intent, 123456)
    response = stripe_test.deliver(client, stripe_test.event("refund.created", outside))
    assert response.json()["outcome"] == "refund recorded"
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("1234.56") and payment.status == PaymentStatus.PARTIALLY_REFUNDED


def test_events_we_do_not_handle_or_do_not_know_are_acknowledged(client):
    unknown_type = stripe_test.event("customer.created", {"id": "cus_1", "object": "customer"})
    response = stripe_test.deliver(client, unknown_type)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    stranger = stripe_test.event("payment_intent.succeeded", {"id": "pi_not_ours", "status": "succeeded"})
    response = stripe_test.deliver(client, stranger)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored: unknown payment intent"
    assert StripeEvent.objects.count() == 2
