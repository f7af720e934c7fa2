"""The merchant's and the buyer's dashboards, the public exchange statistics and the cards on the home page."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.choices import ContractStatus, EntitlementKind, PayoutStatus
from marketplace.models import Payout
from marketplace.services.stats import month_starts
from registry.choices import Sector
from tests.factories import OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.bulk import at, bulk_contracts, calls, downloads, grant, ledger
from tests.factories.marketplace import published_listing, registered_product

pytestmark = pytest.mark.django_db

SALES = reverse("marketplace:merchant_dashboard")
PURCHASES = reverse("marketplace:buyer_dashboard")
STATISTICS = reverse("marketplace:statistics")
MAX_QUERIES = 9  # every dashboard renders in under ten queries, whatever the data size


@pytest.fixture
def merchant():
    return OrganizationFactory(name="Haier Data Services")


@pytest.fixture
def buyer():
    return OrganizationFactory(name="Qingdao Port Logistics", can_sell=False)


@pytest.fixture
def listing(merchant):
    return published_listing(registered_product(merchant, sector=Sector.MARINE), title="Container throughput")


def signed_in(client, organization):
    client.force_login(owner_of(organization))
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def assert_accessible_charts(html: str, count: int) -> None:
    """Server-drawn charts: an image with a title and a description each, and no inline style (the CSP)."""
    svgs = re.findall(r"<svg [^>]*>.*?</svg>", html, flags=re.S)
    assert len(svgs) == count
    for svg in svgs:
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg and "style=" not in svg
    ids = re.findall(r'<(?:title|desc) id="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def many_sales(merchant, listing, buyer, per_month: int = 25) -> None:
    sold = bulk_contracts(listing, buyer, 120, starts_at=timezone.now(), price="800")
    bulk_contracts(listing, buyer, 30, status=ContractStatus.REQUESTED)
    for index, month in enumerate(month_starts()):
        ledger(merchant, "sale", "800", contract=sold[index], count=per_month, when=at(month))
    Payout.objects.bulk_create(Payout(organization=merchant, amount=Decimal(100)) for _ in range(20))


# --- access -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [SALES, PURCHASES])
def test_the_dashboards_need_a_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_statistics_are_public(client):
    response = client.get(STATISTICS)
    assert response.status_code == 200 and "Exchange statistics" in text_of(response)


# --- merchant ---------------------------------------------------------------------------------------------------


def test_merchant_without_sales_sees_what_to_do(client, merchant):
    html = text_of(signed_in(client, merchant).get(SALES))
    assert "No sales yet." in html and reverse("registry:product_list") in html
    assert "<svg" not in html


def test_merchant_sees_its_sales_balance_payouts_and_contracts(client, merchant, listing, buyer):
    sold = bulk_contracts(listing, buyer, 2, starts_at=timezone.now(), price="1000")
    bulk_contracts(listing, buyer, 1, status=ContractStatus.REQUESTED)
    ledger(merchant, "sale", "1000", contract=sold[0], count=2)
    Payout.objects.create(organization=merchant, amount=Decimal("300"), status=PayoutStatus.PAID, reference="TRF-8")
    ledger(merchant, "payout", "-300")
    ledger(OrganizationFactory(), "sale", "123456")  # someone else's sale

    response = signed_in(client, merchant).get(SALES)

    html = text_of(response)
    assert response.status_code == 200
    assert "¥2,000.00" in html and "¥1,600.00" in html  # gross this month; owed: 1,900 after the fee less 300
    assert "TRF-8" in html and "Container throughput" in html
    assert "123,456" not in html
    assert_accessible_charts(html, 2)  # sales by month, contracts by state
    assert 'class="chart-seg seg-active"' in html and 'class="chart-seg seg-requested"' in html


def test_an_organisation_that_does_not_sell_is_told_so(client, buyer):
    html = text_of(signed_in(client, buyer).get(SALES))
    assert "is not registered as a data merchant" in html


def test_merchant_dashboard_queries_do_not_grow_with_the_data(client, merchant, listing, buyer,
                                                              django_assert_max_num_queries):  # fmt: skip
    signed_in(client, merchant)
    ledger(merchant, "sale", "100", contract=bulk_contracts(listing, buyer, 1, starts_at=timezone.now())[0])
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(SALES).status_code == 200
    many_sales(merchant, listing, buyer)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(SALES)
    assert response.context["summary"].this_month.sales == 1 + 25


# --- buyer ------------------------------------------------------------------------------------------------------


def test_buyer_without_contracts_sees_what_to_do(client, buyer):
    html = text_of(signed_in(client, buyer).get(PURCHASES))
    assert "You have not bought any data yet." in html and "<svg" not in html


def test_buyer_sees_contracts_access_and_use(client, listing, buyer):
    contracts = bulk_contracts(listing, buyer, 2, starts_at=timezone.now())
    download, api = grant(contracts[:1])[0], grant(contracts[1:], kind=EntitlementKind.API)[0]
    downloads(download, 4)
    calls(api, 120, period=month_starts()[-1])
    calls(api, 20, period=month_starts()[-1], billable=True, amount="0.05")

    response = signed_in(client, buyer).get(PURCHASES)

    html = text_of(response)
    assert response.status_code == 200
    assert "Container throughput" in html and contracts[0].number in html
    assert "140" in html and "¥1.00" in html  # API calls and the amount billed this month
    assert_accessible_charts(html, 3)  # states, downloads, API calls


def test_buyer_dashboard_queries_do_not_grow_with_the_data(client, listing, buyer, django_assert_max_num_queries):
    signed_in(client, buyer)
    grant(bulk_contracts(listing, buyer, 1, starts_at=timezone.now()))
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(PURCHASES).status_code == 200
    for entitlement in grant(bulk_contracts(listing, buyer, 60, starts_at=timezone.now())):
        downloads(entitlement, 5)
        calls(entitlement, 10, period=month_starts()[-1])
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(PURCHASES)
    assert response.context["summary"].this_month.downloads == 300


# --- public statistics ------------------------------------------------------------------------------------------


def test_statistics_hide_small_cells_and_name_no_organisation(client, merchant, listing, buyer):
    last = month_starts(complete=True)[-1]
    bulk_contracts(listing, buyer, 5, starts_at=at(last), price="1000")
    energy = published_listing(registered_product(merchant, sector=Sector.ENERGY), title="Grid load")
    bulk_contracts(energy, buyer, 1, starts_at=at(last), price="77777")

    html = text_of(client.get(STATISTICS))

    assert "Haier Data Services" not in html and "Qingdao Port Logistics" not in html
    assert "Container throughput" not in html and "Grid load" not in html
    assert "77,777" not in html  # the single energy deal
    assert "&lt;3" in html and "¥82,777.00" in html  # the six deals of the month together
    assert_accessible_charts(html, 4)


def test_statistics_without_trade_say_so(client):
    html = text_of(client.get(STATISTICS))
    assert "Nothing is on the exchange yet." in html and "No contract started between" in html


def test_statistics_queries_do_not_grow_with_the_data(client, merchant, listing, buyer,
                                                      django_assert_max_num_queries):  # fmt: skip
    with django_assert_max_num_queries(MAX_QUERIES):
        client.get(STATISTICS)
    for month in month_starts(complete=True):
        bulk_contracts(listing, buyer, 20, starts_at=at(month))
    from django.core.cache import cache

    cache.clear()
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(STATISTICS)
    assert response.context["figures"].total.contracts == 240
    with django_assert_max_num_queries(0):  # cached
        client.get(STATISTICS)


def test_the_pages_render_in_chinese(client, merchant, listing, buyer):
    last = month_starts(complete=True)[-1]
    bulk_contracts(listing, buyer, 4, starts_at=at(last))
    ledger(merchant, "sale", "100")
    client.cookies["django_language"] = "zh-hans"
    html = text_of(client.get(STATISTICS))
    assert 'lang="zh-hans"' in html and f"{last.year}年{last.month}月" in html
    assert signed_in(client, merchant).get(SALES).status_code == 200
    assert client.get(PURCHASES).status_code == 200


# --- the signed-in home page ------------------------------------------------------------------------------------


def test_home_links_a_trading_organisation_to_its_dashboards(client, merchant):
    html = text_of(signed_in(client, merchant).get(reverse("home")))
    assert SALES in html and PURCHASES in html and STATISTICS in html
    assert "Your organisations" in html  # what it showed before stays


def test_home_shows_no_sales_card_to_an_organisation_that_only_buys(client, buyer):
    html = text_of(signed_in(client, buyer).get(reverse("home")))
    assert SALES not in html and PURCHASES in html


def test_home_cards_show_the_figures_when_the_view_passes_them(rf, merchant, listing, buyer):
    """core.views.home may add `market` (stats.home_figures): the cards then show this month's sales and more."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.template.loader import render_to_string

    from accounts.web import can, user_memberships
    from marketplace.services.stats import home_figures

    ledger(merchant, "sale", "1234", count=1)
    bulk_contracts(listing, buyer, 2, status=ContractStatus.REQUESTED)
    request = rf.get("/")
    request.user, request.session = owner_of(merchant), SessionStore()
    context = {
        "dashboard": [(m, can(m, "manage")) for m in user_memberships(request)],
        "market": home_figures(merchant),
    }
    html = re.sub(r"\s+", " ", render_to_string("dashboard.html", context, request=request))
    assert "¥1,234.00" in html and "2 contract requests to answer" in html and SALES in html
