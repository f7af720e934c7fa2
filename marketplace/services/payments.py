"""Payments through Stripe: a PaymentIntent the buyer confirms with Stripe.js, Stripe's webhook events processed
exactly once, the refresh that stands in for a lost webhook, and refunds by the merchant or a regulator.

    Payment: created → processing → succeeded | failed;  failed → (the buyer tries again) → processing | succeeded;
             succeeded → partially_refunded → refunded

Events may come in any order, and more than once. Each handler applies what the Stripe object says *now*, and every
state only moves forward: a success overtaken by its refund is applied first (the charge did go through), a late
failure after a success changes nothing, and refunds are counted from the charge's cumulative `amount_refunded`.

Locks are always taken contract first, then payment (the audit ledger's head comes last, inside audit_record; a
webhook and a refresh buffer their events in an audit_batch and append them just before commit), so a webhook, a
refresh and a refund on the same contract queue instead of deadlocking. Stripe is called before anything is audited:
no request to Stripe runs while the ledger is locked.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.services import grant_to_organization, person_of, require_role, require_verified
from audit.services import audit_batch, audit_record
from marketplace import stripe_gateway
from marketplace.choices import ContractStatus, PaymentPurpose, PaymentStatus
from marketplace.models import Contract, Payment, Refund, SettlementEntry, StripeEvent
from marketplace.services import contracts, settlement
from marketplace.services.common import MarketError, is_regulator, require_reason
from marketplace.stripe_gateway import from_minor

OPEN_STATES = (PaymentStatus.CREATED, PaymentStatus.PROCESSING, PaymentStatus.FAILED)
PAID_STATES = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
REFUNDABLE_STATES = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)
ENDED_STATES = (ContractStatus.EXPIRED, ContractStatus.TERMINATED, ContractStatus.REFUNDED, ContractStatus.CANCELLED)
# PaymentIntent states in which the buyer still has to act in the browser.
AWAITING_BUYER = ("requires_payment_method", "requires_confirmation", "requires_action")


@dataclass(frozen=True)
class Checkout:
    """What the pay page (or a partner) needs to confirm a payment with Stripe.js."""

    payment: Payment
    intent: dict

    @property
    def client_secret(self) -> str:
        return self.intent["client_secret"]

    @property
    def intent_status(self) -> str:
        return self.intent["status"]

    @property
    def needs_payment(self) -> bool:
        return self.payment.status in OPEN_STATES and self.intent_status in AWAITING_BUYER


# --- locks and lookups ------------------------------------------------------------------------------------------


def _locking_contracts() -> QuerySet[Contract]:
    # of=("self",): lock the contract row only; its plan comes along for activation (the transition reads it).
    return Contract.objects.select_for_update(of=("self",)).select_related("plan")


def _lock(payment: Payment) -> tuple[Contract, Payment]:
    """The payment's contract, then the payment, both locked (the one lock order of this module)."""
    contract = _locking_contracts().get(pk=payment.contract_id)
    return contract, _locked_payment(contract, pk=payment.pk)


def _lock_by_intent(intent_id: str | None) -> tuple[Contract, Payment] | None:
    """Like `_lock`, for the payment of a PaymentIntent (None if it is not ours); the lookup is the contract's lock."""
    if not intent_id:
        return None
    try:
        contract = _locking_contracts().get(payments__stripe_payment_intent=intent_id)
    except Contract.DoesNotExist:
        return None
    return contract, _locked_payment(contract, stripe_payment_intent=intent_id)


def _locked_payment(contract: Contract, **lookup: Any) -> Payment:
    payment = Payment.objects.select_for_update().get(**lookup)
    payment.contract = contract  # audit_record reads contract.merchant_id
    return payment


# --- starting a payment -----------------------------------------------------------------------------------------


