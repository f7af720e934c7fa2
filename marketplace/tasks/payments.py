"""Celery tasks of the marketplace's payments: the reconciliation that stands in for lost webhooks, and giving back a
payment whose contract no longer awaited it."""

import datetime
import logging

from celery import shared_task
from django.utils import timezone

from marketplace.choices import PaymentStatus
from marketplace.models import Payment
from marketplace.services import payments
from marketplace.stripe_gateway import PaymentGatewayError

__all__ = ["payment_return", "payments_reconcile"]

logger = logging.getLogger(__name__)

# A webhook usually arrives within seconds: after five minutes, ask Stripe. Stripe retries a webhook for three days.
RECONCILE_AFTER = datetime.timedelta(minutes=5)
RECONCILE_WITHIN = datetime.timedelta(days=3)


@shared_task(name="marketplace.payments_reconcile")
def payments_reconcile() -> int:
    """Refresh every unfinished payment old enough for its webhook to be late; returns how many changed state."""
    now = timezone.now()
    waiting = Payment.objects.filter(
        status__in=(PaymentStatus.CREATED, PaymentStatus.PROCESSING),
        stripe_payment_intent__isnull=False,
        created_at__lte=now - RECONCILE_AFTER,
        created_at__gte=now - RECONCILE_WITHIN,
    )
    changed = 0
    for payment in waiting.order_by("pk"):
        try:
            changed += payments.payment_refresh(payment=payment).status != payment.status
        except PaymentGatewayError:
            logger.warning("Stripe did not answer for payment %s; the next run tries again", payment.pk)
    return changed


@shared_task(
    name="marketplace.payment_return",
    autoretry_for=(PaymentGatewayError,),
    retry_backoff=True,
    max_retries=8,
)
def payment_return(payment_id: int) -> str:
    """Refund in full a payment that arrived after its contract was cancelled (or a second one for the same)."""
    return payments.payment_return(payment=Payment.objects.get(pk=payment_id)).status
