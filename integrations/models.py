"""Outgoing webhooks: the endpoints an organisation registers, and each delivery of an event to one of them."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.querysets import RestrictedQuerySet
from integrations.choices import EVENT_DESCRIPTIONS, FINISHED, DeliveryStatus, EventType


class WebhookEndpoint(models.Model):
    """A partner's URL that receives the events it subscribed to, signed with the endpoint's secret."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list, help_text=_("The event types sent to this endpoint."))
    # Kept as is: the exchange signs with it (it is a key, not a password), and managers may reveal it.
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(
        _("deliveries given up in a row"), default=0, help_text=_("Reset by any successful delivery.")
    )
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.TextField(_("why it was disabled"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [models.Index(fields=["organization", "is_active"])]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in self.events

    @property
    def event_descriptions(self) -> list[tuple[str, str, str]]:
        """(type, label, description) of the events the endpoint receives."""
        labels = dict(EventType.choices)
        return [(e, str(labels.get(e, e)), str(EVENT_DESCRIPTIONS.get(e, ""))) for e in self.events]


class WebhookDeliveryQuerySet(models.QuerySet):
    def restrict(self, user: Any, action: str = "view") -> "WebhookDeliveryQuerySet":
        """Deliveries to endpoints `user` may `action` (a delivery belongs to its endpoint: no grants of its own)."""
        return self.filter(endpoint__in=WebhookEndpoint.objects.restrict(user, action).values("pk"))


class WebhookDelivery(models.Model):
    """One event for one endpoint: its payload, where it stands, and what the last attempt got back."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(_("event id"), help_text=_("The same on every attempt and redelivery."))
    event_type = models.CharField(_("event type"), max_length=50, choices=EventType)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=20, choices=DeliveryStatus, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(_("last response code"), null=True, blank=True)
    last_response_body = models.TextField(_("last response body"), blank=True)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="one_delivery_per_event")]
        indexes = [models.Index(fields=["endpoint", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED
