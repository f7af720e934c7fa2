"""Partner API of the marketplace: the catalogue of listings, and merchants' writes to their own listings.

- `GET /listings/` is the published catalogue, filtered and sorted by `marketplace.filters.ListingFilter` (the one the
  HTML catalogue uses; the words sought are `search`, and `q`, undocumented, is still read as `search`), in pages of
  the API's usual shape (`count`, `next`, `previous`, `results`) plus `capped`: `count` stops at 1,000 listings (a
  search: its 200 newest matches, ranked), and `capped` says more matched. One query reads a page with its count
  (`marketplace.filters.CatalogueRows`, in SQL), a search's too, whatever the page size and the catalogue's size;
  its entries are rows (dicts), not listings, written out by CatalogueListingSerializer.
- `GET /listings/{id}/`: plans, licence terms, quality, certificate number, the latest valuation (with whether it is
  an accredited appraisal), the rating and the masked sample, the only row-level data. Another organisation's
  unpublished listing is a 404.
- Writes (`POST /listings/`, `PATCH /listings/{id}/`, `POST .../plans/`, `POST .../plans/{plan_id}/withdraw/`,
  `POST .../submit/`, `POST .../delist/`) look the listing up with `restrict(user, "view")` (an outsider gets 404),
  validate the body with an input serializer and call `marketplace.services.listings`. A `read` API key only reads
  (403 `insufficient_scope`); changing a listing that is not a draft (or rejected) is 409 `listing_not_editable`.

`routes` lists (prefix, viewset, basename) for the router in marketplace/api/urls.py.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import utils as filter_utils
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import OrganizationSummarySerializer, RejectUnknownFieldsMixin
from core.api import error_responses
from marketplace.choices import BillingPeriod, ListingStatus, PlanKind, Territory
from marketplace.filters import (
    MAX_RESULTS,
    SEARCH_WINDOW,
    CatalogueResults,
    ListingFilter,
    active_plan_kinds,
    catalogue_entries,
    catalogue_listings,
    expected_page,
)
from marketplace.models import Listing, PricePlan
from marketplace.services import listings as services
from marketplace.services.common import MarketError
from marketplace.web.catalogue import latest_valuations, registered_version
from registry.api.serializers import EnumField, QualitySerializer
from registry.api.views import API_PERMISSIONS, StateConflict, acting_user
from registry.choices import Classification, LicenceTemplate, Sector, SensitivityLevel
from registry.models import DataProduct, ProductVersion, RegistrationCertificate

READ_ERRORS = error_responses(400, 401, 404, 429)  # 404: a page past the end
DETAIL_ERRORS = error_responses(401, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 429)
STATE_ERRORS = error_responses(400, 401, 403, 404, 409, 429)
CONFLICT_CODES = frozenset({"listing_not_editable"})


class CatalogueFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend (the same 400 for bad values, the same schema), answering ListingFilter's results (as rows)
    as ListingPagination pages through them rather than a queryset."""

    def get_filterset_kwargs(self, request: Request, queryset: QuerySet, view: Any) -> dict:
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        data = kwargs["data"]
        if "q" in data and "search" not in data:  # the search's name before `search` (undocumented, still answered)
            kwargs["data"] = data = data.copy()
            data.setlist("search", data.getlist("q"))
        return kwargs

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> CatalogueResults:
        filterset = self.get_filterset(request, queryset, view)
        if not filterset.is_valid() and self.raise_exception:
            raise filter_utils.translate_validation(filterset.errors)
        return filterset.results(rows=True)


class ListingPagination(PageNumberPagination):
    """Pages of 20 (up to 100), over at most MAX_RESULTS listings (a search: SEARCH_WINDOW); `capped` says whether
    more matched."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset: CatalogueResults, request: Request, view: Any = None) -> list | None:
        wanted = expected_page(request.query_params.get(self.page_query_param), self.get_page_size(request))
        self.results = queryset.expect(wanted)
        return super().paginate_queryset(self.results, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["capped"] = self.results.capped
        return response

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["capped"] = {
            "type": "boolean",
            "description": (
                f"More than {MAX_RESULTS} listings matched (a search: more than its {SEARCH_WINDOW} newest matches, "
                "which it ranks): `count` stops there, and so do the pages."
            ),
        }
        paginated["required"].append("capped")
        return paginated


@contextmanager
def state_conflicts() -> Iterator[None]:
    """Changing a listing that is no longer a draft conflicts with its state: 409 rather than the service's 400."""
    try:
        yield
    except MarketError as exc:
        if exc.code in CONFLICT_CODES:
            raise StateConflict(exc.message, code=exc.code) from exc
        raise


