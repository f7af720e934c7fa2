"""What each merchant is owed: an append-only ledger of sales, usage, refunds and payouts, net of the platform fee."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.querysets import RestrictedQuerySet
from marketplace.choices import PayoutStatus, SettlementKind
from marketplace.models.contract import Contract
from marketplace.models.listing import MONEY
from marketplace.models.payment import Payment, Refund

SIGNED_MONEY = {"max_digits": 18, "decimal_places": 2}


class Payout(models.Model):
    """Money paid out to a merchant: marked paid by an admin, or a Stripe Connect transfer when configured."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="payouts")
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    status = models.CharField(_("status"), max_length=10, choices=PayoutStatus, default=PayoutStatus.PENDING)
    reference = models.CharField(_("bank or transfer reference"), max_length=200, blank=True)
    stripe_transfer = models.CharField(_("Stripe transfer"), max_length=255, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")

    def __str__(self) -> str:
        return f"{self.organization} — {self.amount}"


class SettlementEntry(models.Model):
    """One line of a merchant's settlement ledger; amounts are signed (a refund or payout is negative)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="settlement_entries")
    kind = models.CharField(_("kind"), max_length=10, choices=SettlementKind)
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payout = models.OneToOneField(Payout, on_delete=models.PROTECT, null=True, blank=True, related_name="entry")
    gross = models.DecimalField(_("gross (CNY)"), **SIGNED_MONEY)
    fee = models.DecimalField(_("platform fee (CNY)"), **SIGNED_MONEY)
    net = models.DecimalField(_("owed to the merchant (CNY)"), **SIGNED_MONEY)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True, db_index=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("settlement entry")
        verbose_name_plural = _("settlement entries")
        constraints = [
            models.UniqueConstraint(
                fields=["payment"], condition=models.Q(kind="sale"), name="one_sale_entry_per_payment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization} — {self.get_kind_display()} {self.net}"
