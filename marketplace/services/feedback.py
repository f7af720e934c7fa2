"""Buyer feedback: ratings with the merchant's reply, and complaints that regulators resolve or dismiss.

- Only the buyer of a contract that is or was active (active, expired, terminated, refunded) rates it, once per
  contract, 1 to 5, with an optional comment. A rating is not edited afterwards, and the merchant replies once: the
  public record says what each side said, and the ledger when.
- Reviews are public on the listing's page without the buyer's name (a purchase can reveal a business plan). The
  listing stores their average and count for the catalogue (`Listing.rating_average`, `review_count`), updated in the
  transaction that adds a review (`refresh_rating`); reviews are neither changed nor removed otherwise.
- A complaint (quality, delivery, rights, other) comes from the same buyers; one open complaint per contract and kind.
  Both sides see it; a regulator resolves or dismisses it with a reason both sides read.
"""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Avg, Count, Expression, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import grant_to_organization, person_of, require_role
from audit.services import audit_record
from marketplace.choices import ComplaintKind, ComplaintStatus, ContractStatus
from marketplace.models import Complaint, Contract, Listing, Review
from marketplace.services.common import MarketError, require_reason, require_regulator

HELD_STATES = (ContractStatus.ACTIVE, ContractStatus.EXPIRED, ContractStatus.TERMINATED, ContractStatus.REFUNDED)
RATINGS = (1, 2, 3, 4, 5)


class RatingSummary(TypedDict):
    average: Decimal | None
    count: int
    distribution: dict[int, int]


def _locked_contract(contract: Contract) -> Contract:
    return Contract.objects.select_for_update().select_related("buyer", "merchant").get(pk=contract.pk)


def _require_holder(contract: Contract, by: Any) -> None:
    """The buyer's member (or write key), on a contract that is or was active."""
    require_role(user=by, organization=contract.buyer, action="add")
    if contract.status not in HELD_STATES:
        raise MarketError(_("Only a contract that has been active can be rated or complained about."),
                          code="contract_not_held")  # fmt: skip


# --- ratings --------------------------------------------------------------------------------------------------


@transaction.atomic
def review_create(*, contract: Contract, by: Any, rating: int, comment: str = "") -> Review:
    """The buyer rates what a contract delivered, once."""
    contract = _locked_contract(contract)
    _require_holder(contract, by)
    if Review.objects.filter(contract=contract).exists():
        raise MarketError(_("This contract has already been rated."), code="already_reviewed")
    if rating not in RATINGS:
        raise ValidationError({"rating": _("Rate from 1 to 5.")})
    review = Review(contract=contract, listing_id=contract.listing_id, rating=rating, comment=(comment or "").strip(),
                    created_by=person_of(by))  # fmt: skip
    review.full_clean(validate_unique=False)
    review.save()
    refresh_rating(contract.listing_id)
    audit_record(action="review.created", obj=review, actor=by, organization_id=contract.buyer_id,
                 data={"contract": contract.pk, "listing": contract.listing_id, "rating": rating})  # fmt: skip
    return review


@transaction.atomic
def review_reply(*, review: Review, by: Any, reply: str) -> Review:
    """The merchant answers a rating, once (the reply is public beside the rating)."""
    review = Review.objects.select_for_update().select_related("contract__merchant").get(pk=review.pk)
    merchant = review.contract.merchant
    require_role(user=by, organization=merchant, action="change")
    if review.replied_at is not None:
        raise MarketError(_("This rating already has a reply."), code="already_replied")
    reply = (reply or "").strip()
    if not reply:
        raise ValidationError({"reply": _("Write a reply.")})
    review.reply, review.replied_at = reply, timezone.now()
    review.full_clean(validate_unique=False)
    review.save(update_fields=["reply", "replied_at"])
    audit_record(action="review.replied", obj=review, actor=by, organization_id=merchant.pk)
    return review


def listing_reviews(listing: Listing) -> QuerySet:
    """A listing's ratings, newest first, as the public sees them."""
    return Review.objects.filter(listing=listing).select_related("contract__plan").order_by("-created_at", "-pk")


