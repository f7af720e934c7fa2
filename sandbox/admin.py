"""Regulator console (Django admin) for the sandbox: datasets with their column policies, query runs, export requests
and their downloads.

All read-only evidence: operators publish and change datasets, buyers run queries and ask for exports, operators
decide them, all through the sandbox services; nobody edits them here.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdminMixin
from sandbox.models import ColumnPolicy, ExportDownload, ExportRequest, QueryRun, SandboxDataset


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every field shown, nothing added, changed or deleted."""

    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.fields)


class ColumnPolicyInline(ReadOnlyInline):
    model = ColumnPolicy
    fields = ["position", "column", "access"]


@admin.register(SandboxDataset)
class SandboxDatasetAdmin(ReadOnlyAdmin):
    list_display = ["title", "organization", "product", "version_number", "status", "row_count", "min_group_size",
                    "row_cap", "count_rounding", "daily_query_quota", "published_at"]  # fmt: skip
    list_filter = ["status"]
    list_select_related = ["organization", "product", "version"]
    search_fields = ["title", "organization__name", "organization__credit_code", "product__title", "sha256"]
    date_hierarchy = "created_at"
    inlines = [ColumnPolicyInline]

    @admin.display(description=_("version"), ordering="version__number")
    def version_number(self, obj: SandboxDataset) -> int:
        return obj.version.number


@admin.register(QueryRun)
class QueryRunAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "dataset", "organization", "contract", "user", "status", "refusal_code",
                    "suppressed_rows", "truncated", "scanned_rows", "duration_ms"]  # fmt: skip
    list_filter = ["status", "aggregated", "truncated", "refusal_code"]
    list_select_related = ["dataset", "organization", "entitlement__contract", "user"]
    search_fields = ["sql", "dataset__title", "organization__name", "organization__credit_code",
                     "entitlement__contract__number", "user__email"]  # fmt: skip
    date_hierarchy = "created_at"

    @admin.display(description=_("contract"), ordering="entitlement__contract__number")
    def contract(self, obj: QueryRun) -> str:
        return obj.entitlement.contract.number


class ExportDownloadInline(ReadOnlyInline):
    model = ExportDownload
    fields = ["created_at", "user", "ip_address"]


@admin.register(ExportRequest)
class ExportRequestAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "dataset", "organization", "requested_by", "status", "decided_by", "decided_at",
                    "fingerprint"]  # fmt: skip
    list_filter = ["status"]
    list_select_related = ["dataset", "organization", "requested_by", "decided_by"]
    search_fields = ["dataset__title", "organization__name", "organization__credit_code", "purpose", "fingerprint",
                     "sha256", "run__entitlement__contract__number", "requested_by__email"]  # fmt: skip
    date_hierarchy = "created_at"
    inlines = [ExportDownloadInline]


@admin.register(ExportDownload)
class ExportDownloadAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "export", "buyer", "user", "ip_address"]
    list_select_related = ["export__dataset", "export__organization", "user"]
    search_fields = ["export__organization__name", "export__fingerprint", "user__email", "ip_address"]
    date_hierarchy = "created_at"

    @admin.display(description=_("buyer"), ordering="export__organization__name")
    def buyer(self, obj: ExportDownload) -> str:
        return obj.export.organization.name
