"""Partner API for the registry: products, their versions and documents, submission, and certificate checks.

- Reads: the catalogue is every registered product plus, in any state, the caller's own organisations' products
  (`DataProduct.objects.visible_to`); versions likewise: own versions in any state, others' only when registered
  (of a registered product). Another organisation's unregistered product or version is a 404. Every caller is
  authenticated (a session or an API key): anonymous reads are 401, see docs/registry.md.
- Writes look the object up with `restrict(request.user, "view")`, so an outsider gets 404 even for a registered
  product, while a member whose role does not allow the change gets the service's 403 `permission_denied`.
  An input serializer validates the body (400 `invalid` + `fields`), a `registry.services` function does the work.
- API keys: `HasApiKeyScope` lets a `read` key only read (403 `insufficient_scope`). A write key writes for its own
  organisation within its scope; the services record the key as the actor (and its issuer in `created_by`).
- Refused uploads are 400 with `fields.file` and the service's own `code` (`file_name`, `file_type`, `empty`,
  `file_too_large`, `binary`, `encoding`) instead of `invalid`; a submission the negative list refuses is 422
  `negative_list` with the failing `rules`; submitting twice is 409 `already_submitted`.
- Nothing returns a file URL or a raw data value: see `registry.api.serializers`. A supporting document (not data)
  is fetched by its id from `GET /documents/{id}/file/`, by members of the owning organisation only.
- `GET /certificates/{number}/` is public (no authentication at all), throttled per client address.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTransform
from django.http import FileResponse, Http404
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from accounts.api.permissions import HasApiKeyScope
from accounts.models import Organization
from core.api import ApiErrorSerializer, error_responses
from core.errors import DomainError, NotFoundError, PermissionDeniedError
from registry import services
from registry.api import serializers as s
from registry.api.filters import ProductFilter, VersionFilter
from registry.choices import ProductStatus
from registry.models import DataProduct, ProductVersion, RegistrationCertificate, SupportingDocument, VersionStatus
from registry.services import NegativeListViolation

API_PERMISSIONS = [IsAuthenticated, HasApiKeyScope]
# A list answers 400 for a filter value it cannot use and 404 for a page past the end (`?page=`).
LIST_ERRORS = error_responses(400, 401, 404, 429)
DETAIL_ERRORS = error_responses(401, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 429)
STATE_ERRORS = error_responses(400, 401, 403, 404, 409, 429)
UPLOAD_REFUSED = OpenApiResponse(
    ApiErrorSerializer,
    description="Invalid body, or the file was refused: `code` is `file_name`, `file_type`, `empty`, "
    "`file_too_large`, `binary` or `encoding` (text that is not UTF-8, GBK/GB18030 or UTF-16 with a byte-order "
    "mark; the message says what it looks like) — or, when it is profiled at once, the profiling code such as "
    "`malformed` — with the message under `fields.file`.",
)
NEGATIVE_LIST = OpenApiResponse(s.NegativeListErrorSerializer, description="The negative list refuses it.")
CONFLICT_CODES = frozenset({"already_submitted"})


# --- who acts, and what they see ------------------------------------------------------------------------------


def acting_user(request: Request) -> Any:
    """Who a write is made by: the signed-in user, or the API-key principal (audited as the key, within its scope).

    A key whose issuer has been deactivated no longer writes.
    """
    api_key = getattr(request.user, "api_key", None)
    if api_key is not None and not api_key.created_by.is_active:
        raise PermissionDeniedError(_("The person who issued this API key can no longer act for the organisation."))
    return request.user


def acting_organization(request: Request, organization_id: int | None) -> Organization:
    """The organisation a product is created in: an API key's own, or one where the user may add (else 404)."""
    api_key = getattr(request.user, "api_key", None)
    if api_key is not None:
        if organization_id not in (None, api_key.organization_id):
            raise exceptions.NotFound()
        return api_key.organization
    if organization_id is None:
        raise exceptions.ValidationError({"organization": [_("This field is required.")]}, code="required")
    organization = Organization.objects.restrict(request.user, "add").filter(pk=organization_id).first()
    if organization is None:
        raise exceptions.NotFound()
    return organization


