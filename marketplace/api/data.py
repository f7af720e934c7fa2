"""The metered data API: `GET /api/v1/data/{listing_id}/rows`, a page of the listing's data for its API-plan buyers.

- API keys only. A signed-in browser session is refused (403 `api_key_required`) by design: every call is metered
  and billed to a key, which partner systems hold, can rotate and can revoke; people read data through downloads.
  No credentials at all: 401.
- Who gets rows: members of a buyer with a running metered-API entitlement on the listing. Another listing the
  caller may see but holds no API contract on: 403 `no_entitlement`; an ended one: 403 `entitlement_ended`; a
  listing the caller cannot see: 404.
- Filters: `?<column>=<value>` on the registered version's columns (repeat a parameter for any of several values);
  an unknown column is 400 `unknown_column` naming the columns. `limit` (1-1000, default 100) and `offset`;
  `next` is the URL of the following page, or null. Rows come in file order, every value as text.
- Every successful call is recorded (marketplace.services.metering): free calls first, then billed per call. Over
  the plan's rate limit or the free quota of a free plan: 429 `rate_limited` / `quota_exceeded` with a message and
  Retry-After. `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-Free-Calls-Remaining` report what is left.
"""

from typing import Any

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ApiErrorSerializer, error_responses
from marketplace.services import metering


class ApiKeyOnly(BasePermission):
    """The data API is metered per API key: no browser sessions."""

    message = _("The data API is metered per API key: call it with `Authorization: Api-Key <key>`.")
    code = "api_key_required"

    def has_permission(self, request, view) -> bool:
        return getattr(request.user, "api_key", None) is not None


class RowsQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=metering.MAX_PAGE, default=metering.DEFAULT_PAGE)
    offset = serializers.IntegerField(min_value=0, max_value=10**12, default=0)


class CallUsageSerializer(serializers.Serializer):
    billable = serializers.BooleanField(help_text="Whether this call is billed (the free calls of the month are used).")
    amount = serializers.DecimalField(max_digits=18, decimal_places=4, help_text="What this call costs (CNY).")
    free_calls_left = serializers.IntegerField(help_text="Free calls left this month after this one.")
    rate_limit_remaining = serializers.IntegerField(allow_null=True, help_text="Calls left in the current minute.")


class RowsPageSerializer(serializers.Serializer):
    listing = serializers.IntegerField()
    version = serializers.IntegerField(help_text="The number of the registered version the rows come from.")
    columns = serializers.ListField(child=serializers.CharField())
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    next = serializers.URLField(allow_null=True, help_text="The next page, or null after the last row.")
    rows = serializers.ListField(child=serializers.DictField(child=serializers.CharField(allow_null=True)))
    usage = CallUsageSerializer()


TOO_MANY = OpenApiResponse(
    ApiErrorSerializer,
    description="`rate_limited` (this plan's calls per minute) or `quota_exceeded` (the free calls of a free plan "
    "are used up this month), with Retry-After in seconds; or the key's own throttle (`throttled`).",
)
COLUMN_FILTERS = OpenApiParameter(
    "filters",
    type={"type": "object", "additionalProperties": {"type": "string"}},
    location=OpenApiParameter.QUERY,
    style="form",
    explode=True,
    description="`<column>=<value>`: rows whose column equals the value (as text); repeat for any of several values.",
)


class DataRowsView(APIView):
    """A page of the listing's data, for holders of a running metered-API contract; every call is recorded."""

    permission_classes = [IsAuthenticated, ApiKeyOnly]

    @extend_schema(
        operation_id="data_rows",
        parameters=[RowsQuerySerializer, COLUMN_FILTERS],
        responses={200: RowsPageSerializer, **error_responses(400, 401, 403, 404), 429: TOO_MANY},
    )
    def get(self, request: Request, listing_id: int) -> Response:
        paging = RowsQuerySerializer(data=request.query_params)
        paging.is_valid(raise_exception=True)
        limit, offset = paging.validated_data["limit"], paging.validated_data["offset"]
        filters = {
            name: request.query_params.getlist(name)
            for name in request.query_params
            if name not in metering.RESERVED_PARAMETERS
        }
        try:
            page = metering.data_page(
                user=request.user, listing_id=listing_id, filters=filters, limit=limit, offset=offset
            )
        except metering.UsageRefused as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=str(exc.message), code=exc.code) from exc
        return Response(self._body(request, listing_id, page, limit, offset), headers=self._headers(page.meter))

    def _body(self, request: Request, listing_id: int, page: metering.RowsPage, limit: int, offset: int) -> dict:
        next_url = None
        if page.has_more:
            query = request.query_params.copy()
            query["offset"] = offset + limit
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        meter = page.meter
        usage = {
            "billable": meter.billable,
            "amount": meter.record.amount,
            "free_calls_left": meter.free_left,
            "rate_limit_remaining": meter.rate_left,
        }
        return {
            "listing": listing_id, "version": page.version.number, "columns": page.columns, "limit": limit,
            "offset": offset, "next": next_url, "rows": page.rows, "usage": CallUsageSerializer(usage).data,
        }  # fmt: skip

    def _headers(self, meter: metering.Meter) -> dict[str, Any]:
        headers = {"X-Free-Calls-Remaining": str(meter.free_left), "Cache-Control": "private, no-store"}
        if meter.rate_left is not None:
            headers["X-RateLimit-Limit"] = str(meter.entitlement.rate_limit_per_minute)
            headers["X-RateLimit-Remaining"] = str(meter.rate_left)
        return headers


urlpatterns = [path("data/<int:listing_id>/rows", DataRowsView.as_view(), name="data-rows")]
