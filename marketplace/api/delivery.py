"""Partner API of the marketplace: delivery — a buyer's entitlements, their usage, download links and files.

- `GET /entitlements/` (+ `{id}/`): what the caller's organisations hold as buyers, running or ended; `kind` says
  how it is delivered (`download`, `api`, `sandbox`: a sandbox entitlement has no download and no rows URL).
  Another organisation's entitlement is a 404. Filters: `?kind=`, `?status=`.
- `GET /entitlements/{id}/usage/`: this month's calls against the free quota, the billed amount, and every month.
- `POST /entitlements/{id}/download-link/`: a signed link valid MARKETPLACE_DOWNLOAD_LINK_SECONDS. A `read` key may
  ask for one (it reads data, it changes nothing). `url` is for API keys, `web_url` for a signed-in browser.
- `GET /downloads/{token}/`: the fingerprinted file, streamed (API key or session of the buyer); 410 `link_expired`,
  403 `entitlement_ended`, 404 `link_invalid` or another organisation's link.
- The data API itself (`GET /data/{listing_id}/rows`) is in marketplace.api.data.
"""

import django_filters
from django.http import StreamingHttpResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.permissions import HasApiKeyScope
from accounts.api.serializers import OrganizationSummarySerializer
from core.api import ApiErrorSerializer, error_responses, ordering
from marketplace.api import data
from marketplace.api.contracts import ContractListingSerializer
from marketplace.choices import EntitlementKind, EntitlementStatus
from marketplace.models import Entitlement
from marketplace.services import downloads, metering
from marketplace.web.delivery import streaming_response
from registry.api.serializers import EnumField

API_PERMISSIONS = [IsAuthenticated, HasApiKeyScope]
GONE = OpenApiResponse(ApiErrorSerializer, description="The link has expired (`link_expired`): ask for a new one.")
ACCESS = {
    EntitlementKind.DOWNLOAD: _("Download the files: ask for a download link."),
    EntitlementKind.API: _("Call the data API at rows_url with an API key."),
    EntitlementKind.SANDBOX: _("Compute on the data inside the sandbox; no download, no data API."),
}


# --- serializers ---------------------------------------------------------------------------------------------------


class EntitlementSerializer(serializers.ModelSerializer):
    kind = EnumField(EntitlementKind.choices, enum_name="EntitlementKindEnum", read_only=True)
    status = EnumField(EntitlementStatus.choices, enum_name="EntitlementStatusEnum", read_only=True)
    running = serializers.SerializerMethodField(help_text="Active and within its dates: it delivers now.")
    access = serializers.SerializerMethodField(help_text="How this entitlement is used.")
    contract = serializers.CharField(source="contract.number", read_only=True)
    listing = ContractListingSerializer(source="contract.listing", read_only=True)
    merchant = OrganizationSummarySerializer(source="contract.merchant", read_only=True)
    rows_url = serializers.SerializerMethodField(help_text="The data API of a metered entitlement, else null.")

    class Meta:
        model = Entitlement
        fields = [
            "id", "kind", "status", "running", "access", "contract", "listing", "merchant", "starts_at", "ends_at",
            "ended_at", "ended_reason", "free_calls", "price_per_call", "rate_limit_per_minute", "rows_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_running(self, entitlement: Entitlement) -> bool:
        return downloads.is_running(entitlement)

    def get_access(self, entitlement: Entitlement) -> str:
        return str(ACCESS[entitlement.kind])

    def get_rows_url(self, entitlement: Entitlement) -> str | None:
        if entitlement.kind != EntitlementKind.API:
            return None
        url = reverse("api:data-rows", args=[entitlement.contract.listing_id])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class PeriodUsageSerializer(serializers.Serializer):
    period = serializers.DateField(help_text="The first day of the month.")
    calls = serializers.IntegerField()
    billable_calls = serializers.IntegerField()
    rows = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=4)


