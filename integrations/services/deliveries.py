"""Sending events out: one delivery per event and subscribed endpoint, attempts with exponential backoff, giving up
after INTEGRATIONS_MAX_ATTEMPTS, disabling an endpoint after INTEGRATIONS_DISABLE_AFTER_GIVEN_UP deliveries in a
row were given up (its managers are mailed), and manual redelivery.

An attempt is claimed by its number (`attempts` goes from n-1 to n in one UPDATE), so a stale or duplicated task
message does not send twice; the HTTP request runs outside any transaction, then the outcome is written with the
endpoint's row locked first, the delivery's second (the order every writer here uses).
"""

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import audit_record
from integrations import events, transport
from integrations.choices import DeliveryStatus, EventType
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services.common import IntegrationConflict, require_manager
from integrations.services.endpoints import mark_disabled

OPEN = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
# How long a claimed attempt may take before the sweep (requeue_stalled) considers its worker lost.
LEASE_SECONDS = 60


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failed attempt: base * 2^(attempts-1)."""
    return settings.INTEGRATIONS_RETRY_BASE_SECONDS * 2 ** (attempts - 1)


def _queue(delivery_id: int, *, attempt: int, retry: bool = True, countdown: int = 0) -> None:
    from integrations import tasks

    options = {"countdown": countdown} if countdown else {}
    tasks.deliver.apply_async(args=[delivery_id], kwargs={"attempt": attempt, "retry": retry}, **options)


# --- creating deliveries ----------------------------------------------------------------------------------------


def deliveries_for_events(event_ids: list[int]) -> list[int]:
    """Create and queue a delivery of each ledger event to every active endpoint subscribed to it (once)."""
    if not WebhookEndpoint.objects.filter(is_active=True).exists():
        return []
    created: list[int] = []
    for event in AuditEvent.objects.filter(pk__in=event_ids).order_by("sequence"):
        source = events.source_of(event)
        if source is not None:
            created += _deliveries_for(event, source)
    return created


def _deliveries_for(event: AuditEvent, source: events.Source) -> list[int]:
    obj = source.load(event.object_id)
    if obj is None:
        return []
    endpoints = WebhookEndpoint.objects.filter(is_active=True, organization_id__in=source.recipients(obj))
    subscribed = [endpoint for endpoint in endpoints if endpoint.subscribes_to(source.event_type)]
    event_id = events.event_id(event)
    sent = set(WebhookDelivery.objects.filter(event_id=event_id).values_list("endpoint_id", flat=True))
    todo = [endpoint for endpoint in subscribed if endpoint.pk not in sent]
    if not todo:
        return []
    payload, now = events.envelope(event, source, obj), timezone.now()
    rows = [WebhookDelivery(endpoint=endpoint, event_id=event_id, event_type=source.event_type, payload=payload,
                            next_attempt_at=now) for endpoint in todo]  # fmt: skip
    try:
        with transaction.atomic():
            ids = [row.pk for row in WebhookDelivery.objects.bulk_create(rows)]
            transaction.on_commit(lambda: [_queue(pk, attempt=1) for pk in ids])
    except IntegrityError:
        return []  # another run of the same fan-out made them
    return ids


def test_delivery_create(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` delivery to one (locked) endpoint, queued for a single attempt."""
    now, event_id = timezone.now(), uuid.uuid4()
    summary = {"object": "webhook_endpoint", "id": endpoint.pk, "url": endpoint.url, "events": endpoint.events}
    payload = {"id": str(event_id), "type": EventType.WEBHOOK_TEST.value, "created": now.isoformat(),
               "data": {"object": summary, "previous_status": None, "reason": ""}}  # fmt: skip
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_id=event_id, event_type=EventType.WEBHOOK_TEST, payload=payload, next_attempt_at=now
    )
    transaction.on_commit(lambda: _queue(delivery.pk, attempt=1, retry=False))
    return delivery


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, by: Any) -> WebhookDelivery:
    """Send a finished delivery again: one more attempt, same event id, signed afresh (no automatic retries)."""
    endpoint = WebhookEndpoint.objects.select_for_update(of=("self",)).select_related("organization")
    endpoint = endpoint.get(pk=delivery.endpoint_id)
    require_manager(by, endpoint.organization)
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if not endpoint.is_active:
        raise IntegrationConflict(_("Enable the endpoint before redelivering to it."), code="endpoint_disabled")
    if not delivery.is_finished:
        raise IntegrationConflict(_("This delivery is still being tried; wait until it succeeds or gives up."),
                                  code="delivery_in_progress")  # fmt: skip
    delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    attempt = delivery.attempts + 1
    audit_record(action="webhookdelivery.redelivered", obj=delivery, actor=by, organization_id=endpoint.organization_id,
                 data={"endpoint": endpoint.pk, "event_id": str(delivery.event_id), "event_type": delivery.event_type,
                       "attempt": attempt})  # fmt: skip
    transaction.on_commit(lambda: _queue(delivery.pk, attempt=attempt, retry=False))
    return delivery


# --- attempts ---------------------------------------------------------------------------------------------------


