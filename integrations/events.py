"""Which audit events partners hear about, who hears, and what they are told.

Every state change lands in the audit ledger (audit.services); integrations listens to `audit.signals.
events_recorded` and maps the actions below (`<model_name>.<new state>`, see core.state) onto partner event types.
The object is loaded again when the event is sent out, to find the organisations concerned (a contract's buyer
and merchant) and to summarise it: ids, numbers, states and amounts, never a data value.

So that state changes nobody subscribed to cost nothing (the Stripe webhook's path records two per payment), each
process remembers which event types some active endpoint wants, for SUBSCRIPTIONS_TTL seconds; the endpoint
services forget it at once when they change one, so other processes see a new subscription within that time.
"""

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models

from audit.models import AuditEvent
from integrations.choices import EventType

# Event ids are derived from the ledger event, so sending an event out twice cannot make two deliveries of it.
EVENT_NAMESPACE = uuid.UUID("5b0d6a44-5e1c-4a0e-9d0f-3c8b7f0e2a11")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _money(value: Any) -> str | None:
    return str(value) if value is not None else None


def _product(product: Any) -> dict:
    certificate = product.certificates.filter(superseded_at__isnull=True).order_by("-issued_at").first()
    return {
        "object": "data_product",
        "id": product.pk,
        "title": product.title,
        "sector": product.sector,
        "organization": product.organization_id,
        "certificate": certificate.number if certificate else None,
        "registered_at": _iso(product.registered_at),
    }


def _listing(listing: Any) -> dict:
    return {
        "object": "listing",
        "id": listing.pk,
        "title": listing.title,
        "product": listing.product_id,
        "organization": listing.organization_id,
        "published_at": _iso(listing.published_at),
    }


def _contract(contract: Any) -> dict:
    return {
        "object": "contract",
        "id": contract.pk,
        "number": contract.number,
        "listing": contract.listing_id,
        "plan": contract.plan_id,
        "buyer": contract.buyer_id,
        "merchant": contract.merchant_id,
        "price": _money(contract.price),
        "currency": contract.currency,
        "starts_at": _iso(contract.starts_at),
        "ends_at": _iso(contract.ends_at),
    }


def _payment(payment: Any) -> dict:
    return {
        "object": "payment",
        "id": payment.pk,
        "purpose": payment.purpose,
        "amount": _money(payment.amount),
        "refunded_amount": _money(payment.refunded_amount),
        "currency": payment.currency,
        "contract": {"id": payment.contract_id, "number": payment.contract.number},
        "buyer": payment.contract.buyer_id,
        "merchant": payment.contract.merchant_id,
    }


def _valuation(valuation: Any) -> dict:
    return {
        "object": "valuation",
        "id": valuation.pk,
        "product": valuation.product_id,
        "organization": valuation.organization_id,
        "method": valuation.method,
        "value": _money(valuation.value),
        "low": _money(valuation.low),
        "high": _money(valuation.high),
        "currency": "CNY",
        "as_of": _iso(valuation.as_of),
    }


def _export(export: Any) -> dict:
    return {
        "object": "export_request",
        "id": export.pk,
        "dataset": export.dataset_id,
        "run": export.run_id,
        "organization": export.organization_id,
        "sha256": export.sha256,
        "decided_at": _iso(export.decided_at),
    }


@dataclass(frozen=True)
class Source:
    """How one audit action becomes a partner event: the model, who hears of it, and its summary."""

    event_type: str
    model: str  # app_label.model_name, as AuditEvent.object_type
    recipients: Callable[[Any], set[int]]
    summary: Callable[[Any], dict]
    related: tuple[str, ...] = ()

    def load(self, object_id: str) -> models.Model | None:
        found = apps.get_model(self.model)._default_manager.filter(pk=object_id)
        return (found.select_related(*self.related) if self.related else found).first()


def _owner(obj: Any) -> set[int]:
    return {obj.organization_id}


def _parties(contract: Any) -> set[int]:
    return {contract.buyer_id, contract.merchant_id}