def visible_versions(user) -> QuerySet:
    """Own versions in any state; other organisations' only registered versions of registered products."""
    own = ProductVersion.objects.restrict(user, "view").values("pk")
    registered = Q(status=VersionStatus.REGISTERED, product__status=ProductStatus.REGISTERED)
    return ProductVersion.objects.filter(Q(pk__in=own) | registered)


def version_summaries(queryset: QuerySet) -> QuerySet:
    """Leave the (large) profile and sample in the database; take only the profile's quality scores."""
    return queryset.annotate(quality_json=KeyTransform("quality", "profile")).defer("profile", "masked_sample")


def visible_products(user) -> QuerySet:
    """The catalogue as `user` sees it, with what the product serializer needs in a fixed number of queries."""
    own = DataProduct.objects.restrict(user, "view").values("pk")
    versions = visible_versions(user)
    latest = versions.filter(product=OuterRef("product_id")).order_by("-number").values("pk")[:1]
    registered = ProductVersion.objects.registered().filter(product=OuterRef("pk")).order_by("-number")
    certificate = RegistrationCertificate.objects.current().filter(product=OuterRef("pk")).order_by("-issued_at")
    return (
        DataProduct.objects.visible_to(user)
        .select_related("organization")
        .annotate(
            is_own=ExpressionWrapper(Q(pk__in=own), output_field=BooleanField()),
            latest_quality_score=Subquery(registered.values("quality_score")[:1]),
            certificate_number=Subquery(certificate.values("number")[:1]),
        )
        .prefetch_related(
            "tags",
            Prefetch(
                "versions", queryset=version_summaries(versions.filter(pk=Subquery(latest))), to_attr="latest_versions"
            ),
        )
    )


# --- errors the services raise that the API words differently ------------------------------------------------


class StateConflict(DomainError):
    status = 409


@contextmanager
def state_conflicts() -> Iterator[None]:
    """Submitting what is already submitted conflicts with the object's state: 409, whatever the service says."""
    try:
        yield
    except DomainError as exc:
        if exc.code in CONFLICT_CODES and exc.status != status.HTTP_409_CONFLICT:
            raise StateConflict(exc.message, code=exc.code) from exc
        raise


def negative_list_refused(exc: NegativeListViolation) -> Response:
    rules = [{"code": rule.code, "name": rule.name, "message": rule.message} for rule in exc.results]
    return Response({"code": exc.code, "detail": str(exc.message), "rules": rules}, status=exc.status)


def file_refused(code: str, message: str) -> Response:
    return Response(
        {"code": code, "detail": message, "fields": {"file": [message]}}, status=status.HTTP_400_BAD_REQUEST
    )


def upload_refused(exc: DjangoValidationError) -> Response:
    """400 with `fields.file` and the service's code for the file (`file_type`, `empty`, ...)."""
    errors = getattr(exc, "error_dict", {}).get("file")
    if not errors:
        raise exc
    return file_refused(errors[0].code or "invalid", exc.message_dict["file"][0])


