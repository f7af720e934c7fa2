"""Partner API of outgoing webhooks (under /api/v1/), the same services as the web pages.

- `webhook-endpoints/`: list, create (`url`, `events`, optional `description`; `organization` for a signed-in
  person, an API key's own organisation otherwise), retrieve, `PATCH`, `DELETE`; actions `rotate-secret`, `test`
  (202, the queued `webhook.test` delivery), `disable` (optional `reason`) and `enable`. The `secret` is in the
  responses of create and rotate-secret only; people who manage the organisation can also reveal it on the web page.
- `webhook-deliveries/` (`?endpoint=`, `?status=`, `?event_type=`): the delivery log, newest first; retrieve adds
  the payload and the start of the last answer; `redeliver` (202) queues one more attempt of a finished delivery.

Reads need any role (or a read key); writes need an owner or admin (403 `permission_denied`) or a write key (a read
key: 403 `insufficient_scope`). Another organisation's endpoint or delivery is a 404. Conflicts of state are 409:
`endpoint_disabled`, `endpoint_active`, `delivery_in_progress`.
"""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from accounts.api.serializers import OrganizationSummarySerializer, RejectUnknownFieldsMixin
from accounts.api.views import API_PERMISSIONS, DETAIL_ERRORS, LIST_ERRORS, WRITE_ERRORS, acting_organization
from core.api import error_responses, ordering
from integrations.choices import SUBSCRIBABLE, DeliveryStatus, EventType
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services import deliveries, endpoints
from registry.api.serializers import EnumField
from registry.api.views import acting_user

STATE_ERRORS = error_responses(400, 401, 403, 404, 409, 429)


def event_type_field(**kwargs) -> EnumField:
    return EnumField(EventType.choices, enum_name="WebhookEventTypeEnum", **kwargs)