# --- output -------------------------------------------------------------------------------------------------------


class ListingProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    sector = serializers.ChoiceField(Sector.choices)
    classification = serializers.ChoiceField(Classification.choices)
    sensitivity_level = serializers.ChoiceField(SensitivityLevel.choices)
    sandbox_only = serializers.BooleanField(help_text="Level-4 data: offered through sandbox plans only.")


class ListingSummaryFields(serializers.Serializer):
    """The fields of a listing in the catalogue (shared by the list and the detail)."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    status = EnumField(ListingStatus.choices, enum_name="ListingStatusEnum")
    organization = OrganizationSummarySerializer(help_text="The merchant.")
    product = ListingProductSerializer()
    min_price = serializers.DecimalField(
        max_digits=18, decimal_places=2, allow_null=True, help_text="The lowest active plan's price (CNY)."
    )
    quality_score = serializers.FloatField(
        allow_null=True, help_text="Overall quality (0-100) of the registered version."
    )
    plan_kinds = serializers.ListField(
        child=EnumField(PlanKind.choices, enum_name="PlanKindEnum"),
        source="plan_kind_list",
        help_text="The kinds of the active plans.",
    )
    rating_average = serializers.FloatField(allow_null=True, help_text="Average buyer rating, 1-5.")
    review_count = serializers.IntegerField()
    published_at = serializers.DateTimeField(allow_null=True)


# The catalogue's own formatting of its two typed values, as ListingSummaryFields declares them (built once: a
# serializer's `fields` are deep-copied per request).
MONEY_FIELD = serializers.DecimalField(max_digits=18, decimal_places=2)
DATETIME_FIELD = serializers.DateTimeField()


class CatalogueListingSerializer(ListingSummaryFields):
    """A listing as the catalogue shows it."""

    def to_representation(self, row: dict) -> dict:
        # The catalogue's hot path: one dict per row of marketplace.filters.ENTRY_VALUES, instead of a listing and a
        # field-by-field walk (several times faster, and the same output: tests compare it with
        # ListingSummaryFields' own, of the listing).
        published_at, min_price = row["published_at"], row["min_price"]
        return {
            "id": row["id"],
            "title": row["title"],
            "description": row["description"],
            "status": row["status"],
            "organization": {"id": row["organization_id"], "name": row["merchant_name"]},
            "product": {
                "id": row["product_id"],
                "title": row["product_title"],
                "sector": row["product_sector"],
                "classification": row["product_classification"],
                "sensitivity_level": row["product_sensitivity_level"],
                "sandbox_only": row["sandbox_only"],
            },
            "min_price": None if min_price is None else MONEY_FIELD.to_representation(min_price),
            "quality_score": row["quality_score"],
            "plan_kinds": row["plan_kinds"].split(),  # Listing.plan_kind_list
            "rating_average": row["rating_average"],
            "review_count": row["review_count"],
            "published_at": None if published_at is None else DATETIME_FIELD.to_representation(published_at),
        }


class ListingPlanSerializer(serializers.ModelSerializer):
    kind = EnumField(PlanKind.choices, enum_name="PlanKindEnum")
    billing_period = serializers.ChoiceField(BillingPeriod.choices, allow_blank=True)

    class Meta:
        model = PricePlan
        fields = [
            "id", "kind", "name", "price", "billing_period", "price_per_call", "free_calls", "rate_limit_per_minute",
            "download_days", "requires_approval", "exclusive", "is_active",
        ]  # fmt: skip
        read_only_fields = fields


class LicenceTermsSerializer(serializers.Serializer):
    """What a contract on the listing permits; contracts snapshot these terms."""

    licence_template = serializers.ChoiceField(LicenceTemplate.choices)
    permitted_purposes = serializers.CharField()
    term_months = serializers.IntegerField()
    territory = serializers.ChoiceField(Territory.choices)
    redistribution = serializers.BooleanField()
    onward_transfer = serializers.BooleanField()


class ListingColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()


class MaskedSampleSerializer(serializers.Serializer):
    """A few rows with personal information masked, in the file's column order."""

    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.JSONField(allow_null=True)))


class ListingValuationSerializer(serializers.Serializer):
    """The latest finished valuation; `accredited` tells an appraiser's opinion from the merchant's own estimate."""

    id = serializers.IntegerField()
    method = serializers.CharField()
    value = serializers.DecimalField(max_digits=18, decimal_places=2)
    low = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    high = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    as_of = serializers.DateField()
    accredited = serializers.BooleanField(source="is_accredited")
    performer = serializers.CharField(source="organization.name", help_text="Who valued it.")


