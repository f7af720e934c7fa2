"""Web pages of the marketplace: buyers' ratings and the merchant's reply, and complaints with their outcome.

A contract's buyer rates it (once) and reports problems from the contract's page; the merchant answers ratings from
the list of reviews about its listings; both sides follow complaints, and the regulator's reason, in the complaint
list. Every write calls marketplace.services.feedback; contracts are looked up through `restrict`, so another
organisation's contract, rating or complaint answers 404 like a missing one.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.forms import ServiceForm
from accounts.models import Membership
from accounts.web import can, form_status, organization_view, paginate, submit
from marketplace.choices import ComplaintKind
from marketplace.models import Complaint, Contract, Review
from marketplace.services import feedback as services

RATING_LABELS = {
    1: gettext_lazy("Poor"),
    2: gettext_lazy("Fair"),
    3: gettext_lazy("Good"),
    4: gettext_lazy("Very good"),
    5: gettext_lazy("Excellent"),
}
SIDES = (("received", gettext_lazy("About your sales")), ("written", gettext_lazy("Written by your organisation")))


# --- forms --------------------------------------------------------------------------------------------------------


class ReviewForm(ServiceForm):
    rating = forms.TypedChoiceField(label=gettext_lazy("Rating"), coerce=int, widget=forms.RadioSelect,
                                    choices=[(stars, RATING_LABELS[stars]) for stars in services.RATINGS])  # fmt: skip
    comment = forms.CharField(
        label=gettext_lazy("Comment"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Was the data complete, accurate, fresh and as described? Other buyers read this."),
    )  # fmt: skip


class ReplyForm(ServiceForm):
    reply = forms.CharField(
        label=gettext_lazy("Your reply"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Shown under the rating on the listing's page. You can reply once."),
    )  # fmt: skip


class ComplaintForm(ServiceForm):
    kind = forms.ChoiceField(label=gettext_lazy("What is the problem about?"), choices=ComplaintKind.choices,
                             widget=forms.RadioSelect)  # fmt: skip
    description = forms.CharField(
        label=gettext_lazy("What is wrong"), max_length=8000, widget=forms.Textarea(attrs={"rows": 7}),
        help_text=gettext_lazy("What you expected, what you received, and when. The merchant and the regulators "
                               "read it; a regulator decides and gives a reason both sides see."),
    )  # fmt: skip


# --- lookups --------------------------------------------------------------------------------------------------


def _contract_or_404(request: HttpRequest, pk: int) -> Contract:
    contracts = Contract.objects.restrict(request.user, "view").select_related("listing", "buyer", "merchant")
    return get_object_or_404(contracts, pk=pk)


def _review_or_404(request: HttpRequest, pk: int) -> Review:
    visible = Contract.objects.restrict(request.user, "view").values("pk")
    reviews = Review.objects.filter(contract__in=visible).select_related("contract__merchant", "listing")
    return get_object_or_404(reviews, pk=pk)


def _to_contract(contract: Contract, fallback: str) -> HttpResponse:
    try:
        return redirect(reverse("marketplace:contract_detail", args=[contract.pk]))
    except NoReverseMatch:
        return redirect(fallback)


def _require_buyer(membership: Membership, contract: Contract) -> None:
    if contract.buyer_id != membership.organization_id or not can(membership, "add"):
        raise PermissionDenied(_("Only the buyer's editors, administrators and owners give feedback on a contract."))


def _not_held(request: HttpRequest, contract: Contract) -> bool:
    if contract.status in services.HELD_STATES:
        return False
    messages.info(request, _("Feedback opens once the contract is active."))
    return True


def _already_rated(request: HttpRequest, contract: Contract) -> bool:
    if not Review.objects.filter(contract=contract).exists():
        return False
    messages.info(request, _("You have already rated this contract."))
    return True


# --- ratings --------------------------------------------------------------------------------------------------


@organization_view
def review_create(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    contract = _contract_or_404(request, pk)
    _require_buyer(membership, contract)
    if request.method != "POST" and (_not_held(request, contract) or _already_rated(request, contract)):
        return _to_contract(contract, "marketplace:review_list")
    form = ReviewForm(request.POST if request.method == "POST" else None)
    review = form.is_valid() and submit(request, form, services.review_create, contract=contract, by=request.user,
                                        **form.cleaned_data)  # fmt: skip
    if review:
        messages.success(request, _("Thank you: your rating is published on the listing's page."))
        return _to_contract(contract, "marketplace:review_list")
    context = {"form": form, "contract": contract, "organization": membership.organization}
    return render(request, "marketplace/feedback/review_form.html", context, status=form_status(form))


@organization_view
def review_reply(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    review = _review_or_404(request, pk)
    if review.contract.merchant_id != membership.organization_id or not can(membership, "change"):
        raise PermissionDenied(_("Only the merchant's editors, administrators and owners reply to a rating."))
    if review.replied_at is not None:
        messages.info(request, _("This rating already has your reply."))
        return redirect("marketplace:review_list")
    form = ReplyForm(request.POST if request.method == "POST" else None)
    replied = form.is_valid() and submit(request, form, services.review_reply, review=review, by=request.user,
                                         reply=form.cleaned_data["reply"])  # fmt: skip
    if replied:
        messages.success(request, _("Your reply is published under the rating."))
        return redirect("marketplace:review_list")
    context = {"form": form, "review": review, "organization": membership.organization}
    return render(request, "marketplace/feedback/review_reply.html", context, status=form_status(form))


def _side(request: HttpRequest) -> str:
    side = request.GET.get("side", "received")
    return side if side in dict(SIDES) else "received"


@require_GET
@organization_view
def review_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Ratings of the organisation's sales (to reply to), or those it wrote as a buyer."""
    org, side = membership.organization, _side(request)
    visible = Contract.objects.restrict(request.user, "view").values("pk")
    party = Q(contract__merchant=org) if side == "received" else Q(contract__buyer=org)
    reviews = (
        Review.objects.filter(party, contract__in=visible)
        .select_related("listing", "contract__plan", "contract__buyer", "contract__merchant")
        .order_by("-created_at", "-pk")
    )
    context = {"organization": org, "side": side, "sides": SIDES, "can_reply": can(membership, "change"),
               "reviews_page": paginate(request, reviews), "labels": RATING_LABELS}  # fmt: skip
    return render(request, "marketplace/feedback/review_list.html", context)