def _source(event_type: str, model: str, recipients: Callable, summary: Callable, *related: str) -> Source:
    return Source(event_type, model, recipients, summary, related)


_PRODUCT = ("registry.dataproduct", _owner, _product)
_CONTRACT = ("marketplace.contract", _parties, _contract)
_PAYMENT = ("marketplace.payment", lambda payment: _parties(payment.contract), _payment, "contract")

SOURCES: dict[str, Source] = {
    "dataproduct.registered": _source(EventType.PRODUCT_REGISTERED, *_PRODUCT),
    "dataproduct.rejected": _source(EventType.PRODUCT_REJECTED, *_PRODUCT),
    "listing.published": _source(EventType.LISTING_PUBLISHED, "marketplace.listing", _owner, _listing),
    "contract.requested": _source(EventType.CONTRACT_REQUESTED, *_CONTRACT),
    "contract.active": _source(EventType.CONTRACT_ACTIVE, *_CONTRACT),
    "contract.expired": _source(EventType.CONTRACT_EXPIRED, *_CONTRACT),
    "payment.succeeded": _source(EventType.PAYMENT_SUCCEEDED, *_PAYMENT),
    "payment.refunded": _source(EventType.PAYMENT_REFUNDED, *_PAYMENT),
    "payment.partially_refunded": _source(EventType.PAYMENT_REFUNDED, *_PAYMENT),
    # The appraiser that performed it and the product's owner (the same organisation for a self-valuation).
    "valuation.done": _source(
        EventType.VALUATION_DONE,
        "valuation.valuation",
        lambda valuation: {valuation.organization_id, valuation.product.organization_id},
        _valuation,
        "product",
    ),
    # The requester's organisation (the operator decided it, and knows).
    "exportrequest.approved": _source(EventType.EXPORT_APPROVED, "sandbox.exportrequest", _owner, _export),
}


def source_of(event: AuditEvent) -> Source | None:
    """The partner event an audit event becomes, or None (most actions are not sent to partners)."""
    source = SOURCES.get(event.action)
    return source if source is not None and source.model == event.object_type else None


def event_id(event: AuditEvent) -> uuid.UUID:
    return uuid.uuid5(EVENT_NAMESPACE, f"audit-event:{event.pk}")


def status_of(event: AuditEvent) -> str:
    """The object's state as of the event (it may have moved on by the time the event is sent out)."""
    return str(event.data.get("to") or event.action.rsplit(".", 1)[-1])


def envelope(event: AuditEvent, source: Source, obj: models.Model) -> dict:
    """The JSON body partners receive: `id`, `type`, `created` and `data` with the object's summary."""
    data = event.data or {}
    summary = {**source.summary(obj), "status": status_of(event)}
    body: dict[str, Any] = {"object": summary, "previous_status": data.get("from"), "reason": data.get("reason", "")}
    if source.event_type == EventType.PAYMENT_REFUNDED and "amount" in data:
        body["refund_amount"] = str(data["amount"])
    return {"id": str(event_id(event)), "type": source.event_type, "created": _iso(event.created_at), "data": body}


SUBSCRIPTIONS_TTL = 1.0


class _Subscriptions:
    """This process's memory of the subscribed event types, and when it read them."""

    types: frozenset[str] = frozenset()
    read_at: float = -math.inf


def subscribed_types() -> frozenset[str]:
    """The event types at least one active endpoint subscribes to (re-read at most every SUBSCRIPTIONS_TTL s)."""
    now = time.monotonic()
    if now - _Subscriptions.read_at > SUBSCRIPTIONS_TTL:
        from integrations.models import WebhookEndpoint

        lists = WebhookEndpoint.objects.filter(is_active=True).order_by().values_list("events", flat=True).distinct()
        _Subscriptions.types, _Subscriptions.read_at = frozenset(t for events in lists for t in events), now
    return _Subscriptions.types


def forget_subscriptions() -> None:
    """Read the subscriptions again next time (an endpoint was created, changed, enabled or deleted)."""
    _Subscriptions.read_at = -math.inf
