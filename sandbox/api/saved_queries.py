"""Sandbox API: saved queries — a buyer organisation's named SQL per dataset.

- `GET /sandbox/saved-queries/` (`?dataset=`), `GET .../{id}/`: your organisations' saved queries.
- `POST /sandbox/saved-queries/` with `dataset`, `title`, `sql`: 201 (a running entitlement on the dataset needed).
- `PATCH .../{id}/` with `title` and/or `sql`; `DELETE .../{id}/`: 204.

Another organisation's saved query is a 404; writes call sandbox.services.workspaces.
"""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import RejectUnknownFieldsMixin
from core.api import error_responses, ordering
from registry.api.views import acting_user
from sandbox.api.common import API_PERMISSIONS, DETAIL_ERRORS, LIST_ERRORS, WRITE_ERRORS, dataset_filter
from sandbox.models import SavedQuery
from sandbox.services import workspaces
from sandbox.services.common import MAX_SQL_CHARS
from sandbox.web.common import workspace_or_404


class SavedQuerySerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="dataset_id", read_only=True)

    class Meta:
        model = SavedQuery
        fields = ["id", "dataset", "title", "sql", "created_at", "updated_at"]
        read_only_fields = fields


class SavedQueryUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200)
    sql = serializers.CharField(max_length=MAX_SQL_CHARS, trim_whitespace=False)


class SavedQueryCreateSerializer(SavedQueryUpdateSerializer):
    dataset = serializers.IntegerField(help_text="The dataset's id (as in /sandbox/workspaces/).")


class SavedQueryFilter(django_filters.FilterSet):
    dataset = dataset_filter()
    ordering = ordering("title", "created_at", "updated_at")

    class Meta:
        model = SavedQuery
        fields = ["dataset"]


@extend_schema_view(
    list=extend_schema(responses={200: SavedQuerySerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: SavedQuerySerializer, **DETAIL_ERRORS}),
)
class SavedQueryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Your organisations' saved queries."""

    permission_classes = API_PERMISSIONS
    serializer_class = SavedQuerySerializer
    queryset = SavedQuery.objects.none()  # for the schema; every request goes through get_queryset
    filterset_class = SavedQueryFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet:
        return SavedQuery.objects.restrict(self.request.user, "view").order_by("title", "pk")

    @extend_schema(request=SavedQueryCreateSerializer, responses={201: SavedQuerySerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Save a named query in a workspace."""
        body = SavedQueryCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        workspace = workspace_or_404(request, data.pop("dataset"))
        saved = workspaces.saved_query_save(dataset=workspace.dataset, by=acting_user(request), **data)
        return Response(SavedQuerySerializer(saved).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SavedQueryUpdateSerializer, responses={200: SavedQuerySerializer, **WRITE_ERRORS})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Rename a saved query or change its SQL."""
        saved = self.get_object()
        body = SavedQueryUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = {"title": saved.title, "sql": saved.sql, **body.validated_data}
        saved = workspaces.saved_query_save(dataset=saved.dataset, by=acting_user(request), saved=saved, **data)
        return Response(SavedQuerySerializer(saved).data)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404, 429)})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Delete a saved query."""
        workspaces.saved_query_delete(saved=self.get_object(), by=acting_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


routes = [("saved-queries", SavedQueryViewSet, "sandbox-saved-query")]
urlpatterns: list = []
