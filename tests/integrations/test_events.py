"""From the ledger to deliveries: committed audit events become partner events for the endpoints of the
organisations concerned that subscribed to them — after the commit only, once each, without any data value."""

import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import transaction

from audit.services import audit_batch, audit_record
from integrations.choices import DeliveryStatus, EventType
from integrations.events import SOURCES
from integrations.models import WebhookDelivery
from integrations.services import deliveries, endpoints
from tests.factories import OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.integrations import endpoint_for
from tests.factories.marketplace import contract_on, plan_fields, published_listing, registered_product
from tests.factories.valuation import valuation_of

pytestmark = pytest.mark.django_db

# A value that appears only in the product's rows: no webhook may ever carry it.
MARKER = "Lianyungang-Terminal-7"
ROWS = ("date,port,tons\n" + "".join(f"2026-11-{d:02d},{MARKER},{3000 + d}\n" for d in range(1, 21))).encode()


def types_for(endpoint) -> list[str]:
    return list(endpoint.deliveries.order_by("pk").values_list("event_type", flat=True))


@pytest.mark.parametrize("action", sorted(SOURCES))
def test_each_mapped_action_is_one_the_model_really_records(action):
    source = SOURCES[action]
    model = apps.get_model(source.model)
    model_name, state = action.split(".")
    targets = {new for news in model.TRANSITIONS.values() for new in news}

    assert model._meta.model_name == model_name
    assert state in targets or action == "contract.requested"  # recorded by contract_request itself


def test_deliveries_are_made_after_the_commit_and_only_for_subscribed_endpoints(
    org, queued, django_capture_on_commit_callbacks
):
    # given three endpoints of the merchant: two subscribed to registrations, one disabled, one to something else
    wanted = endpoint_for(org, events=["product.registered", "listing.published"])
    also = endpoint_for(org, events=["product.registered"])
    other = endpoint_for(org, events=["payment.succeeded"])
    disabled = endpoint_for(org, events=["product.registered"])
    disabled.is_active = False
    disabled.save()
    # when a regulator registers a product of the merchant
    with django_capture_on_commit_callbacks(execute=True):
        product = registered_product(org, content=ROWS)
        # then nothing is made before the commit
        assert not WebhookDelivery.objects.exists()
        queued.fan_out.assert_not_called()
    # and after it, one delivery per subscribed, active endpoint, each queued for its first attempt
    assert types_for(wanted) == types_for(also) == ["product.registered"]
    assert types_for(other) == types_for(disabled) == []
    made = WebhookDelivery.objects.order_by("pk")
    assert {call.kwargs["kwargs"]["attempt"] for call in queued.deliver.call_args_list} == {1}
    assert sorted(call.kwargs["args"][0] for call in queued.deliver.call_args_list) == [d.pk for d in made]
    delivery = made.first()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.payload["data"]["object"]["id"] == product.pk
    assert delivery.payload["data"]["object"]["status"] == "registered"
    assert delivery.payload["data"]["object"]["certificate"]


def test_an_event_rolled_back_is_never_sent(org, endpoint, queued, django_capture_on_commit_callbacks):
    product = registered_product(org)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="dataproduct.registered", obj=product, organization_id=org.pk)
        raise RuntimeError("the service failed after recording")

    queued.fan_out.assert_not_called()
    assert not WebhookDelivery.objects.exists()


def test_a_batch_is_fanned_out_once_with_all_its_events(org, endpoint, queued, django_capture_on_commit_callbacks):
    product = registered_product(org)
    with django_capture_on_commit_callbacks(execute=True), audit_batch():
        audit_record(action="dataproduct.updated", obj=product, organization_id=org.pk)
        first = audit_record(action="dataproduct.registered", obj=product, organization_id=org.pk)
        second = audit_record(action="dataproduct.rejected", obj=product, organization_id=org.pk)

    queued.fan_out.assert_called_once_with([first.pk, second.pk])  # the update is not a partner event
    assert types_for(endpoint) == ["product.registered", "product.rejected"]


def test_fanning_out_again_makes_no_second_delivery(org, endpoint, queued):
    product = registered_product(org)
    event = audit_record(action="dataproduct.registered", obj=product, organization_id=org.pk)

    first = deliveries.deliveries_for_events([event.pk])
    again = deliveries.deliveries_for_events([event.pk])

    assert len(first) == 1 and again == []
    assert WebhookDelivery.objects.get().event_id == WebhookDelivery.objects.get().event_id


