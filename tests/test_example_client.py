"""scripts/example_client.py end to end against a live server and localstripe, with the keys `demo_api_keys` prints.

localstripe reaches the live server only once the server's webhook URL is registered with it, as scripts/run-dev.sh
registers `make run`'s. localstripe cannot forget a registration, so every run re-points the same one.
"""

import csv
import importlib.util
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.demo import DEMO_DOMAIN
from accounts.management.commands.demo_api_keys import KEY_NAME
from accounts.models import ApiKey
from accounts.services import ApiKeyRejected, api_key_authenticate
from marketplace.choices import ContractStatus, PaymentStatus
from marketplace.models import Contract, Payment
from registry.choices import ProductStatus
from registry.models import DataProduct
from tests.factories import OrganizationFactory, UserFactory
from tests.factories.marketplace import plan_fields, published_listing, registered_product

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "example_client.py"
WEBHOOK_ID = "example-client-test"


@pytest.fixture
def example_client():
    spec = importlib.util.spec_from_file_location("example_client", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def demo_orgs(db):
    """The demo merchant's and the demo buyer's organisations, as `seed_demo` names their owners."""
    merchant = OrganizationFactory(owner=UserFactory(email=f"merchant@{DEMO_DOMAIN}"))
    buyer = OrganizationFactory(owner=UserFactory(email=f"buyer@{DEMO_DOMAIN}"), can_sell=False)
    return merchant, buyer


@pytest.fixture
def listing(db):
    """Another merchant's published listing with a paid one-off licence, like those of the demo data."""
    licence = plan_fields("licence", name="One-off licence", price=Decimal("48000.00"), download_days=30)
    return published_listing(registered_product(OrganizationFactory()), plans=[plan_fields(price=0), licence])


@pytest.fixture
def stripe_webhook(live_server, settings):
    """localstripe posts its events to the live server's webhook, signed with the app's secret."""
    response = requests.post(
        f"{settings.STRIPE_API_BASE.rstrip('/')}/_config/webhooks/{WEBHOOK_ID}",
        data={"url": f"{live_server.url}/webhooks/stripe/", "secret": settings.STRIPE_WEBHOOK_SECRET},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def demo_api_keys(settings) -> dict[str, str]:
    """Run `manage.py demo_api_keys` (a development command) and read the keys off its exports."""
    settings.DEBUG = True
    out = io.StringIO()
    call_command("demo_api_keys", stdout=out)
    return dict(re.findall(r"^export (\w+)=(\S+)", out.getvalue(), re.MULTILINE))


def run(example_client, live_server, settings, keys: dict[str, str], out: Path, *extra: str) -> int:
    return example_client.main([
        "--base", live_server.url, "--merchant-key", keys["DATABOURSE_MERCHANT_KEY"],
        "--buyer-key", keys["DATABOURSE_BUYER_KEY"], "--stripe-api-base", settings.STRIPE_API_BASE,
        "--stripe-api-key", settings.STRIPE_API_KEY, "--out", str(out), *extra,
    ])  # fmt: skip


# --- demo_api_keys ------------------------------------------------------------------------------------------------


def test_demo_api_keys_issues_write_keys_for_the_demo_merchant_and_buyer(demo_orgs, settings):
    # given keys issued once
    first = demo_api_keys(settings)
    # when they are issued again
    second = demo_api_keys(settings)
    # then the new ones work, with the write scope, for the demo organisations; the first ones are revoked
    assert set(second) == {"DATABOURSE_MERCHANT_KEY", "DATABOURSE_BUYER_KEY"}
    merchant, buyer = demo_orgs
    assert api_key_authenticate(second["DATABOURSE_MERCHANT_KEY"]).organization == merchant
    assert api_key_authenticate(second["DATABOURSE_BUYER_KEY"]).organization == buyer
    assert set(ApiKey.objects.active().values_list("scope", flat=True)) == {"write"}
    for raw in first.values():
        with pytest.raises(ApiKeyRejected) as refused:
            api_key_authenticate(raw)
        assert refused.value.code == "api_key_revoked"
    assert ApiKey.objects.filter(name=KEY_NAME).count() == 4


def test_demo_api_keys_is_refused_outside_development(demo_orgs, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development"):
        call_command("demo_api_keys", stdout=io.StringIO())
    assert not ApiKey.objects.exists()


def test_demo_api_keys_asks_for_the_demo_data_first(db, settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("demo_api_keys", stdout=io.StringIO())


# --- the example client -------------------------------------------------------------------------------------------


def test_the_example_client_registers_buys_and_downloads(
    example_client, live_server, stripe_webhook, settings, demo_orgs, listing, tmp_path, capsys
):
    merchant, buyer = demo_orgs
    keys = demo_api_keys(settings)

    code = run(example_client, live_server, settings, keys, tmp_path)

    out = capsys.readouterr().out
    assert code == 0, out
    # the merchant's product waits for a regulator, with its profiled version
    product = DataProduct.objects.get(organization=merchant)
    assert product.status == ProductStatus.SUBMITTED
    assert product.versions.get().profile_status == "done"
    # the buyer bought the paid licence, paid it by card, and its contract runs
    contract = Contract.objects.get(buyer=buyer)
    assert (contract.listing, contract.plan.name) == (listing, "One-off licence")
    assert contract.status == ContractStatus.ACTIVE
    assert Payment.objects.get(contract=contract).status == PaymentStatus.SUCCEEDED
    # and the file it delivers is saved (fingerprinted for the contract: the CSV reads the same, its bytes differ)
    (saved,) = tmp_path.iterdir()
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["date", "port", "tons"] and len(rows) == 21
    for step in ("drafted product", "submitted product", "signed (awaiting_payment)", "is active", f"saved {saved}"):
        assert step in out


def test_without_a_webhook_the_example_client_asks_the_exchange_to_check_with_stripe(
    example_client, live_server, settings, demo_orgs, listing, tmp_path, capsys
):
    # given no time to wait for Stripe's webhook (localstripe sends it a second after the payment at the earliest)
    keys = demo_api_keys(settings)

    code = run(example_client, live_server, settings, keys, tmp_path, "--wait", "0")

    out = capsys.readouterr().out
    assert code == 0, out
    assert "asking the exchange to check the payment with Stripe" in out
    assert Contract.objects.get(buyer=demo_orgs[1]).status == ContractStatus.ACTIVE


def test_the_example_client_reports_an_api_error_with_its_code(
    example_client, live_server, settings, demo_orgs, listing, tmp_path, capsys
):
    keys = {"DATABOURSE_MERCHANT_KEY": "dbk_00000000_" + "0" * 64, "DATABOURSE_BUYER_KEY": "dbk_00000000_" + "0" * 64}

    code = run(example_client, live_server, settings, keys, tmp_path)

    assert code == 1
    assert "401 api_key_invalid" in capsys.readouterr().err
