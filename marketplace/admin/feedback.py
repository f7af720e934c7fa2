"""Regulator console (Django admin) for the marketplace: the complaint queue, and ratings (read-only).

The complaint list opens on open complaints, oldest first, with the contract, both parties and the description.
A regulator resolves or dismisses one (or several) with a reason the buyer and the merchant read on their complaints
page; each decision calls marketplace.services.feedback and lands in the ledger. Buyers' text reaches the page only
through Django's escaping.
"""

from typing import Any

from django.contrib import admin
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdminMixin
from core.admin import Decision
from marketplace.admin.demands import AuditTrailMixin
from marketplace.choices import ComplaintStatus
from marketplace.models import Complaint, Contract, Review
from marketplace.services import feedback as services
from registry.admin import QueueFilter, ReviewAdminMixin


class ComplaintQueueFilter(QueueFilter):
    title = _("status")
    queue = (ComplaintStatus.OPEN.value, _("Open"))
    statuses = ComplaintStatus.choices


def contract_link(contract: Contract) -> Any:
    """The contract's number, linking to its admin page when the console has one."""
    try:
        url = reverse("admin:marketplace_contract_change", args=[contract.pk])
    except NoReverseMatch:
        return contract.number
    return format_html('<a href="{}">{}</a>', url, contract.number)


@admin.register(Complaint)
class ComplaintAdmin(AuditTrailMixin, ReviewAdminMixin, admin.ModelAdmin):
    decisions = {
        "resolve": Decision.calling(_("Resolve"), services.complaint_resolve, "complaint", ComplaintStatus.OPEN),
        "dismiss": Decision.calling(_("Dismiss"), services.complaint_dismiss, "complaint", ComplaintStatus.OPEN),
    }
    list_display = ["created_at", "contract_number", "listing", "buyer", "merchant", "kind", "status", "summary"]
    list_display_links = ["created_at", "contract_number"]
    list_filter = [ComplaintQueueFilter, "kind"]
    list_select_related = ["contract__listing", "contract__buyer", "contract__merchant"]
    search_fields = ["contract__number", "contract__buyer__name", "contract__merchant__name", "description"]
    ordering = [F("created_at").asc()]  # first come, first served
    fieldsets = [
        (_("Complaint"), {"fields": ["status", "kind", "description", "created_by", "created_at", "resolution"]}),
        (_("Contract"), {"fields": ["contract_number", "listing", "buyer", "merchant", "contract_status"]}),
        (_("Audit trail"), {"fields": ["audit_trail"]}),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    @admin.display(description=_("contract"), ordering="contract__number")
    def contract_number(self, obj: Complaint) -> Any:
        return contract_link(obj.contract)

    @admin.display(description=_("listing"))
    def listing(self, obj: Complaint) -> str:
        return obj.contract.listing.title

    @admin.display(description=_("buyer"), ordering="contract__buyer__name")
    def buyer(self, obj: Complaint) -> str:
        return obj.contract.buyer.name

    @admin.display(description=_("merchant"), ordering="contract__merchant__name")
    def merchant(self, obj: Complaint) -> str:
        return obj.contract.merchant.name

    @admin.display(description=_("contract status"))
    def contract_status(self, obj: Complaint) -> str:
        return obj.contract.get_status_display()

    @admin.display(description=_("what is wrong"))
    def summary(self, obj: Complaint) -> str:
        return Truncator(obj.description).chars(120)


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["listing", "rating", "contract", "buyer", "created_at", "replied_at"]
    list_filter = ["rating"]
    list_select_related = ["listing", "contract__buyer"]
    search_fields = ["listing__title", "contract__number", "comment", "reply"]
    ordering = ["-created_at"]
    fields = ["listing", "contract", "rating", "comment", "created_by", "created_at", "reply", "replied_at"]
    readonly_fields = fields

    @admin.display(description=_("buyer"), ordering="contract__buyer__name")
    def buyer(self, obj: Review) -> str:
        return obj.contract.buyer.name
