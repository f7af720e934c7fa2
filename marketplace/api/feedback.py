"""Partner API of the marketplace: ratings and complaints.

- `GET /reviews/?listing={id}`: ratings of listings the caller can see (published ones, and its own in any state),
  newest first, without the buyer's name; `GET /reviews/summary/?listing={id}` gives the average (one decimal, null
  without ratings), the count and the distribution over 1-5. A listing the caller cannot see is a 404.
- `POST /reviews/` rates a contract of the caller's (a contract it cannot see is a 404): only the buyer, once
  (`already_reviewed`), a contract that is or was active (`contract_not_held`), `rating` 1-5. A rating is not edited.
- `POST /reviews/{id}/reply/`: the merchant answers once (`already_replied`); anyone else gets 403.
- `GET /complaints/`: complaints the caller's organisations filed as buyers or received as merchants, with the
  regulator's `resolution`. `POST /complaints/` files one about a contract the caller bought (`kind`, `description`;
  one open complaint per contract and kind: `complaint_open`). Regulators decide in the console.
- API keys: a `read` key only reads (403 `insufficient_scope`).
"""

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import RejectUnknownFieldsMixin
from core.api import error_responses, ordering
from marketplace.api.demands import VisibleViewSet, body_of, read_schema
from marketplace.choices import ComplaintKind, ComplaintStatus, PlanKind
from marketplace.models import Complaint, Contract, Listing, Review
from marketplace.services import feedback as services
from registry.api.serializers import EnumField
from registry.api.views import acting_user

SUMMARY_ERRORS = error_responses(400, 401, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 429)
LISTING_PARAMETER = OpenApiParameter("listing", OpenApiTypes.INT, description="Listing id.", required=True)


# --- serializers ------------------------------------------------------------------------------------------------


class ReviewSerializer(serializers.ModelSerializer):
    plan_kind = EnumField(PlanKind.choices, enum_name="PlanKindEnum", source="contract.plan.kind", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "listing", "rating", "comment", "plan_kind", "created_at", "reply", "replied_at"]
        read_only_fields = fields


class RatingSummarySerializer(serializers.Serializer):
    average = serializers.DecimalField(max_digits=2, decimal_places=1, allow_null=True, coerce_to_string=True)
    count = serializers.IntegerField()
    distribution = serializers.DictField(child=serializers.IntegerField(), help_text='Ratings per star: "1" to "5".')


class ReviewCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    contract = serializers.IntegerField(help_text="A contract your organisation bought.")
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class ReviewReplySerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reply = serializers.CharField(max_length=4000)


class ComplaintContractSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contract
        fields = ["id", "number", "listing", "buyer", "merchant"]
        read_only_fields = fields


class ComplaintSerializer(serializers.ModelSerializer):
    contract = ComplaintContractSerializer(read_only=True)
    kind = EnumField(ComplaintKind.choices, enum_name="ComplaintKindEnum", read_only=True)
    status = EnumField(ComplaintStatus.choices, enum_name="ComplaintStatusEnum", read_only=True)

    class Meta:
        model = Complaint
        fields = ["id", "contract", "kind", "description", "status", "resolution", "created_at"]
        read_only_fields = fields


class ComplaintCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    contract = serializers.IntegerField(help_text="A contract your organisation bought.")
    kind = EnumField(ComplaintKind.choices, enum_name="ComplaintKindEnum")
    description = serializers.CharField(max_length=8000)


def _contract(request: Request, pk: int) -> Contract:
    return get_object_or_404(Contract.objects.restrict(request.user, "view"), pk=pk)


# --- ratings ----------------------------------------------------------------------------------------------------


class ReviewFilter(django_filters.FilterSet):
    listing = django_filters.NumberFilter(field_name="listing_id", help_text="Listing id.")
    ordering = ordering("created_at", "rating", "replied_at")

    class Meta:
        model = Review
        fields = ["listing"]


def visible_reviews(user: Any) -> QuerySet:
    listings = Listing.objects.visible_to(user).values("pk")
    return Review.objects.filter(listing__in=listings).select_related("contract__plan").order_by("-created_at", "-pk")


@read_schema(ReviewSerializer)
class ReviewViewSet(VisibleViewSet):
    """Buyers' ratings of listings, with the merchant's reply."""

    serializer_class = ReviewSerializer
    filterset_class = ReviewFilter
    queryset = Review.objects.none()  # for the schema; every request goes through get_queryset
    visible = staticmethod(visible_reviews)

    @extend_schema(request=ReviewCreateSerializer, responses={201: ReviewSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Rate a contract your organisation bought, 1 to 5, once."""
        data = body_of(ReviewCreateSerializer, request)
        contract = _contract(request, data.pop("contract"))
        review = services.review_create(contract=contract, by=acting_user(request), **data)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="reviews_reply", request=ReviewReplySerializer,
                   responses={200: ReviewSerializer, **WRITE_ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def reply(self, request: Request, pk: str | None = None) -> Response:
        """Answer a rating of your listing, once; the reply is public beside it."""
        review = services.review_reply(review=self.get_object(), by=acting_user(request),
                                       **body_of(ReviewReplySerializer, request))  # fmt: skip
        return Response(ReviewSerializer(review).data)

    @extend_schema(operation_id="reviews_summary", parameters=[LISTING_PARAMETER],
                   responses={200: RatingSummarySerializer, **SUMMARY_ERRORS})  # fmt: skip
    @action(detail=False, methods=["get"], pagination_class=None)
    def summary(self, request: Request) -> Response:
        """A listing's average rating, how many ratings it has and how they spread over 1-5 stars."""
        listing_id = request.query_params.get("listing", "")
        if not listing_id.isdigit():
            raise exceptions.ValidationError({"listing": [_("Give the listing's id.")]})
        listing = get_object_or_404(Listing.objects.visible_to(request.user), pk=int(listing_id))
        summary = services.rating_summary(listing)
        summary["distribution"] = {str(stars): n for stars, n in summary["distribution"].items()}
        return Response(RatingSummarySerializer(summary).data)


# --- complaints -------------------------------------------------------------------------------------------------


class ComplaintFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ComplaintStatus.choices)
    contract = django_filters.NumberFilter(field_name="contract_id", help_text="Contract id.")
    ordering = ordering("created_at")

    class Meta:
        model = Complaint
        fields = ["status", "contract"]


def visible_complaints(user: Any) -> QuerySet:
    """Complaints about the caller's purchases and sales (granted to both sides)."""
    return Complaint.objects.restrict(user, "view").select_related("contract").order_by("-created_at", "-pk")


@read_schema(ComplaintSerializer)
class ComplaintViewSet(VisibleViewSet):
    """Complaints about your purchases and your sales, with the regulator's decision."""

    serializer_class = ComplaintSerializer
    filterset_class = ComplaintFilter
    queryset = Complaint.objects.none()  # for the schema; every request goes through get_queryset
    visible = staticmethod(visible_complaints)

    @extend_schema(request=ComplaintCreateSerializer, responses={201: ComplaintSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Report a problem with a contract your organisation bought; a regulator decides it."""
        data = body_of(ComplaintCreateSerializer, request)
        contract = _contract(request, data.pop("contract"))
        complaint = services.complaint_create(contract=contract, by=acting_user(request), **data)
        return Response(ComplaintSerializer(complaint).data, status=status.HTTP_201_CREATED)


routes = [("reviews", ReviewViewSet, "review"), ("complaints", ComplaintViewSet, "complaint")]
urlpatterns: list = []
