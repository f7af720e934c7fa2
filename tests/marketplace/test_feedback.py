"""Ratings and the merchant's reply, the listing's rating summary, complaints and the regulators' decisions."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.choices import Role
from audit.models import AuditEvent
from core.errors import InvalidTransition, PermissionDeniedError
from marketplace.choices import ComplaintStatus
from marketplace.models import Complaint, Listing, Review
from marketplace.services import contracts, feedback
from marketplace.services.common import MarketError
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import contract_on, published_listing, registered_product, regulator

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing():
    return published_listing(registered_product())


def active_contract(listing):
    return contracts.contract_activate(contract=contract_on(listing))


@pytest.fixture
def contract(listing):
    return active_contract(listing)


def rate(contract, rating=4, **kwargs) -> Review:
    return feedback.review_create(contract=contract, by=owner_of(contract.buyer), rating=rating, **kwargs)


# --- ratings ----------------------------------------------------------------------------------------------------


def test_the_buyer_rates_a_contract_once(contract):
    review = rate(contract, 5, comment="  Complete and on time. ")
    assert (review.listing_id, review.rating, review.comment) == (contract.listing_id, 5, "Complete and on time.")
    assert AuditEvent.objects.for_object(review).filter(action="review.created").exists()
    with pytest.raises(MarketError) as exc:
        rate(contract, 1)
    assert exc.value.code == "already_reviewed"


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_ratings_run_from_one_to_five(contract, rating):
    with pytest.raises(ValidationError) as exc:
        rate(contract, rating)
    assert "rating" in exc.value.message_dict


def test_only_a_contract_that_was_active_can_be_rated(listing):
    unpaid = contract_on(listing)
    with pytest.raises(MarketError) as exc:
        rate(unpaid)
    assert exc.value.code == "contract_not_held"
    ended = active_contract(listing)
    contracts.contract_terminate(contract=ended, by=regulator(), reason="Breach of licence.")
    ended.refresh_from_db()
    assert rate(ended, 2).rating == 2  # a terminated (or expired, refunded) contract can still be rated


def test_only_the_buyer_rates(contract):
    with pytest.raises(PermissionDeniedError):
        feedback.review_create(contract=contract, by=owner_of(contract.merchant), rating=5)
    with pytest.raises(PermissionDeniedError):
        feedback.review_create(contract=contract, by=member(contract.buyer, Role.VIEWER), rating=5)


def test_the_merchant_replies_once(contract):
    review = rate(contract, 2, comment="Ten days missing.")
    with pytest.raises(PermissionDeniedError):
        feedback.review_reply(review=review, by=owner_of(contract.buyer), reply="Me too.")
    with pytest.raises(ValidationError) as exc:
        feedback.review_reply(review=review, by=owner_of(contract.merchant), reply="  ")
    assert "reply" in exc.value.message_dict
    feedback.review_reply(review=review, by=owner_of(contract.merchant), reply="Backfilled on 3 March.")
    review.refresh_from_db()
    assert review.reply == "Backfilled on 3 March." and review.replied_at is not None
    with pytest.raises(MarketError) as exc:
        feedback.review_reply(review=review, by=owner_of(contract.merchant), reply="Again.")
    assert exc.value.code == "already_replied"
    assert AuditEvent.objects.for_object(review).filter(action="review.replied").count() == 1


def test_rating_summary(listing, django_assert_num_queries):
    assert feedback.rating_summary(listing) == {"average": None, "count": 0,
                                                "distribution": {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}}  # fmt: skip
    for rating in (5, 4, 4):
        rate(active_contract(listing), rating)
    with django_assert_num_queries(1):
        summary = feedback.rating_summary(listing)
    assert summary == {"average": Decimal("4.3"), "count": 3, "distribution": {1: 0, 2: 0, 3: 0, 4: 2, 5: 1}}
    listing.refresh_from_db()  # review_create stores the average and count on the listing, for the catalogue
    assert (round(listing.rating_average, 2), listing.review_count) == (4.33, 3)
    other = Listing.objects.exclude(pk=listing.pk).first()
    assert other is None or (other.rating_average, other.review_count) == (None, 0)


def test_listing_reviews_newest_first(listing):
    first, second = rate(active_contract(listing), 3), rate(active_contract(listing), 5)
    assert list(feedback.listing_reviews(listing)) == [second, first]


# --- complaints -------------------------------------------------------------------------------------------------


def complain(contract, kind="quality", description="Half the rows are duplicates.") -> Complaint:
    return feedback.complaint_create(contract=contract, by=owner_of(contract.buyer), kind=kind, description=description)


def test_a_complaint_is_seen_by_both_sides_only(contract):
    complaint = complain(contract)
    assert complaint.status == ComplaintStatus.OPEN and complaint.created_by == owner_of(contract.buyer)
    for org in (contract.buyer, contract.merchant):
        assert Complaint.objects.restrict(owner_of(org)).filter(pk=complaint.pk).exists()
    assert not Complaint.objects.restrict(owner_of(OrganizationFactory())).filter(pk=complaint.pk).exists()
    assert AuditEvent.objects.for_object(complaint).filter(action="complaint.created").exists()


def test_complaint_rules(contract, listing):
    with pytest.raises(ValidationError) as exc:
        complain(contract, kind="price", description=" ")
    assert {"kind", "description"} <= set(exc.value.message_dict)
    complain(contract)
    with pytest.raises(MarketError) as exc:
        complain(contract)
    assert exc.value.code == "complaint_open"
    assert complain(contract, kind="delivery").kind == "delivery"
    with pytest.raises(PermissionDeniedError):
        feedback.complaint_create(contract=contract, by=owner_of(contract.merchant), kind="other", description="x")
    with pytest.raises(MarketError) as exc:
        complain(contract_on(listing))
    assert exc.value.code == "contract_not_held"


@pytest.mark.parametrize(
    ("decide", "status"),
    [(feedback.complaint_resolve, ComplaintStatus.RESOLVED), (feedback.complaint_dismiss, ComplaintStatus.DISMISSED)],
)
def test_a_regulator_decides_with_a_reason(contract, decide, status):
    complaint = complain(contract)
    with pytest.raises(PermissionDeniedError):
        decide(complaint=complaint, by=owner_of(contract.buyer), reason="Mine.")
    with pytest.raises(MarketError) as exc:
        decide(complaint=complaint, by=regulator(), reason="  ")
    assert exc.value.code == "reason_required"
    decide(complaint=complaint, by=regulator(), reason="The merchant re-delivered a deduplicated file.")
    complaint.refresh_from_db()
    assert complaint.status == status and complaint.resolution == "The merchant re-delivered a deduplicated file."
    event = AuditEvent.objects.for_object(complaint).get(action=f"complaint.{status}")
    assert event.data["reason"] == complaint.resolution and event.organization_id == contract.buyer_id
    with pytest.raises(InvalidTransition):
        feedback.complaint_resolve(complaint=complaint, by=regulator(), reason="Again.")
    # an open complaint of the same kind can be filed again once the first is decided
    assert complain(contract).status == ComplaintStatus.OPEN