@transaction.atomic
def payment_start(*, contract: Contract, by: Any) -> Checkout:
    """The buyer pays a contract awaiting payment: its open Payment (one per contract) is reused, else created."""
    # `of`: lock the contract row only, not the organisations joined to it (payouts lock those).
    contract = Contract.objects.select_for_update(of=("self",)).select_related("buyer", "merchant").get(pk=contract.pk)
    require_role(user=by, organization=contract.buyer, action="add")
    if contract.status != ContractStatus.AWAITING_PAYMENT:
        raise MarketError(_("Contract %(number)s is %(status)s: there is nothing to pay.")
                          % {"number": contract.number, "status": contract.get_status_display()},
                          code="not_awaiting_payment")  # fmt: skip
    require_verified(contract.buyer)
    payment = (
        contract.payments.select_for_update().filter(purpose=PaymentPurpose.CONTRACT, status__in=OPEN_STATES).first()
    )
    if payment is not None:
        intent = stripe_gateway.intent_retrieve(payment.stripe_payment_intent)
        if intent["status"] != "canceled":
            payment.contract = contract
            _apply_intent(contract, payment, intent)
            return Checkout(payment, intent)
        _fail(payment, _("The payment was cancelled at Stripe."))
    payment, intent = _payment_create(contract, by)
    return Checkout(payment, intent)


def _payment_create(contract: Contract, by: Any) -> tuple[Payment, dict]:
    payment = Payment(
        contract=contract, amount=contract.price, currency=contract.currency, created_by=person_of(by),
        idempotency_key=stripe_gateway.new_idempotency_key("payment"),
    )  # fmt: skip
    payment.full_clean(exclude=["stripe_payment_intent"])
    payment.save()
    intent = stripe_gateway.intent_create(
        amount=payment.amount, idempotency_key=payment.idempotency_key,
        metadata={"payment": str(payment.pk), "contract": contract.number},
    )  # fmt: skip
    payment.stripe_payment_intent = intent["id"]
    payment.save(update_fields=["stripe_payment_intent"])
    grant_to_organization(payment, contract.buyer)
    grant_to_organization(payment, contract.merchant)
    audit_record(action="payment.created", obj=payment, actor=by, organization_id=contract.merchant_id,
                 data={"contract": contract.number, "amount": str(payment.amount), "intent": intent["id"]})  # fmt: skip
    return payment, intent


@transaction.atomic
def payment_refresh(*, payment: Payment) -> Payment:
    """Ask Stripe how an unfinished payment stands and apply it: the fallback when no webhook arrives."""
    if payment.status in PAID_STATES or not payment.stripe_payment_intent:
        return payment
    intent = stripe_gateway.intent_retrieve(payment.stripe_payment_intent)  # before taking any lock
    with audit_batch():  # like a webhook: the ledger's head is locked last
        contract, payment = _lock(payment)
        _apply_intent(contract, payment, intent)
    return payment


# --- applying what Stripe says ----------------------------------------------------------------------------------


def _apply_intent(contract: Contract, payment: Payment, intent: dict) -> str:
    """Move the (locked) payment to the state of its PaymentIntent; returns what happened."""
    status = intent.get("status")
    if status == "succeeded":
        return _succeed(contract, payment)
    if status == "processing":
        return _processing(payment)
    if status == "canceled":
        return _fail(payment, _("The payment was cancelled at Stripe."))
    error = intent.get("last_payment_error")
    if status == "requires_payment_method" and error:
        return _fail(payment, error.get("message") or _("The card was refused."))
    return f"no change ({status})"


def _processing(payment: Payment) -> str:
    if not payment.can_transition(PaymentStatus.PROCESSING):
        return f"no change ({payment.status})"
    payment.transition_to(PaymentStatus.PROCESSING)
    return "processing"


def _fail(payment: Payment, message: str) -> str:
    """A refused card: the contract keeps awaiting payment and the buyer can try again."""
    if payment.status in PAID_STATES:
        return "ignored: already paid"
    if payment.status == PaymentStatus.FAILED and payment.failure_message == message:
        # The pay page and the status poll re-read the intent, which still carries the last error: not a new one.
        return "no change (already failed)"
    payment.failure_message = message
    payment.transition_to(PaymentStatus.FAILED, reason=message)
    return "payment failed"


def _succeed(contract: Contract, payment: Payment) -> str:
    """The money came in: the contract starts and the merchant's ledger gets its line."""
    if payment.status in PAID_STATES:
        return "already paid"
    payment.succeeded_at, payment.failure_message = timezone.now(), ""
    payment.transition_to(PaymentStatus.SUCCEEDED)
    if payment.purpose == PaymentPurpose.USAGE:
        settlement.sale_record(payment=payment)
        return "usage paid"
    if contract.status == ContractStatus.AWAITING_PAYMENT:
        contracts.contract_activate_locked(contract=contract)  # locked above, before the payment
        settlement.sale_record(payment=payment)
        return "contract activated"
    # Paid after the contract was cancelled (or paid twice): the money goes back.
    from marketplace.tasks.payments import payment_return

    transaction.on_commit(lambda: payment_return.delay(payment.pk))
    return f"paid a contract that is {contract.status}: returned"


