"""Regulator console for the marketplace's payments: payments, refunds and Stripe events read-only, a full refund
with a reason (refund_create), payouts marked paid (payout_mark_paid), and the settlement ledger read-only.

Nothing here edits a money row directly: the refund and the payout go through the same services as the web pages
and the API, so the ledger, Stripe and the audit trail cannot disagree.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdminMixin
from accounts.forms import ServiceForm
from accounts.models import Organization
from core.admin import Decision, DecisionAdminMixin
from core.errors import DomainError
from marketplace.choices import PayoutStatus
from marketplace.models import Payment, Payout, Refund, SettlementEntry, StripeEvent
from marketplace.services import payments, settlement
from registry.admin import render_audit_trail


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Evidence: regulators read it; rows change only through the services."""

    @admin.display(description=_("events, newest first"))
    def audit_trail(self, obj: Any) -> Any:
        return render_audit_trail(obj)


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    fields = ["created_at", "amount", "reason", "requested_by", "stripe_refund"]
    readonly_fields = fields
    extra = 0


def _refund_in_full(payment: Payment, *, by: Any, reason: str) -> Any:
    return payments.refund_create(payment=payment, amount=None, reason=reason, by=by)


@admin.register(Payment)
class PaymentAdmin(DecisionAdminMixin, ReadOnlyAdmin):
    list_display = ["contract", "amount", "refunded_amount", "status", "created_at", "succeeded_at"]
    list_filter = ["status", "purpose"]
    search_fields = ["contract__number", "stripe_payment_intent", "contract__buyer__name", "contract__merchant__name"]
    list_select_related = ["contract"]
    readonly_fields = [
        "contract", "purpose", "amount", "currency", "refunded_amount", "status", "stripe_payment_intent",
        "idempotency_key", "failure_message", "created_by", "created_at", "succeeded_at", "audit_trail",
    ]  # fmt: skip
    fields = readonly_fields
    inlines = [RefundInline]
    date_hierarchy = "created_at"
    decisions = {
        # Regulators hold `view_payment` only: the service checks that the user is a regulator.
        "refund": Decision(
            _("Refund in full"), _refund_in_full, lambda obj: obj.status in payments.REFUNDABLE_STATES, "view"
        ),
    }


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["payment", "amount", "requested_by", "created_at", "stripe_refund"]
    search_fields = ["payment__contract__number", "stripe_refund"]
    list_select_related = ["payment__contract", "requested_by"]
    date_hierarchy = "created_at"


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "received_at", "processed_at", "outcome"]
    list_filter = ["type"]
    search_fields = ["event_id", "outcome"]
    date_hierarchy = "received_at"


def _mark_paid(payout: Payout, *, by: Any, reason: str) -> Any:
    return settlement.payout_mark_paid(payout=payout, by=by, reference=reason)


class PayoutCreateForm(ServiceForm):
    organization = forms.ModelChoiceField(Organization.objects.filter(can_sell=True), label=_("Merchant"))
    amount = forms.DecimalField(label=_("Amount (CNY)"), min_value=0, max_digits=18, decimal_places=2)


@admin.register(Payout)
class PayoutAdmin(DecisionAdminMixin, ReadOnlyAdmin):
    list_display = ["organization", "amount", "status", "reference", "created_at", "paid_at"]
    list_filter = ["status"]
    search_fields = ["organization__name", "reference", "stripe_transfer"]
    list_select_related = ["organization"]
    readonly_fields = [
        "organization", "amount", "status", "reference", "stripe_transfer", "paid_by", "paid_at", "created_at",
        "audit_trail",
    ]  # fmt: skip
    fields = readonly_fields
    decisions = {
        # The reason form's text is the bank reference (or, with Stripe Connect, the connected account acct_…).
        "mark_paid": Decision(
            _("Mark paid (enter the bank reference)"), _mark_paid, lambda obj: obj.status == PayoutStatus.PENDING
        ),
    }

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("marketplace.change_payout")  # regulators order payouts; the service checks

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """Order a payout to a merchant, up to its balance (payout_create)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PayoutCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            payout = self._create(request, form)
            if payout is not None:
                self.message_user(request, _("Payout of ¥%(amount)s ordered.") % {"amount": payout.amount})
                return HttpResponseRedirect(reverse("admin:marketplace_payout_change", args=[payout.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": _("Order a payout")}  # fmt: skip
        return TemplateResponse(request, "marketplace/payments/admin_payout_create.html", context)

    def _create(self, request: HttpRequest, form: PayoutCreateForm) -> Payout | None:
        data = form.cleaned_data
        try:
            return settlement.payout_create(organization=data["organization"], amount=data["amount"], by=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return None


@admin.register(SettlementEntry)
class SettlementEntryAdmin(ReadOnlyAdmin):
    list_display = ["organization", "kind", "contract", "gross", "fee", "net", "created_at"]
    list_filter = ["kind"]
    search_fields = ["organization__name", "contract__number"]
    list_select_related = ["organization", "contract"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("payment", "refund", "payout")
