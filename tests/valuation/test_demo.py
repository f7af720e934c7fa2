"""Demo valuations for `make run`: every method, an accredited appraisal, idempotent, readable in the console."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.models import AuditEvent
from audit.services import ledger_verify
from valuation import demo
from valuation.choices import BatchStatus, Method, PerformerKind, ValuationStatus
from valuation.models import ComparableTransaction, RevaluationBatch, Valuation


def _counts() -> tuple[int, ...]:
    models = (Valuation, ComparableTransaction, RevaluationBatch, AuditEvent)
    return tuple(model.objects.count() for model in models)


@pytest.mark.django_db(transaction=True)
def test_seed_demo_values_the_registered_products_once(client):
    # given the demo data, valuations included (seed_demo runs them eagerly)
    call_command("seed_demo", "--quiet-logins")
    valuations = Valuation.objects.select_related("product", "organization")
    # then every valuation ran, by every method, at the scale of a city exchange
    assert set(valuations.values_list("status", flat=True)) == {ValuationStatus.DONE}
    assert set(valuations.values_list("method", flat=True)) == set(Method.values)
    assert all(Decimal(100_000) <= v.value <= Decimal(10_000_000) and v.low <= v.value <= v.high for v in valuations)
    # and one is an accredited appraisal by the demo appraiser of another organisation's registered product
    accredited = valuations.get(performer_kind=PerformerKind.ACCREDITED)
    assert accredited.organization.can_appraise and accredited.product.organization != accredited.organization
    assert accredited.product.status == "registered"
    assert all(c.source.startswith("demo") for c in ComparableTransaction.objects.all())
    assert RevaluationBatch.objects.get().status == BatchStatus.DONE
    # when seeding again, nothing is added
    counts = _counts()
    call_command("seed_demo", "--quiet-logins")
    demo.seed_demo_data(stdout=io.StringIO(), regulator=None)
    assert _counts() == counts
    assert ledger_verify().ok
    # and the regulator console shows every demo valuation
    _console_login(client)
    for valuation in valuations:
        response = client.get(reverse("admin:valuation_valuation_change", args=[valuation.pk]))
        assert response.status_code == 200 and "Accounting treatment" in response.content.decode()


def _console_login(client) -> None:
    regulator = User.objects.get(email="regulator@demo.databourse.cn")
    client.force_login(regulator)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=regulator).persistent_id
    session.save()


def test_demo_composite_weights_add_up_and_comparables_are_marked_as_demo():
    weights = [Decimal(c["weight"]) for c in demo.PORT_COMPOSITE["components"]]
    assert sum(weights) == 1
    assert {c["description"] for c in demo.PORT_MARKET["comparables"]} <= {c.description for c in demo.DEMO_COMPARABLES}
    assert all(c.source.startswith("demo") and len(c.source) <= 200 for c in demo.DEMO_COMPARABLES)