def _apply_refunded_total(contract: Contract, payment: Payment, total: Decimal) -> str:
    """Stripe says `total` has been refunded on the payment's charge so far; record what we have not yet."""
    if payment.status not in PAID_STATES:  # the refund overtook the success: the charge did go through
        _succeed(contract, payment)
    missing = min(total, payment.amount) - payment.refunded_amount
    if missing <= 0:
        return "refund already recorded"
    _record_refund(contract, payment, missing, refund=None, by=None, reason=_("Refunded at Stripe."))
    return "refund recorded"


def _record_refund(contract: Contract, payment: Payment, amount: Decimal, *, refund, by, reason: str) -> None:
    before = payment.refunded_amount
    payment.refunded_amount = before + amount
    full = payment.refunded_amount >= payment.amount
    new = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    payment.transition_to(new, by=by, reason=reason,
                          data={"amount": str(amount), "refunded": str(payment.refunded_amount)})  # fmt: skip
    booked = settlement.refund_record(payment=payment, amount=amount, refunded_before=before, refund=refund)
    # Only the payment booked as the contract's sale ends it (not one returned because it came too late).
    if (
        full
        and booked is not None
        and payment.purpose == PaymentPurpose.CONTRACT
        and contract.status == ContractStatus.ACTIVE
    ):
        contracts.contract_refunded(contract=contract, by=by, reason=reason)


# --- webhooks ---------------------------------------------------------------------------------------------------


def _on_intent(intent: dict) -> str:
    locked = _lock_by_intent(intent.get("id"))
    return _apply_intent(*locked, intent) if locked else "ignored: unknown payment intent"


def _on_charge_refunded(charge: dict) -> str:
    locked = _lock_by_intent(charge.get("payment_intent"))
    if locked is None:
        return "ignored: unknown payment intent"
    return _apply_refunded_total(*locked, from_minor(charge.get("amount_refunded") or 0))


def _on_refund(refund: dict) -> str:
    """A refund event names one refund: ours is already recorded; another's total comes from its charge."""
    ours = Refund.objects.filter(stripe_refund=refund.get("id")).exists()
    status = refund.get("status")
    if status in ("failed", "canceled"):  # rare: Stripe could not return the money after all
        return f"refund {status} at Stripe" + (": recorded here as refunded, a regulator must look" if ours else "")
    if ours:
        return "refund already recorded"
    if not refund.get("charge"):
        return "ignored: refund without a charge"
    return _on_charge_refunded(stripe_gateway.charge_retrieve(refund["charge"]))


HANDLERS: dict[str, Callable[[dict], str]] = {
    "payment_intent.succeeded": _on_intent,
    "payment_intent.payment_failed": _on_intent,
    "payment_intent.processing": _on_intent,
    "payment_intent.canceled": _on_intent,
    "charge.refunded": _on_charge_refunded,
    "charge.refund.updated": _on_refund,
    "refund.created": _on_refund,
    "refund.updated": _on_refund,
}


def webhook_process(*, event: dict) -> tuple[StripeEvent, bool]:
    """Process a verified Stripe event once: a replay finds it stored and does nothing. Returns (event, is_new)."""
    stored = _stored(event["id"])
    if stored is not None:  # Stripe retrying: one read, no transaction
        return stored, False
    try:
        return _process(event), True
    except IntegrityError:
        # The unique event_id: a concurrent delivery stored it first (this one waited for its locks, then changed
        # nothing, and everything it did is rolled back).
        stored = _stored(event["id"])
        if stored is None:
            raise
        return stored, False
    except MarketError as exc:
        # A rule refused it: everything it did is rolled back; record the refusal, so Stripe need not retry.
        stored, created = StripeEvent.objects.get_or_create(
            event_id=event["id"],
            defaults={"type": event["type"], "payload": event, "outcome": f"refused: {exc.code}",
                      "processed_at": timezone.now()},
        )  # fmt: skip
        return stored, created


def _stored(event_id: str) -> StripeEvent | None:
    try:
        return StripeEvent.objects.defer("payload").get(event_id=event_id)  # the answer needs the id and outcome
    except StripeEvent.DoesNotExist:
        return None


