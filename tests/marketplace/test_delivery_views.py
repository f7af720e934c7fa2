"""Delivery pages: a buyer's access, download links and files, usage; and the read-only regulator console."""

import datetime
from decimal import Decimal

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from marketplace.models import Download, Entitlement
from marketplace.services import contracts, downloads, metering
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.delivery import access_of, buy, fetch
from tests.factories.files import port_csv
from tests.factories.marketplace import plan_fields, published_listing, registered_product, regulator

pytestmark = pytest.mark.django_db

PLANS = [plan_fields("licence"), plan_fields("metered_api", free_calls=10), plan_fields("sandbox", price=Decimal(0))]


@pytest.fixture
def listing():
    return published_listing(registered_product(content=port_csv(40).encode()), plans=PLANS)


@pytest.fixture
def bought(listing):
    """One buyer holding a download, a metered API and a sandbox entitlement: {kind: entitlement}."""
    buyer = OrganizationFactory()
    held = [access_of(buy(listing, plan=plan, buyer=buyer)) for plan in listing.plans.order_by("position")]
    return {entitlement.kind: entitlement for entitlement in held}


@pytest.fixture
def buyer_client(client, bought):
    client.force_login(owner_of(bought["download"].contract.buyer))
    return client


def url(name: str, *args) -> str:
    return reverse(f"marketplace:{name}", args=args)


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- my access ----------------------------------------------------------------------------------------------------


def test_my_access_lists_every_kind_with_what_it_allows(buyer_client, bought, listing, django_assert_max_num_queries):
    access_of(buy(listing, plan=listing.plans.get(kind="licence")))  # another buyer's
    with django_assert_max_num_queries(12):
        html = page(buyer_client.get(url("entitlement_list")))
    assert html.count(bought["download"].contract.number) == 1
    assert "3 entitlements" in html
    assert html.count(f'action="{url("download_link", bought["download"].pk)}"') == 1  # downloads only
    assert "Compute in the sandbox; no download" in html
    assert url("entitlement_usage", bought["api"].pk) in html


def test_my_access_query_count_does_not_grow_with_the_list(buyer_client, bought, listing):
    few = _queries(buyer_client)
    for _ in range(3):
        access_of(buy(listing, plan=listing.plans.get(kind="licence"), buyer=bought["download"].contract.buyer))
    assert _queries(buyer_client) == few


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url("entitlement_list")).status_code == 200
    return len(captured.captured_queries)


def test_signed_out_visitors_are_sent_to_sign_in(client, bought):
    for path in (url("entitlement_list"), url("entitlement_usage", bought["api"].pk), url("download", "x")):
        response = client.get(path)
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


# --- downloading --------------------------------------------------------------------------------------------------


def test_the_download_button_redirects_to_a_signed_link_that_streams_the_file(buyer_client, bought):
    entitlement = bought["download"]
    response = buyer_client.post(url("download_link", entitlement.pk))
    assert response.status_code == 302 and response["Location"].startswith("/market/d/")
    download = buyer_client.get(response["Location"], REMOTE_ADDR="203.0.113.9")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="port-v1.csv"'
    assert "no-store" in download["Cache-Control"]
    content = b"".join(download.streaming_content)
    assert content.count(b"\n") == 41 and b"date" in content
    logged = Download.objects.get()
    assert (logged.entitlement, logged.ip_address, logged.size) == (entitlement, "203.0.113.9", len(content))


def test_the_download_page_says_what_will_be_delivered(buyer_client, bought):
    html = page(buyer_client.get(url("download_link", bought["download"].pk)))
    assert "port-v1.csv" in html and "fingerprint" in html and 'method="post"' in html
    sandbox = page(buyer_client.get(url("download_link", bought["sandbox"].pk)))
    assert "never delivers the data itself" in sandbox and "Download the file" not in sandbox


def test_an_ended_entitlement_gives_no_link_but_a_reason(buyer_client, bought):
    entitlement = bought["download"]
    contracts.contract_terminate(contract=entitlement.contract, by=regulator(), reason="Licence breached.")
    response = buyer_client.post(url("download_link", entitlement.pk), follow=True)
    assert response.redirect_chain[-1][0] == url("entitlement_list")
    assert "Licence breached." in response.content.decode()
    assert not Download.objects.exists()


