"""Attempts: success and failure recorded, exponential backoff, retries that stop at the bound, a hanging partner
that cannot hold a worker, disabling after repeated failures (with a notice), and redelivery."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.choices import Role
from audit.models import AuditEvent
from core.errors import PermissionDeniedError
from integrations import tasks
from integrations.choices import DeliveryStatus, EventType
from integrations.models import WebhookDelivery
from integrations.services import deliveries, endpoints
from integrations.services.common import IntegrationConflict
from tests.factories import member
from tests.factories.integrations import delivery_for, endpoint_for
from tests.integrations.receiver import Receiver

pytestmark = pytest.mark.django_db


def scheduled(queued) -> list[tuple[int, dict, int | None]]:
    """(delivery id, kwargs, countdown) of every attempt queued so far."""
    return [(c.kwargs["args"][0], c.kwargs["kwargs"], c.kwargs.get("countdown")) for c in queued.deliver.call_args_list]


def run_until_done(queued, capture, delivery: WebhookDelivery) -> list[int | None]:
    """Run the first attempt, then each attempt it schedules, as a worker would; returns the countdowns asked for."""
    with capture(execute=True):
        tasks.deliver(delivery.pk)
    seen = 0
    while len(queued.deliver.call_args_list) > seen:
        pk, kwargs, _countdown = scheduled(queued)[seen]
        seen += 1
        with capture(execute=True):
            tasks.deliver(pk, **kwargs)
    return [countdown for _pk, _kwargs, countdown in scheduled(queued)]


def test_a_2xx_answer_delivers(endpoint, queued):
    endpoint.consecutive_failures = 3
    endpoint.save()
    with Receiver(status=204, body=b"") as receiver:
        endpoints.endpoint_update(endpoint=endpoint, by=endpoint.created_by, url=receiver.url)
        delivery = delivery_for(endpoint)
        result = tasks.deliver(delivery.pk)

    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert result == {"status": "succeeded", "attempts": 1, "code": 204, "error": ""}
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.delivered_at is not None
    assert delivery.duration_ms is not None and delivery.next_attempt_at is None
    assert endpoint.consecutive_failures == 0
    assert not queued.deliver.called


def test_an_error_status_is_recorded_and_retried_a_minute_later(endpoint, queued, django_capture_on_commit_callbacks):
    with Receiver(status=503, body=b"x" * 5000) as receiver:
        endpoints.endpoint_update(endpoint=endpoint, by=endpoint.created_by, url=receiver.url)
        delivery = delivery_for(endpoint)
        with django_capture_on_commit_callbacks(execute=True):
            result = tasks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert result["status"] == "failed" and result["code"] == 503 and result["error"] == "http_status"
    assert delivery.last_response_body == "x" * 1000
    assert timedelta(seconds=55) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=60)
    assert scheduled(queued) == [(delivery.pk, {"attempt": 2, "retry": True}, 60)]


def test_retries_back_off_exponentially_and_stop_at_the_bound(endpoint, queued, django_capture_on_commit_callbacks):
    delivery = delivery_for(endpoint)  # nothing listens at its URL: every attempt is refused

    countdowns = run_until_done(queued, django_capture_on_commit_callbacks, delivery)

    delivery.refresh_from_db()
    assert countdowns == [60, 120, 240, 480, 960]  # 1, 2, 4, 8, 16 minutes: six attempts in all
    assert delivery.attempts == 6
    assert delivery.status == DeliveryStatus.GIVING_UP and delivery.last_error == "connection_failed"
    assert delivery.next_attempt_at is None


@override_settings(INTEGRATIONS_MAX_ATTEMPTS=3, INTEGRATIONS_RETRY_BASE_SECONDS=10)
def test_the_bound_and_the_base_delay_are_settings(endpoint, queued, django_capture_on_commit_callbacks):
    delivery = delivery_for(endpoint)

    assert run_until_done(queued, django_capture_on_commit_callbacks, delivery) == [10, 20]
    delivery.refresh_from_db()
    assert delivery.attempts == 3 and delivery.status == DeliveryStatus.GIVING_UP


def test_an_attempt_past_the_bound_is_never_made(endpoint, queued, django_capture_on_commit_callbacks):
    delivery = delivery_for(endpoint)
    run_until_done(queued, django_capture_on_commit_callbacks, delivery)

    result = tasks.deliver(delivery.pk, attempt=7)

    assert result["skipped"] and WebhookDelivery.objects.get().attempts == 6


def test_a_duplicated_task_message_does_not_send_twice(endpoint, queued):
    with Receiver() as receiver:
        endpoints.endpoint_update(endpoint=endpoint, by=endpoint.created_by, url=receiver.url)
        delivery = delivery_for(endpoint)
        tasks.deliver(delivery.pk, attempt=1)
        again = tasks.deliver(delivery.pk, attempt=1)

    assert again["skipped"] and again["status"] == "succeeded"
    assert len(receiver.received) == 1


@override_settings(INTEGRATIONS_CONNECT_TIMEOUT=0.5, INTEGRATIONS_READ_TIMEOUT=0.2)
def test_a_partner_that_hangs_times_out_and_is_retried(endpoint, queued, django_capture_on_commit_callbacks):
    # given a partner that accepts the connection and then never answers (until the test ends)
    with Receiver(hang=True) as receiver:
        endpoints.endpoint_update(endpoint=endpoint, by=endpoint.created_by, url=receiver.url)
        delivery = delivery_for(endpoint)
        # when the worker delivers to it
        with django_capture_on_commit_callbacks(execute=True):
            result = tasks.deliver(delivery.pk)
        # then the task came back on its own (the partner is still hanging) with a timeout
        assert len(receiver.received) == 1
    assert result == {"status": "failed", "attempts": 1, "code": None, "error": "timeout"}
    assert scheduled(queued) == [(delivery.pk, {"attempt": 2, "retry": True}, 60)]


def test_a_private_address_is_refused_outside_development(endpoint, queued, settings):
    settings.INTEGRATIONS_ALLOW_HTTP = False
    delivery = delivery_for(endpoint)

    result = tasks.deliver(delivery.pk)

    assert result["status"] == "giving_up" and result["error"] == "unsafe_destination"  # never worth retrying
    assert not queued.deliver.called


@override_settings(INTEGRATIONS_MAX_ATTEMPTS=1, INTEGRATIONS_DISABLE_AFTER_GIVEN_UP=2)
def test_repeated_failures_disable_the_endpoint_and_mail_its_managers(
    org, endpoint, queued, mailoutbox, django_capture_on_commit_callbacks
):
    # given managers and non-managers of the organisation
    admin, editor = member(org, Role.ADMIN), member(org, Role.EDITOR)
    first, second, third = (delivery_for(endpoint) for _ in range(3))
    # when two deliveries in a row are given up
    with django_capture_on_commit_callbacks(execute=True):
        tasks.deliver(first.pk)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 1
    with django_capture_on_commit_callbacks(execute=True):
        tasks.deliver(second.pk)
    # then the endpoint is disabled, saying why, as the system
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None
    assert "2 deliveries in a row" in endpoint.disabled_reason
    event = AuditEvent.objects.filter(action="webhookendpoint.disabled").get()
    assert event.actor_kind == "system" and event.data["automatic"] is True
    # and its owners and admins are told, once
    (mail,) = mailoutbox
    assert sorted(mail.to) == sorted([endpoint.created_by.email, admin.email])
    assert editor.email not in mail.to
    assert endpoint.url in mail.subject and f"/integrations/endpoints/{endpoint.pk}/" in mail.body
    # and what was still waiting is given up without being sent
    result = tasks.deliver(third.pk)
    assert result["status"] == "giving_up" and result["error"] == "endpoint_disabled" and result["attempts"] == 0


@override_settings(INTEGRATIONS_MAX_ATTEMPTS=1)
def test_a_success_resets_the_count_and_test_events_do_not_count(org, endpoint, queued):
    tasks.deliver(delivery_for(endpoint).pk)
    tasks.deliver(delivery_for(endpoint, event_type=EventType.WEBHOOK_TEST).pk)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1
    with Receiver() as receiver:
        endpoints.endpoint_update(endpoint=endpoint, by=endpoint.created_by, url=receiver.url)
        tasks.deliver(delivery_for(endpoint).pk)

    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_a_test_event_is_tried_once(endpoint, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        delivery = endpoints.endpoint_send_test(endpoint=endpoint, by=endpoint.created_by)
    ((pk, kwargs, _countdown),) = scheduled(queued)
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.deliver(pk, **kwargs)

    assert delivery.event_type == "webhook.test" and delivery.payload["data"]["object"]["id"] == endpoint.pk
    assert result["status"] == "giving_up" and len(scheduled(queued)) == 1


def test_redelivery_makes_one_more_attempt_of_the_same_event(endpoint, queued, django_capture_on_commit_callbacks):
    # given a delivery that was given up after its attempts
    delivery = delivery_for(endpoint, status=DeliveryStatus.GIVING_UP, attempts=6, last_error="timeout")
    # when a manager redelivers it
    with django_capture_on_commit_callbacks(execute=True):
        queued_again = deliveries.delivery_redeliver(delivery=delivery, by=endpoint.created_by)
    # then one more attempt is queued, without automatic retries, and the ledger says who asked
    assert queued_again.status == DeliveryStatus.PENDING
    assert scheduled(queued) == [(delivery.pk, {"attempt": 7, "retry": False}, None)]
    event = AuditEvent.objects.filter(action="webhookdelivery.redelivered").get()
    assert event.data["event_id"] == str(delivery.event_id) and event.actor_id == str(endpoint.created_by.pk)
    # and when the worker runs it against a partner that is back, the same event id is sent
    with Receiver() as receiver:
        endpoints.endpoint_update(endpoint=endpoint, by=endpoint.created_by, url=receiver.url)
        result = tasks.deliver(delivery.pk, attempt=7, retry=False)
    assert result["status"] == "succeeded" and result["attempts"] == 7
    assert receiver.received[0]["body"].decode().startswith(f'{{"id":"{delivery.event_id}"')


def test_a_failed_redelivery_gives_up_again_at_once(endpoint, queued, django_capture_on_commit_callbacks):
    delivery = delivery_for(endpoint, status=DeliveryStatus.GIVING_UP, attempts=6)
    deliveries.delivery_redeliver(delivery=delivery, by=endpoint.created_by)

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.deliver(delivery.pk, attempt=7, retry=False)

    assert result["status"] == "giving_up" and not queued.deliver.called


def test_redelivery_needs_a_finished_delivery_an_active_endpoint_and_a_manager(org, endpoint, queued):
    retrying = delivery_for(endpoint, status=DeliveryStatus.FAILED, attempts=2)
    finished = delivery_for(endpoint, status=DeliveryStatus.SUCCEEDED, attempts=1)

    with pytest.raises(IntegrationConflict) as in_progress:
        deliveries.delivery_redeliver(delivery=retrying, by=endpoint.created_by)
    with pytest.raises(PermissionDeniedError):
        deliveries.delivery_redeliver(delivery=finished, by=member(org, Role.EDITOR))
    endpoints.endpoint_disable(endpoint=endpoint, by=endpoint.created_by)
    with pytest.raises(IntegrationConflict) as disabled:
        deliveries.delivery_redeliver(delivery=finished, by=endpoint.created_by)

    assert in_progress.value.code == "delivery_in_progress" and disabled.value.code == "endpoint_disabled"
    assert not queued.deliver.called


def test_the_sweep_requeues_lost_attempts_and_gives_up_spent_ones(endpoint, queued):
    long_ago = timezone.now() - timedelta(hours=1)
    lost = delivery_for(endpoint, status=DeliveryStatus.FAILED, attempts=2, next_attempt_at=long_ago)
    spent = delivery_for(endpoint, status=DeliveryStatus.FAILED, attempts=6, next_attempt_at=long_ago)
    waiting = delivery_for(endpoint, status=DeliveryStatus.FAILED, attempts=1,
                           next_attempt_at=timezone.now() + timedelta(minutes=2))  # fmt: skip

    assert tasks.requeue_stalled() == 2

    assert scheduled(queued) == [(lost.pk, {"attempt": 3, "retry": True}, None)]
    spent.refresh_from_db()
    waiting.refresh_from_db()
    assert spent.status == DeliveryStatus.GIVING_UP and spent.last_error == "no_answer"
    assert waiting.status == DeliveryStatus.FAILED


def test_a_host_that_resolves_into_a_private_network_is_refused_when_sending(org, queued, settings, monkeypatch):
    # given an endpoint whose name passed when it was registered, but now resolves to an internal address
    settings.INTEGRATIONS_ALLOW_HTTP = False
    endpoint = endpoint_for(org, url="https://partner.example/hooks")
    internal = [(2, 1, 6, "", ("10.0.0.5", 443))]
    monkeypatch.setattr("integrations.transport.socket.getaddrinfo", lambda *args, **kwargs: internal)

    result = tasks.deliver(delivery_for(endpoint).pk)

    assert result["status"] == "giving_up" and result["error"] == "unsafe_destination"
