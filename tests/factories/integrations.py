"""Webhook endpoints made through the service, and deliveries made directly (to test attempts in isolation)."""

import uuid

from integrations.choices import SUBSCRIBABLE, DeliveryStatus, EventType
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services import endpoints
from tests.factories.accounts import owner_of

# Nothing listens on the discard port: an attempt to it fails at once (connection refused).
CLOSED_URL = "http://127.0.0.1:9/hooks"


def endpoint_for(organization, *, url: str = CLOSED_URL, events=None, by=None, **fields) -> WebhookEndpoint:
    """An endpoint of `organization` subscribed to `events` (default: all of them)."""
    return endpoints.endpoint_create(
        organization=organization,
        url=url,
        events=[str(e) for e in SUBSCRIBABLE] if events is None else events,
        by=by or owner_of(organization),
        **fields,
    )


def delivery_for(endpoint: WebhookEndpoint, *, event_type: str = EventType.PRODUCT_REGISTERED, **fields):
    """A pending delivery of a made-up event (no ledger event behind it)."""
    event_id = fields.pop("event_id", uuid.uuid4())
    payload = fields.pop("payload", None) or {
        "id": str(event_id),
        "type": str(event_type),
        "created": "2026-11-20T08:00:00+00:00",
        "data": {"object": {"object": "data_product", "id": 1, "status": "registered"}},
    }
    return WebhookDelivery.objects.create(
        endpoint=endpoint, event_id=event_id, event_type=event_type, payload=payload,
        status=fields.pop("status", DeliveryStatus.PENDING), **fields,
    )  # fmt: skip
