"""Sandbox API: export requests — a buyer asks to release a result, the operator decides, the buyer downloads.

- `POST /sandbox/exports/` with `run` and `purpose`: 201 (a succeeded run of your organisation, once per run).
- `GET /sandbox/exports/` (`?status=`, `?dataset=`), `GET .../{id}/`: requests of your organisations, and those on
  the datasets you operate.
- `POST .../{id}/approve/` (optional `reason`) and `POST .../{id}/reject/` (`reason` required): an owner or admin
  of the operator, or its API key with the `manage` scope (a `write` key: 403 `insufficient_scope`), who is not the
  requester (403 `own_request` otherwise; for a key, its issuer); 409 `already_decided`.
- `GET .../{id}/download/`: the approved result as CSV, fingerprinted for the contract (requester's organisation
  only; 409 `not_approved` before approval).
"""

import django_filters
from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import OrganizationSummarySerializer, RejectUnknownFieldsMixin
from core.api import error_responses, ordering
from registry.api.views import acting_user
from sandbox.api.common import (
    API_PERMISSIONS,
    DETAIL_ERRORS,
    LIST_ERRORS,
    STATE_ERRORS,
    DatasetSummarySerializer,
    dataset_filter,
    export_status_field,
)
from sandbox.choices import ExportStatus
from sandbox.models import ExportRequest
from sandbox.services import exports as services
from sandbox.web.common import visible_exports, visible_runs


class ExportSerializer(serializers.ModelSerializer):
    status = export_status_field()
    run = serializers.IntegerField(source="run_id", read_only=True)
    dataset = DatasetSummarySerializer(read_only=True)
    organization = OrganizationSummarySerializer(read_only=True, help_text="The requesting buyer.")
    requested_by = serializers.CharField(source="requested_by.email", read_only=True)
    decided_by = serializers.CharField(source="decided_by.email", read_only=True, allow_null=True, default=None)
    download_url = serializers.SerializerMethodField(help_text="The released CSV, once approved; else null.")

    class Meta:
        model = ExportRequest
        fields = [
            "id", "run", "dataset", "organization", "requested_by", "purpose", "status", "decided_by", "decided_at",
            "reason", "sha256", "fingerprint", "created_at", "download_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_download_url(self, export: ExportRequest) -> str | None:
        if export.status != ExportStatus.APPROVED:
            return None
        url = reverse("api:sandbox-export-download", args=[export.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ExportCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    run = serializers.IntegerField(help_text="A succeeded run of your organisation.")
    purpose = serializers.CharField(max_length=4000, help_text="What the result will be used for.")


class ApproveSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RejectSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="The requester reads it.")


class ExportFilter(django_filters.FilterSet):
    dataset = dataset_filter()
    ordering = ordering("created_at", "decided_at")

    class Meta:
        model = ExportRequest
        fields = ["status", "dataset"]


@extend_schema_view(
    list=extend_schema(responses={200: ExportSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: ExportSerializer, **DETAIL_ERRORS}),
)
class ExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Requests to release sandbox results: yours, and those on the datasets you operate."""

    permission_classes = API_PERMISSIONS
    serializer_class = ExportSerializer
    queryset = ExportRequest.objects.none()  # for the schema; every request goes through get_queryset
    filterset_class = ExportFilter
    lookup_value_regex = r"\d+"
    manage_actions = frozenset({"approve", "reject"})  # an owner's or admin's decision: a `manage` key's too

    def get_queryset(self) -> QuerySet:
        related = ("dataset", "organization", "requested_by", "decided_by")
        return visible_exports(self.request.user).select_related(*related).order_by("-created_at", "-pk")

    def _respond(self, export: ExportRequest, code: int = status.HTTP_200_OK) -> Response:
        export = self.get_queryset().get(pk=export.pk)
        return Response(ExportSerializer(export, context={"request": self.request}).data, status=code)

    @extend_schema(request=ExportCreateSerializer, responses={201: ExportSerializer, **STATE_ERRORS})
    def create(self, request: Request) -> Response:
        """Ask the operator to release a succeeded run's result."""
        body = ExportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = get_object_or_404(visible_runs(request.user).only("pk"), pk=body.validated_data["run"])
        export = services.export_request(run=run, by=acting_user(request), purpose=body.validated_data["purpose"])
        return self._respond(export, status.HTTP_201_CREATED)

    def _decide(self, request: Request, body: serializers.Serializer, *, approve: bool) -> Response:
        export = self.get_object()
        body.is_valid(raise_exception=True)
        reason = body.validated_data["reason"]
        return self._respond(services.export_decide(export=export, by=acting_user(request), approve=approve,
                                                    reason=reason))  # fmt: skip

    @extend_schema(
        operation_id="sandbox_exports_approve",
        request=ApproveSerializer,
        responses={200: ExportSerializer, **STATE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Release the result: the fingerprinted CSV is written for the requester."""
        return self._decide(request, ApproveSerializer(data=request.data), approve=True)

    @extend_schema(
        operation_id="sandbox_exports_reject",
        request=RejectSerializer,
        responses={200: ExportSerializer, **STATE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Keep the result in the sandbox, with a reason for the requester."""
        return self._decide(request, RejectSerializer(data=request.data), approve=False)

    @extend_schema(
        operation_id="sandbox_exports_download",
        responses={(200, "text/csv"): OpenApiTypes.BINARY, **error_responses(401, 404, 409, 429)},
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The released result as CSV (UTF-8 with a byte-order mark), fingerprinted for the contract."""
        ip = request.META.get("REMOTE_ADDR") or None
        name, content = services.export_file(export=self.get_object(), by=request.user, ip=ip)
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, name)
        patch_cache_control(response, private=True, no_store=True)
        return response


routes = [("exports", ExportViewSet, "sandbox-export")]
urlpatterns: list = []