# --- products -------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: s.ProductSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: s.ProductDetailSerializer, **DETAIL_ERRORS}),
)
class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Registered products for every caller, plus your own organisations' products in any state."""

    permission_classes = API_PERMISSIONS
    filterset_class = ProductFilter
    queryset = DataProduct.objects.none()  # for the schema; every request goes through get_queryset
    WRITES = frozenset({"create", "partial_update", "submit", "versions", "documents"})

    def get_queryset(self) -> QuerySet:
        user = self.request.user
        if self.action in self.WRITES:
            return DataProduct.objects.restrict(user, "view")
        queryset = visible_products(user)
        return queryset.prefetch_related("documents") if self.action == "retrieve" else queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self):
        return s.ProductSerializer if self.action == "list" else s.ProductDetailSerializer

    def _respond(self, product: DataProduct, code: int = status.HTTP_200_OK) -> Response:
        product = visible_products(self.request.user).prefetch_related("documents").get(pk=product.pk)
        return Response(s.ProductDetailSerializer(product).data, status=code)

    @extend_schema(request=s.ProductCreateSerializer, responses={201: s.ProductDetailSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Draft a product in your organisation (unverified organisations may draft, not submit)."""
        body = s.ProductCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        organization = acting_organization(request, data.pop("organization", None))
        product = services.product_create(organization=organization, by=acting_user(request), **data)
        return self._respond(product, status.HTTP_201_CREATED)

    @extend_schema(request=s.ProductUpdateSerializer, responses={200: s.ProductDetailSerializer, **STATE_ERRORS})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change a draft (or a product whose changes were requested); `tags` and `column_rules` replace theirs."""
        product = self.get_object()
        body = s.ProductUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        product = services.product_update(product=product, by=acting_user(request), **body.validated_data)
        return self._respond(product)

    @extend_schema(
        operation_id="products_submit",
        request=None,
        responses={200: s.ProductDetailSerializer, 422: NEGATIVE_LIST, **STATE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Submit the product with its latest profiled version for registration (verified organisations only)."""
        product = self.get_object()
        try:
            with state_conflicts():
                product = services.product_submit(product=product, by=acting_user(request))
        except NegativeListViolation as exc:
            return negative_list_refused(exc)
        return self._respond(product)

    @extend_schema(
        operation_id="products_upload_version",
        request={"multipart/form-data": s.VersionUploadSerializer},
        responses={201: s.VersionDetailSerializer, 400: UPLOAD_REFUSED, **error_responses(401, 403, 404, 409, 429)},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """Upload a new version; it is profiled in the background: poll `GET /versions/{id}/progress/`.

        A file that turns out unusable while it is profiled is removed with its version (the progress then
        answers 404) and the reason is kept in the product's `upload_error`.
        """
        product = self.get_object()
        body = s.VersionUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            version = services.version_upload(
                product=product, by=acting_user(request), upload=body.validated_data["file"]
            )
        except DjangoValidationError as exc:
            return upload_refused(exc)
        version = visible_versions(request.user).select_related("product__organization").filter(pk=version.pk).first()
        if version is None:  # profiled at once (eager Celery) and refused
            error = DataProduct.objects.values_list("upload_error", flat=True).get(pk=product.pk) or {}
            return file_refused(error.get("code", "invalid"), error.get("message", _("The file was refused.")))
        return Response(s.VersionDetailSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="products_add_document",
        request={"multipart/form-data": s.DocumentCreateSerializer},
        responses={201: s.DocumentSerializer, 400: UPLOAD_REFUSED, **error_responses(401, 403, 404, 409, 429)},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def documents(self, request: Request, pk: str | None = None) -> Response:
        """Attach a supporting document (legal basis, authorisation, consent form) to an editable product."""
        product = self.get_object()
        body = s.DocumentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            document = services.document_add(product=product, by=acting_user(request), **body.validated_data)
        except DjangoValidationError as exc:
            return upload_refused(exc)
        return Response(s.DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


# --- versions -------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: s.VersionSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: s.VersionDetailSerializer, **DETAIL_ERRORS}),
)
class VersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your versions in any state, and other organisations' registered versions; profile and masked sample."""

    permission_classes = API_PERMISSIONS
    filterset_class = VersionFilter
    queryset = ProductVersion.objects.none()  # for the schema; every request goes through get_queryset

    def get_queryset(self) -> QuerySet:
        user = self.request.user
        if self.action == "submit":
            return ProductVersion.objects.restrict(user, "view")
        if self.action == "progress":
            return visible_versions(user).only(*s.VersionProgressSerializer.Meta.fields)
        queryset = visible_versions(user).select_related("product__organization")
        return version_summaries(queryset) if self.action == "list" else queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self):
        return s.VersionSerializer if self.action == "list" else s.VersionDetailSerializer

    @extend_schema(operation_id="versions_progress", responses={200: s.VersionProgressSerializer, **DETAIL_ERRORS})
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, pk: str | None = None) -> Response:
        """How far profiling has got; a 404 after an upload means the file was refused (see `upload_error`)."""
        return Response(s.VersionProgressSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="versions_submit",
        request=None,
        responses={200: s.VersionDetailSerializer, 422: NEGATIVE_LIST, **STATE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Submit a new version of a registered product for change registration."""
        version = self.get_object()
        try:
            with state_conflicts():
                version = services.version_submit(version=version, by=acting_user(request))
        except NegativeListViolation as exc:
            return negative_list_refused(exc)
        version = ProductVersion.objects.select_related("product__organization").get(pk=version.pk)
        return Response(s.VersionDetailSerializer(version).data)


# --- certificates ---------------------------------------------------------------------------------------------


class CertificateRateThrottle(ScopedRateThrottle):
    """Per client address: the check is public, so it is throttled before anything is looked up."""

    THROTTLE_RATES = {"certificates": "60/min"}


class DocumentViewSet(viewsets.GenericViewSet):
    """Supporting documents of your organisations' products (listed in `GET /products/{id}/`)."""

    permission_classes = API_PERMISSIONS
    queryset = SupportingDocument.objects.none()  # for the schema; every request goes through get_queryset

    def get_queryset(self) -> QuerySet:
        documents = SupportingDocument.objects.restrict(self.request.user, "view")
        if getattr(self.request.user, "api_key", None) is None:
            # Members only, as on the web: `restrict` alone would also let a two-factor superuser in.
            documents = documents.filter(product__organization__memberships__user=self.request.user)
        return documents

    @extend_schema(
        operation_id="documents_file",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **DETAIL_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def file(self, request: Request, pk: str | None = None) -> FileResponse:
        """The document's file as it was uploaded."""
        document = self.get_object()
        if not document.file:
            raise Http404
        name = document.file.name.rsplit("/", 1)[-1]
        response = FileResponse(
            document.file.open("rb"), as_attachment=True, filename=name, content_type="application/octet-stream"
        )
        patch_cache_control(response, private=True, no_store=True)
        return response


class CertificateViewSet(viewsets.GenericViewSet):
    """Anyone may check a registration certificate by its number, without signing in."""

    authentication_classes: list = []  # public: a bad or missing credential must not turn a check into a 401
    permission_classes = [AllowAny]
    throttle_classes = [CertificateRateThrottle]
    throttle_scope = "certificates"
    serializer_class = s.CertificateVerificationSerializer
    queryset = RegistrationCertificate.objects.none()  # for the schema; lookups go through the service
    lookup_field = "number"
    lookup_value_regex = r"[A-Za-z0-9-]{1,40}"

    @extend_schema(
        auth=[],
        parameters=[
            OpenApiParameter(
                "number",
                str,
                OpenApiParameter.PATH,
                pattern=r"^[A-Za-z0-9-]{1,40}$",
                description="e.g. `DB-2026-000123`.",
            )
        ],
        responses={
            200: s.CertificateVerificationSerializer,
            404: OpenApiResponse(ApiErrorSerializer, description="No certificate has this number."),
            429: OpenApiResponse(ApiErrorSerializer, description="Too many checks from this address (`throttled`)."),
        },
    )
    def retrieve(self, request: Request, number: str | None = None) -> Response:
        """Verify a certificate: is the record intact, does the product still match it, is it current?"""
        try:
            verdict = services.certificate_verify(number or "")
        except DomainError as exc:
            if exc.code == "certificate_not_found":
                raise NotFoundError(exc.message, code=exc.code) from exc
            raise
        certificate, product = verdict["certificate"], verdict["product"]
        registered = certificate.payload or {}
        organization = registered.get("organization") or {}
        data = {
            "number": certificate.number,
            "issued_at": certificate.issued_at,
            "fingerprint": certificate.fingerprint,
            "version_number": certificate.version.number,
            "superseded_at": certificate.superseded_at,
            "product": {
                "id": product.pk,
                "title": registered.get("title", product.title),
                "organization": {
                    "name": organization.get("name", product.organization.name),
                    "credit_code": organization.get("credit_code", product.organization.credit_code),
                },
            },
            **{key: verdict[key] for key in ("valid", "record_intact", "content_matches", "current")},
            "product_status": verdict["product_status"],
        }
        return Response(s.CertificateVerificationSerializer(data).data)
