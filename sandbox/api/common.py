"""What the sandbox API modules share: permissions, error documentation, small output serializers."""

import django_filters
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated

from accounts.api.permissions import HasApiKeyScope
from core.api import ApiErrorSerializer, error_responses
from registry.api.serializers import EnumField
from sandbox.choices import ColumnAccess, DatasetStatus, ExportStatus, QueryStatus

API_PERMISSIONS = [IsAuthenticated, HasApiKeyScope]
# A list answers 400 for a filter value it cannot use and 404 for a page past the end (`?page=`).
LIST_ERRORS = error_responses(400, 401, 404, 429)
DETAIL_ERRORS = error_responses(401, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 429)
STATE_ERRORS = error_responses(400, 401, 403, 404, 409, 429)
QUOTA_EXCEEDED = OpenApiResponse(
    ApiErrorSerializer,
    description="The contract's daily quota is used up (`quota_exceeded`), or too many requests for this API key "
    "(`throttled`).",
)


def dataset_filter() -> django_filters.NumberFilter:
    """A list filter by dataset id; a model choice filter would check the id against every dataset and so tell a
    caller which ids exist elsewhere."""
    return django_filters.NumberFilter(field_name="dataset_id", help_text="Dataset id.")


def access_field(**kwargs) -> EnumField:
    return EnumField(ColumnAccess.choices, enum_name="ColumnAccessEnum", **kwargs)


def dataset_status_field(**kwargs) -> EnumField:
    return EnumField(DatasetStatus.choices, enum_name="SandboxDatasetStatusEnum", read_only=True, **kwargs)


def run_status_field(**kwargs) -> EnumField:
    return EnumField(QueryStatus.choices, enum_name="QueryRunStatusEnum", read_only=True, **kwargs)


def export_status_field(**kwargs) -> EnumField:
    return EnumField(ExportStatus.choices, enum_name="ExportStatusEnum", read_only=True, **kwargs)


class SchemaColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()


class RulesSerializer(serializers.Serializer):
    """The disclosure rules every result passes, and the per-contract daily quota."""

    min_group_size = serializers.IntegerField(min_value=1, help_text="Rows of smaller groups are suppressed.")
    row_cap = serializers.IntegerField(min_value=1, help_text="Most rows a result keeps.")
    count_rounding = serializers.IntegerField(min_value=1, help_text="Counts are rounded to a multiple (1: exact).")
    daily_query_quota = serializers.IntegerField(min_value=1, help_text="Queries per contract per day.")
    daily_scanned_rows_quota = serializers.IntegerField(min_value=1, help_text="Rows scanned per contract per day.")


class DatasetSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
