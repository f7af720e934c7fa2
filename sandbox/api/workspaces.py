"""Sandbox API: a buyer's workspaces — the datasets they may query, with what to write SQL against.

- `GET /sandbox/workspaces/`: published datasets the caller's organisations hold a running sandbox entitlement for.
- `GET /sandbox/workspaces/{id}/` (the dataset's id): the columns a query may name with their access, the masked
  sample, the disclosure rules, the contract it runs under and today's quota use. Without an entitlement: 404.

Queries are submitted to `/sandbox/runs/`, saved in `/sandbox/saved-queries/`.
"""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import OrganizationSummarySerializer
from core.api import ordering
from sandbox.api.common import API_PERMISSIONS, DETAIL_ERRORS, LIST_ERRORS, access_field, dataset_status_field
from sandbox.models import SandboxDataset
from sandbox.services import datasets, workspaces
from sandbox.web.common import workspace_or_404
from sandbox.web.workspaces import schema_rows

# --- output -------------------------------------------------------------------------------------------------------


class WorkspaceSerializer(serializers.ModelSerializer):
    """A dataset the caller may query."""

    status = dataset_status_field()
    operator = OrganizationSummarySerializer(source="organization", read_only=True)

    class Meta:
        model = SandboxDataset
        fields = ["id", "title", "description", "status", "operator", "row_count", "published_at",
                  "min_group_size", "row_cap", "count_rounding"]  # fmt: skip
        read_only_fields = fields


class WorkspaceColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    access = access_field(help_text="`aggregate_only` columns appear in aggregates only, never row by row.")


class WorkspaceSampleSerializer(serializers.Serializer):
    """A few rows as buyers may see them: masked columns masked, aggregate-only values null."""

    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.JSONField(allow_null=True)))


class QuotaSerializer(serializers.Serializer):
    """Today's use of the contract's daily quota (every query submitted counts, refused ones too)."""

    queries = serializers.IntegerField()
    query_quota = serializers.IntegerField()
    queries_left = serializers.IntegerField()
    scanned_rows = serializers.IntegerField()
    scanned_rows_quota = serializers.IntegerField()
    scanned_rows_left = serializers.IntegerField()
    exhausted = serializers.BooleanField()


class WorkspaceDetailSerializer(WorkspaceSerializer):
    """A dataset with the schema, the masked sample, the contract and today's quota use."""

    contract = serializers.CharField(help_text="The number of the contract the queries run under.")
    columns = WorkspaceColumnSerializer(many=True, help_text="Hidden columns are not listed.")
    masked_sample = WorkspaceSampleSerializer()
    usage = QuotaSerializer()

    class Meta(WorkspaceSerializer.Meta):
        fields = [*WorkspaceSerializer.Meta.fields, "contract", "columns", "masked_sample", "usage"]
        read_only_fields = fields


def workspace_detail(workspace: workspaces.Workspace) -> SandboxDataset:
    """The dataset with what the detail serializer adds attached: contract, columns, sample, quota use."""
    dataset = workspace.dataset
    columns, rows = datasets.masked_sample(dataset)
    dataset.contract = workspace.entitlement.contract.number
    dataset.columns = schema_rows(dataset)
    dataset.masked_sample = {"columns": columns, "rows": rows}
    dataset.usage = workspaces.usage(workspace.entitlement, dataset=dataset)
    return dataset


# --- the viewset --------------------------------------------------------------------------------------------------


class WorkspaceFilter(django_filters.FilterSet):
    ordering = ordering("title", "published_at", "row_count")

    class Meta:
        model = SandboxDataset
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(responses={200: WorkspaceSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: WorkspaceDetailSerializer, **DETAIL_ERRORS}),
)
class WorkspaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Datasets your organisations may query in the sandbox."""

    permission_classes = API_PERMISSIONS
    serializer_class = WorkspaceSerializer
    queryset = SandboxDataset.objects.none()  # for the schema; every request goes through get_queryset
    filterset_class = WorkspaceFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet:
        found = workspaces.buyer_datasets(self.request.user).select_related("organization")
        return found.defer("schema").order_by("title", "pk")

    def list(self, request: Request, *args, **kwargs) -> Response:
        """List your workspaces: the datasets your organisations' sandbox contracts let you query."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """The schema, masked sample, rules, contract and today's quota use of one dataset."""
        workspace = workspace_or_404(request, pk)
        return Response(WorkspaceDetailSerializer(workspace_detail(workspace)).data)


routes = [("workspaces", WorkspaceViewSet, "sandbox-workspace")]
urlpatterns: list = []
