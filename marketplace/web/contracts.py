"""Web pages of contracts: the buyer's request from the product page, the active organisation's purchases and sales,
a contract's page (terms, hash, signatures, timeline, what to do next) and its PDF.

Every write calls a service of marketplace.services.contracts; every lookup goes through `restrict(user, "view")`
and, on top of it, the user's own organisations: only the buyer's and the merchant's members see a contract (a
regulator reads it in the console), anyone else gets 404.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.choices import VerificationStatus
from accounts.models import Membership, User
from accounts.web import can, current_membership, organization_view, paginate, user_memberships
from audit.models import ActorKind, AuditEvent
from core.errors import DomainError
from marketplace.choices import ContractStatus, Party
from marketplace.contract_pdf import (
    contract_pdf,
    party_rows,
    pdf_filename,
    signature_lines,
    terms_intact,
    terms_sections,
)
from marketplace.models import Contract
from marketplace.services import contracts
from marketplace.services.contracts import OPEN_STATES
from marketplace.web.contracts_forms import (
    CancelForm,
    ContractFilter,
    ContractRequestForm,
    ReasonForm,
    party_contracts,
    requestable_listings,
)

ENDED_STATES = (ContractStatus.EXPIRED, ContractStatus.TERMINATED, ContractStatus.REFUNDED)
EVENT_LABELS = {
    "contract.requested": gettext_lazy("Requested by the buyer"),
    "contract.signed_by_buyer": gettext_lazy("Signed by the buyer"),
    "contract.signed_by_merchant": gettext_lazy("Signed by the merchant"),
    "contract.approved": gettext_lazy("Approved by the merchant"),
    "contract.awaiting_payment": gettext_lazy("Awaiting payment"),
    "contract.active": gettext_lazy("Active: access granted"),
    "contract.expired": gettext_lazy("Expired at the end of its term"),
    "contract.terminated": gettext_lazy("Terminated"),
    "contract.cancelled": gettext_lazy("Cancelled"),
    "contract.refunded": gettext_lazy("Refunded"),
}


# --- lookups ----------------------------------------------------------------------------------------------------


def _contract_or_404(request: HttpRequest, pk: int) -> Contract:
    related = ("listing__product", "plan", "buyer", "merchant")
    return get_object_or_404(party_contracts(request.user).select_related(*related), pk=pk)


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _listing_url(listing_pk: int) -> str:
    """The product page (written alongside this module), else the contract list."""
    try:
        return reverse("marketplace:listing_detail", args=[listing_pk])
    except NoReverseMatch:
        return reverse("marketplace:contract_list")


def _side(request: HttpRequest, contract: Contract) -> tuple[str, Membership]:
    """Which party the user acts for: the active organisation when it is one, else their first that is."""
    active = current_membership(request)
    for membership in [m for m in (active,) if m] + user_memberships(request):
        if membership.organization_id == contract.buyer_id:
            return Party.BUYER, membership
        if membership.organization_id == contract.merchant_id:
            return Party.MERCHANT, membership
    raise AssertionError("party_contracts lets only members of a party through")


def _may_act(membership: Membership) -> bool:
    """Whether to offer the buttons; the services check again and have the last word."""
    return can(membership, "change") and membership.organization.status != VerificationStatus.SUSPENDED


def _error_messages(request: HttpRequest, exc: DomainError | ValidationError) -> None:
    if isinstance(exc, DomainError):
        messages.error(request, str(exc.message))
    else:
        for message in exc.messages:
            messages.error(request, message)


def _form_messages(request: HttpRequest, form: Any) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, _("%(field)s: %(error)s") % {"field": label, "error": error} if label else error)


# --- requesting -------------------------------------------------------------------------------------------------


@require_POST
@organization_view
def contract_request(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """The buyer (the active organisation) asks for a contract on a plan and signs its terms."""
    listing = get_object_or_404(requestable_listings(request.user), pk=pk)
    form = ContractRequestForm(request.POST, listing=listing)
    if not form.is_valid():
        _form_messages(request, form)
        return redirect(_listing_url(listing.pk))
    try:
        with transaction.atomic():
            contract = contracts.contract_request(
                listing=listing, plan=form.cleaned_data["plan"], buyer=membership.organization, by=request.user,
                purpose=form.cleaned_data["purpose"], ip_address=_client_ip(request),
            )  # fmt: skip
    except (DomainError, ValidationError) as exc:
        _error_messages(request, exc)
        return redirect(_listing_url(listing.pk))
    messages.success(request, _requested_message(contract))
    return redirect("marketplace:contract_detail", pk=contract.pk)


def _requested_message(contract: Contract) -> str:
    if contract.status == ContractStatus.REQUESTED:
        return _("Contract %(number)s is requested and signed by you. The merchant approves it next.") % {
            "number": contract.number
        }
    if contract.status == ContractStatus.ACTIVE:
        return _("Contract %(number)s is signed by both sides and active.") % {"number": contract.number}
    return _("Contract %(number)s is signed by both sides. Pay to start it.") % {"number": contract.number}


# --- list -------------------------------------------------------------------------------------------------------


@require_GET
@organization_view
def contract_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The active organisation's purchases or sales (a tab each), filtered by state."""
    organization = membership.organization
    data = request.GET.copy()
    if data.get("role") not in Party.values:
        data["role"] = Party.MERCHANT if organization.can_sell and not organization.can_buy else Party.BUYER
    mine = party_contracts(request.user).filter(Q(buyer=organization) | Q(merchant=organization))
    filters = ContractFilter(data, queryset=mine, organizations=[organization.pk])
    rows = filters.qs.select_related("listing", "plan", "buyer", "merchant").defer("terms").order_by("-created_at")
    context = {
        "organization": organization,
        "filters": filters,
        "role": data["role"],
        "counts": mine.aggregate(buyer=Count("pk", filter=Q(buyer=organization)),
                                 merchant=Count("pk", filter=Q(merchant=organization))),
        "is_filtered": bool(data.get("status")),
        "contracts_page": paginate(request, rows),
    }  # fmt: skip
    return render(request, "marketplace/contracts/contract_list.html", context)


