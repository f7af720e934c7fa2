"""Regulator console (Django admin) for the marketplace: demands and offers, read-only.

Regulators read what buyers asked for, which listings the exchange suggested (and when each merchant was told) and
what merchants offered; buyers and merchants change them on their own pages.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdminMixin
from marketplace.models import Demand, Offer
from registry.admin import html_table, render_audit_trail


def _when(value: Any) -> str:
    return formats.localize(timezone.localtime(value)) if value else "—"


class AuditTrailMixin:
    """The object's events in the ledger, newest first, as a read-only field `audit_trail`."""

    @admin.display(description=_("events, newest first"))
    def audit_trail(self, obj: Any) -> Any:
        return render_audit_trail(obj)


@admin.register(Demand)
class DemandAdmin(AuditTrailMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "organization", "sector", "budget_min", "budget_max", "deadline", "status", "offer_count",
                    "created_at"]  # fmt: skip
    list_filter = ["status", "sector"]
    list_select_related = ["organization"]
    search_fields = ["title", "need", "organization__name", "organization__credit_code"]
    ordering = ["-created_at"]
    demand_fields = ["title", "organization", "sector", "need", "budget_min", "budget_max", "deadline", "status",
                     "created_by", "created_at"]  # fmt: skip
    fieldsets = [
        (None, {"fields": demand_fields}),
        (_("Suggested listings"), {"fields": ["match_table"]}),
        (_("Offers"), {"fields": ["offer_table"]}),
        (_("Audit trail"), {"fields": ["audit_trail"]}),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(offers_made=Count("offers"))

    @admin.display(description=_("offers"), ordering="offers_made")
    def offer_count(self, obj: Demand) -> int:
        return obj.offers_made

    @admin.display(description=_("listings, best match first"))
    def match_table(self, obj: Demand) -> Any:
        matches = obj.matches.select_related("listing__organization").order_by("-score", "pk")
        rows = ((m.listing.title, m.listing.organization.name, f"{m.score:.2f}", _when(m.notified_at)) for m in matches)
        return html_table([_("listing"), _("merchant"), _("score"), _("merchant told at")], rows)

    @admin.display(description=_("offers, newest first"))
    def offer_table(self, obj: Demand) -> Any:
        offers = obj.offers.select_related("organization", "listing", "plan").order_by("-created_at")
        rows = (
            (_when(o.created_at), o.organization.name, o.listing.title, o.plan.name, o.price, o.get_status_display())
            for o in offers
        )
        return html_table([_("offered at"), _("merchant"), _("listing"), _("plan"), _("price"), _("status")], rows)


@admin.register(Offer)
class OfferAdmin(AuditTrailMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "organization", "plan", "price", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["organization", "listing", "demand", "plan__listing"]
    search_fields = ["demand__title", "listing__title", "organization__name"]
    ordering = ["-created_at"]
    fields = ["demand", "organization", "listing", "plan", "price", "message", "status", "created_by", "created_at",
              "audit_trail"]  # fmt: skip
    readonly_fields = fields