def test_nothing_is_looked_up_when_no_endpoint_is_active(org, django_assert_num_queries):
    product = registered_product(org)
    event = audit_record(action="dataproduct.registered", obj=product, organization_id=org.pk)

    with django_assert_num_queries(1):
        assert deliveries.deliveries_for_events([event.pk]) == []


def test_contract_events_go_to_both_the_buyer_and_the_merchant(org, queued, django_capture_on_commit_callbacks):
    # given a merchant and a buyer, each with an endpoint, and another organisation's endpoint
    buyer = OrganizationFactory()
    merchant_hook, buyer_hook = endpoint_for(org), endpoint_for(buyer)
    bystander = endpoint_for(OrganizationFactory())
    listing = published_listing(registered_product(org), plans=[plan_fields(price=Decimal(0))])
    # when the buyer takes a free licence (requested, then active at once)
    with django_capture_on_commit_callbacks(execute=True):
        contract = contract_on(listing, buyer=buyer)
    # then both parties hear of both changes, with the same event ids; nobody else does
    assert types_for(buyer_hook) == ["contract.requested", "contract.active"]
    assert types_for(merchant_hook)[-2:] == ["contract.requested", "contract.active"]
    assert types_for(bystander) == []
    ids = {d.endpoint_id: d.event_id for d in WebhookDelivery.objects.filter(event_type="contract.active")}
    assert ids[buyer_hook.pk] == ids[merchant_hook.pk]
    active = buyer_hook.deliveries.get(event_type="contract.active").payload
    assert active["type"] == "contract.active"
    assert active["data"]["previous_status"] == "requested"
    assert (
        active["data"]["object"] | {"buyer": buyer.pk, "merchant": org.pk, "number": contract.number}
        == active["data"]["object"]
    )


def test_a_finished_valuation_reaches_the_owner(org, queued, django_capture_on_commit_callbacks):
    product = registered_product(org)
    hook = endpoint_for(org, events=["valuation.done"])

    with django_capture_on_commit_callbacks(execute=True):
        valuation = valuation_of(product)

    (delivery,) = hook.deliveries.all()
    summary = delivery.payload["data"]["object"]
    valuation.refresh_from_db()
    assert summary["id"] == valuation.pk and summary["status"] == "done"
    assert summary["value"] == str(valuation.value) and summary["currency"] == "CNY"


def test_payloads_carry_ids_and_states_never_data_values(org, queued, django_capture_on_commit_callbacks):
    endpoint_for(org)
    with django_capture_on_commit_callbacks(execute=True):
        product = registered_product(org, content=ROWS)
        listing = published_listing(product)
        contract_on(listing)

    assert WebhookDelivery.objects.count() >= 3
    for delivery in WebhookDelivery.objects.all():
        text = json.dumps(delivery.payload, ensure_ascii=False)
        assert MARKER not in text and "3001" not in text
        assert set(delivery.payload) == {"id", "type", "created", "data"}
        assert delivery.payload["type"] == delivery.event_type
        assert delivery.payload["id"] == str(delivery.event_id)


def test_other_audit_actions_are_not_partner_events(org, endpoint, queued, django_capture_on_commit_callbacks):
    product = registered_product(org)
    with django_capture_on_commit_callbacks(execute=True):
        audit_record(action="dataproduct.updated", obj=product, actor=owner_of(org), organization_id=org.pk)
        audit_record(action="dataproduct.registered", obj=None, organization_id=org.pk)  # no object: not ours

    queued.fan_out.assert_not_called()
    assert EventType.PRODUCT_REGISTERED not in types_for(endpoint)


def test_events_no_endpoint_wants_are_not_fanned_out(org, queued, django_capture_on_commit_callbacks):
    hook = endpoint_for(org, events=["payment.succeeded"])
    product = registered_product(org)
    with django_capture_on_commit_callbacks(execute=True):
        audit_record(action="dataproduct.registered", obj=product, organization_id=org.pk)
    queued.fan_out.assert_not_called()

    endpoints.endpoint_update(endpoint=hook, by=owner_of(org), events=["product.registered"])  # seen at once
    with django_capture_on_commit_callbacks(execute=True):
        audit_record(action="dataproduct.registered", obj=product, organization_id=org.pk)

    queued.fan_out.assert_called_once()
    assert types_for(hook) == ["product.registered"]