# --- the contract page ------------------------------------------------------------------------------------------


@require_GET
@login_required
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract_or_404(request, pk)
    side, membership = _side(request, contract)
    signatures = list(contract.signatures.select_related("user"))
    context = {
        "contract": contract,
        "side": side,
        "membership": membership,
        "organization": membership.organization,
        "parties": party_rows(contract.terms),
        "sections": terms_sections(contract.terms),
        "terms_intact": terms_intact(contract),
        "signatures": signature_lines(contract, signatures),
        "timeline": _timeline(contract),
        "entitlements": list(contract.entitlements.all()) if side == Party.BUYER else [],
        "decline_form": ReasonForm(auto_id="decline_%s"),
        "terminate_form": ReasonForm(auto_id="terminate_%s"),
        "cancel_form": CancelForm(),
        **_actions(contract, side, membership),
    }
    response = render(request, "marketplace/contracts/contract_detail.html", context)
    patch_cache_control(response, private=True)
    return response


def _actions(contract: Contract, side: str, membership: Membership) -> dict[str, bool]:
    """The buttons the page offers, by state and side."""
    acts, status = _may_act(membership), contract.status
    buyer, merchant = acts and side == Party.BUYER, acts and side == Party.MERCHANT
    return {
        "can_approve": merchant and status == ContractStatus.REQUESTED,
        "can_decline": merchant and status == ContractStatus.REQUESTED,
        "can_cancel": buyer and status in OPEN_STATES,
        "can_pay": buyer and status == ContractStatus.AWAITING_PAYMENT,
        "can_terminate": merchant and status == ContractStatus.ACTIVE,
        "can_give_feedback": buyer and (status == ContractStatus.ACTIVE or status in ENDED_STATES),
    }


