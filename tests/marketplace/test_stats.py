"""Dashboard figures: a merchant's sales, a buyer's use, the exchange's public statistics and their protection."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplace.choices import ContractStatus, EntitlementKind, PayoutStatus, SettlementKind
from marketplace.models import Entitlement, Payout, SettlementEntry
from marketplace.services import contracts as contract_services
from marketplace.services import stats
from marketplace.services.stats import Cell, month_starts, protect_cells
from registry.choices import Sector
from tests.factories import OrganizationFactory
from tests.factories.bulk import at, bulk_contracts, calls, downloads, grant, ledger
from tests.factories.marketplace import contract_on, plan_fields, published_listing, registered_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    return OrganizationFactory()


@pytest.fixture
def buyer():
    return OrganizationFactory(can_sell=False)


@pytest.fixture
def listing(merchant):
    return published_listing(registered_product(merchant, sector=Sector.MARINE))


# --- months -----------------------------------------------------------------------------------------------------


def test_months_are_the_exchanges_calendar_months():
    # 17:30 UTC on 31 January is 01:30 on 1 February in Shanghai
    now = datetime.datetime(2026, 1, 31, 17, 30, tzinfo=datetime.UTC)
    months = month_starts(now=now)
    assert len(months) == 12 and months[-1] == datetime.date(2026, 2, 1) and months[0] == datetime.date(2025, 3, 1)
    assert month_starts(3, complete=True, now=now) == [
        datetime.date(2025, 11, 1), datetime.date(2025, 12, 1), datetime.date(2026, 1, 1)
    ]  # fmt: skip


# --- merchant ---------------------------------------------------------------------------------------------------


def test_merchant_summary_sales_by_month_balance_and_payouts(merchant, listing, buyer):
    months = month_starts()
    sold = bulk_contracts(listing, buyer, 3, starts_at=timezone.now())
    ledger(merchant, "sale", "1000", contract=sold[0], count=2, when=at(months[-1], day=1, hour=1))
    ledger(merchant, "sale", "400", contract=sold[1], when=at(months[-3]))
    ledger(merchant, "usage", "100", contract=sold[2])
    ledger(merchant, "refund", "-200", contract=sold[1], when=at(months[-3], day=20))
    ledger(merchant, "sale", "999", contract=sold[0], when=at(months[0], day=1) - datetime.timedelta(days=3))
    payout = Payout.objects.create(organization=merchant, amount=Decimal("500"), status=PayoutStatus.PAID)
    SettlementEntry.objects.create(organization=merchant, kind=SettlementKind.PAYOUT, payout=payout,
                                   gross=Decimal(-500), fee=0, net=Decimal(-500))  # fmt: skip
    Payout.objects.create(organization=merchant, amount=Decimal("80"), status=PayoutStatus.PENDING)
    ledger(OrganizationFactory(), "sale", "7777")  # another merchant's

    summary = stats.merchant_summary(merchant)

    assert [m.month for m in summary.months] == months
    assert summary.this_month.sales == 2 and summary.this_month.gross == Decimal("2000")
    assert summary.this_month.net == Decimal("1900") and summary.this_month.usage == Decimal("95")
    assert summary.months[-3].gross == Decimal("400") and summary.months[-3].refunds == Decimal("-200")
    assert sum(m.sales for m in summary.months) == 3  # the sale before the twelve months is not in them
    assert summary.balance == Decimal("1900") + Decimal("95") + Decimal("380") - 200 + Decimal("949.05") - 500
    assert summary.lifetime_gross == Decimal("3399")
    assert (summary.payouts_paid, summary.payouts_pending) == (Decimal("500"), Decimal("80"))
    assert [p.amount for p in summary.recent_payouts] == [Decimal("80"), Decimal("500")]


def test_a_sale_late_in_the_evening_counts_in_the_next_local_month(merchant):
    months = month_starts()
    # 16:30 UTC on the last day of last month is 00:30 on the first of this month in Shanghai
    ledger(merchant, "sale", "10", when=at(months[-1], day=1, hour=0) + datetime.timedelta(minutes=30))
    summary = stats.merchant_summary(merchant)
    assert summary.this_month.sales == 1 and summary.months[-2].sales == 0


def test_merchant_contracts_by_state_and_best_selling_listings(merchant, listing, buyer):
    other = published_listing(registered_product(merchant), plans=[plan_fields(price=Decimal("20"))])
    active = bulk_contracts(listing, buyer, 2, starts_at=timezone.now(), price="300")
    bulk_contracts(other, buyer, 1, status=ContractStatus.REQUESTED, price="20")
    ledger(merchant, "sale", "300", contract=active[0], count=2)
    best = bulk_contracts(other, buyer, 1, starts_at=timezone.now(), price="5000")[0]
    ledger(merchant, "sale", "5000", contract=best)

    summary = stats.merchant_summary(merchant)

    assert [(s.status, s.count, s.value) for s in summary.states] == [
        ("requested", 1, Decimal("20")), ("active", 3, Decimal("5600"))
    ]  # fmt: skip
    assert summary.awaiting_answer == 1 and summary.contracts == 4
    assert [(t.listing_id, t.sales, t.gross) for t in summary.top_listings] == [
        (other.pk, 1, Decimal("5000")), (listing.pk, 2, Decimal("600"))
    ]  # fmt: skip


def test_merchant_summary_takes_the_same_queries_for_few_and_many_rows(merchant, listing, buyer,
                                                                       django_assert_num_queries):  # fmt: skip
    with django_assert_num_queries(5):
        empty = stats.merchant_summary(merchant)
    assert empty.balance == 0 and not empty.recent_sales and empty.states == []
    sold = bulk_contracts(listing, buyer, 200, starts_at=timezone.now())
    for month in month_starts():
        ledger(merchant, "sale", "100", contract=sold[month.month], count=30, when=at(month))
    Payout.objects.bulk_create(Payout(organization=merchant, amount=Decimal(10)) for _ in range(50))
    with django_assert_num_queries(5):
        full = stats.merchant_summary(merchant)
    assert full.this_month.sales == 30 and len(full.recent_payouts) == 5


# --- buyer ------------------------------------------------------------------------------------------------------


def test_buyer_summary_contracts_access_downloads_and_calls(listing, buyer):
    months = month_starts()
    contract = contract_on(listing, buyer=buyer)
    contract_services.contract_activate(contract=contract)
    entitlement = contract.entitlements.get()
    api = grant(bulk_contracts(listing, buyer, 1, starts_at=timezone.now()), kind=EntitlementKind.API)[0]
    bulk_contracts(listing, buyer, 2, status=ContractStatus.AWAITING_PAYMENT)
    ended = grant(bulk_contracts(listing, buyer, 1, status=ContractStatus.EXPIRED))[0]
    Entitlement.objects.filter(pk=ended.pk).update(status="ended")
    downloads(entitlement, 3, size=2048)
    downloads(entitlement, 2, when=at(months[-4]))
    calls(api, 5, period=months[-1])
    calls(api, 2, period=months[-1], billable=True, amount="0.05")
    calls(api, 4, period=months[-2])
    other_buyer = OrganizationFactory()
    downloads(grant(bulk_contracts(listing, other_buyer, 1, starts_at=timezone.now()))[0], 9)

    summary = stats.buyer_summary(buyer)

    assert summary.active_contracts == 2 and summary.awaiting_payment == 2 and summary.contracts == 5
    assert summary.entitlements == {"download": 1, "api": 1} and summary.active_entitlements == 2
    assert {e.pk for e in summary.ending_soon} == {entitlement.pk, api.pk}
    this = summary.this_month
    assert (this.downloads, this.bytes, this.calls, this.billable_calls) == (3, 3 * 2048, 7, 2)
    assert this.billed == Decimal("0.10")
    assert summary.months[-4].downloads == 2 and summary.months[-2].calls == 4
    assert summary.recent_use


def test_buyer_summary_takes_the_same_queries_for_few_and_many_rows(listing, buyer, django_assert_num_queries):
    with django_assert_num_queries(5):
        assert stats.buyer_summary(buyer).contracts == 0
    entitlements = grant(bulk_contracts(listing, buyer, 40, starts_at=timezone.now()))
    for entitlement in entitlements[:10]:
        downloads(entitlement, 20)
        calls(entitlement, 30, period=month_starts()[-1])
    with django_assert_num_queries(5):
        summary = stats.buyer_summary(buyer)
    assert summary.this_month.downloads == 200 and len(summary.ending_soon) == stats.ENTITLEMENTS_SHOWN


# --- protecting small cells -------------------------------------------------------------------------------------


def cells(*counts: int) -> tuple[list[Cell], Cell]:
    made = [Cell(f"c{i}", n, Decimal(n * 100)) for i, n in enumerate(counts)]
    return made, Cell(None, sum(counts), Decimal(sum(counts) * 100))


def hidden(made: list[Cell]) -> list[str]:
    return [cell.hidden for cell in made]


def test_cells_of_three_or_more_contracts_and_empty_ones_are_shown():
    made, total = cells(3, 0, 10)
    protect_cells(made, total)
    assert hidden(made) == ["", "", ""] and total.shown


def test_a_single_small_cell_takes_the_next_smallest_with_it():
    # with one hidden cell shown next to the total, total minus the others would give it away
    made, total = cells(1, 7, 4, 0)
    protect_cells(made, total)
    assert hidden(made) == ["small", "", "secondary", ""] and total.shown


def test_small_cells_holding_three_contracts_together_need_no_more():
    made, total = cells(1, 2, 9)
    protect_cells(made, total)
    assert hidden(made) == ["small", "small", ""]
    made, total = cells(1, 1, 9, 5)
    protect_cells(made, total)
    assert hidden(made) == ["small", "small", "", "secondary"]


def test_a_total_of_fewer_than_three_is_hidden_too():
    made, total = cells(1, 1, 0)
    protect_cells(made, total)
    assert hidden(made) == ["small", "small", ""] and total.hidden == "small"


# --- public statistics ------------------------------------------------------------------------------------------


def test_exchange_statistics_by_sector_and_month(merchant, listing, buyer):
    months = month_starts(complete=True)
    energy = published_listing(registered_product(merchant, sector=Sector.ENERGY))
    registered_product(OrganizationFactory(), sector=Sector.FINANCE)  # registered, never listed
    bulk_contracts(listing, buyer, 4, starts_at=at(months[-1]), price="1000")
    bulk_contracts(listing, buyer, 3, starts_at=at(months[-2]), price="500")
    bulk_contracts(energy, buyer, 1, starts_at=at(months[-2]), price="90000")  # one deal: hidden
    bulk_contracts(listing, buyer, 5, starts_at=at(months[-1]), status=ContractStatus.REFUNDED)
    bulk_contracts(listing, buyer, 5, status=ContractStatus.AWAITING_PAYMENT)
    bulk_contracts(listing, buyer, 6, starts_at=timezone.now())  # this month: not complete yet
    bulk_contracts(listing, buyer, 6, starts_at=at(months[0], day=1) - datetime.timedelta(days=2))  # too old

    figures = stats.compute_exchange_statistics()

    assert [cell.key for cell in figures.months] == months
    assert (figures.total.contracts, figures.total.value) == (8, Decimal("95500")) and figures.total.shown
    sectors = {row.sector: row for row in figures.sectors}
    assert list(sectors) == [Sector.MARINE, Sector.FINANCE, Sector.ENERGY]  # in the order of Sector
    assert (sectors["marine"].products, sectors["marine"].listings) == (1, 1)
    assert (sectors["finance"].products, sectors["finance"].listings, sectors["finance"].trade.contracts) == (1, 0, 0)
    assert sectors["energy"].trade.hidden == "small"
    # the energy deal alone is hidden: so is marine, else total minus marine would give the deal's price away
    assert sectors["marine"].trade.hidden == "secondary"
    last, before = figures.months[-1], figures.months[-2]
    assert (last.contracts, last.value, last.hidden) == (4, Decimal("4000"), "")
    assert (before.contracts, before.hidden) == (4, "")  # 3 marine + 1 energy: four deals together
    members = figures.members  # the merchant, the buyer and the finance merchant, and the regulators that reviewed
    assert members["enterprises"] == 3 and members["merchants"] == 2 and members["buyers"] == 3
    assert members["total"] == 3 + members["regulators"] and members["regulators"] >= 1


def test_exchange_statistics_are_cached_and_take_four_queries(listing, buyer, django_assert_num_queries):
    bulk_contracts(listing, buyer, 50, starts_at=at(month_starts(complete=True)[-1]))
    with django_assert_num_queries(4):
        first = stats.exchange_statistics()
    with django_assert_num_queries(0):
        again = stats.exchange_statistics()
    assert again.total.contracts == first.total.contracts == 50


def test_exchange_statistics_hide_a_total_of_fewer_than_three(listing, buyer):
    bulk_contracts(listing, buyer, 2, starts_at=at(month_starts(complete=True)[-1]))
    figures = stats.compute_exchange_statistics()
    assert figures.total.hidden == "small" and figures.months[-1].hidden == "small"
    assert figures.sectors[0].trade.hidden == "small"


# --- the signed-in home page ------------------------------------------------------------------------------------


def test_home_figures_in_two_queries(merchant, listing, buyer, django_assert_num_queries):
    ledger(merchant, "sale", "1000", count=2)
    ledger(merchant, "sale", "50", when=at(month_starts()[-2]))
    ledger(merchant, "payout", "-500")
    bulk_contracts(listing, buyer, 3, status=ContractStatus.REQUESTED)
    bought = published_listing(registered_product(OrganizationFactory()))
    bulk_contracts(bought, merchant, 2, starts_at=timezone.now())
    bulk_contracts(bought, merchant, 1, status=ContractStatus.AWAITING_PAYMENT)
    with django_assert_num_queries(2):
        figures = stats.home_figures(merchant)
    assert figures.sales_this_month == Decimal("2000")
    assert figures.balance == Decimal("1900") + Decimal("47.50") - 500
    assert (figures.requests, figures.active_purchases, figures.awaiting_payment) == (3, 2, 1)