class ListingDetailSerializer(ListingSummaryFields):
    """One listing with its plans, terms, registered version's profile summary, certificate and valuation."""

    status_reason = serializers.CharField(help_text="The regulator's (or the merchant's) reason for the last decision.")
    plan_kinds = serializers.SerializerMethodField()
    terms = serializers.SerializerMethodField()
    plans = serializers.SerializerMethodField()
    row_count = serializers.SerializerMethodField()
    columns = serializers.SerializerMethodField()
    quality = serializers.SerializerMethodField()
    masked_sample = serializers.SerializerMethodField()
    certificate_number = serializers.SerializerMethodField()
    valuation = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()

    @extend_schema_field(
        serializers.ListField(
            child=EnumField(PlanKind.choices, enum_name="PlanKindEnum"), help_text="The kinds of the active plans."
        )
    )
    def get_plan_kinds(self, listing: Listing) -> list[str]:
        return active_plan_kinds(listing)  # read off the plans loaded for `plans`, so a draft's are current too

    @extend_schema_field(LicenceTermsSerializer)
    def get_terms(self, listing: Listing) -> dict:
        return LicenceTermsSerializer(listing.terms()).data

    @extend_schema_field(ListingPlanSerializer(many=True))
    def get_plans(self, listing: Listing) -> list[dict]:
        """Active plans; the merchant also sees withdrawn ones (`is_active: false`)."""
        return ListingPlanSerializer(listing.shown_plans, many=True).data

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_row_count(self, listing: Listing) -> int | None:
        return listing.version.row_count if listing.version else None

    @extend_schema_field(ListingColumnSerializer(many=True))
    def get_columns(self, listing: Listing) -> list[dict]:
        columns = listing.version.columns if listing.version else []
        return [{"name": c.get("name", ""), "type": c.get("type", "")} for c in columns]

    @extend_schema_field(QualitySerializer(allow_null=True))
    def get_quality(self, listing: Listing) -> dict | None:
        quality = listing.version.quality if listing.version else None
        return QualitySerializer(quality).data if quality else None

    @extend_schema_field(MaskedSampleSerializer)
    def get_masked_sample(self, listing: Listing) -> dict:
        version: ProductVersion | None = listing.version
        names = [c.get("name", "") for c in version.columns] if version else []
        rows = [[row.get(name) for name in names] for row in version.masked_sample] if version else []
        return {"columns": names, "rows": rows}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_certificate_number(self, listing: Listing) -> str | None:
        return listing.certificate_number

    @extend_schema_field(ListingValuationSerializer(allow_null=True))
    def get_valuation(self, listing: Listing) -> dict | None:
        return ListingValuationSerializer(listing.valuation).data if listing.valuation else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, listing: Listing) -> list[str]:
        return [tag.name for tag in listing.product.tags.all()]


# --- input --------------------------------------------------------------------------------------------------------


class ListingUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True)
    licence_template = serializers.ChoiceField(LicenceTemplate.choices)
    permitted_purposes = serializers.CharField()
    term_months = serializers.IntegerField(min_value=1, max_value=120)
    territory = serializers.ChoiceField(Territory.choices)
    redistribution = serializers.BooleanField()
    onward_transfer = serializers.BooleanField()


class ListingCreateSerializer(ListingUpdateSerializer):
    """A draft listing of one of your registered products; title, description and template default to the
    product's."""

    product = serializers.IntegerField(help_text="The registered product's id.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("title", "description", "licence_template", "term_months", "territory", "redistribution",
                     "onward_transfer"):  # fmt: skip
            self.fields[name].required = False


class PlanCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A price plan; each kind needs its own fields (a subscription its `billing_period`, a metered plan its
    `price_per_call`), and level-4 products take sandbox plans only."""

    kind = EnumField(PlanKind.choices, enum_name="PlanKindEnum")
    name = serializers.CharField(max_length=100)
    price = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0)
    billing_period = serializers.ChoiceField(BillingPeriod.choices, required=False)
    price_per_call = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0, required=False)
    free_calls = serializers.IntegerField(min_value=0, required=False)
    rate_limit_per_minute = serializers.IntegerField(min_value=1, required=False)
    download_days = serializers.IntegerField(min_value=1, max_value=32767, required=False)
    requires_approval = serializers.BooleanField(required=False)
    exclusive = serializers.BooleanField(required=False)


class DelistSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Recorded in the ledger and shown on the listing.")


# --- the viewset --------------------------------------------------------------------------------------------------


def _detail(user: Any, pk: int) -> Listing:
    """A listing as `user` may see it, with what ListingDetailSerializer reads attached (404 when not visible)."""
    listing = get_object_or_404(catalogue_listings(entry_only=False).visible_to(user), pk=pk)
    own = Listing.objects.restrict(user, "view").filter(pk=listing.pk).exists()
    listing.shown_plans = listing.plans.all() if own else listing.active_plans
    listing.version = registered_version(listing.product_id)
    listing.certificate_number = (
        RegistrationCertificate.objects.current().filter(product=listing.product_id).values_list("number", flat=True)
    ).first()
    listing.valuation = next(iter(latest_valuations(listing.product)), None)
    return listing


@extend_schema_view(
    list=extend_schema(responses={200: CatalogueListingSerializer(many=True), **READ_ERRORS}),
    retrieve=extend_schema(responses={200: ListingDetailSerializer, **DETAIL_ERRORS}),
)
class ListingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The catalogue of published listings, and your organisations' listings in any state."""

    permission_classes = API_PERMISSIONS
    filterset_class = ListingFilter
    filter_backends = [CatalogueFilterBackend]
    pagination_class = ListingPagination
    queryset = Listing.objects.none()  # for the schema; every request goes through get_queryset
    serializer_class = CatalogueListingSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet:
        if self.action == "list":
            return catalogue_entries()  # CatalogueFilterBackend filters it, CatalogueResults pages it
        return Listing.objects.restrict(self.request.user, "view").select_related("product", "organization")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """A listing with its plans, terms, profile summary, quality, certificate, valuation and masked sample."""
        return Response(ListingDetailSerializer(_detail(request.user, int(pk))).data)

    def _respond(self, listing: Listing, code: int = status.HTTP_200_OK) -> Response:
        return Response(ListingDetailSerializer(_detail(self.request.user, listing.pk)).data, status=code)

    @extend_schema(request=ListingCreateSerializer, responses={201: ListingDetailSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Draft a listing of one of your organisation's registered products."""
        body = ListingCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        product = get_object_or_404(DataProduct.objects.restrict(request.user, "view"), pk=data.pop("product"))
        listing = services.listing_create(product=product, by=acting_user(request), **data)
        return self._respond(listing, status.HTTP_201_CREATED)

    @extend_schema(request=ListingUpdateSerializer, responses={200: ListingDetailSerializer, **STATE_ERRORS})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change a draft (or rejected) listing's description and licence terms."""
        listing = self.get_object()
        body = ListingUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        with state_conflicts():
            listing = services.listing_update(listing=listing, by=acting_user(request), **body.validated_data)
        return self._respond(listing)

    @extend_schema(
        operation_id="listings_add_plan",
        request=PlanCreateSerializer,
        responses={201: ListingPlanSerializer, **STATE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def plans(self, request: Request, pk: str | None = None) -> Response:
        """Add a price plan to a draft (or rejected) listing."""
        listing = self.get_object()
        body = PlanCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with state_conflicts():
            plan = services.plan_add(listing=listing, by=acting_user(request), **body.validated_data)
        return Response(ListingPlanSerializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="listings_withdraw_plan",
        request=None,
        parameters=[OpenApiParameter("plan_id", int, OpenApiParameter.PATH, description="The plan's id.")],
        responses={200: ListingPlanSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path=r"plans/(?P<plan_id>\d+)/withdraw")
    def withdraw_plan(self, request: Request, pk: str | None = None, plan_id: str | None = None) -> Response:
        """Stop offering a plan; contracts already made on it run on."""
        plan = get_object_or_404(self.get_object().plans.all(), pk=plan_id)
        plan = services.plan_withdraw(plan=plan, by=acting_user(request))
        return Response(ListingPlanSerializer(plan).data)

    @extend_schema(
        operation_id="listings_submit", request=None, responses={200: ListingDetailSerializer, **STATE_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Sign the terms as a standing offer (from the calling address) and send the listing to the regulators."""
        listing = self.get_object()
        ip_address = request.META.get("REMOTE_ADDR") or None
        listing = services.listing_submit(listing=listing, by=acting_user(request), ip_address=ip_address)
        return self._respond(listing)

    @extend_schema(
        operation_id="listings_delist",
        request=DelistSerializer,
        responses={200: ListingDetailSerializer, **STATE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def delist(self, request: Request, pk: str | None = None) -> Response:
        """Take a published listing off the exchange, with a reason; contracts already made run on."""
        listing = self.get_object()
        body = DelistSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        listing = services.listing_delist(
            listing=listing, by=acting_user(request), reason=body.validated_data["reason"]
        )
        return self._respond(listing)


routes: list = [("listings", ListingViewSet, "listing")]
urlpatterns: list = []
