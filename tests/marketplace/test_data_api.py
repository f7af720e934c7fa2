"""The delivery API: the metered data API (rows, filters, pages, quota, rate limit) and entitlements, usage,
download links and files; who may, who may not."""

import datetime
from decimal import Decimal

import pytest
from django.core import signing
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.choices import ApiKeyScope
from marketplace.models import Download, Entitlement, UsageRecord
from marketplace.services import contracts
from tests.api import assert_error, signed_in, with_key
from tests.factories import ApiKeyFactory, OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.delivery import access_of, buy
from tests.factories.files import port_csv
from tests.factories.marketplace import plan_fields, published_listing, registered_product, regulator

pytestmark = pytest.mark.django_db

API = "/api/v1"
METERED = {"free_calls": 100, "price_per_call": Decimal("0.05"), "rate_limit_per_minute": 60}


def key_client(organization, scope=ApiKeyScope.READ):
    return with_key(ApiKeyFactory(organization=organization, scope=scope)[1])


def rows_url(listing) -> str:
    return f"{API}/data/{listing.pk}/rows"


@pytest.fixture
def product():
    return registered_product(content=port_csv(30).encode())


@pytest.fixture
def listing(product):
    plans = [plan_fields("metered_api", **METERED), plan_fields("licence"), plan_fields("sandbox", price=Decimal(0))]
    return published_listing(product, plans=plans)


def plan(listing, kind):
    return listing.plans.get(kind=kind)


@pytest.fixture
def api_access(listing) -> Entitlement:
    return access_of(buy(listing, plan=plan(listing, "metered_api")))


@pytest.fixture
def client(api_access):
    return key_client(api_access.contract.buyer)


# --- rows ---------------------------------------------------------------------------------------------------------


def test_a_page_of_rows_is_served_and_recorded(client, listing, api_access):
    response = client.get(rows_url(listing), {"limit": 5})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["columns"] == ["date", "port", "berth", "tons", "note"] and body["version"] == 1
    assert len(body["rows"]) == 5 and body["rows"][0] == {
        "date": "2026-01-01", "port": "青岛港", "berth": "B0", "tons": "1000", "note": None,
    }  # fmt: skip
    assert body["rows"][1]["note"] == 'cargo, mixed "1"'
    assert body["next"].endswith("limit=5&offset=5")
    assert body["usage"] == {"billable": False, "amount": "0.0000", "free_calls_left": 99, "rate_limit_remaining": 59}
    assert response["X-RateLimit-Limit"] == "60" and response["X-Free-Calls-Remaining"] == "99"
    record = UsageRecord.objects.get()
    assert (record.entitlement, record.rows, record.billable) == (api_access, 5, False)
    assert record.api_key.organization == api_access.contract.buyer


def test_filters_select_rows_by_column_value(client, listing):
    one = client.get(rows_url(listing), {"port": "青岛港", "limit": 100}).json()
    assert len(one["rows"]) == 6 and {row["port"] for row in one["rows"]} == {"青岛港"}
    both = client.get(f"{rows_url(listing)}?port=青岛港&port=Yantai&berth=B0").json()
    assert [(row["port"], row["berth"]) for row in both["rows"]] == [("青岛港", "B0")]
    assert both["next"] is None


def test_an_unknown_column_is_refused_and_not_billed(client, listing):
    response = client.get(rows_url(listing), {"ship": "x"})
    body = assert_error(response, 400, "unknown_column")
    assert "ship" in body["detail"] and "port" in body["detail"]
    assert not UsageRecord.objects.exists()


def test_paging_past_the_end_and_bad_limits(client, listing):
    assert client.get(rows_url(listing), {"offset": 30}).json()["rows"] == []
    assert_error(client.get(rows_url(listing), {"limit": 5000}), 400, "invalid")
    assert_error(client.get(rows_url(listing), {"offset": -1}), 400, "invalid")
    assert UsageRecord.objects.count() == 1


def test_the_data_api_takes_api_keys_only(listing, api_access):
    session = signed_in(owner_of(api_access.contract.buyer))
    assert_error(session.get(rows_url(listing)), 403, "api_key_required")
    assert APIClient().get(rows_url(listing)).status_code == 401
    assert not UsageRecord.objects.exists()


def test_no_rows_without_a_running_metered_contract(listing, api_access, client):
    # another organisation, a licence holder and a sandbox holder: a published listing, no API contract
    licence = access_of(buy(listing, plan=plan(listing, "licence")))
    sandbox = access_of(buy(listing, plan=plan(listing, "sandbox")))
    for organization in (OrganizationFactory(), licence.contract.buyer, sandbox.contract.buyer):
        assert_error(key_client(organization).get(rows_url(listing)), 403, "no_entitlement")
    # a listing nobody may see is a 404
    assert_error(client.get(f"{API}/data/999999/rows"), 404, "not_found")
    # an ended contract says so
    contracts.contract_terminate(contract=api_access.contract, by=regulator(), reason="Unpaid usage bills.")
    body = assert_error(client.get(rows_url(listing)), 403, "entitlement_ended")
    assert "Unpaid usage bills." in body["detail"]
    assert not UsageRecord.objects.exists()