def delivery_attempt(*, delivery_id: int, attempt: int | None = None, retry: bool = True) -> dict:
    """Make attempt number `attempt` (default: the next) of a delivery, record it, and retry later or give up."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:
        return {"status": "gone"}
    attempt = delivery.attempts + 1 if attempt is None else attempt
    if delivery.status not in OPEN or delivery.attempts != attempt - 1:
        return _result(delivery, skipped=True)
    if not delivery.endpoint.is_active:
        return _finish(delivery_id, transport.Outcome(error="endpoint_disabled"), retry=False, count=False)
    if not _claim(delivery_id, attempt):
        return _result(delivery, skipped=True)
    endpoint = delivery.endpoint
    outcome = transport.post(url=endpoint.url, secret=endpoint.secret, event_type=delivery.event_type,
                             delivery_id=delivery.pk, payload=delivery.payload)  # fmt: skip
    return _finish(delivery_id, outcome, retry=retry)


def _claim(delivery_id: int, attempt: int) -> bool:
    """Take attempt `attempt` for this worker: exactly one task moves `attempts` from attempt-1 to attempt."""
    lease = timezone.now() + timedelta(seconds=LEASE_SECONDS)
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, attempts=attempt - 1, status__in=OPEN)
    return claimed.update(attempts=attempt, next_attempt_at=lease) == 1


def timed_out(*, delivery_id: int) -> dict:
    """Record an attempt stopped by the task's time limit (the partner answered too slowly) and retry later."""
    return _finish(delivery_id, transport.Outcome(error="timeout"), retry=True)


def _finish(delivery_id: int, outcome: transport.Outcome, *, retry: bool, count: bool = True) -> dict:
    with transaction.atomic():
        row = WebhookDelivery.objects.filter(pk=delivery_id).values_list("endpoint_id", flat=True).first()
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=row).first() if row else None
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first() if endpoint else None
        if delivery is None:
            return {"status": "gone"}
        _record(delivery, outcome)
        counted = count and delivery.event_type != EventType.WEBHOOK_TEST
        if outcome.ok:
            _succeeded(delivery, endpoint, counted)
        elif retry and outcome.retryable and delivery.attempts < settings.INTEGRATIONS_MAX_ATTEMPTS:
            _retry_later(delivery)
        else:
            _give_up(delivery, endpoint, counted)
        delivery.save()
    return _result(delivery)


def _record(delivery: WebhookDelivery, outcome: transport.Outcome) -> None:
    delivery.last_response_code = outcome.status_code
    delivery.last_response_body = outcome.body
    delivery.last_error = outcome.error
    delivery.duration_ms = outcome.duration_ms if outcome.error != "endpoint_disabled" else None


def _succeeded(delivery: WebhookDelivery, endpoint: WebhookEndpoint, counted: bool) -> None:
    delivery.status, delivery.next_attempt_at, delivery.delivered_at = DeliveryStatus.SUCCEEDED, None, timezone.now()
    if counted and endpoint.consecutive_failures:
        endpoint.consecutive_failures = 0
        endpoint.save(update_fields=["consecutive_failures"])


def _retry_later(delivery: WebhookDelivery) -> None:
    delay = retry_delay(delivery.attempts)
    delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, timezone.now() + timedelta(seconds=delay)
    pk, attempt = delivery.pk, delivery.attempts + 1
    transaction.on_commit(lambda: _queue(pk, attempt=attempt, countdown=delay))


def _give_up(delivery: WebhookDelivery, endpoint: WebhookEndpoint, counted: bool) -> None:
    delivery.status, delivery.next_attempt_at = DeliveryStatus.GIVING_UP, None
    if not counted:
        return
    endpoint.consecutive_failures += 1
    endpoint.save(update_fields=["consecutive_failures"])
    if endpoint.is_active and endpoint.consecutive_failures >= settings.INTEGRATIONS_DISABLE_AFTER_GIVEN_UP:
        _disable_for_failures(endpoint)


def _disable_for_failures(endpoint: WebhookEndpoint) -> None:
    """Stop sending to an endpoint that keeps failing; audited as the system, its managers are mailed."""
    from integrations import tasks

    reason = _("%(n)d deliveries in a row failed on every attempt.") % {"n": endpoint.consecutive_failures}
    mark_disabled(endpoint, reason=reason)
    audit_record(action="webhookendpoint.disabled", obj=endpoint, organization_id=endpoint.organization_id,
                 data={"url": endpoint.url, "reason": reason, "consecutive_failures": endpoint.consecutive_failures,
                       "automatic": True})  # fmt: skip
    transaction.on_commit(lambda: tasks.notify_endpoint_disabled.delay(endpoint.pk))


def _result(delivery: WebhookDelivery, *, skipped: bool = False) -> dict:
    result = {
        "status": delivery.status,
        "attempts": delivery.attempts,
        "code": delivery.last_response_code,
        "error": delivery.last_error,
    }
    return {**result, "skipped": True} if skipped else result


# --- the sweep --------------------------------------------------------------------------------------------------


def requeue_stalled(*, grace_seconds: int = 300, limit: int = 500) -> int:
    """Queue again open deliveries whose attempt never came back (a worker died, a message was lost); returns how
    many. One whose last automatic attempt was lost is given up."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    stalled = WebhookDelivery.objects.filter(status__in=OPEN, next_attempt_at__lt=cutoff, endpoint__is_active=True)
    count = 0
    for pk, attempts in stalled.order_by("next_attempt_at").values_list("pk", "attempts")[:limit]:
        if attempts >= settings.INTEGRATIONS_MAX_ATTEMPTS:
            _finish(pk, transport.Outcome(error="no_answer"), retry=False)
        elif WebhookDelivery.objects.filter(pk=pk, attempts=attempts, status__in=OPEN).update(
            next_attempt_at=timezone.now()
        ):
            _queue(pk, attempt=attempts + 1)
        count += 1
    return count
