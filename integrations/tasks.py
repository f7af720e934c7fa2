"""Outgoing webhooks on Celery workers: fanning ledger events out to endpoints, delivering, the stalled-delivery
sweep, and the notice that an endpoint was disabled.

`deliver` is bounded in time three ways: the HTTP timeouts (connect, read), a soft time limit that records the
attempt as a timeout, and a hard limit after which the worker process is replaced — a partner that hangs holds a
worker for seconds, never for good.
"""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from core.mail import send_mail_to
from integrations.models import WebhookEndpoint
from integrations.services import deliveries
from marketplace.tasks.demands import managers

__all__ = ["deliver", "fan_out", "notify_endpoint_disabled", "requeue_stalled"]
# Headroom over connect + read timeouts (and the few statements around them) before the soft limit fires.
SOFT_LIMIT = int(settings.INTEGRATIONS_CONNECT_TIMEOUT + settings.INTEGRATIONS_READ_TIMEOUT) + 10


@shared_task(name="integrations.fan_out", acks_late=True)
def fan_out(event_ids: list[int]) -> list[int]:
    """Create the deliveries of committed ledger events to the endpoints subscribed to them; returns their ids."""
    return deliveries.deliveries_for_events(event_ids)


@shared_task(name="integrations.deliver", acks_late=True, soft_time_limit=SOFT_LIMIT, time_limit=SOFT_LIMIT + 10)
def deliver(delivery_id: int, attempt: int | None = None, retry: bool = True) -> dict:
    """One attempt of a delivery (the next, unless `attempt` says which); a failure schedules the next attempt."""
    try:
        return deliveries.delivery_attempt(delivery_id=delivery_id, attempt=attempt, retry=retry)
    except SoftTimeLimitExceeded:
        return deliveries.timed_out(delivery_id=delivery_id)


@shared_task(name="integrations.requeue_stalled")
def requeue_stalled() -> int:
    """Queue again the deliveries whose attempt never came back (run every few minutes by beat)."""
    return deliveries.requeue_stalled()


@shared_task(name="integrations.notify_endpoint_disabled")
def notify_endpoint_disabled(endpoint_id: int) -> int:
    """Tell the organisation's owners and admins that an endpoint was disabled, and how to turn it back on."""
    endpoint = WebhookEndpoint.objects.select_related("organization").filter(pk=endpoint_id).first()
    if endpoint is None or endpoint.is_active:
        return 0
    context = {"endpoint": endpoint, "path": reverse("integrations:endpoint_detail", args=[endpoint.pk])}
    return send_mail_to(
        managers(endpoint.organization_id),
        lambda: _("Databourse: webhook endpoint %(url)s is disabled") % {"url": endpoint.url},
        "integrations/email/endpoint_disabled.txt",
        context,
    )
