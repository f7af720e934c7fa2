"""Payments against localstripe: a contract is paid (and activated) end to end, a refused card leaves it awaiting
payment, refunds go back through Stripe in full or in part and never after the contract ended."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.choices import Role
from audit.models import AuditEvent
from core.errors import PermissionDeniedError
from marketplace import stripe_gateway
from marketplace.choices import ContractStatus, EntitlementStatus, PaymentStatus, SettlementKind
from marketplace.models import Contract, Entitlement, Payment, Refund, SettlementEntry
from marketplace.services import contracts, payments
from marketplace.services.common import MarketError
from marketplace.stripe_gateway import PaymentGatewayError
from marketplace.tasks.payments import payments_reconcile
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import contract_on, published_listing, registered_product, regulator
from tests.marketplace import stripe_helpers as stripe_test

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract():
    """A contract of ¥5,000.00 awaiting payment (a one-off licence that needs no approval)."""
    return contract_on(published_listing(registered_product()))


def start(contract: Contract) -> payments.Checkout:
    return payments.payment_start(contract=contract, by=owner_of(contract.buyer))


def pay(client, contract: Contract, card: str = stripe_test.VISA) -> Payment:
    """Pay at localstripe with `card` and deliver the event localstripe recorded, signed, to the webhook."""
    checkout = start(contract)
    intent = stripe_test.confirm_with_card(checkout.payment.stripe_payment_intent, card)
    kind = "payment_intent.succeeded" if intent["status"] == "succeeded" else "payment_intent.payment_failed"
    response = stripe_test.deliver(client, stripe_test.event_from_localstripe(kind, intent["id"]))
    assert response.status_code == 200, response.content
    return Payment.objects.get(pk=checkout.payment.pk)


def paid(client, contract: Contract) -> Payment:
    payment = pay(client, contract)
    assert payment.status == PaymentStatus.SUCCEEDED
    return payment


# --- money at the boundary --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("yuan", "fen"), [("5000.00", 500000), ("0.01", 1), ("12.3", 1230), ("0", 0)])
def test_yuan_and_fen(yuan, fen):
    assert stripe_gateway.to_minor(Decimal(yuan)) == fen
    assert stripe_gateway.from_minor(fen) == Decimal(yuan).quantize(Decimal("0.01"))


def test_fractions_of_a_fen_never_reach_stripe():
    with pytest.raises(ValueError, match="fen"):
        stripe_gateway.to_minor(Decimal("1.005"))


# --- paying -----------------------------------------------------------------------------------------------------


def test_contract_to_active_end_to_end_through_localstripe(client, contract):
    # given a PaymentIntent created at localstripe for the contract's price, in fen
    checkout = start(contract)
    payment = checkout.payment
    intent = stripe_test.intent(payment.stripe_payment_intent)
    assert (intent["amount"], intent["currency"]) == (500000, "cny")
    assert intent["metadata"] == {"payment": str(payment.pk), "contract": contract.number}
    assert checkout.client_secret.startswith(f"{intent['id']}_secret_") and checkout.needs_payment
    assert payment.status == PaymentStatus.CREATED and payment.idempotency_key.startswith("payment-")
    # when the buyer's card goes through and Stripe's event arrives signed
    stripe_test.confirm_with_card(intent["id"], stripe_test.VISA)
    event = stripe_test.event_from_localstripe("payment_intent.succeeded", intent["id"])
    response = stripe_test.deliver(client, event)
    # then the contract is active, access granted, and the merchant's ledger has its line
    assert response.status_code == 200 and response.json()["outcome"] == "contract activated"
    payment.refresh_from_db()
    contract.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.succeeded_at
    assert contract.status == ContractStatus.ACTIVE and contract.ends_at > timezone.now()
    assert Entitlement.objects.get(contract=contract).status == EntitlementStatus.ACTIVE
    sale = SettlementEntry.objects.get(payment=payment)
    assert (sale.kind, sale.gross, sale.fee, sale.net) == ("sale", Decimal(5000), Decimal(250), Decimal(4750))
    assert sale.organization_id == contract.merchant_id
    actions = set(AuditEvent.objects.for_object(payment).values_list("action", flat=True))
    assert {"payment.created", "payment.succeeded"} <= actions


def test_reloading_the_pay_page_reuses_the_open_payment(contract):
    first, again = start(contract), start(contract)
    assert again.payment.pk == first.payment.pk
    assert again.payment.stripe_payment_intent == first.payment.stripe_payment_intent
    assert Payment.objects.filter(contract=contract).count() == 1


@pytest.mark.parametrize(
    "who",
    [
        lambda contract: owner_of(contract.merchant),
        lambda contract: owner_of(OrganizationFactory()),
        lambda contract: member(contract.buyer, Role.VIEWER),
    ],
    ids=["merchant", "stranger", "buyer's viewer"],
)
def test_only_the_buyers_people_pay(contract, who):
    with pytest.raises(PermissionDeniedError):
        payments.payment_start(contract=contract, by=who(contract))
    assert not Payment.objects.exists()


def test_nothing_to_pay_on_an_active_contract(contract):
    contracts.contract_activate(contract=contract)
    with pytest.raises(MarketError) as exc:
        start(contract)
    assert exc.value.code == "not_awaiting_payment"


def test_a_refused_card_leaves_the_contract_awaiting_payment_with_stripes_message(client, contract):
    payment = pay(client, contract, stripe_test.DECLINED)
    contract.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED and payment.failure_message == "Your card was declined."
    assert contract.status == ContractStatus.AWAITING_PAYMENT
    assert not Entitlement.objects.filter(contract=contract).exists()
    assert not SettlementEntry.objects.exists()
    # the buyer comes back to the same payment and can try again
    again = start(contract)
    assert again.payment.pk == payment.pk and again.needs_payment


def test_the_buyer_tries_again_after_a_failure_and_pays(contract):
    # given the 3-D Secure check failed (what localstripe's Stripe.js does when the buyer says "fail")
    checkout = start(contract)
    prepared = stripe_gateway.intent_ready_for_test_js(checkout.intent)
    assert prepared["status"] == "requires_action"
    stripe_test.authenticate_like_stripe_js(checkout.client_secret, success=False)
    payment = payments.payment_refresh(payment=checkout.payment)
    assert payment.status == PaymentStatus.FAILED and "authentication" in payment.failure_message
    # when they try again on the same payment and complete the check
    retry = start(contract)
    assert retry.payment.pk == payment.pk
    stripe_gateway.intent_ready_for_test_js(retry.intent)
    stripe_test.authenticate_like_stripe_js(retry.client_secret, success=True)
    payment = payments.payment_refresh(payment=retry.payment)
    # then it went through: failed → succeeded, and the contract started
    contract.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.failure_message == ""
    assert contract.status == ContractStatus.ACTIVE


def test_refresh_is_the_fallback_when_no_webhook_arrives(client, contract):
    checkout = start(contract)
    intent = stripe_test.confirm_with_card(checkout.payment.stripe_payment_intent)
    payment = payments.payment_refresh(payment=checkout.payment)
    assert payment.status == PaymentStatus.SUCCEEDED
    # the webhook arriving afterwards changes nothing
    response = stripe_test.deliver(client, stripe_test.event_from_localstripe("payment_intent.succeeded", intent["id"]))
    assert response.json()["outcome"] == "already paid"
    assert SettlementEntry.objects.filter(payment=payment).count() == 1
    assert AuditEvent.objects.filter(action="contract.active", object_id=str(contract.pk)).count() == 1


def test_the_reconciliation_task_finds_payments_whose_webhook_is_late(contract):
    checkout = start(contract)
    stripe_test.confirm_with_card(checkout.payment.stripe_payment_intent)
    Payment.objects.filter(pk=checkout.payment.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=10))
    assert payments_reconcile() == 1
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_a_payment_that_arrives_after_the_contract_was_cancelled_goes_back(
    client, contract, django_capture_on_commit_callbacks
):
    checkout = start(contract)
    intent = stripe_test.confirm_with_card(checkout.payment.stripe_payment_intent)
    contracts.contract_cancel(contract=contract, by=owner_of(contract.buyer))
    with django_capture_on_commit_callbacks(execute=True):
        response = stripe_test.deliver(
            client, stripe_test.event_from_localstripe("payment_intent.succeeded", intent["id"])
        )
    assert "returned" in response.json()["outcome"]
    payment = Payment.objects.get(pk=checkout.payment.pk)
    contract.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and contract.status == ContractStatus.CANCELLED
    assert stripe_test.charge_of(intent["id"])["amount_refunded"] == 500000
    assert not SettlementEntry.objects.exists()


# --- refunds ----------------------------------------------------------------------------------------------------


def test_a_full_refund_by_the_merchant_ends_the_contract(client, contract):
    payment = paid(client, contract)
    refund = payments.refund_create(payment=payment, reason="Wrong edition delivered.", by=owner_of(contract.merchant))
    payment.refresh_from_db()
    contract.refresh_from_db()
    assert refund.amount == Decimal(5000) and refund.stripe_refund.startswith("re_")
    assert refund.idempotency_key.startswith("refund-")
    assert stripe_test.charge_of(payment.stripe_payment_intent)["amount_refunded"] == 500000
    assert payment.status == PaymentStatus.REFUNDED and payment.refunded_amount == Decimal(5000)
    assert contract.status == ContractStatus.REFUNDED
    assert not Entitlement.objects.active().filter(contract=contract).exists()
    line = SettlementEntry.objects.get(kind=SettlementKind.REFUND)
    assert (line.refund, line.gross, line.fee, line.net) == (refund, Decimal(-5000), Decimal(-250), Decimal(-4750))
    assert AuditEvent.objects.filter(action="refund.created", object_id=str(refund.pk)).exists()


def test_partial_refunds_by_a_regulator_never_exceed_what_is_left(client, contract):
    payment = paid(client, contract)
    officer = regulator()
    payments.refund_create(payment=payment, amount=Decimal("1000.00"), reason="Late delivery.", by=officer)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED and payment.refundable == Decimal(4000)
    with pytest.raises(ValidationError) as exc:
        payments.refund_create(payment=payment, amount=Decimal("4000.01"), reason="Too much.", by=officer)
    assert "amount" in exc.value.message_dict and "4000.00" in exc.value.message_dict["amount"][0]
    with pytest.raises(ValidationError):
        payments.refund_create(payment=payment, amount=Decimal(0), reason="Nothing.", by=officer)
    payments.refund_create(payment=payment, amount=Decimal("4000.00"), reason="The rest.", by=officer)
    payment.refresh_from_db()
    contract.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and contract.status == ContractStatus.REFUNDED
    assert stripe_test.charge_of(payment.stripe_payment_intent)["amount_refunded"] == 500000
    assert Refund.objects.filter(payment=payment).count() == 2


def test_the_buyer_cannot_refund_and_a_reason_is_required(client, contract):
    payment = paid(client, contract)
    with pytest.raises(PermissionDeniedError):
        payments.refund_create(payment=payment, reason="I changed my mind.", by=owner_of(contract.buyer))
    with pytest.raises(MarketError) as exc:
        payments.refund_create(payment=payment, reason="  ", by=owner_of(contract.merchant))
    assert exc.value.code == "reason_required"
    assert not Refund.objects.exists()


def test_an_unpaid_payment_cannot_be_refunded(contract):
    checkout = start(contract)
    with pytest.raises(MarketError) as exc:
        payments.refund_create(payment=checkout.payment, reason="x", by=owner_of(contract.merchant))
    assert exc.value.code == "not_refundable"


@pytest.mark.parametrize("expired_by_the_task", [True, False], ids=["expired", "term over, task not run yet"])
def test_a_refund_after_expiry_is_refused_and_nothing_is_written(client, contract, expired_by_the_task):
    # given a paid contract whose term is over
    payment = paid(client, contract)
    Contract.objects.filter(pk=contract.pk).update(ends_at=timezone.now() - datetime.timedelta(minutes=1))
    if expired_by_the_task:
        contracts.expire_due()
    audit_before = AuditEvent.objects.count()
    # when the merchant tries to refund it
    with pytest.raises(MarketError) as exc:
        payments.refund_create(payment=payment, reason="Goodwill.", by=owner_of(contract.merchant))
    # then a clear error, and nothing half-written: no row, no ledger line, no audit event, no money moved
    assert exc.value.code == "contract_ended" and contract.number in str(exc.value.message)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.refunded_amount == 0
    assert not Refund.objects.exists() and not SettlementEntry.objects.filter(kind=SettlementKind.REFUND).exists()
    assert AuditEvent.objects.count() == audit_before
    assert stripe_test.charge_of(payment.stripe_payment_intent)["amount_refunded"] == 0


def test_stripe_refusing_a_refund_leaves_nothing_half_written(client, contract, monkeypatch):
    payment = paid(client, contract)

    def refused(**kwargs):
        raise PaymentGatewayError("Charge ch_x has been disputed.")

    monkeypatch.setattr(stripe_gateway, "refund_create", refused)
    with pytest.raises(PaymentGatewayError):
        payments.refund_create(payment=payment, reason="Goodwill.", by=owner_of(contract.merchant))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.refunded_amount == 0
    assert not Refund.objects.exists() and SettlementEntry.objects.count() == 1
