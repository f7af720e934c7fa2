"""Sandbox API: an operator's datasets — publish, change rules and column policies, withdraw.

- `GET /sandbox/datasets/` (+ `{id}/`): the datasets of the caller's organisations (as operators), with their
  state, build progress, rules and column policies. Another organisation's dataset is a 404.
- `POST /sandbox/datasets/`: publish a registered version (`version` id) with a title, optional `policies`
  (column → access; the rest default from the profile) and rules; 201, then the Parquet is built (`status`
  `preparing` → `published`).
- `PATCH /sandbox/datasets/{id}/`: rules apply at once; changed `policies` rebuild the file.
- `POST /sandbox/datasets/{id}/withdraw/` with a `reason`.

A `read` key only reads (403 `insufficient_scope`); writes call sandbox.services.datasets.
"""

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import OrganizationSummarySerializer, RejectUnknownFieldsMixin
from core.api import ordering
from registry.api.views import acting_user
from registry.models import ProductVersion
from sandbox.api.common import (
    API_PERMISSIONS,
    DETAIL_ERRORS,
    LIST_ERRORS,
    STATE_ERRORS,
    RulesSerializer,
    SchemaColumnSerializer,
    access_field,
    dataset_status_field,
)
from sandbox.models import ColumnPolicy, SandboxDataset
from sandbox.services import datasets as services
from sandbox.services.datasets import RULE_FIELDS

# --- output -------------------------------------------------------------------------------------------------------


class ColumnPolicySerializer(serializers.ModelSerializer):
    access = access_field()

    class Meta:
        model = ColumnPolicy
        fields = ["column", "access"]
        read_only_fields = fields


class DatasetProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class DatasetSerializer(serializers.ModelSerializer):
    """A sandbox dataset as its operator sees it."""

    status = dataset_status_field()
    organization = OrganizationSummarySerializer(read_only=True, help_text="The operator.")
    product = DatasetProductSerializer(read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True, help_text="The version's number.")
    version_id = serializers.IntegerField(read_only=True)
    schema = SchemaColumnSerializer(many=True, read_only=True, help_text="Columns of the sandbox copy.")
    policies = ColumnPolicySerializer(many=True, read_only=True, help_text="Each column's access, in order.")

    class Meta:
        model = SandboxDataset
        fields = [
            "id", "title", "description", "status", "status_reason", "progress", "error_message", "organization",
            "product", "version", "version_id", *RULE_FIELDS, "row_count", "sha256", "schema", "policies",
            "published_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


# --- input --------------------------------------------------------------------------------------------------------


def _policies_field() -> serializers.DictField:
    return serializers.DictField(
        child=access_field(), required=False, help_text="Column name → access; columns left out keep theirs."
    )


class DatasetUpdateSerializer(RejectUnknownFieldsMixin, RulesSerializer):
    """Rules apply to the next query; changed policies rebuild the sandbox copy."""

    policies = _policies_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in RULE_FIELDS:
            self.fields[name].required = False


class DatasetCreateSerializer(DatasetUpdateSerializer):
    """Publish a registered version of one of your products; rules not given take their defaults."""

    version = serializers.IntegerField(help_text="The registered version's id.")
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, default="")


class WithdrawSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Recorded in the ledger; buyers see it.")


class DatasetFilter(django_filters.FilterSet):
    ordering = ordering("created_at", "updated_at", "published_at", "title", "row_count")

    class Meta:
        model = SandboxDataset
        fields = ["status"]


# --- the viewset --------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: DatasetSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: DatasetSerializer, **DETAIL_ERRORS}),
)
class DatasetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your organisations' sandbox datasets, as their operator."""

    permission_classes = API_PERMISSIONS
    serializer_class = DatasetSerializer
    queryset = SandboxDataset.objects.none()  # for the schema; every request goes through get_queryset
    filterset_class = DatasetFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet:
        policies = Prefetch("policies", queryset=ColumnPolicy.objects.order_by("position"))
        datasets = SandboxDataset.objects.restrict(self.request.user, "view")
        return datasets.select_related("organization", "product", "version").prefetch_related(policies)

    def _respond(self, dataset: SandboxDataset, code: int = status.HTTP_200_OK) -> Response:
        return Response(DatasetSerializer(self.get_queryset().get(pk=dataset.pk)).data, status=code)

    @extend_schema(request=DatasetCreateSerializer, responses={201: DatasetSerializer, **STATE_ERRORS})
    def create(self, request: Request) -> Response:
        """Publish a registered version in the sandbox; its Parquet copy is built next."""
        body = DatasetCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        version = get_object_or_404(ProductVersion.objects.restrict(request.user, "view"), pk=data.pop("version"))
        dataset = services.dataset_publish(version=version, by=acting_user(request), **data)
        return self._respond(dataset, status.HTTP_201_CREATED)

    @extend_schema(request=DatasetUpdateSerializer, responses={200: DatasetSerializer, **STATE_ERRORS})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change the rules (at once) and column policies (the copy is rebuilt)."""
        dataset = self.get_object()
        body = DatasetUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dataset = services.dataset_update(dataset=dataset, by=acting_user(request), **body.validated_data)
        return self._respond(dataset)

    @extend_schema(
        operation_id="sandbox_datasets_withdraw",
        request=WithdrawSerializer,
        responses={200: DatasetSerializer, **STATE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Take the dataset out of the sandbox; past runs and exports are kept."""
        dataset = self.get_object()
        body = WithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data["reason"]
        return self._respond(services.dataset_withdraw(dataset=dataset, by=acting_user(request), reason=reason))


routes = [("datasets", DatasetViewSet, "sandbox-dataset")]
urlpatterns: list = []
