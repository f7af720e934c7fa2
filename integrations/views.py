"""Web pages of outgoing webhooks, for the active organisation (mounted at /integrations/).

- `endpoint_list`: the organisation's endpoints; owners and admins add them (`endpoint_create`).
- `endpoint_detail`: URL, events, state, the signing secret (revealed to managers only, never cached), the
  actions (edit, rotate the secret, send a test event, disable / enable, delete) and the latest deliveries with
  status, response code and duration (`?status=` filters), each redeliverable once finished.
- `delivery_detail`: one delivery's payload, attempts and the start of the last answer.

Lookups go through `restrict(user, "view")` (another organisation's endpoint is a 404); the services check the
manage role again, so a viewer who posts anyway gets the service's refusal.
"""

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.web import can, form_status, organization_view, paginate, run_action, submit, user_memberships
from integrations.choices import DeliveryStatus
from integrations.forms import DisableForm, EndpointForm
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services import deliveries, endpoints
from integrations.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER

app_name = "integrations"
STATUS_TABS = (("", gettext_lazy("All")), *DeliveryStatus.choices)


def _may(request: HttpRequest, organization_id: int, action: str) -> bool:
    membership = next((m for m in user_memberships(request) if m.organization_id == organization_id), None)
    return can(membership, action)


def _require_manage(request: HttpRequest, organization_id: int) -> None:
    """Forms are for owners and admins (the services refuse others too; this spares them a form they cannot use)."""
    if not _may(request, organization_id, "manage"):
        raise PermissionDenied(_("Only owners and administrators manage webhook endpoints."))


def _endpoint_or_404(request: HttpRequest, pk: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint.objects.restrict(request.user, "view").select_related("organization"),
                             pk=pk)  # fmt: skip


@require_GET
@organization_view
def endpoint_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The active organisation's endpoints, newest first."""
    found = WebhookEndpoint.objects.restrict(request.user, "view").filter(organization=membership.organization)
    context = {
        "organization": membership.organization,
        "can_manage": can(membership, "manage"),
        "endpoints_page": paginate(request, found.defer("secret")),
    }
    return render(request, "integrations/endpoint_list.html", context)


@organization_view
def endpoint_create(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Register an endpoint; its page then shows the signing secret."""
    _require_manage(request, membership.organization_id)
    form = EndpointForm(request.POST if request.method == "POST" else None)
    created = form.is_valid() and submit(request, form, endpoints.endpoint_create,
                                         organization=membership.organization, by=request.user,
                                         **form.service_data())  # fmt: skip
    if created:
        messages.success(request, _("The endpoint is registered. Copy its signing secret into your receiver."))
        return redirect("integrations:endpoint_detail", pk=created.pk)
    context = {"form": form, "organization": membership.organization, "endpoint": None}
    return render(request, "integrations/endpoint_form.html", context, status=form_status(form))


@login_required
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an endpoint's URL, description or events."""
    endpoint = _endpoint_or_404(request, pk)
    _require_manage(request, endpoint.organization_id)
    initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events}
    form = EndpointForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid() and submit(request, form, endpoints.endpoint_update, endpoint=endpoint, by=request.user,
                                  **form.service_data()):  # fmt: skip
        messages.success(request, _("The endpoint is saved."))
        return redirect("integrations:endpoint_detail", pk=endpoint.pk)
    context = {"form": form, "organization": endpoint.organization, "endpoint": endpoint}
    return render(request, "integrations/endpoint_form.html", context, status=form_status(form))


def _detail_page(request: HttpRequest, endpoint: WebhookEndpoint, *, status: int = 200, **extra: Any) -> HttpResponse:
    state = request.GET.get("status", "")
    state = state if state in DeliveryStatus.values else ""
    found = endpoint.deliveries.defer("payload", "last_response_body")
    if state:
        found = found.filter(status=state)
    can_manage = _may(request, endpoint.organization_id, "manage")
    context = {
        "endpoint": endpoint,
        "organization": endpoint.organization,
        "can_manage": can_manage,
        "state": state,
        "tabs": STATUS_TABS,
        "deliveries_page": paginate(request, found),
        "disable_form": extra.pop("disable_form", None) or DisableForm(),
        "headers": {"signature": SIGNATURE_HEADER, "event": EVENT_HEADER, "delivery": DELIVERY_HEADER},
        **extra,
    }
    response = render(request, "integrations/endpoint_detail.html", context, status=status)
    patch_cache_control(response, private=True, no_store=True)  # managers' pages carry the secret
    return response