@transaction.atomic
def _process(event: dict) -> StripeEvent:
    """Apply the event, then store it under its unique id, in one transaction without savepoints.

    Each handler applies what the Stripe object says now, under the contract's and the payment's locks: a concurrent
    delivery of the same event waits for those, finds nothing left to change, and its INSERT of the event id fails
    (rolling it back). The ledger's head is locked last, when the batch appends this event's audit entries.
    """
    with audit_batch():
        handler = HANDLERS.get(event["type"])
        outcome = handler(event.get("data", {}).get("object") or {})[:200] if handler else "ignored"
        return StripeEvent.objects.create(
            event_id=event["id"], type=event["type"], payload=event, outcome=outcome, processed_at=timezone.now()
        )


# --- refunds ----------------------------------------------------------------------------------------------------


@transaction.atomic
def refund_create(*, payment: Payment, amount: Decimal | None = None, reason: str, by: Any) -> Refund:
    """Give money back, in full (no amount) or in part, by the merchant or a regulator, while the contract runs."""
    contract, payment = _lock(payment)
    if not is_regulator(by):
        require_role(user=by, organization=contract.merchant, action="change")
    reason = require_reason(reason)
    _require_refundable(contract, payment)
    amount = _refund_amount(payment, amount)
    refund = Refund.objects.create(
        payment=payment, amount=amount, reason=reason, requested_by=person_of(by),
        idempotency_key=stripe_gateway.new_idempotency_key("refund"),
    )  # fmt: skip
    answer = stripe_gateway.refund_create(  # a refusal rolls back the row above: nothing half-written
        intent_id=payment.stripe_payment_intent, amount=amount, idempotency_key=refund.idempotency_key,
        metadata={"refund": str(refund.pk), "contract": contract.number},
    )  # fmt: skip
    refund.stripe_refund = answer["id"]
    refund.save(update_fields=["stripe_refund"])
    _record_refund(contract, payment, amount, refund=refund, by=by, reason=reason)
    audit_record(action="refund.created", obj=refund, actor=by, organization_id=contract.merchant_id,
                 data={"contract": contract.number, "amount": str(amount), "reason": reason,
                       "stripe_refund": refund.stripe_refund})  # fmt: skip
    return refund


def _require_refundable(contract: Contract, payment: Payment) -> None:
    if payment.status not in REFUNDABLE_STATES:
        raise MarketError(_("Only a payment that went through can be refunded; this one is %(status)s.")
                          % {"status": payment.get_status_display()}, code="not_refundable")  # fmt: skip
    if contract.status in ENDED_STATES:
        raise MarketError(_("Contract %(number)s is %(status)s: its payment can no longer be refunded.")
                          % {"number": contract.number, "status": contract.get_status_display()},
                          code="contract_ended")  # fmt: skip
    if contract.ends_at is not None and contract.ends_at <= timezone.now():
        when = date_format(timezone.localtime(contract.ends_at), "DATETIME_FORMAT")
        raise MarketError(_("The term of contract %(number)s ended on %(date)s: its payment can no longer be refunded.")
                          % {"number": contract.number, "date": when}, code="contract_ended")  # fmt: skip


def _refund_amount(payment: Payment, amount: Decimal | None) -> Decimal:
    if amount is None:
        return payment.refundable
    amount = settlement.positive_amount(amount)
    if amount > payment.refundable:
        raise ValidationError({"amount": _("At most ¥%(left)s is left to refund on this payment.")
                                         % {"left": payment.refundable}}, code="above_refundable")  # fmt: skip
    return amount


@transaction.atomic
def payment_return(*, payment: Payment) -> Payment:
    """Give back, in full, a payment its contract no longer awaited (cancelled meanwhile, or paid twice)."""
    contract, payment = _lock(payment)
    if payment.status != PaymentStatus.SUCCEEDED or SettlementEntry.objects.filter(payment=payment).exists():
        return payment  # refunded already, or it is the contract's booked sale
    stripe_gateway.refund_create(
        intent_id=payment.stripe_payment_intent, amount=payment.refundable,
        idempotency_key=f"return-{payment.idempotency_key}",
        metadata={"payment": str(payment.pk), "contract": contract.number},
    )  # fmt: skip
    reason = _("The contract no longer awaited this payment.")
    _record_refund(contract, payment, payment.refundable, refund=None, by=None, reason=reason)
    return payment