def rating_summary(listing: Listing) -> RatingSummary:
    """A listing's average rating (one decimal; None without ratings), their count and distribution, in one query."""
    counts = {f"n{stars}": Count("pk", filter=Q(rating=stars)) for stars in RATINGS}
    row = Review.objects.filter(listing=listing).aggregate(average=Avg("rating"), count=Count("pk"), **counts)
    return {
        "average": rounded_average(row["average"]),
        "count": row["count"],
        "distribution": {stars: row[f"n{stars}"] for stars in RATINGS},
    }


def rounded_average(average: float | Decimal | None) -> Decimal | None:
    """An average rating as shown: one decimal, halves up (None without ratings)."""
    return None if average is None else Decimal(str(average)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def rating_fields() -> dict[str, Expression]:
    """A listing's `rating_average` (float or None) and `review_count` as expressions over its row."""
    reviews = Review.objects.filter(listing=OuterRef("pk")).order_by().values("listing")
    return {
        "rating_average": Subquery(reviews.annotate(value=Avg("rating")).values("value")[:1]),
        "review_count": Coalesce(
            Subquery(reviews.annotate(value=Count("pk")).values("value")[:1], output_field=IntegerField()), Value(0)
        ),
    }


@transaction.atomic(savepoint=False)
def refresh_rating(listing_id: int) -> None:
    """Store the listing's average rating and review count on it (`rating_fields`), in the caller's transaction.

    The listing's row is locked first, so that two reviews added at once are both counted: the UPDATE's subqueries
    then see every review committed before the lock was granted."""
    list(Listing.objects.select_for_update().filter(pk=listing_id).values_list("pk"))
    Listing.objects.filter(pk=listing_id).update(**rating_fields())


# --- complaints -----------------------------------------------------------------------------------------------


def _clean_complaint(kind: str, description: str) -> None:
    errors = {}
    if kind not in ComplaintKind.values:
        errors["kind"] = _("Choose what the complaint is about.")
    if not description:
        errors["description"] = _("Describe what is wrong.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def complaint_create(*, contract: Contract, by: Any, kind: str, description: str) -> Complaint:
    """The buyer reports a problem with what a contract delivered; it goes to the regulators' queue."""
    contract = _locked_contract(contract)
    _require_holder(contract, by)
    description = (description or "").strip()
    _clean_complaint(kind, description)
    if Complaint.objects.filter(contract=contract, kind=kind, status=ComplaintStatus.OPEN).exists():
        raise MarketError(_("A complaint of this kind about this contract is already open."), code="complaint_open")
    complaint = Complaint(contract=contract, kind=kind, description=description, created_by=person_of(by))
    complaint.full_clean()
    complaint.save()
    grant_to_organization(complaint, contract.buyer)
    grant_to_organization(complaint, contract.merchant)
    audit_record(action="complaint.created", obj=complaint, actor=by, organization_id=contract.buyer_id,
                 data={"contract": contract.pk, "merchant": contract.merchant_id, "kind": kind})  # fmt: skip
    return complaint


def _decide(complaint: Complaint, status: str, *, by: Any, reason: str) -> Complaint:
    require_regulator(by)
    complaint = Complaint.objects.select_for_update().select_related("contract").get(pk=complaint.pk)
    complaint.resolution = require_reason(reason)
    complaint.transition_to(status, by=by, reason=complaint.resolution)
    return complaint


@transaction.atomic
def complaint_resolve(*, complaint: Complaint, by: Any, reason: str) -> Complaint:
    """A regulator upholds a complaint, saying what was done; buyer and merchant see the reason."""
    return _decide(complaint, ComplaintStatus.RESOLVED, by=by, reason=reason)


@transaction.atomic
def complaint_dismiss(*, complaint: Complaint, by: Any, reason: str) -> Complaint:
    """A regulator dismisses a complaint, with a reason buyer and merchant see."""
    return _decide(complaint, ComplaintStatus.DISMISSED, by=by, reason=reason)
