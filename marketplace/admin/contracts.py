"""Regulator console (Django admin) for the marketplace: contracts.

Contracts are read-only here: regulators read the parties, the terms as signed (in words), their SHA-256, both
signatures and the audit trail, and may terminate an active contract with a reason both sides read
(`contracts.contract_terminate`, which ends the buyer's access). Merchants' words reach the page only through
Django's escaping or `format_html`.
"""

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdminMixin
from core.admin import Decision
from marketplace.choices import ContractStatus
from marketplace.contract_pdf import party_rows, terms_intact, terms_sections
from marketplace.models import Contract, Signature
from marketplace.services import contracts
from registry.admin import ReviewAdminMixin, html_table, render_audit_trail


def _terminate(contract: Contract, **kwargs: Any) -> Contract:
    return contracts.contract_terminate(contract=contract, **kwargs)


class SignatureInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Signature
    fields = ["party", "organization", "user", "signed_at", "ip_address", "terms_sha256", "standing", "matches"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).select_related("organization", "user", "contract")

    @admin.display(description=_("same hash as the terms"), boolean=True)
    def matches(self, obj: Signature) -> bool:
        return obj.terms_sha256 == obj.contract.terms_sha256


@admin.register(Contract)
class ContractAdmin(ReviewAdminMixin, admin.ModelAdmin):
    decisions = {
        # Regulators hold the change permission on contracts; the service decides who may end one.
        "terminate": Decision(_("Terminate"), _terminate, lambda contract: contract.status == ContractStatus.ACTIVE),
    }
    list_display = ["number", "buyer", "merchant", "listing", "plan", "price", "status", "created_at", "starts_at",
                    "ends_at"]  # fmt: skip
    list_filter = ["status", "plan__kind", "holds_exclusive"]
    list_select_related = ["buyer", "merchant", "listing", "plan__listing"]  # a plan's name includes its listing
    search_fields = ["number", "buyer__name", "merchant__name", "buyer__credit_code", "merchant__credit_code"]
    ordering = ["-created_at"]
    inlines = [SignatureInline]
    fieldsets = [
        (None, {"fields": ["number", "status", "status_reason", "listing", "plan", "offer", "price", "currency"]}),
        (_("Dates"), {"fields": ["created_at", "starts_at", "ends_at", "updated_at"]}),
        (_("Parties as signed"), {"fields": ["party_table"]}),
        (_("Terms as signed"), {"fields": ["terms_table", "terms_sha256", "terms_check"]}),
        (_("Audit trail"), {"fields": ["audit_trail"]}),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).select_related("buyer", "merchant", "listing", "plan__listing")

    @admin.display(description=_("parties"))
    def party_table(self, obj: Contract) -> SafeString:
        headers = [_("party"), _("organisation"), _("unified social credit code")]
        return html_table(headers, party_rows(obj.terms))

    @admin.display(description=_("terms"))
    def terms_table(self, obj: Contract) -> SafeString:
        return format_html_join(
            "",
            "<h3>{}</h3>{}",
            ((s.title, html_table([_("term"), _("value")], s.rows)) for s in terms_sections(obj.terms)),
        )

    @admin.display(description=_("terms still match their SHA-256"))
    def terms_check(self, obj: Contract) -> SafeString:
        if terms_intact(obj):
            return format_html("✓ {}", _("The stored terms hash to the SHA-256 both parties signed."))
        return format_html("<strong>✗ {}</strong>", _("The stored terms no longer hash to the signed SHA-256."))

    @admin.display(description=_("events, newest first"))
    def audit_trail(self, obj: Contract) -> Any:
        return render_audit_trail(obj)