def _timeline(contract: Contract) -> list[dict[str, Any]]:
    """The contract's events from the audit ledger, oldest first, in words."""
    events = list(AuditEvent.objects.for_object(contract).order_by("sequence"))
    user_ids = {int(e.actor_id) for e in events if e.actor_kind == ActorKind.USER and e.actor_id.isdigit()}
    names = {pk: name or email for pk, name, email in User.objects.filter(pk__in=user_ids).values_list(
        "pk", "full_name", "email")}  # fmt: skip
    return [
        {
            "at": event.created_at,
            "action": event.action,
            "label": EVENT_LABELS.get(event.action, event.action),
            "actor": _actor(event, names),
            "reason": (event.data or {}).get("reason", ""),
            "standing": bool((event.data or {}).get("standing")),
        }
        for event in events
    ]


def _actor(event: AuditEvent, names: dict[int, str]) -> str:
    if event.actor_kind == ActorKind.SYSTEM:
        return "Databourse"
    if event.actor_kind == ActorKind.API_KEY:
        return _("API key %(key)s") % {"key": event.actor_label}
    return names.get(int(event.actor_id), event.actor_label) if event.actor_id.isdigit() else event.actor_label


@require_GET
@login_required
def contract_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The contract as a PDF in the reader's language."""
    contract = _contract_or_404(request, pk)
    response = HttpResponse(contract_pdf(contract), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(contract)}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


# --- the buttons ------------------------------------------------------------------------------------------------


def _decide(
    request: HttpRequest, pk: int, service: Any, success: str, *, reason_form: type | None = None, **kwargs: Any
) -> HttpResponse:
    """Call a service on the contract from a button; its refusal comes back as a message on the contract page."""
    contract = _contract_or_404(request, pk)
    back = redirect("marketplace:contract_detail", pk=contract.pk)
    if reason_form is not None:
        kwargs["reason"] = _reason(request, reason_form)
        if kwargs["reason"] is None:
            return back
    try:
        with transaction.atomic():
            service(contract=contract, by=request.user, **kwargs)
    except (DomainError, ValidationError) as exc:
        _error_messages(request, exc)
    else:
        messages.success(request, success % {"number": contract.number})
    return back


def _reason(request: HttpRequest, form_class: type) -> str | None:
    """The posted reason; a blank one goes to the service, which says why it is needed; None when it is refused."""
    form = form_class(request.POST)
    if form.is_valid():
        return form.cleaned_data["reason"]
    if form.has_error("reason", "required"):
        return ""
    _form_messages(request, form)
    return None


@require_POST
@login_required
def contract_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """The merchant accepts a request and signs the same terms."""
    return _decide(request, pk, contracts.contract_approve, _("Contract %(number)s is approved and signed by you."),
                   ip_address=_client_ip(request))  # fmt: skip


@require_POST
@login_required
def contract_decline(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, contracts.contract_decline, _("Contract %(number)s is declined."),
                   reason_form=ReasonForm)  # fmt: skip


@require_POST
@login_required
def contract_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, contracts.contract_cancel, _("Contract %(number)s is cancelled."),
                   reason_form=CancelForm)  # fmt: skip


@require_POST
@login_required
def contract_terminate(request: HttpRequest, pk: int) -> HttpResponse:
    """The merchant ends an active contract early, for a breach; access ends with it."""
    return _decide(request, pk, contracts.contract_terminate, _("Contract %(number)s is terminated."),
                   reason_form=ReasonForm)  # fmt: skip


urlpatterns = [
    path("listings/<int:pk>/request/", contract_request, name="contract_request"),
    path("contracts/", contract_list, name="contract_list"),
    path("contracts/<int:pk>/", contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/contract.pdf", contract_pdf_download, name="contract_pdf"),
    path("contracts/<int:pk>/approve/", contract_approve, name="contract_approve"),
    path("contracts/<int:pk>/decline/", contract_decline, name="contract_decline"),
    path("contracts/<int:pk>/cancel/", contract_cancel, name="contract_cancel"),
    path("contracts/<int:pk>/terminate/", contract_terminate, name="contract_terminate"),
]