# --- complaints -----------------------------------------------------------------------------------------------


@organization_view
def complaint_create(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    contract = _contract_or_404(request, pk)
    _require_buyer(membership, contract)
    if request.method != "POST" and _not_held(request, contract):
        return _to_contract(contract, "marketplace:complaint_list")
    form = ComplaintForm(request.POST if request.method == "POST" else None)
    complaint = form.is_valid() and submit(request, form, services.complaint_create, contract=contract,
                                           by=request.user, **form.cleaned_data)  # fmt: skip
    if complaint:
        messages.success(request, _("Your complaint is with the regulators. You will find their decision here."))
        return redirect("marketplace:complaint_list")
    context = {"form": form, "contract": contract, "organization": membership.organization}
    return render(request, "marketplace/feedback/complaint_form.html", context, status=form_status(form))


def organization_complaints(user: Any, organization: Any) -> QuerySet:
    """Complaints the organisation filed as a buyer or received as a merchant, open ones first."""
    return (
        Complaint.objects.restrict(user, "view")
        .filter(Q(contract__buyer=organization) | Q(contract__merchant=organization))
        .select_related("contract__listing", "contract__buyer", "contract__merchant")
        .order_by("-status", "-created_at", "-pk")  # "open" sorts after "dismissed" and "resolved"
    )


@require_GET
@organization_view
def complaint_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    org = membership.organization
    context = {"organization": org, "complaints_page": paginate(request, organization_complaints(request.user, org))}
    return render(request, "marketplace/feedback/complaint_list.html", context)


urlpatterns = [
    path("contracts/<int:pk>/review/", review_create, name="review_create"),
    path("contracts/<int:pk>/complaint/", complaint_create, name="complaint_create"),
    path("reviews/", review_list, name="review_list"),
    path("reviews/<int:pk>/reply/", review_reply, name="review_reply"),
    path("complaints/", complaint_list, name="complaint_list"),
]
