"""Partner API for valuations: run one, fetch its report and amortisation schedule; comparables; batch revaluation.

- Reads: `Valuation.objects.restrict(user, "view")`. The performing organisation and the product's owner both see a
  valuation (the service grants it to both groups); anyone else gets 404. Comparables and revaluation batches are
  the caller's organisation's own.
- `POST /valuations/` looks the product up among the products the caller can see (its own in any state, others'
  registered ones), else 404; `valuation_request` then decides who may value it: the owner self-assesses, a verified
  organisation with the appraise capability gives an accredited appraisal of a registered product, anyone else gets
  403 `permission_denied`. The inputs are checked at once (400, nothing stored) and the run is queued: poll
  `GET /valuations/{id}/` until `status` is `done` or `failed` (with eager Celery it is done at once).
- Bad input is 400 `invalid`. `fields` is keyed by body field (`product`, `method`, `holding_purpose`,
  `pledge_ratio`, `amortisation_years`, `organization`) or, for the method's inputs, `inputs.<name>` as the method
  names the input: `inputs.discount_rate`, `inputs.collection`, `inputs.comparables`, `inputs.components[1].weight`;
  plain `inputs` for inputs that do not fit the method at all or figures too large to compute.
- `GET /valuations/{id}/schedule/` answers JSON rows, or the CSV as an attachment (`?format=csv` or
  `Accept: text/csv`); before the valuation is done it is 409 `valuation_not_done`. Errors are always JSON.
- API keys: `HasApiKeyScope` lets a `read` key only read (403 `insufficient_scope`). A write key acts for its own
  organisation within its scope; the services record the key as the actor (and its issuer in `created_by`).
  A signed-in person in several organisations says which one acts with `organization`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.api.permissions import HasApiKeyScope
from accounts.models import Organization
from core.api import ApiErrorSerializer, error_responses
from core.errors import PermissionDeniedError
from registry.api.views import acting_user
from registry.models import DataProduct
from valuation import accounting, services
from valuation.api import serializers as s
from valuation.api.filters import ComparableFilter, ValuationFilter
from valuation.choices import ValuationStatus
from valuation.models import ComparableTransaction, RevaluationBatch, Valuation
from valuation.pdf import valuation_pdf

API_PERMISSIONS = [IsAuthenticated, HasApiKeyScope]
# A list answers 400 for a filter value it cannot use and 404 for a page past the end (`?page=`).
LIST_ERRORS = error_responses(400, 401, 404, 429)
DETAIL_ERRORS = error_responses(401, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 429)
INPUT_ERRORS = OpenApiResponse(
    ApiErrorSerializer,
    description="`invalid`: `fields` is keyed by body field, or `inputs.<name>` for one of the method's inputs "
    "(e.g. `inputs.discount_rate`, `inputs.components[1].weight`), or `inputs` for the inputs as a whole.",
)
NOT_DONE = OpenApiResponse(
    ApiErrorSerializer, description="`valuation_not_done`: the valuation has not finished (or it failed)."
)
SCHEDULE = "The schedule's rows as JSON, or with `?format=csv` (or `Accept: text/csv`) a CSV attachment."
BODY_FIELDS = frozenset(
    {"product", "method", "inputs", "holding_purpose", "pledge_ratio", "amortisation_years", "organization"}
)
REPORT_FIELDS = ("inputs", "result", "sensitivity")  # large: left in the database for lists


# --- who acts, and what they see ------------------------------------------------------------------------------


def acting_organization(request: Request, organization_id: int | None) -> Organization:
    """An API key's own organisation; for a person the one named (else 404), or their only one.

    Looked up among the person's organisations whatever their role, so that a viewer gets the service's 403.
    """
    api_key = getattr(request.user, "api_key", None)
    if api_key is not None:
        if organization_id not in (None, api_key.organization_id):
            raise exceptions.NotFound()
        return api_key.organization
    organizations = Organization.objects.restrict(request.user, "view")
    if organization_id is not None:
        return get_object_or_404(organizations, pk=organization_id)
    mine = list(organizations.order_by("pk")[:2])
    if not mine:
        raise PermissionDeniedError(_("You are not a member of any organisation."))
    if len(mine) > 1:
        message = _("You belong to several organisations: say which one acts.")
        raise exceptions.ValidationError({"organization": [message]}, code="required")
    return mine[0]


def visible_valuations(user: Any) -> QuerySet:
    """Valuations `user` may see, with what the serializers need in one query."""
    return (
        Valuation.objects.restrict(user, "view")
        .select_related("product__organization", "organization")
        .annotate(version_number=F("version__number"))
    )


# --- errors the services raise that the API words differently ------------------------------------------------


def body_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    """The service's errors keyed by body field: a method input's name becomes `inputs.<name>`."""
    messages = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    fields: dict[str, list[str]] = {}
    for field, errors in messages.items():
        if field in BODY_FIELDS:
            key = field
        elif field in (NON_FIELD_ERRORS, api_settings.NON_FIELD_ERRORS_KEY):
            key = "inputs"
        else:
            key = f"inputs.{field}"
        fields.setdefault(key, []).extend(errors)
    return fields


@contextmanager
def input_errors() -> Iterator[None]:
    """The service validates the inputs: its ValidationError becomes a 400 keyed the way the body is."""
    try:
        yield
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(body_errors(exc)) from exc


def json_only(responses: dict[int, OpenApiResponse]) -> dict[tuple[int, str], OpenApiResponse]:
    """Error responses of an endpoint that also answers CSV: errors are JSON only."""
    return {(code, "application/json"): response for code, response in responses.items()}


# --- the amortisation schedule ---------------------------------------------------------------------------------


class CsvRenderer(renderers.BaseRenderer):
    """The CSV `accounting.schedule_csv` wrote, as it is."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        return data.encode(self.charset) if isinstance(data, str) else b""


