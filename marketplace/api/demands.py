"""Partner API of the marketplace: demands and offers.

- `GET /demands/`: the caller's organisations' own demands in any state and, for merchants, other buyers' open
  demands (deadline not passed), plus demands the caller's merchant offered on. Filters: `sector`, `status`, `own`.
  Anyone else's demand is a 404.
- `POST /demands/` posts a demand as the buyer (an API key acts for its own organisation; a person in several names
  one with `organization`). The service checks the budget's order and the deadline (400 `invalid` with `fields`),
  `not_a_buyer`, `organization_not_verified` (403). Matching listings are suggested at once and their merchants told.
- `GET /demands/{id}/matches/` (the buyer only) pages through the suggested listings, best first (`ordering`);
  `POST /demands/{id}/close/` closes it (`fulfilled: true` needs an accepted offer: `nothing_accepted`) and declines
  its pending offers.
- `GET /offers/`: offers the caller's merchant made and offers on the caller's demands. `POST /offers/` answers a
  demand the caller can see with one of its own published listings (another organisation's listing is a 404) and an
  active plan of it; refusals keep the service's codes: `own_demand`, `demand_closed`, `demand_expired`,
  `listing_not_published`, `plan_not_offered`, `offer_pending`, `not_a_merchant`.
- `withdraw` (the merchant), `decline` (the buyer, optional `reason`) and `accept` (the buyer) on a pending offer;
  otherwise 409 `invalid_transition` (`offer_not_pending` for accept). Accepting starts a contract at the offer's
  price, signed by both sides (the caller's address is recorded), and returns it with the offer; the demand stays
  open unless `close_demand` is true.
- API keys: a `read` key only reads (403 `insufficient_scope`).
"""

from collections.abc import Callable
from typing import Any

import django_filters
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import OrganizationSummarySerializer, RejectUnknownFieldsMixin
from core.api import error_responses, filter_list, ordering, ordering_parameter
from marketplace.choices import ContractStatus, DemandStatus, OfferStatus, PlanKind
from marketplace.models import Contract, Demand, DemandMatch, Listing, Offer
from marketplace.services import demands as services
from registry.api.serializers import EnumField
from registry.api.views import acting_user
from registry.choices import Sector
from valuation.api.views import API_PERMISSIONS, acting_organization

# A list answers 400 for a filter value it cannot use and 404 for a page past the end (`?page=`).
LIST_ERRORS = error_responses(400, 401, 404, 429)
DETAIL_ERRORS = error_responses(401, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 429)
STATE_ERRORS = error_responses(400, 401, 403, 404, 409, 429)


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True, **kwargs)


# --- output -----------------------------------------------------------------------------------------------------


class DemandSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer(read_only=True)
    status = EnumField(DemandStatus.choices, enum_name="DemandStatusEnum", read_only=True)
    sector = serializers.ChoiceField(choices=Sector.choices, read_only=True)
    budget_min = money(read_only=True, allow_null=True)
    budget_max = money(read_only=True, allow_null=True)
    is_own = serializers.BooleanField(read_only=True, help_text="Posted by one of your organisations.")

    class Meta:
        model = Demand
        fields = ["id", "title", "sector", "need", "budget_min", "budget_max", "deadline", "status", "organization",
                  "is_own", "created_at"]  # fmt: skip
        read_only_fields = fields


class MatchedListingSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer(read_only=True)
    min_price = money(read_only=True, allow_null=True)

    class Meta:
        model = Listing
        fields = ["id", "title", "organization", "min_price", "quality_score"]
        read_only_fields = fields


class DemandMatchSerializer(serializers.ModelSerializer):
    listing = MatchedListingSerializer(read_only=True)
    score = serializers.FloatField(read_only=True, help_text="0-1: words shared with the need, quality, price.")

    class Meta:
        model = DemandMatch
        fields = ["listing", "score"]
        read_only_fields = fields


class OfferPlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = EnumField(PlanKind.choices, enum_name="PlanKindEnum")
    price = money(help_text="The plan's list price.")


class OfferListingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class OfferContractSerializer(serializers.ModelSerializer):
    status = EnumField(ContractStatus.choices, enum_name="ContractStatusEnum", read_only=True)
    price = money(read_only=True)

    class Meta:
        model = Contract
        fields = ["id", "number", "status", "price"]
        read_only_fields = fields


class OfferSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer(read_only=True, help_text="The merchant.")
    listing = OfferListingSerializer(read_only=True)
    plan = OfferPlanSerializer(read_only=True)
    price = money(read_only=True)
    status = EnumField(OfferStatus.choices, enum_name="OfferStatusEnum", read_only=True)
    contract = serializers.SerializerMethodField(help_text="The contract an accepted offer started.")

    class Meta:
        model = Offer
        fields = ["id", "demand", "organization", "listing", "plan", "price", "message", "status", "contract",
                  "created_at"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(OfferContractSerializer(allow_null=True))
    def get_contract(self, offer: Offer) -> dict | None:
        contract = getattr(offer, "contract", None) if offer.status == OfferStatus.ACCEPTED else None
        return OfferContractSerializer(contract).data if contract else None


class OfferAcceptedSerializer(serializers.Serializer):
    offer = OfferSerializer()
    contract = OfferContractSerializer()


# --- input ------------------------------------------------------------------------------------------------------


class DemandCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    organization = serializers.IntegerField(required=False, help_text="Which of your organisations posts it.")
    title = serializers.CharField(max_length=200)
    sector = serializers.ChoiceField(choices=Sector.choices)
    need = serializers.CharField(help_text="What is needed; listings are suggested by its words.")
    budget_min = money(required=False, allow_null=True, min_value=0)
    budget_max = money(required=False, allow_null=True, min_value=0)
    deadline = serializers.DateField(required=False, allow_null=True, help_text="Needed by (not in the past).")


class DemandCloseSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    fulfilled = serializers.BooleanField(default=False, help_text="An accepted offer met the need.")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class OfferCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    demand = serializers.IntegerField()
    listing = serializers.IntegerField(help_text="One of your published listings.")
    plan = serializers.IntegerField(help_text="An active plan of that listing.")
    price = money(min_value=0, help_text="The contract's price if the buyer accepts.")
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class OfferAcceptSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    purpose = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=4000,
        help_text="What the data is for (it goes into the terms); by default the demand's need.",
    )  # fmt: skip
    close_demand = serializers.BooleanField(default=False, help_text="The offer fulfils the demand: close it.")


class OfferDeclineSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


def read_schema(serializer: type[serializers.Serializer]) -> Callable:
    """Document a viewset's list and retrieve with `serializer` and their error bodies."""
    return extend_schema_view(
        list=extend_schema(responses={200: serializer(many=True), **LIST_ERRORS}),
        retrieve=extend_schema(responses={200: serializer, **DETAIL_ERRORS}),
    )


class VisibleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reads through `visible(user)` (what the caller may see, else 404); query filters narrow only the list."""

    permission_classes = API_PERMISSIONS
    visible: Callable[[Any], QuerySet]

    def get_queryset(self) -> QuerySet:
        return type(self).visible(self.request.user)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset) if self.action == "list" else queryset


def body_of(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


# --- demands ----------------------------------------------------------------------------------------------------


class DemandFilter(django_filters.FilterSet):
    sector = django_filters.ChoiceFilter(choices=Sector.choices)
    status = django_filters.ChoiceFilter(choices=DemandStatus.choices)
    own = django_filters.BooleanFilter(field_name="is_own", help_text="Only (or no) demands of your organisations.")
    ordering = ordering("created_at", "deadline", "budget_max")

    class Meta:
        model = Demand
        fields = ["sector", "status", "own"]


class DemandMatchFilter(django_filters.FilterSet):
    ordering = ordering("score")

    class Meta:
        model = DemandMatch
        fields: list[str] = []


def visible_demands(user: Any) -> QuerySet:
    own = Demand.objects.restrict(user, "view").values("pk")
    return (
        services.demands_visible_to(user)
        .select_related("organization")
        .annotate(is_own=ExpressionWrapper(Q(pk__in=own), output_field=BooleanField()))
        .order_by("-created_at", "-pk")
    )


@read_schema(DemandSerializer)
class DemandViewSet(VisibleViewSet):
    """Buyers' demands: your own, and (for merchants) other buyers' open ones."""

    serializer_class = DemandSerializer
    filterset_class = DemandFilter
    queryset = Demand.objects.none()  # for the schema; every request goes through get_queryset
    visible = staticmethod(visible_demands)

    def get_queryset(self) -> QuerySet:
        if self.action in ("close", "matches"):  # the buyer's only
            return Demand.objects.restrict(self.request.user, "view")
        return super().get_queryset()

    def _respond(self, demand: Demand, code: int = status.HTTP_200_OK) -> Response:
        return Response(DemandSerializer(visible_demands(self.request.user).get(pk=demand.pk)).data, status=code)

    @extend_schema(request=DemandCreateSerializer, responses={201: DemandSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Post a demand; listings that match it are suggested and their merchants told."""
        data = body_of(DemandCreateSerializer, request)
        organization = acting_organization(request, data.pop("organization", None))
        demand = services.demand_post(organization=organization, by=acting_user(request), **data)
        return self._respond(demand, status.HTTP_201_CREATED)

    @extend_schema(operation_id="demands_close", request=DemandCloseSerializer,
                   responses={200: DemandSerializer, **STATE_ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close your demand (fulfilled or not); its pending offers are declined."""
        demand = services.demand_close(demand=self.get_object(), by=acting_user(request),
                                       **body_of(DemandCloseSerializer, request))  # fmt: skip
        return self._respond(demand)

    @extend_schema(
        operation_id="demands_matches",
        parameters=[ordering_parameter("score")],
        responses={200: DemandMatchSerializer(many=True), **LIST_ERRORS},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def matches(self, request: Request, pk: str | None = None) -> Response:
        """The listings the exchange suggests for your demand, best first (still published ones only)."""
        suggested = services.suggested(self.get_object())  # the best MATCH_LIMIT, as the web page shows them
        matches = DemandMatch.objects.filter(pk__in=list(suggested.values_list("pk", flat=True)))
        matches = matches.select_related("listing__organization", "listing__product").order_by("-score", "pk")
        page = self.paginate_queryset(filter_list(DemandMatchFilter, request, matches))
        return self.get_paginated_response(DemandMatchSerializer(page, many=True).data)


# --- offers -----------------------------------------------------------------------------------------------------


class OfferFilter(django_filters.FilterSet):
    demand = django_filters.NumberFilter(field_name="demand_id", help_text="Demand id.")
    status = django_filters.ChoiceFilter(choices=OfferStatus.choices)
    ordering = ordering("created_at", "price")

    class Meta:
        model = Offer
        fields = ["demand", "status"]


def visible_offers(user: Any) -> QuerySet:
    return (
        Offer.objects.restrict(user, "view")
        .select_related("organization", "listing", "plan", "contract")
        .order_by("-created_at", "-pk")
    )


@read_schema(OfferSerializer)
class OfferViewSet(VisibleViewSet):
    """Offers your merchant made, and offers on your demands."""

    serializer_class = OfferSerializer
    filterset_class = OfferFilter
    queryset = Offer.objects.none()  # for the schema; every request goes through get_queryset
    visible = staticmethod(visible_offers)

    def _respond(self, offer: Offer, code: int = status.HTTP_200_OK) -> Response:
        return Response(OfferSerializer(visible_offers(self.request.user).get(pk=offer.pk)).data, status=code)

    @extend_schema(request=OfferCreateSerializer, responses={201: OfferSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Answer a demand with one of your published listings, an active plan of it and a price."""
        data = body_of(OfferCreateSerializer, request)
        user = request.user
        demand = get_object_or_404(services.demands_visible_to(user), pk=data.pop("demand"))
        listing = get_object_or_404(Listing.objects.restrict(user, "view"), pk=data.pop("listing"))
        plan = listing.plans.filter(pk=data.pop("plan")).first()
        if plan is None:
            raise exceptions.ValidationError({"plan": [_("This plan is not offered on the listing.")]})
        offer = services.offer_make(demand=demand, listing=listing, plan=plan, by=acting_user(request), **data)
        return self._respond(offer, status.HTTP_201_CREATED)

    @extend_schema(operation_id="offers_withdraw", request=None, responses={200: OfferSerializer, **STATE_ERRORS})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Take back your pending offer."""
        return self._respond(services.offer_withdraw(offer=self.get_object(), by=acting_user(request)))

    @extend_schema(operation_id="offers_decline", request=OfferDeclineSerializer,
                   responses={200: OfferSerializer, **STATE_ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        """Turn down a pending offer on your demand; the merchant reads the reason."""
        offer = services.offer_decline(offer=self.get_object(), by=acting_user(request),
                                       **body_of(OfferDeclineSerializer, request))  # fmt: skip
        return self._respond(offer)

    @extend_schema(operation_id="offers_accept", request=OfferAcceptSerializer,
                   responses={201: OfferAcceptedSerializer, **STATE_ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        """Accept a pending offer on your demand: a contract starts at its price, signed by both sides."""
        offer, ip_address = self.get_object(), request.META.get("REMOTE_ADDR") or None
        body = body_of(OfferAcceptSerializer, request)
        contract = services.offer_accept(offer=offer, by=acting_user(request), ip_address=ip_address, **body)
        offer = visible_offers(request.user).get(pk=offer.pk)
        data = {"offer": OfferSerializer(offer).data, "contract": OfferContractSerializer(contract).data}
        return Response(data, status=status.HTTP_201_CREATED)


routes = [("demands", DemandViewSet, "demand"), ("offers", OfferViewSet, "offer")]
urlpatterns: list = []
