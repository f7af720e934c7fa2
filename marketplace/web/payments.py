"""Web pages of the marketplace's payments: the buyer's pay page (Stripe.js confirms the card in the browser), the
status the page polls, the merchant's refund form, and the merchant's settlement page with monthly statements.

Lookups go through `restrict(user, "view")`: another organisation's contract or payment is a 404. Who may act is
decided by the services (the buyer pays; the merchant, or a regulator in the console, refunds); the pages only choose
which buttons to show. Card details never reach this server: Stripe.js sends them to Stripe.
"""

import contextlib
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.forms import ServiceForm
from accounts.models import Membership, Organization
from accounts.web import can, form_status, organization_view, paginate, submit, user_memberships
from core.errors import DomainError
from marketplace import stripe_gateway
from marketplace.choices import ContractStatus, PaymentStatus
from marketplace.models import Contract, Payment, Payout
from marketplace.services import payments, settlement

PAYOUTS_SHOWN = 10


# --- lookups ----------------------------------------------------------------------------------------------------


def _membership_of(request: HttpRequest, organization_id: int) -> Membership | None:
    return next((m for m in user_memberships(request) if m.organization_id == organization_id), None)


def _contract_url(contract: Contract) -> str:
    return reverse("marketplace:contract_detail", args=[contract.pk])


def _payment_or_404(request: HttpRequest, pk: int) -> Payment:
    visible = Payment.objects.restrict(request.user, "view").select_related("contract__listing", "contract__merchant")
    return get_object_or_404(visible, pk=pk)


# --- paying -----------------------------------------------------------------------------------------------------


@require_GET
@login_required
def payment_start(request: HttpRequest, pk: int) -> HttpResponse:
    """The buyer's pay page: the amount and the terms' hash, and a card form Stripe.js confirms."""
    contracts = Contract.objects.restrict(request.user, "view").select_related("listing", "plan", "buyer", "merchant")
    contract = get_object_or_404(contracts, pk=pk)
    if _membership_of(request, contract.buyer_id) is None:
        raise PermissionDenied(_("Only the buyer pays for a contract."))
    if contract.status != ContractStatus.AWAITING_PAYMENT:
        messages.info(request, _("Contract %(number)s is %(status)s: there is nothing to pay.")
                      % {"number": contract.number, "status": contract.get_status_display()})  # fmt: skip
        return redirect(_contract_url(contract))
    try:
        checkout = _checkout(contract, request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return render(request, "marketplace/payments/pay.html", _pay_context(contract, None), status=exc.status)
    if checkout.payment.status in payments.PAID_STATES:
        messages.success(request, _("The payment went through: the contract is active."))
        return redirect(_contract_url(contract))
    return render(request, "marketplace/payments/pay.html", _pay_context(contract, checkout))


def _checkout(contract: Contract, user: Any) -> payments.Checkout:
    checkout = payments.payment_start(contract=contract, by=user)
    if checkout.needs_payment and stripe_gateway.uses_test_js():
        checkout = payments.Checkout(checkout.payment, stripe_gateway.intent_ready_for_test_js(checkout.intent))
    return checkout


def _pay_context(contract: Contract, checkout: payments.Checkout | None) -> dict:
    payment = checkout.payment if checkout else None
    return {
        "contract": contract,
        "checkout": checkout,
        "payment": payment,
        "contract_url": _contract_url(contract),
        "stripe_js_url": settings.STRIPE_JS_URL,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "test_js": stripe_gateway.uses_test_js(),
        "status_url": reverse("marketplace:payment_status", args=[payment.pk]) if payment else "",
    }


@require_GET
@login_required
def payment_status(request: HttpRequest, pk: int) -> JsonResponse:
    """What the pay page polls after Stripe.js has answered: the payment as Stripe sees it now."""
    payment = _payment_or_404(request, pk)
    if payment.status in payments.OPEN_STATES:
        # Stripe not answering: report what we know; the page asks again.
        with contextlib.suppress(stripe_gateway.PaymentGatewayError):
            payment = payments.payment_refresh(payment=payment)
    contract = Contract.objects.only("status").get(pk=payment.contract_id)
    return JsonResponse(_status_body(payment, contract))


def _status_body(payment: Payment, contract: Contract) -> dict:
    paid = payment.status in payments.PAID_STATES
    return {
        "payment": payment.pk,
        "status": payment.status,
        "status_display": str(payment.get_status_display()),
        "message": payment.failure_message if payment.status == PaymentStatus.FAILED else "",
        "contract_status": contract.status,
        "paid": paid,
        "done": paid or payment.status == PaymentStatus.FAILED,
        "redirect": _contract_url(contract) if paid else "",
    }


# --- refunds ----------------------------------------------------------------------------------------------------


class RefundForm(ServiceForm):
    """A refund: empty amount for everything left, and the reason the buyer reads."""

    amount = forms.DecimalField(
        label=gettext_lazy("Amount to refund (CNY)"), required=False, min_value=Decimal("0.01"), max_digits=18,
        decimal_places=2, help_text=gettext_lazy("Leave empty to refund everything that is left."),
    )  # fmt: skip
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("The buyer sees it, and it is kept in the audit ledger."),
    )  # fmt: skip


