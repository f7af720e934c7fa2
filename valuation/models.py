"""Valuations of data products, comparables entered by hand, and batch revaluations."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.querysets import RestrictedQuerySet
from core.state import StateMachineMixin
from registry.choices import Sector
from registry.models import DataProduct, ProductVersion
from valuation.choices import BatchStatus, HoldingPurpose, Method, PerformerKind, ValuationStatus

MONEY = {"max_digits": 18, "decimal_places": 2}


class ValuationQuerySet(RestrictedQuerySet):
    def done(self) -> "ValuationQuerySet":
        return self.filter(status=ValuationStatus.DONE)

    def for_product(self, product: DataProduct) -> "ValuationQuerySet":
        return self.filter(product=product)


class Valuation(StateMachineMixin):
    """One valuation run of a product by one method: validated inputs, the working, the value and its range."""

    TRANSITIONS: ClassVar = {
        ValuationStatus.QUEUED: frozenset({ValuationStatus.RUNNING, ValuationStatus.FAILED}),
        ValuationStatus.RUNNING: frozenset({ValuationStatus.DONE, ValuationStatus.FAILED}),
    }

    product = models.ForeignKey(DataProduct, on_delete=models.PROTECT, related_name="valuations")
    version = models.ForeignKey(ProductVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="valuations_performed",
        help_text=_("The organisation that performed the valuation (the owner, or an accredited appraiser)."),
    )
    performer_kind = models.CharField(_("performed as"), max_length=20, choices=PerformerKind)
    method = models.CharField(_("method"), max_length=20, choices=Method)
    inputs = models.JSONField(_("inputs"))
    result = models.JSONField(_("working"), default=dict, blank=True)
    sensitivity = models.JSONField(_("sensitivity"), default=list, blank=True)
    value = models.DecimalField(_("value (CNY)"), null=True, blank=True, **MONEY)
    low = models.DecimalField(_("low (CNY)"), null=True, blank=True, **MONEY)
    high = models.DecimalField(_("high (CNY)"), null=True, blank=True, **MONEY)
    quality_score = models.FloatField(_("quality score used"), null=True, blank=True)
    holding_purpose = models.CharField(
        _("holding purpose"), max_length=20, choices=HoldingPurpose, default=HoldingPurpose.INTERNAL_USE
    )
    pledge_ratio = models.DecimalField(_("pledge ratio"), max_digits=5, decimal_places=4, null=True, blank=True)
    amortisation_years = models.PositiveSmallIntegerField(
        _("amortisation period (years)"), default=5, help_text=_("For data resources recognised as intangible assets.")
    )
    as_of = models.DateField(_("valuation date"), default=timezone.localdate)
    status = models.CharField(
        _("status"), max_length=20, choices=ValuationStatus, default=ValuationStatus.QUEUED, db_index=True
    )
    error = models.TextField(_("reason it failed"), blank=True)
    batch = models.ForeignKey(
        "RevaluationBatch", on_delete=models.SET_NULL, null=True, blank=True, related_name="valuations"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ValuationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("valuation")
        verbose_name_plural = _("valuations")
        indexes = [models.Index(fields=["product", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.product} — {self.get_method_display()} ({self.as_of})"

    @property
    def is_accredited(self) -> bool:
        return self.performer_kind == PerformerKind.ACCREDITED

    def on_transition(self, old: str, new: str) -> None:
        if new in (ValuationStatus.DONE, ValuationStatus.FAILED):
            self.finished_at = timezone.now()


class ComparableTransaction(models.Model):
    """A comparable data-product transaction entered by hand (the exchange's own settled contracts come on top)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="comparables")
    sector = models.CharField(_("sector"), max_length=30, choices=Sector, db_index=True)
    description = models.CharField(_("what was sold"), max_length=300)
    price = models.DecimalField(_("price (CNY)"), **MONEY)
    transacted_on = models.DateField(_("transaction date"))
    source = models.CharField(_("source"), max_length=200, help_text=_("Where the figure comes from."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-transacted_on"]
        verbose_name = _("comparable transaction")
        verbose_name_plural = _("comparable transactions")

    def __str__(self) -> str:
        return f"{self.description} ({self.price} CNY, {self.transacted_on})"


class RevaluationBatch(models.Model):
    """Revaluing many products at once, with progress (`manage.py revalue` or the web UI)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="revaluation_batches"
    )
    status = models.CharField(_("status"), max_length=20, choices=BatchStatus, default=BatchStatus.QUEUED)
    total = models.PositiveIntegerField(_("products"), default=0)
    completed = models.PositiveIntegerField(_("done"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("revaluation batch")
        verbose_name_plural = _("revaluation batches")

    def __str__(self) -> str:
        return f"Revaluation {self.pk} ({self.completed + self.failed}/{self.total})"

    @property
    def progress(self) -> int:
        return 100 if not self.total else round(100 * (self.completed + self.failed) / self.total)