class PdfRenderer(renderers.BaseRenderer):
    """The report PDF `valuation.pdf` drew, as it is."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        return data if isinstance(data, bytes) else b""


FILE_RENDERERS = (CsvRenderer, PdfRenderer)


def schedule_data(valuation: Valuation, books: services.Accounting) -> dict:
    """The schedule endpoint's body; inventory (held for sale) has no rows and a note saying why."""
    classification, rows = books.classification, books.schedule
    note = None
    if not classification.amortised:
        note = _(
            "Held for sale: the data resource is inventory (%(standard)s), carried at the lower of cost and net "
            "realisable value, and not amortised."
        ) % {"standard": classification.standard}
    elif not rows:
        note = _("A valuation of zero leaves nothing to amortise.")
    return {
        "valuation": valuation.pk,
        "asset_class": classification.asset_class,
        "standard": classification.standard,
        "amortised": classification.amortised,
        "start": rows[0].period_start if rows else None,
        "periods": len(rows),
        "note": note,
        "rows": rows,
    }


def schedule_attachment(valuation: Valuation, books: services.Accounting) -> Response:
    name = f"valuation-{valuation.pk}-amortisation.csv"
    return Response(
        accounting.schedule_csv(books.schedule), headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# --- valuations -----------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: s.ValuationSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: s.ValuationDetailSerializer, **DETAIL_ERRORS}),
)
class ValuationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Valuations your organisations performed, and valuations of your products (including accredited appraisals)."""

    permission_classes = API_PERMISSIONS
    filterset_class = ValuationFilter
    queryset = Valuation.objects.none()  # for the schema; every request goes through get_queryset

    def get_queryset(self) -> QuerySet:
        queryset = visible_valuations(self.request.user)
        return queryset.defer(*REPORT_FIELDS) if self.action == "list" else queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self):
        return s.ValuationSerializer if self.action == "list" else s.ValuationDetailSerializer

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        # An error is JSON even when the schedule was asked for as CSV or the report as PDF.
        as_file = isinstance(getattr(request, "accepted_renderer", None), FILE_RENDERERS)
        if as_file and getattr(response, "exception", False):
            request.accepted_renderer, request.accepted_media_type = renderers.JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        request=s.ValuationCreateSerializer,
        responses={201: s.ValuationDetailSerializer, 400: INPUT_ERRORS, **error_responses(401, 403, 404, 429)},
    )
    def create(self, request: Request) -> Response:
        """Run a valuation: the inputs are checked at once and the run is queued; poll the detail until it is done."""
        body = s.ValuationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        organization = acting_organization(request, data.pop("organization", None))
        product = get_object_or_404(DataProduct.objects.visible_to(request.user), pk=data.pop("product"))
        with input_errors():
            valuation = services.valuation_request(
                product=product, organization=organization, by=acting_user(request), **data
            )
        valuation = visible_valuations(request.user).get(pk=valuation.pk)
        return Response(s.ValuationDetailSerializer(valuation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="valuations_schedule",
        responses={
            (200, "application/json"): OpenApiResponse(s.ScheduleSerializer, description=SCHEDULE),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=SCHEDULE),
            **json_only({**error_responses(401, 404, 429), 409: NOT_DONE}),
        },
    )
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, CsvRenderer])
    def schedule(self, request: Request, pk: str | None = None) -> Response:
        """The monthly amortisation schedule of a finished valuation; `?format=csv` downloads it as CSV."""
        valuation = self.get_object()
        books = services.valuation_accounting(valuation)
        if isinstance(request.accepted_renderer, CsvRenderer):
            return schedule_attachment(valuation, books)
        return Response(s.ScheduleSerializer(schedule_data(valuation, books)).data)

    @extend_schema(
        operation_id="valuations_pdf",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The report as an A4 PDF, in the language of `Accept-Language`."
            ),
            **json_only({**error_responses(401, 404, 429), 409: NOT_DONE}),
        },
    )
    @action(detail=True, methods=["get"], renderer_classes=[PdfRenderer])
    def pdf(self, request: Request, pk: str | None = None) -> Response:
        """The report of a finished valuation as a PDF: inputs, formula, working, result, range, tornado, accounting."""
        valuation = self.get_object()
        if valuation.status != ValuationStatus.DONE:
            raise services.ValuationNotDone()
        name = f"valuation-{valuation.pk}.pdf"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(valuation_pdf(valuation), headers=headers, content_type="application/pdf")


# --- comparables ----------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: s.ComparableSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: s.ComparableSerializer, **DETAIL_ERRORS}),
)
class ComparableViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Comparable transactions your organisations entered by hand, for market valuations."""

    permission_classes = API_PERMISSIONS
    filterset_class = ComparableFilter
    serializer_class = s.ComparableSerializer
    queryset = ComparableTransaction.objects.none()  # for the schema; every request goes through get_queryset

    def get_queryset(self) -> QuerySet:
        return ComparableTransaction.objects.restrict(self.request.user, "view").select_related("organization")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(request=s.ComparableCreateSerializer, responses={201: s.ComparableSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Enter a comparable transaction: what was sold, its price and date, and where the figure comes from."""
        body = s.ComparableCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        organization = acting_organization(request, data.pop("organization", None))
        row = services.comparable_add(organization=organization, by=acting_user(request), **data)
        return Response(s.ComparableSerializer(row).data, status=status.HTTP_201_CREATED)


# --- batch revaluation ----------------------------------------------------------------------------------------


def products_named(user: Any, ids: list[int] | None) -> list[DataProduct] | None:
    """The products of a revaluation, in the order given; one the caller cannot see is a 404."""
    if ids is None:
        return None
    found = DataProduct.objects.visible_to(user).in_bulk(set(ids))
    if len(found) != len(set(ids)):
        raise exceptions.NotFound()
    return [found[pk] for pk in dict.fromkeys(ids)]


@extend_schema_view(retrieve=extend_schema(responses={200: s.RevaluationSerializer, **DETAIL_ERRORS}))
class RevaluationViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Revalue many products at once with your latest finished valuation of each; poll the batch for progress."""

    permission_classes = API_PERMISSIONS
    serializer_class = s.RevaluationSerializer
    queryset = RevaluationBatch.objects.none()  # for the schema; every request goes through get_queryset

    def get_queryset(self) -> QuerySet:
        return RevaluationBatch.objects.restrict(self.request.user, "view")

    @extend_schema(request=s.RevaluationStartSerializer, responses={201: s.RevaluationSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Start a batch for your organisation: the products named, else every product it has valued."""
        body = s.RevaluationStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organization = acting_organization(request, body.validated_data.get("organization"))
        products = products_named(request.user, body.validated_data.get("products"))
        batch = services.revaluation_start(organization=organization, by=acting_user(request), products=products)
        batch = RevaluationBatch.objects.get(pk=batch.pk)  # with eager Celery the batch has already run
        return Response(s.RevaluationSerializer(batch).data, status=status.HTTP_201_CREATED)