def test_over_the_quota_of_a_free_plan_is_a_429_with_retry_after(product):
    listing = published_listing(product, plans=[plan_fields("metered_api", free_calls=1, price_per_call=0)])
    client = key_client(access_of(buy(listing)).contract.buyer)
    assert client.get(rows_url(listing)).status_code == 200
    response = client.get(rows_url(listing))
    body = assert_error(response, 429, "quota_exceeded")
    assert "free calls" in body["detail"] and int(response["Retry-After"]) > 0
    assert UsageRecord.objects.count() == 1


def test_over_the_rate_limit_is_a_429_with_retry_after(product):
    listing = published_listing(product, plans=[plan_fields("metered_api", rate_limit_per_minute=1)])
    client = key_client(access_of(buy(listing)).contract.buyer)
    assert client.get(rows_url(listing)).status_code == 200
    response = client.get(rows_url(listing))
    body = assert_error(response, 429, "rate_limited")
    assert "1 calls a minute" in body["detail"] and 1 <= int(response["Retry-After"]) <= 60
    assert UsageRecord.objects.count() == 1


def test_calls_beyond_the_free_ones_are_billed(product):
    listing = published_listing(product, plans=[plan_fields("metered_api", free_calls=1)])
    client = key_client(access_of(buy(listing)).contract.buyer)
    client.get(rows_url(listing))
    assert client.get(rows_url(listing)).json()["usage"] == {
        "billable": True, "amount": "0.0500", "free_calls_left": 0, "rate_limit_remaining": 58,
    }  # fmt: skip


# --- entitlements, usage, links -------------------------------------------------------------------------------------


def test_entitlements_list_what_the_caller_holds(listing, api_access, client, django_assert_max_num_queries):
    sandbox = access_of(buy(listing, plan=plan(listing, "sandbox"), buyer=api_access.contract.buyer))
    access_of(buy(listing, plan=plan(listing, "licence")))  # someone else's
    with django_assert_max_num_queries(8):
        body = client.get(f"{API}/entitlements/").json()
    by_kind = {item["kind"]: item for item in body["results"]}
    assert set(by_kind) == {"api", "sandbox"}
    assert by_kind["api"]["rows_url"].endswith(rows_url(listing)) and by_kind["api"]["running"] is True
    assert by_kind["sandbox"]["rows_url"] is None and "sandbox" in by_kind["sandbox"]["access"]
    assert by_kind["sandbox"]["id"] == sandbox.pk
    assert [item["kind"] for item in client.get(f"{API}/entitlements/", {"kind": "sandbox"}).json()["results"]] == [
        "sandbox"
    ]


def test_another_organisations_entitlement_is_a_404(api_access):
    stranger = key_client(OrganizationFactory())
    assert_error(stranger.get(f"{API}/entitlements/{api_access.pk}/"), 404, "not_found")
    assert_error(stranger.get(f"{API}/entitlements/{api_access.pk}/usage/"), 404, "not_found")
    assert_error(stranger.post(f"{API}/entitlements/{api_access.pk}/download-link/"), 404, "not_found")


def test_usage_reports_this_month_and_every_month(client, listing, api_access):
    client.get(rows_url(listing), {"limit": 3})
    client.get(rows_url(listing), {"limit": 4})
    body = client.get(f"{API}/entitlements/{api_access.pk}/usage/").json()
    assert body["current"]["calls"] == 2 and body["current"]["rows"] == 7
    assert body["free_calls"] == 100 and body["free_left"] == 98
    assert len(body["months"]) == 1 and body["months"][0]["amount"] == "0.0000"


def test_a_read_key_gets_a_download_link_and_the_file(listing):
    licence = access_of(buy(listing, plan=plan(listing, "licence")))
    client = key_client(licence.contract.buyer)
    response = client.post(f"{API}/entitlements/{licence.pk}/download-link/")
    assert response.status_code == 201, response.content
    link = response.json()
    assert link["version"] == 1 and link["filename"] == "port-v1.csv" and "/market/d/" in link["web_url"]
    download = client.get(link["url"])
    assert download.status_code == 200 and download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"] == 'attachment; filename="port-v1.csv"'
    assert b"".join(download.streaming_content).count(b"\n") == 31
    assert Download.objects.get().entitlement == licence
    # the link is the buyer's: another organisation's key gets a 404, nothing is logged
    assert_error(key_client(OrganizationFactory()).get(link["url"]), 404, "not_found")
    assert Download.objects.count() == 1


def test_download_links_are_refused_with_clear_codes(listing, api_access, client, settings, monkeypatch):
    assert_error(client.post(f"{API}/entitlements/{api_access.pk}/download-link/"), 403, "not_downloadable")
    licence = access_of(buy(listing, plan=plan(listing, "licence")))
    licensee = key_client(licence.contract.buyer)
    url = licensee.post(f"{API}/entitlements/{licence.pk}/download-link/").json()["url"]
    # an expired link
    later = signing.time.time() + settings.MARKETPLACE_DOWNLOAD_LINK_SECONDS + 1
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert_error(licensee.get(url), 410, "link_expired")
    monkeypatch.undo()
    # a download window that has closed
    Entitlement.objects.filter(pk=licence.pk).update(ends_at=timezone.now() - datetime.timedelta(seconds=1))
    assert_error(licensee.get(url), 403, "entitlement_ended")
    assert_error(licensee.post(f"{API}/entitlements/{licence.pk}/download-link/"), 403, "entitlement_ended")
    assert_error(licensee.get(f"{API}/downloads/not-a-token/"), 404, "link_invalid")
    assert not Download.objects.exists()