@require_GET
@login_required
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _endpoint_or_404(request, pk))


def _action(request: HttpRequest, pk: int, service: Any, done: str, **kwargs: Any) -> HttpResponse:
    """Run an endpoint action from a button: back to the page with a message, or the page with the error."""
    endpoint = _endpoint_or_404(request, pk)
    status = run_action(request, service, endpoint=endpoint, by=request.user, **kwargs)
    if status:
        return _detail_page(request, endpoint, status=status)
    messages.success(request, done)
    return redirect("integrations:endpoint_detail", pk=endpoint.pk)


@require_POST
@login_required
def endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    done = _("The secret is replaced: deliveries are signed with the new one from now on.")
    return _action(request, pk, endpoints.endpoint_rotate_secret, done)


@require_POST
@login_required
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    done = _("A test event is on its way; its delivery appears below.")
    return _action(request, pk, endpoints.endpoint_send_test, done)


@require_POST
@login_required
def endpoint_enable(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, endpoints.endpoint_enable, _("The endpoint is enabled: events are sent to it again."))


@require_POST
@login_required
def endpoint_disable(request: HttpRequest, pk: int) -> HttpResponse:
    form = DisableForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, _endpoint_or_404(request, pk), status=400, disable_form=form)
    done = _("The endpoint is disabled: no events are sent to it.")
    return _action(request, pk, endpoints.endpoint_disable, done, reason=form.cleaned_data["reason"])


@require_POST
@login_required
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_or_404(request, pk)
    status = run_action(request, endpoints.endpoint_delete, endpoint=endpoint, by=request.user)
    if status:
        return _detail_page(request, endpoint, status=status)
    messages.success(request, _("The endpoint %(url)s is deleted.") % {"url": endpoint.url})
    return redirect("integrations:endpoint_list")


def _delivery_or_404(request: HttpRequest, pk: int) -> WebhookDelivery:
    visible = WebhookDelivery.objects.restrict(request.user, "view").select_related("endpoint__organization")
    return get_object_or_404(visible, pk=pk)


@require_GET
@login_required
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One delivery: what was sent, how often, and what came back last."""
    delivery = _delivery_or_404(request, pk)
    context = {
        "delivery": delivery,
        "endpoint": delivery.endpoint,
        "payload_json": json.dumps(delivery.payload, indent=2, ensure_ascii=False, sort_keys=True),
        "can_manage": _may(request, delivery.endpoint.organization_id, "manage"),
    }
    return render(request, "integrations/delivery_detail.html", context)


@require_POST
@login_required
def delivery_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = _delivery_or_404(request, pk)
    status = run_action(request, deliveries.delivery_redeliver, delivery=delivery, by=request.user)
    if status:
        return _detail_page(request, delivery.endpoint, status=status)
    messages.success(request, _("The delivery is queued again, with the same event id."))
    back = request.POST.get("next") == "delivery"
    return redirect("integrations:delivery_detail" if back else "integrations:endpoint_detail",
                    pk=delivery.pk if back else delivery.endpoint_id)  # fmt: skip


urlpatterns = [
    path("", endpoint_list, name="endpoint_list"),
    path("endpoints/new/", endpoint_create, name="endpoint_create"),
    path("endpoints/<int:pk>/", endpoint_detail, name="endpoint_detail"),
    path("endpoints/<int:pk>/edit/", endpoint_edit, name="endpoint_edit"),
    path("endpoints/<int:pk>/rotate-secret/", endpoint_rotate, name="endpoint_rotate"),
    path("endpoints/<int:pk>/test/", endpoint_test, name="endpoint_test"),
    path("endpoints/<int:pk>/enable/", endpoint_enable, name="endpoint_enable"),
    path("endpoints/<int:pk>/disable/", endpoint_disable, name="endpoint_disable"),
    path("endpoints/<int:pk>/delete/", endpoint_delete, name="endpoint_delete"),
    path("deliveries/<int:pk>/", delivery_detail, name="delivery_detail"),
    path("deliveries/<int:pk>/redeliver/", delivery_redeliver, name="delivery_redeliver"),
]
