"""Listings of registered products and the price plans they offer."""

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.querysets import RestrictedQuerySet
from core.state import StateMachineMixin
from marketplace.choices import BillingPeriod, ListingStatus, PlanKind, Territory
from registry.choices import Classification, LicenceTemplate, Sector
from registry.models import DataProduct

MONEY = {"max_digits": 18, "decimal_places": 2, "validators": [MinValueValidator(Decimal(0))]}


class ListingQuerySet(RestrictedQuerySet):
    def published(self) -> "ListingQuerySet":
        return self.filter(status=ListingStatus.PUBLISHED)

    def awaiting_review(self) -> "ListingQuerySet":
        return self.filter(status=ListingStatus.PENDING_REVIEW)

    def visible_to(self, user) -> "ListingQuerySet":
        """Published listings for everyone, plus every listing of the user's own organisations."""
        own = self.restrict(user, "view").values("pk")
        return self.filter(models.Q(status=ListingStatus.PUBLISHED) | models.Q(pk__in=own))


class Listing(StateMachineMixin):
    """A registered product offered on the exchange, with its licence terms; regulators review it first."""

    TRANSITIONS: ClassVar = {
        ListingStatus.DRAFT: frozenset({ListingStatus.PENDING_REVIEW}),
        ListingStatus.PENDING_REVIEW: frozenset({ListingStatus.PUBLISHED, ListingStatus.REJECTED}),
        ListingStatus.REJECTED: frozenset({ListingStatus.PENDING_REVIEW}),
        ListingStatus.PUBLISHED: frozenset({ListingStatus.DELISTED}),
    }
    EDITABLE_STATES = frozenset({ListingStatus.DRAFT, ListingStatus.REJECTED})

    product = models.ForeignKey(DataProduct, on_delete=models.PROTECT, related_name="listings")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="listings")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    licence_template = models.CharField(
        _("licence template"), max_length=20, choices=LicenceTemplate, default=LicenceTemplate.STANDARD
    )
    permitted_purposes = models.TextField(_("permitted purposes"))
    term_months = models.PositiveSmallIntegerField(_("licence term (months)"), default=12)
    territory = models.CharField(_("territory"), max_length=20, choices=Territory, default=Territory.MAINLAND)
    redistribution = models.BooleanField(_("redistribution allowed"), default=False)
    onward_transfer = models.BooleanField(_("onward transfer allowed"), default=False)
    status = models.CharField(
        _("status"), max_length=20, choices=ListingStatus, default=ListingStatus.DRAFT, db_index=True
    )
    status_reason = models.TextField(_("reason for the last decision"), blank=True)
    # Denormalised for search: title, description, the product's summary and description, tags and column names,
    # with Chinese runs split into unigrams and bigrams (marketplace.search); PostgreSQL indexes it as a tsvector
    # with GIN (created in the migration on PostgreSQL only), SQLite searches `search_text` with LIKE.
    search_text = models.TextField(_("search text"), blank=True, editable=False)
    search_vector = SearchVectorField(null=True, editable=False)
    # Denormalised for the catalogue's filters and sorts, so that a page reads this table alone: the lowest active plan
    # price, the registered version's quality score, the product's sector and classification, and the kinds of the
    # active plans (their values, space-separated, in PlanKind order: no value is part of another). Written by
    # marketplace.search.refresh_catalogue_fields wherever the listing is indexed.
    min_price = models.DecimalField(_("lowest plan price (CNY)"), null=True, blank=True, editable=False, **MONEY)
    quality_score = models.FloatField(_("quality score"), null=True, blank=True, editable=False)
    sector = models.CharField(_("sector"), max_length=30, choices=Sector, blank=True, editable=False)
    classification = models.CharField(
        _("classification"), max_length=20, choices=Classification, blank=True, editable=False
    )
    plan_kinds = models.CharField(_("kinds of the active plans"), max_length=100, blank=True, editable=False)
    # Denormalised for the catalogue's entries: the reviews' average rating (None without reviews) and count, kept
    # current by marketplace.services.feedback in the transaction that adds a review (`refresh_rating`).
    rating_average = models.FloatField(_("average rating"), null=True, blank=True, editable=False)
    review_count = models.PositiveIntegerField(_("number of reviews"), default=0, editable=False)
    # The merchant signs the listing's terms as a standing offer when submitting it: a contract for a plan that needs
    # no approval carries that signature as the merchant's.
    offer_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    offer_signed_at = models.DateTimeField(_("standing offer signed at"), null=True, blank=True)
    offer_signed_ip = models.GenericIPAddressField(_("standing offer signed from"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, db_index=True)
    delisted_at = models.DateTimeField(_("delisted at"), null=True, blank=True)

    objects = ListingQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at"]
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        # The published catalogue's filters and sorts have partial, covering indexes on PostgreSQL (migration 0005:
        # SQLite can neither index NULLS LAST nor include columns).
        indexes = [models.Index(fields=["status", "-published_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def plan_kind_list(self) -> list[str]:
        """The kinds of the active plans, in PlanKind order (from the denormalised `plan_kinds`)."""
        return self.plan_kinds.split()

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE_STATES

    def on_transition(self, old: str, new: str) -> None:
        now = timezone.now()
        if new == ListingStatus.PENDING_REVIEW:
            self.submitted_at = now
        elif new == ListingStatus.PUBLISHED:
            self.published_at = now
        elif new == ListingStatus.DELISTED:
            self.delisted_at = now

    def terms(self) -> dict:
        """The licence terms as they go into a contract's snapshot."""
        return {
            "licence_template": self.licence_template,
            "permitted_purposes": self.permitted_purposes,
            "term_months": self.term_months,
            "territory": self.territory,
            "redistribution": self.redistribution,
            "onward_transfer": self.onward_transfer,
        }


class CatalogueSearchEntry(models.Model):
    """A published listing's search vector, title and publication time, in a narrow table for the catalogue's search.

    A search ranks the newest matches of its words: on PostgreSQL they are found by walking this table newest first
    (a listing's row is wide, and reading past its other columns to the vector cost more than testing it), the GIN
    index of the listing answering words the walk does not find among the newest entries. PostgreSQL keeps it by a
    trigger on the listing (migration 0007), so no write path can forget it; SQLite, which searches `search_text`,
    leaves it empty."""

    listing = models.OneToOneField(Listing, on_delete=models.CASCADE, primary_key=True, related_name="search_entry")
    published_at = models.DateTimeField(null=True)
    title = models.CharField(max_length=200)
    vector = SearchVectorField()

    class Meta:
        indexes = [models.Index(fields=["-published_at", "-listing"], name="catalogue_search_newest")]

    def __str__(self) -> str:
        return self.title


class PricePlan(models.Model):
    """What a buyer can contract for on a listing, and at what price."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="plans")
    kind = models.CharField(_("kind"), max_length=20, choices=PlanKind)
    name = models.CharField(_("name"), max_length=100)
    price = models.DecimalField(
        _("price (CNY)"), help_text=_("One-off, per period for a subscription, up front for metered access."), **MONEY
    )
    billing_period = models.CharField(
        _("billing period"), max_length=10, choices=BillingPeriod, blank=True, help_text=_("Subscriptions only.")
    )
    price_per_call = models.DecimalField(
        _("price per call (CNY)"), max_digits=12, decimal_places=4, null=True, blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )  # fmt: skip
    free_calls = models.PositiveIntegerField(_("free calls per month"), default=0)
    rate_limit_per_minute = models.PositiveIntegerField(_("calls allowed per minute"), default=60)
    download_days = models.PositiveSmallIntegerField(
        _("download window (days)"), default=30, help_text=_("How long the download links of a licence work.")
    )
    requires_approval = models.BooleanField(_("needs the merchant's approval"), default=False)
    exclusive = models.BooleanField(_("exclusive"), default=False, help_text=_("At most one active contract."))
    is_active = models.BooleanField(_("offered"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["listing", "position", "pk"]
        verbose_name = _("price plan")
        verbose_name_plural = _("price plans")

    def __str__(self) -> str:
        return f"{self.listing} — {self.name}"
