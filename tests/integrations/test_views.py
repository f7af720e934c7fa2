"""Web pages of webhooks: managers register, edit, rotate, test, disable, enable, delete and redeliver; viewers
read without the secret; another organisation's endpoint is a 404; list and detail pages cost the same queries
however many endpoints and deliveries there are."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from integrations.choices import DeliveryStatus
from integrations.models import WebhookEndpoint
from tests.factories.integrations import delivery_for, endpoint_for

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"integrations:{name}", args=args)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(endpoint):
    for path in (url("endpoint_list"), url("endpoint_detail", endpoint.pk), url("endpoint_create")):
        response = Client().get(path)
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"], path


def test_managers_see_the_link_in_the_navigation_viewers_do_not(owner, viewer):
    assert url("endpoint_list") in client_of(owner).get(reverse("home")).content.decode()
    assert url("endpoint_list") not in client_of(viewer).get(reverse("home")).content.decode()


def test_an_owner_registers_an_endpoint_with_the_form(owner, queued):
    client = client_of(owner)
    assert 'value="contract.active"' in client.get(url("endpoint_create")).content.decode()

    response = client.post(url("endpoint_create"), {"url": "http://127.0.0.1:8088/in", "description": "ERP",
                                                    "events": ["contract.active", "payment.refunded"]})  # fmt: skip

    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response["Location"] == url("endpoint_detail", endpoint.pk)
    assert endpoint.events == ["contract.active", "payment.refunded"] and endpoint.created_by == owner
    page = client.get(response["Location"])
    assert endpoint.secret in page.content.decode()
    assert "no-store" in page["Cache-Control"]


def test_form_errors_are_shown_on_the_form(owner):
    response = client_of(owner).post(url("endpoint_create"), {"url": "ftp://partner.example/in", "events": []})

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"url", "events"}
    assert not WebhookEndpoint.objects.exists()


def test_a_viewer_reads_without_the_secret_and_cannot_manage(endpoint, viewer):
    client = client_of(viewer)

    page = client.get(url("endpoint_detail", endpoint.pk)).content.decode()
    assert endpoint.url in page and endpoint.secret not in page
    assert client.get(url("endpoint_create")).status_code == 403
    assert client.get(url("endpoint_edit", endpoint.pk)).status_code == 403
    assert client.post(url("endpoint_rotate", endpoint.pk)).status_code == 403
    assert client.post(url("endpoint_delete", endpoint.pk)).status_code == 403
    assert WebhookEndpoint.objects.get().secret == endpoint.secret


def test_another_organisations_endpoint_and_deliveries_are_404(endpoint, other_org):
    from tests.factories.accounts import owner_of

    client = client_of(owner_of(other_org))
    delivery = delivery_for(endpoint, status=DeliveryStatus.GIVING_UP)

    for path in (url("endpoint_detail", endpoint.pk), url("endpoint_edit", endpoint.pk),
                 url("delivery_detail", delivery.pk)):  # fmt: skip
        assert client.get(path).status_code == 404, path
    for path in (url("endpoint_rotate", endpoint.pk), url("endpoint_disable", endpoint.pk),
                 url("delivery_redeliver", delivery.pk)):  # fmt: skip
        assert client.post(path).status_code == 404, path
    assert endpoint.url not in client.get(url("endpoint_list")).content.decode()


def test_editing_an_endpoint(endpoint, owner):
    response = client_of(owner).post(url("endpoint_edit", endpoint.pk),
                                     {"url": endpoint.url, "events": ["valuation.done"]})  # fmt: skip

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.events == ["valuation.done"]


def test_the_buttons_rotate_test_disable_enable_and_delete(endpoint, owner, queued):
    client = client_of(owner)
    old = endpoint.secret

    assert client.post(url("endpoint_rotate", endpoint.pk)).status_code == 302
    assert client.post(url("endpoint_test", endpoint.pk)).status_code == 302
    assert client.post(url("endpoint_disable", endpoint.pk), {"reason": "Moving servers"}).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret != old and not endpoint.is_active and endpoint.disabled_reason == "Moving servers"
    assert endpoint.deliveries.get().event_type == "webhook.test"
    assert client.post(url("endpoint_test", endpoint.pk)).status_code == 409  # disabled: nothing is sent
    assert client.post(url("endpoint_enable", endpoint.pk)).status_code == 302
    assert client.post(url("endpoint_delete", endpoint.pk)).status_code == 302
    assert not WebhookEndpoint.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    expected = {"created", "secret_rotated", "tested", "disabled", "enabled", "deleted"}
    assert {f"webhookendpoint.{a}" for a in expected} <= actions


def test_the_delivery_log_and_redelivery(endpoint, owner, queued):
    client = client_of(owner)
    given_up = delivery_for(endpoint, status=DeliveryStatus.GIVING_UP, attempts=6, last_response_code=502,
                            duration_ms=120)  # fmt: skip
    delivery_for(endpoint, status=DeliveryStatus.FAILED, attempts=2, last_error="timeout",
                 next_attempt_at=timezone.now() + timedelta(minutes=2))  # fmt: skip

    page = client.get(url("endpoint_detail", endpoint.pk)).content.decode()
    assert url("delivery_redeliver", given_up.pk) in page and "502" in page and "120 ms" in page
    assert "next try" in page and "timeout" in page
    detail = client.get(url("delivery_detail", given_up.pk)).content.decode()
    assert str(given_up.event_id) in detail
    assert client.post(url("delivery_redeliver", given_up.pk)).status_code == 302

    given_up.refresh_from_db()
    assert given_up.status == DeliveryStatus.PENDING
    filtered = client.get(url("endpoint_detail", endpoint.pk), {"status": "succeeded"})
    assert list(filtered.context["deliveries_page"]) == []


def _queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_list_and_detail_pages_cost_the_same_queries_however_long(org, endpoint, owner):
    client = client_of(owner)
    delivery_for(endpoint)
    pages = (url("endpoint_list"), url("endpoint_detail", endpoint.pk))
    for path in pages:
        client.get(path)
    before = [_queries(client, path) for path in pages]

    for _ in range(6):
        endpoint_for(org)
    for _ in range(15):
        delivery_for(endpoint, status=DeliveryStatus.SUCCEEDED)

    assert [_queries(client, path) for path in pages] == before
