"""Endpoints an organisation registers: create, change, rotate the secret, disable, enable, delete, send a test.

Managers (owners, admins) or write-scoped API keys of the organisation do this; every change is audited (the
ledger never holds the secret). Events are sent to active endpoints only.
"""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.models import GroupObjectPermission

from accounts.models import Organization
from accounts.services import grant_to_organization, person_of, require_verified
from audit.services import audit_record
from integrations import events as partner_events
from integrations import signing, transport
from integrations.choices import SUBSCRIBABLE
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services.common import IntegrationConflict, IntegrationError, require_manager

MAX_ENDPOINTS = 20
EDITABLE_FIELDS = ("url", "description", "events")


def clean_url(url: str) -> str:
    """An absolute https:// URL the exchange may post to (http://127.0.0.1… only in development and tests)."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
        transport.check_destination(url, resolve=False)
    except ValidationError as exc:
        raise ValidationError({"url": _("Enter a full URL, such as https://partner.example/webhooks.")},
                              code="invalid") from exc  # fmt: skip
    except transport.UnsafeDestination as exc:
        message = _("Use an https:// URL on the public internet; plain http and private addresses are refused.")
        raise ValidationError({"url": message}, code="unsafe_url") from exc
    return url


def clean_events(events: Any) -> list[str]:
    """The chosen event types, known ones only, in the documented order; at least one."""
    chosen = set(events or [])
    unknown = sorted(str(e) for e in chosen - set(SUBSCRIBABLE))
    if unknown:
        raise ValidationError({"events": _("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}},
                              code="invalid")  # fmt: skip
    if not chosen:
        raise ValidationError({"events": _("Choose at least one event.")}, code="required")
    return [str(event) for event in SUBSCRIBABLE if event in chosen]


def _lock(endpoint: WebhookEndpoint, by: Any) -> WebhookEndpoint:
    """The endpoint's row, locked, once `by` is allowed to manage it."""
    locked = WebhookEndpoint.objects.select_for_update(of=("self",)).select_related("organization").get(pk=endpoint.pk)
    require_manager(by, locked.organization)
    return locked


def _subscriptions_changed() -> None:
    """Other code in this process must see the change now, and again once it is committed."""
    partner_events.forget_subscriptions()
    transaction.on_commit(partner_events.forget_subscriptions)


def _audit(endpoint: WebhookEndpoint, action: str, by: Any, **data: Any) -> None:
    audit_record(action=f"webhookendpoint.{action}", obj=endpoint, actor=by, organization_id=endpoint.organization_id,
                 data={"url": endpoint.url, **data})  # fmt: skip


@transaction.atomic
def endpoint_create(
    *, organization: Organization, url: str, events: list[str], by: Any, description: str = ""
) -> WebhookEndpoint:
    """Register an endpoint of a verified organisation, with a new signing secret."""
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    require_manager(by, organization)
    require_verified(organization)
    if WebhookEndpoint.objects.filter(organization=organization).count() >= MAX_ENDPOINTS:
        raise IntegrationError(_("An organisation can register at most %(n)d endpoints.") % {"n": MAX_ENDPOINTS},
                               code="too_many_endpoints")  # fmt: skip
    endpoint = WebhookEndpoint(
        organization=organization,
        url=clean_url(url),
        description=(description or "").strip(),
        events=clean_events(events),
        secret=signing.new_secret(),
        created_by=person_of(by),
    )
    endpoint.full_clean()
    endpoint.save()
    grant_to_organization(endpoint, organization)
    _subscriptions_changed()
    _audit(endpoint, "created", by, events=endpoint.events, description=endpoint.description)
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, by: Any, **fields: Any) -> WebhookEndpoint:
    """Change the URL, the description or the events; the secret and the state stay."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {sorted(unknown)}")
    endpoint = _lock(endpoint, by)
    cleaners = {"url": clean_url, "description": lambda v: (v or "").strip(), "events": clean_events}
    changed = {}
    for name, value in fields.items():
        value = cleaners[name](value)
        if value != getattr(endpoint, name):
            changed[name] = value
            setattr(endpoint, name, value)
    if changed:
        endpoint.full_clean()
        endpoint.save(update_fields=[*changed, "updated_at"])
        _subscriptions_changed()
        _audit(endpoint, "updated", by, changed=sorted(changed), events=endpoint.events)
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, by: Any) -> WebhookEndpoint:
    """Replace the signing secret at once: attempts from now on are signed with the new one."""
    endpoint = _lock(endpoint, by)
    endpoint.secret = signing.new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    _audit(endpoint, "secret_rotated", by)
    return endpoint


@transaction.atomic
def endpoint_disable(*, endpoint: WebhookEndpoint, by: Any, reason: str = "") -> WebhookEndpoint:
    """Stop sending to the endpoint; pending retries are given up when they come due."""
    endpoint = _lock(endpoint, by)
    if not endpoint.is_active:
        raise IntegrationConflict(_("This endpoint is already disabled."), code="endpoint_disabled")
    mark_disabled(endpoint, reason=(reason or "").strip() or _("Disabled by a manager."))
    _audit(endpoint, "disabled", by, reason=endpoint.disabled_reason)
    return endpoint


def mark_disabled(endpoint: WebhookEndpoint, *, reason: str) -> None:
    """Turn a locked endpoint off, saying why (the caller audits)."""
    endpoint.is_active = False
    endpoint.disabled_at = timezone.now()
    endpoint.disabled_reason = reason
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"])
    _subscriptions_changed()


@transaction.atomic
def endpoint_enable(*, endpoint: WebhookEndpoint, by: Any) -> WebhookEndpoint:
    """Send events again, counting failures afresh (deliveries given up meanwhile can be redelivered)."""
    endpoint = _lock(endpoint, by)
    if endpoint.is_active:
        raise IntegrationConflict(_("This endpoint is already active."), code="endpoint_active")
    require_verified(endpoint.organization)
    endpoint.is_active, endpoint.consecutive_failures = True, 0
    endpoint.disabled_at, endpoint.disabled_reason = None, ""
    endpoint.save(update_fields=["is_active", "consecutive_failures", "disabled_at", "disabled_reason", "updated_at"])
    _subscriptions_changed()
    _audit(endpoint, "enabled", by)
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, by: Any) -> None:
    """Remove the endpoint and its delivery log (the ledger keeps what happened)."""
    endpoint = _lock(endpoint, by)
    _audit(endpoint, "deleted", by, events=endpoint.events)
    content_type = ContentType.objects.get_for_model(WebhookEndpoint)
    GroupObjectPermission.objects.filter(content_type=content_type, object_pk=str(endpoint.pk)).delete()
    endpoint.delete()
    _subscriptions_changed()


@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint, by: Any) -> WebhookDelivery:
    """Queue one `webhook.test` delivery to an active endpoint (tried once; it does not count towards disabling)."""
    from integrations.services import deliveries

    endpoint = _lock(endpoint, by)
    if not endpoint.is_active:
        raise IntegrationConflict(_("Enable the endpoint before sending it a test event."), code="endpoint_disabled")
    delivery = deliveries.test_delivery_create(endpoint=endpoint)
    _audit(endpoint, "tested", by, delivery=delivery.pk)
    return delivery
