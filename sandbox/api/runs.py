"""Sandbox API: query runs — submit SQL, follow the run, read what disclosure control let through.

- `POST /sandbox/runs/` with `dataset` and `sql`: 202 with the run (`queued`, or already finished when the worker
  was quick). 429 `quota_exceeded` when the contract's daily quota is used up; 400 `sql_required` /
  `sql_too_long`; 409 `dataset_preparing`; 404 without a running entitlement.
- `GET /sandbox/runs/` (`?dataset=`, `?status=`): runs of the caller's organisations, and runs on datasets they
  operate, newest first, without their rows.
- `GET /sandbox/runs/{id}/`: the run with its columns and rows, the disclosure report (`notes`), what was
  suppressed or cut, and the refusal code and message of a refused query.
"""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import OrganizationSummarySerializer, RejectUnknownFieldsMixin
from core.api import error_responses, ordering
from registry.api.views import acting_user
from sandbox.api.common import (
    API_PERMISSIONS,
    DETAIL_ERRORS,
    LIST_ERRORS,
    QUOTA_EXCEEDED,
    dataset_filter,
    run_status_field,
)
from sandbox.models import QueryRun
from sandbox.services import queries
from sandbox.services.common import MAX_SQL_CHARS
from sandbox.web.common import JsonArrayLength, note_lines, visible_runs, workspace_or_404

# --- output -------------------------------------------------------------------------------------------------------


class RunSerializer(serializers.ModelSerializer):
    """A query run without its rows."""

    status = run_status_field()
    organization = OrganizationSummarySerializer(read_only=True, help_text="The buyer that ran it.")
    dataset = serializers.IntegerField(source="dataset_id", read_only=True)
    row_count = serializers.IntegerField(
        source="row_total", read_only=True, allow_null=True, help_text="Rows the result kept."
    )
    refusal_code = serializers.CharField(read_only=True, help_text="Why a refused query was refused, e.g. "
                                         "`hidden_column`, `not_select`; blank otherwise.")  # fmt: skip

    class Meta:
        model = QueryRun
        fields = [
            "id", "dataset", "organization", "sql", "status", "refusal_code", "message", "row_count",
            "suppressed_rows", "truncated", "aggregated", "scanned_rows", "duration_ms", "created_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class NoteSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Which control applied: `small_groups`, `differencing`, `rounded` or `row_cap`."
    )
    text = serializers.CharField(help_text="For people.")


class RunDetailSerializer(RunSerializer):
    """A run with the result that passed disclosure control and the disclosure report."""

    columns = serializers.ListField(child=serializers.CharField(), read_only=True)
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.JSONField(allow_null=True)), read_only=True
    )
    notes = serializers.SerializerMethodField(help_text="What disclosure control suppressed, rounded or cut, and why.")

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "columns", "rows", "notes"]
        read_only_fields = fields

    @extend_schema_field(NoteSerializer(many=True))
    def get_notes(self, run: QueryRun) -> list[dict]:
        return note_lines(run)


# --- input --------------------------------------------------------------------------------------------------------


class RunCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    dataset = serializers.IntegerField(help_text="The dataset's id (as in /sandbox/workspaces/).")
    sql = serializers.CharField(
        max_length=MAX_SQL_CHARS, trim_whitespace=False, help_text="One SELECT statement on the table `data`."
    )


# --- the viewset --------------------------------------------------------------------------------------------------


def _runs(user) -> QuerySet:
    return visible_runs(user).select_related("organization").annotate(row_total=JsonArrayLength("rows"))


class RunFilter(django_filters.FilterSet):
    dataset = dataset_filter()
    ordering = ordering("created_at", "finished_at", "duration_ms", "scanned_rows")

    class Meta:
        model = QueryRun
        fields = ["dataset", "status"]


@extend_schema_view(
    list=extend_schema(responses={200: RunSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: RunDetailSerializer, **DETAIL_ERRORS}),
)
class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Queries run in the sandbox: yours, and those on the datasets you operate."""

    permission_classes = API_PERMISSIONS
    serializer_class = RunSerializer
    queryset = QueryRun.objects.none()  # for the schema; every request goes through get_queryset
    filterset_class = RunFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet:
        runs = _runs(self.request.user)
        if self.action == "list":
            runs = runs.defer("rows", "columns", "notes")
        return runs.order_by("-created_at", "-pk")

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    @extend_schema(
        request=RunCreateSerializer,
        responses={202: RunDetailSerializer, **error_responses(400, 401, 403, 404, 409), 429: QUOTA_EXCEEDED},
    )
    def create(self, request: Request) -> Response:
        """Submit a query; it runs on a sandbox worker (poll the run until it is no longer queued or running)."""
        body = RunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workspace = workspace_or_404(request, body.validated_data["dataset"])
        run = queries.query_submit(dataset=workspace.dataset, by=acting_user(request), sql=body.validated_data["sql"])
        run = _runs(request.user).get(pk=run.pk)  # as it is now: an eager or quick worker may have finished it
        return Response(RunDetailSerializer(run).data, status=status.HTTP_202_ACCEPTED)


routes = [("runs", RunViewSet, "sandbox-run")]
urlpatterns: list = []
