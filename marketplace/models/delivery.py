"""What an active contract grants: downloads, metered API calls, sandbox access; and the record of their use."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.querysets import RestrictedQuerySet
from marketplace.choices import EntitlementKind, EntitlementStatus
from marketplace.models.contract import Contract

USAGE_MONEY = {"max_digits": 18, "decimal_places": 4}


class EntitlementQuerySet(RestrictedQuerySet):
    def active(self) -> "EntitlementQuerySet":
        from django.utils import timezone

        now = timezone.now()
        return self.filter(status=EntitlementStatus.ACTIVE, starts_at__lte=now).filter(
            models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=now)
        )


class Entitlement(models.Model):
    """One kind of access a contract grants its buyer, from the contract's start until it ends."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="entitlements")
    kind = models.CharField(_("kind"), max_length=20, choices=EntitlementKind)
    status = models.CharField(
        _("status"), max_length=10, choices=EntitlementStatus, default=EntitlementStatus.ACTIVE, db_index=True
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_reason = models.CharField(_("why it ended"), max_length=200, blank=True)
    # Metered API: copied from the plan when granted, so a later plan change does not alter a signed contract.
    free_calls = models.PositiveIntegerField(_("free calls per month"), default=0)
    price_per_call = models.DecimalField(_("price per call (CNY)"), default=0, **USAGE_MONEY)
    rate_limit_per_minute = models.PositiveIntegerField(_("calls allowed per minute"), default=60)

    objects = EntitlementQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("entitlement")
        verbose_name_plural = _("entitlements")
        constraints = [models.UniqueConstraint(fields=["contract", "kind"], name="one_entitlement_per_kind")]

    def __str__(self) -> str:
        return f"{self.contract} — {self.get_kind_display()}"


class Download(models.Model):
    """A file delivered under a contract: which version, to whom, and the fingerprint it carries."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="downloads")
    version = models.ForeignKey("registry.ProductVersion", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    sha256 = models.CharField(_("SHA-256 delivered"), max_length=64)
    size = models.BigIntegerField(_("bytes delivered"))
    created_at = models.DateTimeField(_("downloaded at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("download")
        verbose_name_plural = _("downloads")

    def __str__(self) -> str:
        return f"{self.entitlement} — v{self.version_id} ({self.created_at:%Y-%m-%d %H:%M})"


class UsageRecord(models.Model):
    """One metered API call: when, by which key, how many rows; billable once the free quota is used."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="usage")
    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    period = models.DateField(_("month"), help_text=_("First day of the month the call counts in."))
    rows = models.PositiveIntegerField(_("rows returned"), default=0)
    billable = models.BooleanField(_("billable"), default=False)
    amount = models.DecimalField(_("amount (CNY)"), default=0, **USAGE_MONEY)
    created_at = models.DateTimeField(_("called at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        indexes = [
            models.Index(fields=["entitlement", "period"]),
            models.Index(fields=["entitlement", "-created_at"], name="usage_recent_calls"),  # the rate limit
        ]

    def __str__(self) -> str:
        return f"{self.entitlement} — {self.period:%Y-%m}"