def test_link_errors_are_explained_with_their_status(buyer_client, bought, settings, monkeypatch):
    entitlement = bought["download"]
    token = downloads.download_link(entitlement=entitlement, by=owner_of(entitlement.contract.buyer))
    # not valid
    response = buyer_client.get(url("download", token + "x"))
    assert response.status_code == 404 and "not valid" in response.content.decode()
    # expired
    later = signing.time.time() + settings.MARKETPLACE_DOWNLOAD_LINK_SECONDS + 1
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = buyer_client.get(url("download", token))
    assert response.status_code == 410 and "expired" in response.content.decode()
    monkeypatch.undo()
    # the download window has closed
    Entitlement.objects.filter(pk=entitlement.pk).update(ends_at=timezone.now() - datetime.timedelta(seconds=1))
    response = buyer_client.get(url("download", token))
    assert response.status_code == 403 and "ran until" in response.content.decode()
    assert not Download.objects.exists()


def test_other_organisations_get_404s(client, bought):
    entitlement = bought["download"]
    token = downloads.download_link(entitlement=entitlement, by=owner_of(entitlement.contract.buyer))
    for outsider in (owner_of(entitlement.contract.merchant), owner_of(OrganizationFactory())):
        client.force_login(outsider)
        assert client.post(url("download_link", entitlement.pk)).status_code == 404
        assert client.get(url("entitlement_usage", entitlement.pk)).status_code == 404
        assert client.get(url("download", token)).status_code == 404
    assert not Download.objects.exists()


# --- usage --------------------------------------------------------------------------------------------------------


def test_the_usage_page_shows_this_month_and_every_month(buyer_client, bought):
    api = bought["api"]
    for _ in range(3):
        with metering.metered_call(entitlement=api) as meter:
            meter.rows = 5
    html = page(buyer_client.get(url("entitlement_usage", api.pk)))
    assert "Free calls left" in html and "7 <span" in html and "¥0.00" in html
    assert f"/api/v1/data/{api.contract.listing_id}/rows" in html
    assert "By month" in html and '<td class="numeric" data-label="Rows returned">15</td>' in html


def test_the_usage_page_of_a_download_lists_the_downloads(buyer_client, bought):
    buyer_client.get(buyer_client.post(url("download_link", bought["download"].pk))["Location"]).getvalue()
    html = page(buyer_client.get(url("entitlement_usage", bought["download"].pk)))
    assert Download.objects.get().sha256 in html


def test_a_sandbox_entitlement_shows_as_sandbox_access(buyer_client, bought):
    html = page(buyer_client.get(url("entitlement_usage", bought["sandbox"].pk)))
    assert "Sandbox access" in html and "no download and no data API" in html


def test_a_running_sandbox_entitlement_links_to_its_workspace(buyer_client, bought, listing):
    workspace = f"{reverse('sandbox:workspace_list')}?product={listing.product_id}"
    assert page(buyer_client.get(url("entitlement_list"))).count(workspace) == 1
    assert workspace in page(buyer_client.get(url("entitlement_usage", bought["sandbox"].pk)))
    contracts.contract_terminate(contract=bought["sandbox"].contract, by=regulator(), reason="Breach.")
    assert workspace not in page(buyer_client.get(url("entitlement_list")))
    assert workspace not in page(buyer_client.get(url("entitlement_usage", bought["sandbox"].pk)))


# --- the regulator console ----------------------------------------------------------------------------------------


def test_regulators_read_entitlements_downloads_and_usage_but_change_nothing(client, bought):
    fetch(bought["download"])
    with metering.metered_call(entitlement=bought["api"]):
        pass
    person = member(OrganizationFactory(kind="regulator", can_buy=False), "admin")
    device = TOTPDevice.objects.create(user=person, name="phone", confirmed=True)
    client.force_login(person)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    for model in ("entitlement", "download", "usagerecord"):
        changelist = page(client.get(reverse(f"admin:marketplace_{model}_changelist")))
        assert bought["download"].contract.number in changelist or bought["api"].contract.number in changelist
        assert client.get(reverse(f"admin:marketplace_{model}_add")).status_code == 403
    change = client.get(reverse("admin:marketplace_download_change", args=[Download.objects.get().pk]))
    assert change.status_code == 200 and 'type="submit" value="Save"' not in change.content.decode()
