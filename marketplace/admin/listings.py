"""Regulator console (Django admin) for the marketplace: the listing review queue.

Regulators approve or reject a listing under review, and delist a published one, each with a reason the merchant
reads; every decision calls marketplace.services.listings. The page shows the terms and plans as submitted (read-only),
the product's registration, and the registered version's quality, columns and masked sample, rendered by the
registry console's own helpers (merchants' text is escaped; the masked sample is the only row-level data).
"""

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import Count, F, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import Decision
from marketplace.choices import ListingStatus
from marketplace.models import Listing, PricePlan
from marketplace.services import listings as services
from registry.admin import (
    QueueFilter,
    ReviewAdminMixin,
    VersionDisplayMixin,
    render_version_summary,
)
from registry.models import ProductVersion, RegistrationCertificate

DESCRIPTION = ("title", "description")


class ListingQueueFilter(QueueFilter):
    title = _("status")
    queue = (ListingStatus.PENDING_REVIEW.value, _("Awaiting review"))
    statuses = ListingStatus.choices


class PricePlanInline(admin.TabularInline):
    """The plans as the merchant submitted them: regulators read them, the merchant changes them."""

    model = PricePlan
    extra = 0
    can_delete = False
    fields = [*services.PLAN_FIELDS, "is_active"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Listing)
class ListingAdmin(VersionDisplayMixin, ReviewAdminMixin, admin.ModelAdmin):
    decisions = {
        "approve": Decision.calling(
            _("Approve and publish"), services.listing_approve, "listing", ListingStatus.PENDING_REVIEW
        ),
        "reject": Decision.calling(_("Reject"), services.listing_reject, "listing", ListingStatus.PENDING_REVIEW),
        "delist": Decision.calling(_("Delist"), services.listing_delist, "listing", ListingStatus.PUBLISHED),
    }
    inlines = [PricePlanInline]
    list_display = [
        "title",
        "organization",
        "product_link",
        "status",
        "submitted_at",
        "active_plans",
        "min_price",
        "quality_score",
        "product_status",
    ]
    list_filter = [ListingQueueFilter, "product__sector", "product__classification", "licence_template", "territory"]
    list_select_related = ["organization", "product"]
    search_fields = ["title", "organization__name", "organization__credit_code", "product__title"]
    ordering = [F("submitted_at").asc(nulls_last=True), "-pk"]  # the queue is first come, first served
    fieldsets = [
        (_("Review"), {"fields": ["status", "status_reason", "submitted_at", "published_at", "delisted_at"]}),
        (_("Standing offer"), {"fields": ["offer_signed_by", "offer_signed_at", "offer_signed_ip"]}),
        (
            _("Listing"),
            {"fields": ["title", "organization", "product_link", "description", "created_by", "created_at"]},
        ),
        (_("Licence terms"), {"fields": [name for name in services.LISTING_FIELDS if name not in DESCRIPTION]}),
        (
            _("Product registration"),
            {"fields": ["product_status", "classification", "sensitivity_level", "sandbox_only", "certificate"]},
        ),
        (_("Registered version"), {"fields": ["version_summary", "version_quality", "version_profile"]}),
        (_("Masked sample"), {"fields": ["version_masked_sample"]}),
        (_("Audit trail"), {"fields": ["audit_trail"]}),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        active = Q(plans__is_active=True)
        return super().get_queryset(request).annotate(active_plan_count=Count("plans", filter=active))

    def review_version(self, obj: Listing) -> ProductVersion | None:
        """The product's latest registered version, the one buyers get (cached: several fields read it)."""
        if not hasattr(obj, "_review_version"):
            versions = ProductVersion.objects.registered().filter(product=obj.product_id).order_by("-number")
            obj._review_version = versions.first()
        return obj._review_version

    @admin.display(description=_("version"))
    def version_summary(self, obj: Listing) -> Any:
        return render_version_summary(self.review_version(obj)) if self.review_version(obj) else _("None registered.")

    @admin.display(description=_("product"), ordering="product__title")
    def product_link(self, obj: Listing) -> Any:
        url = reverse(f"{self.admin_site.name}:registry_dataproduct_change", args=[obj.product_id])
        return format_html('<a href="{}">{}</a>', url, obj.product.title)

    @admin.display(description=_("active plans"), ordering="active_plan_count")
    def active_plans(self, obj: Listing) -> int:
        return obj.active_plan_count

    @admin.display(description=_("product status"), ordering="product__status")
    def product_status(self, obj: Listing) -> str:
        return obj.product.get_status_display()

    @admin.display(description=_("classification"))
    def classification(self, obj: Listing) -> str:
        return obj.product.get_classification_display()

    @admin.display(description=_("sensitivity level"))
    def sensitivity_level(self, obj: Listing) -> str:
        return obj.product.get_sensitivity_level_display()

    @admin.display(description=_("only through the sandbox"), boolean=True)
    def sandbox_only(self, obj: Listing) -> bool:
        return obj.product.sandbox_only

    @admin.display(description=_("current certificate"))
    def certificate(self, obj: Listing) -> Any:
        certificate = RegistrationCertificate.objects.current().filter(product=obj.product_id).first()
        if certificate is None:
            return _("None.")
        url = reverse(f"{self.admin_site.name}:registry_registrationcertificate_change", args=[certificate.pk])
        return format_html('<a href="{}">{}</a>', url, certificate.number)
