"""What buyers say about what they bought: ratings with the merchant's reply, and complaints for regulators."""

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.querysets import RestrictedQuerySet
from core.state import StateMachineMixin
from marketplace.choices import ComplaintKind, ComplaintStatus
from marketplace.models.contract import Contract
from marketplace.models.listing import Listing


class Review(models.Model):
    """A contract holder's rating (1-5) of a listing, with a comment and the merchant's reply."""

    contract = models.OneToOneField(Contract, on_delete=models.CASCADE, related_name="review")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField(_("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(_("comment"), blank=True)
    reply = models.TextField(_("merchant's reply"), blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("rated at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="rating_one_to_five")
        ]

    def __str__(self) -> str:
        return f"{self.listing} — {self.rating}/5"


class Complaint(StateMachineMixin):
    """A contract holder's report of a problem (quality, delivery, rights) for the regulators' queue."""

    TRANSITIONS: ClassVar = {
        ComplaintStatus.OPEN: frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.DISMISSED}),
    }

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="complaints")
    kind = models.CharField(_("about"), max_length=20, choices=ComplaintKind)
    description = models.TextField(_("what is wrong"))
    status = models.CharField(_("status"), max_length=20, choices=ComplaintStatus, default=ComplaintStatus.OPEN)
    resolution = models.TextField(_("resolution"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("reported at"), auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")

    def __str__(self) -> str:
        return f"{self.contract} — {self.get_kind_display()}"

    def audit_organization_id(self) -> int | None:
        return self.contract.buyer_id