@login_required
def payment_refund(request: HttpRequest, pk: int) -> HttpResponse:
    """The merchant gives money back on a payment, in full or in part, while its contract runs."""
    payment = _payment_or_404(request, pk)
    if not can(_membership_of(request, payment.contract.merchant_id), "change"):
        raise PermissionDenied(_("Only the merchant's editors, administrators and owners refund payments."))
    form = RefundForm(request.POST if request.method == "POST" else None)
    refund = form.is_valid() and submit(
        request, form, payments.refund_create, payment=payment, amount=form.cleaned_data["amount"],
        reason=form.cleaned_data["reason"], by=request.user,
    )  # fmt: skip
    if refund:
        messages.success(request, _("¥%(amount)s was refunded to the buyer.") % {"amount": refund.amount})
        return redirect("marketplace:payment_refund", pk=payment.pk)
    payment.refresh_from_db()
    context = {
        "payment": payment,
        "contract": payment.contract,
        "contract_url": _contract_url(payment.contract),
        "form": form,
        "refunds": payment.refunds.select_related("requested_by"),
        "can_refund": payment.status in payments.REFUNDABLE_STATES,
    }
    return render(request, "marketplace/payments/refund.html", context, status=form_status(form))


# --- settlement -------------------------------------------------------------------------------------------------


@require_GET
@organization_view
def settlement_page(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The merchant's balance, its ledger, monthly statements and payouts."""
    organization = membership.organization
    context = {
        "organization": organization,
        "balance": settlement.balance(organization),
        "fee_percent": settlement.fee_percent(),
        "entries_page": paginate(request, settlement.entries_of(organization)),
        "months": settlement.statement_months(organization),
        "payouts": Payout.objects.restrict(request.user, "view").filter(organization=organization)[:PAYOUTS_SHOWN],
    }
    return render(request, "marketplace/payments/settlement.html", context)


@require_GET
@organization_view
def statement_csv(request: HttpRequest, membership: Membership, year: int, month: int) -> HttpResponse:
    """One month of the merchant's ledger as a CSV attachment."""
    organization: Organization = membership.organization
    if not 1 <= month <= 12 or not 2000 <= year <= 9999:
        raise Http404
    report = settlement.statement(organization, year, month)
    response = HttpResponse(settlement.statement_csv(report), content_type="text/csv; charset=utf-8")
    name = f"statement-{organization.pk}-{year}-{month:02d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns = [
    path("contracts/<int:pk>/pay/", payment_start, name="payment_start"),
    path("payments/<int:pk>/status/", payment_status, name="payment_status"),
    path("payments/<int:pk>/refund/", payment_refund, name="payment_refund"),
    path("settlement/", settlement_page, name="settlement"),
    path("settlement/statements/<int:year>-<int:month>.csv", statement_csv, name="statement_csv"),
]
