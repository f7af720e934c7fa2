"""REST API of webhooks: endpoints (CRUD, rotate-secret, test, disable, enable) and the delivery log (redeliver),
each allowed, forbidden (another organisation: 404; a viewer or a read key: 403), anonymous (401) and with bad input
(400), and lists whose query count does not grow with their length."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.models import GroupObjectPermission

from accounts.choices import ApiKeyScope
from audit.models import AuditEvent
from integrations.choices import DeliveryStatus
from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.api import assert_error, signed_in, with_key
from tests.factories import ApiKeyFactory
from tests.factories.integrations import CLOSED_URL, delivery_for, endpoint_for

pytestmark = pytest.mark.django_db

API = "/api/v1"
ENDPOINTS = f"{API}/webhook-endpoints/"
DELIVERIES = f"{API}/webhook-deliveries/"
NEW = {"url": "http://127.0.0.1:8088/hooks", "events": ["contract.active", "payment.succeeded"]}


@pytest.fixture
def write_key(org):
    return with_key(ApiKeyFactory(organization=org, scope=ApiKeyScope.WRITE)[1])


@pytest.fixture
def read_key(org):
    return with_key(ApiKeyFactory(organization=org, scope=ApiKeyScope.READ)[1])


@pytest.fixture
def stranger(other_org):
    """A write key of another organisation."""
    return with_key(ApiKeyFactory(organization=other_org, scope=ApiKeyScope.WRITE)[1])


def detail(endpoint, action: str = "") -> str:
    return f"{ENDPOINTS}{endpoint.pk}/{action + '/' if action else ''}"


# --- endpoints ----------------------------------------------------------------------------------------------------


def test_a_write_key_registers_an_endpoint_and_gets_its_secret_once(org, write_key):
    response = write_key.post(ENDPOINTS, {**NEW, "description": "ERP"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert body["organization"] == {"id": org.pk, "name": org.name}
    assert body["events"] == ["contract.active", "payment.succeeded"] and body["is_active"] is True
    assert response["Cache-Control"] == "no-store"
    assert "secret" not in write_key.get(detail(endpoint)).json()
    assert AuditEvent.objects.filter(action="webhookendpoint.created", object_id=str(endpoint.pk)).exists()


def test_a_signed_in_owner_names_the_organisation(org, owner):
    client = signed_in(owner)

    assert_error(client.post(ENDPOINTS, NEW, format="json"), 400, "invalid")
    assert client.post(ENDPOINTS, {**NEW, "organization": org.pk}, format="json").status_code == 201


def test_a_viewer_reads_but_cannot_manage(org, endpoint, viewer):
    client = signed_in(viewer)

    assert client.get(detail(endpoint)).status_code == 200
    assert_error(client.patch(detail(endpoint), {"description": "x"}, format="json"), 403, "permission_denied")
    assert_error(client.post(detail(endpoint, "rotate-secret")), 403, "permission_denied")
    assert_error(client.post(detail(endpoint, "test")), 403, "permission_denied")
    assert_error(client.delete(detail(endpoint)), 403, "permission_denied")
    assert_error(client.post(ENDPOINTS, {**NEW, "organization": org.pk}, format="json"), 404, "not_found")


def test_a_read_key_cannot_write(endpoint, read_key):
    assert read_key.get(ENDPOINTS).status_code == 200
    for response in (
        read_key.post(ENDPOINTS, NEW, format="json"),
        read_key.patch(detail(endpoint), {"description": "x"}, format="json"),
        read_key.post(detail(endpoint, "rotate-secret")),
        read_key.post(detail(endpoint, "enable")),
        read_key.delete(detail(endpoint)),
    ):
        assert_error(response, 403, "insufficient_scope")


def test_anonymous_callers_are_401(api_client, endpoint):
    assert_error(api_client.get(ENDPOINTS), 401, "not_authenticated")
    assert_error(api_client.post(ENDPOINTS, NEW, format="json"), 401, "not_authenticated")
    assert_error(api_client.get(DELIVERIES), 401, "not_authenticated")


def test_another_organisations_endpoint_is_404(endpoint, stranger):
    assert stranger.get(ENDPOINTS).json()["count"] == 0
    assert_error(stranger.get(detail(endpoint)), 404, "not_found")
    assert_error(stranger.patch(detail(endpoint), {"description": "x"}, format="json"), 404, "not_found")
    for action in ("rotate-secret", "test", "disable", "enable"):
        assert_error(stranger.post(detail(endpoint, action)), 404, "not_found")
    assert_error(stranger.delete(detail(endpoint)), 404, "not_found")
    assert_error(stranger.post(ENDPOINTS, {**NEW, "organization": endpoint.organization_id}, format="json"),
                 404, "not_found")  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "url": "ftp://partner.example/hooks"}, "url"),
        ({**NEW, "url": "not a url"}, "url"),
        ({**NEW, "events": []}, "events"),
        ({**NEW, "events": ["contract.signed"]}, "events"),
        ({**NEW, "events": ["webhook.test"]}, "events"),
        ({**NEW, "secret": "whsec_mine"}, "secret"),
        ({"events": NEW["events"]}, "url"),
    ],
)
def test_bad_bodies_are_400_with_the_field(write_key, body, field):
    body = assert_error(write_key.post(ENDPOINTS, body, format="json"), 400, "invalid")

    assert field in {name.split("[")[0] for name in body["fields"]}  # `events[0]` names the item at fault
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_and_private_addresses_are_refused_in_production(write_key, settings):
    settings.INTEGRATIONS_ALLOW_HTTP = False
    for url in ("http://partner.example/hooks", "https://10.1.2.3/hooks", "https://localhost/hooks",
                "https://[::1]/hooks", "https://169.254.169.254/latest"):  # fmt: skip
        body = assert_error(write_key.post(ENDPOINTS, {**NEW, "url": url}, format="json"), 400, "invalid")
        assert "url" in body["fields"], url
    for url in ("https://partner.example/hooks", "https://1.1.1.1/hooks"):
        assert write_key.post(ENDPOINTS, {**NEW, "url": url}, format="json").status_code == 201, url


def test_updating_changes_only_what_is_sent(endpoint, write_key):
    response = write_key.patch(detail(endpoint), {"events": ["valuation.done"]}, format="json")

    assert response.status_code == 200, response.content
    endpoint.refresh_from_db()
    assert endpoint.events == ["valuation.done"] and endpoint.url == CLOSED_URL
    event = AuditEvent.objects.filter(action="webhookendpoint.updated").get()
    assert event.data["changed"] == ["events"]
    assert_error(write_key.patch(detail(endpoint), {"is_active": False}, format="json"), 400, "invalid")
    assert write_key.put(detail(endpoint), NEW, format="json").status_code == 405


def test_rotating_the_secret_returns_the_new_one_and_audits_without_it(endpoint, write_key):
    old = endpoint.secret

    response = write_key.post(detail(endpoint, "rotate-secret"))

    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert response.json()["secret"] == endpoint.secret != old
    event = AuditEvent.objects.filter(action="webhookendpoint.secret_rotated").get()
    assert endpoint.secret not in str(event.data) and old not in str(event.data)


def test_disabling_and_enabling(endpoint, write_key, queued):
    response = write_key.post(detail(endpoint, "disable"), {"reason": "Maintenance window"}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert response.json()["disabled_reason"] == "Maintenance window"
    assert_error(write_key.post(detail(endpoint, "disable")), 409, "endpoint_disabled")
    assert_error(write_key.post(detail(endpoint, "test")), 409, "endpoint_disabled")

    response = write_key.post(detail(endpoint, "enable"))
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert_error(write_key.post(detail(endpoint, "enable")), 409, "endpoint_active")
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"webhookendpoint.disabled", "webhookendpoint.enabled"} <= actions


def test_sending_a_test_event(endpoint, write_key, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = write_key.post(detail(endpoint, "test"))

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["event_type"] == "webhook.test" and body["status"] == "pending" and body["endpoint"] == endpoint.pk
    assert queued.deliver.call_args.kwargs["kwargs"] == {"attempt": 1, "retry": False}


def test_deleting_removes_the_endpoint_its_log_and_its_grants(endpoint, write_key):
    delivery_for(endpoint)

    assert write_key.delete(detail(endpoint)).status_code == 204

    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    assert not GroupObjectPermission.objects.filter(object_pk=str(endpoint.pk),
                                                    content_type__model="webhookendpoint").exists()  # fmt: skip
    assert AuditEvent.objects.filter(action="webhookendpoint.deleted").exists()


# --- deliveries ---------------------------------------------------------------------------------------------------


def test_the_delivery_log_lists_filters_and_shows_one(org, endpoint, write_key):
    other = endpoint_for(org, events=["valuation.done"])
    failed = delivery_for(endpoint, status=DeliveryStatus.FAILED, attempts=1, last_response_code=500)
    delivery_for(other)

    listed = write_key.get(DELIVERIES, {"endpoint": endpoint.pk}).json()
    assert [row["id"] for row in listed["results"]] == [failed.pk]
    assert "payload" not in listed["results"][0]
    assert write_key.get(DELIVERIES, {"status": "failed"}).json()["count"] == 1
    assert write_key.get(DELIVERIES).json()["count"] == 2
    shown = write_key.get(f"{DELIVERIES}{failed.pk}/").json()
    assert shown["payload"]["id"] == str(failed.event_id) and shown["last_response_code"] == 500
    assert_error(write_key.get(DELIVERIES, {"status": "lost"}), 400, "invalid")


def test_redelivering_over_the_api(endpoint, write_key, read_key, queued, django_capture_on_commit_callbacks):
    finished = delivery_for(endpoint, status=DeliveryStatus.GIVING_UP, attempts=6)
    retrying = delivery_for(endpoint, status=DeliveryStatus.FAILED, attempts=2)

    assert_error(read_key.post(f"{DELIVERIES}{finished.pk}/redeliver/"), 403, "insufficient_scope")
    assert_error(write_key.post(f"{DELIVERIES}{retrying.pk}/redeliver/"), 409, "delivery_in_progress")
    with django_capture_on_commit_callbacks(execute=True):
        response = write_key.post(f"{DELIVERIES}{finished.pk}/redeliver/")

    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert queued.deliver.call_args.kwargs["kwargs"] == {"attempt": 7, "retry": False}


def test_another_organisations_deliveries_are_404(endpoint, stranger, viewer):
    delivery = delivery_for(endpoint, status=DeliveryStatus.SUCCEEDED)

    assert stranger.get(DELIVERIES).json()["count"] == 0
    assert_error(stranger.get(f"{DELIVERIES}{delivery.pk}/"), 404, "not_found")
    assert_error(stranger.post(f"{DELIVERIES}{delivery.pk}/redeliver/"), 404, "not_found")
    assert_error(signed_in(viewer).post(f"{DELIVERIES}{delivery.pk}/redeliver/"), 403, "permission_denied")


# --- query counts -------------------------------------------------------------------------------------------------


def _queries(client, path: str, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, params or {}).status_code == 200
    return len(captured)


def test_the_lists_cost_the_same_queries_however_long(org, write_key, owner):
    first = endpoint_for(org)
    delivery_for(first)
    client = signed_in(owner)
    for who in (write_key, client):
        who.get(ENDPOINTS)  # the session and per-process caches, once
    before = {who: (_queries(who, ENDPOINTS), _queries(who, DELIVERIES)) for who in (write_key, client)}

    for _ in range(8):
        delivery_for(endpoint_for(org, by=owner))
    for _ in range(20):
        delivery_for(first)

    for who in (write_key, client):
        assert (_queries(who, ENDPOINTS), _queries(who, DELIVERIES)) == before[who]
    assert write_key.get(ENDPOINTS).json()["count"] == 9
    assert write_key.get(DELIVERIES).json()["count"] == 29
