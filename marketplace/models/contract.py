"""Demands and offers, contracts with their terms snapshot and signatures."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.querysets import RestrictedQuerySet
from core.state import StateMachineMixin
from marketplace.choices import ContractStatus, DemandStatus, OfferStatus, Party
from marketplace.models.listing import MONEY, Listing, PricePlan
from registry.choices import Sector

# Contracts that hold an exclusive plan: at most one per plan (a partial unique constraint keeps racing buyers out).
HOLDING_STATES = (
    ContractStatus.REQUESTED,
    ContractStatus.APPROVED,
    ContractStatus.AWAITING_PAYMENT,
    ContractStatus.ACTIVE,
)


class Demand(StateMachineMixin):
    """A buyer's published need for data: what, in which sector, for what budget, by when."""

    TRANSITIONS: ClassVar = {
        DemandStatus.OPEN: frozenset({DemandStatus.FULFILLED, DemandStatus.CLOSED}),
    }

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="demands")
    title = models.CharField(_("title"), max_length=200)
    sector = models.CharField(_("sector"), max_length=30, choices=Sector, db_index=True)
    need = models.TextField(_("what is needed"))
    budget_min = models.DecimalField(_("budget from (CNY)"), null=True, blank=True, **MONEY)
    budget_max = models.DecimalField(_("budget up to (CNY)"), null=True, blank=True, **MONEY)
    deadline = models.DateField(_("needed by"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=DemandStatus, default=DemandStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("posted at"), auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("demand")
        verbose_name_plural = _("demands")

    def __str__(self) -> str:
        return self.title


class DemandMatch(models.Model):
    """A listing the exchange suggested for a demand, and when its merchant was told."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="matches")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="demand_matches")
    score = models.FloatField(_("match score"))
    notified_at = models.DateTimeField(_("merchant told at"), null=True, blank=True)

    class Meta:
        ordering = ["-score"]
        constraints = [models.UniqueConstraint(fields=["demand", "listing"], name="demand_match_once")]

    def __str__(self) -> str:
        return f"{self.demand} ~ {self.listing} ({self.score:.2f})"


class Offer(StateMachineMixin):
    """A merchant's answer to a demand: one of its listings and plans, at a price."""

    TRANSITIONS: ClassVar = {
        OfferStatus.PENDING: frozenset({OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.WITHDRAWN}),
    }

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="offers")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="offers")
    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="offers")
    plan = models.ForeignKey(PricePlan, on_delete=models.PROTECT, related_name="offers")
    price = models.DecimalField(_("price offered (CNY)"), **MONEY)
    message = models.TextField(_("message"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=OfferStatus, default=OfferStatus.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("offered at"), auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        constraints = [
            models.UniqueConstraint(
                fields=["demand", "listing"],
                condition=models.Q(status="pending"),
                name="one_pending_offer_per_listing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.listing} → {self.demand}"


class Contract(StateMachineMixin):
    """A licence between a buyer and a merchant: the terms as signed, their SHA-256, and where it stands."""

    TRANSITIONS: ClassVar = {
        ContractStatus.REQUESTED: frozenset(
            {ContractStatus.APPROVED, ContractStatus.AWAITING_PAYMENT, ContractStatus.ACTIVE, ContractStatus.CANCELLED}
        ),
        ContractStatus.APPROVED: frozenset(
            {ContractStatus.AWAITING_PAYMENT, ContractStatus.ACTIVE, ContractStatus.CANCELLED}
        ),
        ContractStatus.AWAITING_PAYMENT: frozenset({ContractStatus.ACTIVE, ContractStatus.CANCELLED}),
        ContractStatus.ACTIVE: frozenset({ContractStatus.EXPIRED, ContractStatus.TERMINATED, ContractStatus.REFUNDED}),
    }

    number = models.CharField(_("number"), max_length=30, unique=True)
    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="contracts")
    plan = models.ForeignKey(PricePlan, on_delete=models.PROTECT, related_name="contracts")
    offer = models.OneToOneField(Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="contract")
    buyer = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="purchases")
    merchant = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="sales")
    price = models.DecimalField(_("price (CNY)"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    purpose = models.TextField(_("purpose stated by the buyer"))
    terms = models.JSONField(_("terms as signed"))
    terms_sha256 = models.CharField(_("SHA-256 of the terms"), max_length=64)
    status = models.CharField(
        _("status"), max_length=20, choices=ContractStatus, default=ContractStatus.REQUESTED, db_index=True
    )
    status_reason = models.TextField(_("reason for the last change"), blank=True)
    holds_exclusive = models.BooleanField(default=False, editable=False)
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = [
            models.UniqueConstraint(
                fields=["plan"], condition=models.Q(holds_exclusive=True), name="one_holder_per_exclusive_plan"
            )
        ]
        indexes = [models.Index(fields=["merchant", "status"]), models.Index(fields=["buyer", "status"])]

    def __str__(self) -> str:
        return self.number

    def on_transition(self, old: str, new: str) -> None:
        self.holds_exclusive = self.plan.exclusive and new in HOLDING_STATES
        if new == ContractStatus.ACTIVE and self.starts_at is None:
            self.starts_at = timezone.now()

    def audit_organization_id(self) -> int | None:
        return self.merchant_id


class Signature(models.Model):
    """One party's signature of a contract's terms: who, when, from where, and the hash they signed."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="signatures")
    party = models.CharField(_("party"), max_length=10, choices=Party)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(_("signed at"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    terms_sha256 = models.CharField(_("SHA-256 signed"), max_length=64)
    standing = models.BooleanField(
        _("standing offer"), default=False, help_text=_("Signed when the listing was submitted, for plans that need "
                                                        "no approval.")
    )  # fmt: skip

    class Meta:
        ordering = ["signed_at"]
        constraints = [models.UniqueConstraint(fields=["contract", "party"], name="one_signature_per_party")]

    def __str__(self) -> str:
        return f"{self.contract} — {self.get_party_display()}"