def subscribable_field(**kwargs) -> EnumField:
    choices = [(event.value, event.label) for event in SUBSCRIBABLE]
    return EnumField(choices, enum_name="WebhookSubscribableEventEnum", **kwargs)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer(read_only=True)
    events = serializers.ListField(child=subscribable_field(), read_only=True)
    created_by = serializers.CharField(source="created_by.email", read_only=True)
    consecutive_failures = serializers.IntegerField(
        read_only=True, help_text="Deliveries given up in a row; the endpoint is disabled when it reaches the limit."
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "organization", "url", "description", "events", "is_active", "consecutive_failures",
            "disabled_at", "disabled_reason", "created_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookEndpointSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret (`whsec_…`); keep it server-side.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    organization = serializers.IntegerField(required=False, help_text="Your organisation (not needed with a key).")
    url = serializers.CharField(max_length=500, help_text="An https:// URL that answers 2xx within seconds.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    events = serializers.ListField(child=subscribable_field(), min_length=1, max_length=len(SUBSCRIBABLE))


class EndpointUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    url = serializers.CharField(max_length=500, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    events = serializers.ListField(
        child=subscribable_field(), min_length=1, max_length=len(SUBSCRIBABLE), required=False
    )


class DisableSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.IntegerField(source="endpoint_id", read_only=True)
    event_type = event_type_field(read_only=True)
    status = EnumField(DeliveryStatus.choices, enum_name="WebhookDeliveryStatusEnum", read_only=True)
    last_error = serializers.CharField(
        read_only=True,
        help_text="Empty, or `http_status`, `timeout`, `connection_failed`, `tls_error`, `unsafe_destination`, "
        "`endpoint_disabled`, `request_failed`, `no_answer`.",
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "endpoint", "event_id", "event_type", "status", "attempts", "next_attempt_at", "last_response_code",
            "last_error", "duration_ms", "created_at", "delivered_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    payload = serializers.JSONField(read_only=True, help_text="The event as sent: `id`, `type`, `created`, `data`.")
    last_response_body = serializers.CharField(read_only=True, help_text="The first 1,000 characters of the answer.")

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "payload", "last_response_body"]
        read_only_fields = fields


class EndpointFilter(django_filters.FilterSet):
    ordering = ordering("created_at", "updated_at", "disabled_at", "url")

    class Meta:
        model = WebhookEndpoint
        fields = ["is_active"]


class DeliveryFilter(django_filters.FilterSet):
    # A plain id, not a model choice: a choice filter would check the id against every endpoint and so tell a
    # caller which ids exist elsewhere.
    endpoint = django_filters.NumberFilter(field_name="endpoint_id", help_text="Endpoint id.")
    ordering = ordering("created_at", "delivered_at", "next_attempt_at", "attempts")

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "status", "event_type"]


@extend_schema_view(
    list=extend_schema(responses={200: WebhookEndpointSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: WebhookEndpointSerializer, **DETAIL_ERRORS}),
)
class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your organisations' webhook endpoints."""

    permission_classes = API_PERMISSIONS
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.none()  # for the schema; every request goes through get_queryset
    filterset_class = EndpointFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet:
        found = WebhookEndpoint.objects.restrict(self.request.user, "view").select_related("organization", "created_by")
        return found.order_by("-created_at", "-pk")

    def _respond(self, endpoint: WebhookEndpoint, *, secret: bool = False, code: int = status.HTTP_200_OK) -> Response:
        endpoint = self.get_queryset().get(pk=endpoint.pk)
        response = Response((WebhookEndpointSecretSerializer if secret else WebhookEndpointSerializer)(endpoint).data,
                            status=code)  # fmt: skip
        if secret:
            response["Cache-Control"] = "no-store"
        return response

    @extend_schema(request=EndpointCreateSerializer, responses={201: WebhookEndpointSecretSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Register an endpoint; the response carries its signing `secret`."""
        body = EndpointCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        organization = acting_organization(request, data.pop("organization", None))
        endpoint = endpoints.endpoint_create(organization=organization, by=acting_user(request), **data)
        return self._respond(endpoint, secret=True, code=status.HTTP_201_CREATED)

    @extend_schema(request=EndpointUpdateSerializer, responses={200: WebhookEndpointSerializer, **WRITE_ERRORS})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change the URL, the description or the events."""
        endpoint = self.get_object()
        body = EndpointUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(endpoints.endpoint_update(endpoint=endpoint, by=acting_user(request),
                                                       **body.validated_data))  # fmt: skip

    @extend_schema(request=None, responses={204: None, **WRITE_ERRORS})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Delete the endpoint and its delivery log."""
        endpoints.endpoint_delete(endpoint=self.get_object(), by=acting_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret",
        request=None,
        responses={200: WebhookEndpointSecretSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """Replace the signing secret at once; the response carries the new `secret`."""
        endpoint = endpoints.endpoint_rotate_secret(endpoint=self.get_object(), by=acting_user(request))
        return self._respond(endpoint, secret=True)

    @extend_schema(
        operation_id="webhook_endpoints_test", request=None, responses={202: WebhookDeliverySerializer, **STATE_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Queue a `webhook.test` event to this endpoint (tried once)."""
        delivery = endpoints.endpoint_send_test(endpoint=self.get_object(), by=acting_user(request))
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="webhook_endpoints_disable",
        request=DisableSerializer,
        responses={200: WebhookEndpointSerializer, **STATE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, pk: str | None = None) -> Response:
        """Stop sending events to the endpoint."""
        endpoint = self.get_object()
        body = DisableSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(endpoints.endpoint_disable(endpoint=endpoint, by=acting_user(request),
                                                        reason=body.validated_data["reason"]))  # fmt: skip

    @extend_schema(
        operation_id="webhook_endpoints_enable",
        request=None,
        responses={200: WebhookEndpointSerializer, **STATE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        """Send events again (also after it was disabled for failing); the failure count starts afresh."""
        return self._respond(endpoints.endpoint_enable(endpoint=self.get_object(), by=acting_user(request)))


@extend_schema_view(
    list=extend_schema(responses={200: WebhookDeliverySerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: WebhookDeliveryDetailSerializer, **DETAIL_ERRORS}),
)
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The delivery log of your organisations' endpoints, newest first."""

    permission_classes = API_PERMISSIONS
    serializer_class = WebhookDeliverySerializer
    queryset = WebhookDelivery.objects.none()
    filterset_class = DeliveryFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet:
        found = WebhookDelivery.objects.restrict(self.request.user, "view").order_by("-created_at", "-pk")
        return found.defer("payload", "last_response_body") if self.action == "list" else found

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return WebhookDeliveryDetailSerializer if self.action == "retrieve" else WebhookDeliverySerializer

    @extend_schema(
        operation_id="webhook_deliveries_redeliver",
        request=None,
        responses={202: WebhookDeliverySerializer, **STATE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk: str | None = None) -> Response:
        """Queue one more attempt of a finished delivery: same event id, fresh timestamp and signature."""
        delivery = deliveries.delivery_redeliver(delivery=self.get_object(), by=acting_user(request))
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


router = SimpleRouter()
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
urlpatterns = router.urls
