"""Regulator console (Django admin) for the marketplace: delivery — entitlements, downloads and metered calls.

All three are read-only evidence: access is granted and ended by the contract services, downloads and calls are
logged by the delivery services; nobody edits them here.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdminMixin
from marketplace.models import Download, Entitlement, UsageRecord


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every field shown, nothing added, changed or deleted."""

    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyAdmin):
    list_display = ["contract", "buyer", "kind", "status", "starts_at", "ends_at", "ended_at", "free_calls"]
    list_filter = ["kind", "status"]
    list_select_related = ["contract__buyer"]
    search_fields = ["contract__number", "contract__buyer__name", "contract__listing__title"]
    date_hierarchy = "starts_at"

    @admin.display(description=_("buyer"), ordering="contract__buyer__name")
    def buyer(self, obj: Entitlement) -> str:
        return obj.contract.buyer.name


class UnderEntitlementAdmin(ReadOnlyAdmin):
    """Rows logged under an entitlement (downloads, calls), shown with its contract and buyer."""

    date_hierarchy = "created_at"

    @admin.display(description=_("contract"), ordering="entitlement__contract__number")
    def contract(self, obj: Download | UsageRecord) -> str:
        return obj.entitlement.contract.number

    @admin.display(description=_("buyer"), ordering="entitlement__contract__buyer__name")
    def buyer(self, obj: Download | UsageRecord) -> str:
        return obj.entitlement.contract.buyer.name


@admin.register(Download)
class DownloadAdmin(UnderEntitlementAdmin):
    list_display = ["created_at", "contract", "buyer", "version", "user", "ip_address", "size", "fingerprint"]
    list_select_related = ["entitlement__contract__buyer", "version__product", "user"]
    search_fields = ["entitlement__contract__number", "fingerprint", "sha256", "user__email", "ip_address"]


@admin.register(UsageRecord)
class UsageRecordAdmin(UnderEntitlementAdmin):
    list_display = ["created_at", "contract", "buyer", "period", "rows", "billable", "amount", "api_key"]
    list_filter = ["billable", "period"]
    list_select_related = ["entitlement__contract__buyer", "api_key"]
    search_fields = ["entitlement__contract__number", "entitlement__contract__buyer__name", "api_key__prefix"]
