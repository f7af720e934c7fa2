"""Payments through Stripe, their refunds, and the Stripe events received (each processed once)."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.querysets import RestrictedQuerySet
from core.state import StateMachineMixin
from marketplace.choices import PaymentPurpose, PaymentStatus
from marketplace.models.contract import Contract
from marketplace.models.listing import MONEY


class Payment(StateMachineMixin):
    """One PaymentIntent for a contract: amount in CNY (integer fen at the Stripe boundary) and its outcome."""

    TRANSITIONS: ClassVar = {
        PaymentStatus.CREATED: frozenset({PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}),
        PaymentStatus.PROCESSING: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}),
        PaymentStatus.FAILED: frozenset({PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}),
        PaymentStatus.SUCCEEDED: frozenset({PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED}),
        PaymentStatus.PARTIALLY_REFUNDED: frozenset({PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED}),
    }

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="payments")
    purpose = models.CharField(_("for"), max_length=20, choices=PaymentPurpose, default=PaymentPurpose.CONTRACT)
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    refunded_amount = models.DecimalField(_("refunded (CNY)"), default=0, **MONEY)
    status = models.CharField(
        _("status"), max_length=20, choices=PaymentStatus, default=PaymentStatus.CREATED, db_index=True
    )
    # NULL until Stripe answers, then unique: a webhook finds its payment by it.
    stripe_payment_intent = models.CharField(_("Stripe PaymentIntent"), max_length=255, unique=True, null=True)  # noqa: DJ001
    idempotency_key = models.CharField(max_length=80, unique=True)
    failure_message = models.TextField(_("why it failed"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    succeeded_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.contract} — {self.amount} {self.currency}"

    def audit_organization_id(self) -> int | None:
        return self.contract.merchant_id

    @property
    def refundable(self):
        return self.amount - self.refunded_amount


class Refund(models.Model):
    """Money given back on a payment, in full or in part, by the merchant or a regulator."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    reason = models.TextField(_("reason"))
    stripe_refund = models.CharField(_("Stripe refund"), max_length=255, unique=True, null=True, blank=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("refunded at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self) -> str:
        return f"{self.payment} — {self.amount}"


class StripeEvent(models.Model):
    """A webhook event from Stripe, stored once by its id: a replay finds it and does nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