class UsageSerializer(serializers.Serializer):
    current = PeriodUsageSerializer(help_text="This month so far.")
    free_calls = serializers.IntegerField(help_text="Free calls per month.")
    free_left = serializers.IntegerField(help_text="Free calls left this month.")
    months = PeriodUsageSerializer(many=True, help_text="Every month with calls, newest first.")


class DownloadLinkSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Fetch with your API key.")
    web_url = serializers.URLField(help_text="Open in a browser signed in as a member of the buyer.")
    expires_at = serializers.DateTimeField()
    version = serializers.IntegerField(help_text="The number of the version the link delivers.")
    filename = serializers.CharField()


# --- views ---------------------------------------------------------------------------------------------------------


class EntitlementFilter(django_filters.FilterSet):
    ordering = ordering("starts_at", "ends_at", "ended_at")

    class Meta:
        model = Entitlement
        fields = ["kind", "status"]


@extend_schema_view(
    list=extend_schema(responses={200: EntitlementSerializer(many=True), **error_responses(400, 401, 404, 429)}),
    retrieve=extend_schema(responses={200: EntitlementSerializer, **error_responses(401, 404, 429)}),
)
class EntitlementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """What your organisations hold as buyers: downloads, metered API access, sandbox access."""

    permission_classes = API_PERMISSIONS
    serializer_class = EntitlementSerializer
    queryset = Entitlement.objects.none()  # for the schema; every request goes through get_queryset
    filterset_class = EntitlementFilter

    def get_queryset(self):
        related = ("contract__listing", "contract__merchant")
        return downloads.buyer_entitlements(self.request.user).select_related(*related).order_by("-starts_at", "-pk")

    @extend_schema(
        operation_id="entitlements_usage", responses={200: UsageSerializer, **error_responses(401, 404, 429)}
    )
    @action(detail=True, methods=["get"])
    def usage(self, request: Request, pk: str | None = None) -> Response:
        """Calls this month against the free quota, the billed amount, and every month's totals."""
        summary = metering.usage_summary(self.get_object())
        return Response(UsageSerializer(summary).data)

    @extend_schema(
        operation_id="entitlements_download_link",
        request=None,
        responses={201: DownloadLinkSerializer, **error_responses(401, 403, 404, 429)},
    )
    @action(detail=True, methods=["post"], url_path="download-link", permission_classes=[IsAuthenticated])
    def download_link(self, request: Request, pk: str | None = None) -> Response:
        """A signed link to the fingerprinted file, valid for MARKETPLACE_DOWNLOAD_LINK_SECONDS."""
        entitlement = self.get_object()
        token = downloads.download_link(entitlement=entitlement, by=request.user)
        version = downloads.deliverable_version(entitlement)
        body = {
            "url": request.build_absolute_uri(reverse("api:download-file", args=[token])),
            "web_url": request.build_absolute_uri(reverse("marketplace:download", args=[token])),
            "expires_at": downloads.link_expires_at(),
            "version": version.number,
            "filename": downloads.delivered_name(version),
        }
        return Response(DownloadLinkSerializer(body).data, status=201)


class DownloadFileView(APIView):
    """The fingerprinted file a download link delivers, streamed; every download is logged."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="downloads_file",
        responses={
            # The file as the merchant uploaded it: CSV, TSV, JSON Lines or Parquet.
            **{(200, media): OpenApiTypes.BINARY for media in downloads.CONTENT_TYPES.values()},
            **error_responses(401, 403, 404, 429),
            410: GONE,
        },
    )
    def get(self, request: Request, token: str) -> StreamingHttpResponse:
        delivery = downloads.download_open(token=token, user=request.user, ip=request.META.get("REMOTE_ADDR") or None)
        return streaming_response(delivery)


routes = [("entitlements", EntitlementViewSet, "entitlement")]
urlpatterns = [
    *data.urlpatterns,
    path("downloads/<str:token>/", DownloadFileView.as_view(), name="download-file"),
]
