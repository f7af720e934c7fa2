"""Metering: free calls then billed calls, the quota of a free plan, the rate limit, monthly periods and summaries."""

import datetime
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from marketplace.models import Entitlement, UsageRecord
from marketplace.services import metering
from tests.factories.delivery import access_of, buy
from tests.factories.marketplace import plan_fields, published_listing, registered_product

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def api_access(**plan) -> Entitlement:
    """A running metered-API entitlement with the plan's terms."""
    listing = published_listing(registered_product(), plans=[plan_fields("metered_api", **plan)])
    return access_of(buy(listing))


def call(entitlement: Entitlement, rows: int = 10) -> metering.Meter:
    with metering.metered_call(entitlement=entitlement) as meter:
        meter.rows = rows
    return meter


def refused(entitlement: Entitlement) -> metering.UsageRefused:
    before = UsageRecord.objects.count()
    with pytest.raises(metering.UsageRefused) as exc:
        call(entitlement)
    assert UsageRecord.objects.count() == before  # a refused call records nothing
    assert exc.value.status == 429 and exc.value.message
    return exc.value


def test_free_calls_come_first_then_each_call_is_billed():
    entitlement = api_access(free_calls=3, price_per_call=Decimal("0.05"))
    meters = [call(entitlement, rows=7) for _ in range(5)]
    assert [meter.record.billable for meter in meters] == [False, False, False, True, True]
    assert [meter.record.amount for meter in meters] == [0, 0, 0, Decimal("0.05"), Decimal("0.05")]
    assert [meter.free_left for meter in meters] == [2, 1, 0, 0, 0]
    summary = metering.usage_summary(entitlement)
    assert (summary.current.calls, summary.current.billable_calls, summary.current.rows) == (5, 2, 35)
    assert (summary.current.amount, summary.free_left, summary.free_calls) == (Decimal("0.1"), 0, 3)
    assert {record.period for record in UsageRecord.objects.all()} == {metering.period_of()}


def test_a_free_plan_stops_at_its_quota_until_next_month():
    entitlement = api_access(free_calls=2, price_per_call=Decimal(0))
    call(entitlement), call(entitlement)
    error = refused(entitlement)
    assert error.code == "quota_exceeded" and "free calls" in str(error.message)
    until_next_month = (metering.next_period_start() - timezone.now()).total_seconds()
    assert abs(error.retry_after - until_next_month) < 5


def test_a_new_month_renews_the_free_calls():
    entitlement = api_access(free_calls=1, price_per_call=Decimal(0))
    call(entitlement)
    last_month = metering.period_of() - datetime.timedelta(days=1)
    UsageRecord.objects.update(
        period=last_month.replace(day=1), created_at=timezone.now() - datetime.timedelta(days=31)
    )
    assert call(entitlement).record.billable is False
    months = metering.usage_by_period(entitlement)
    assert [month.calls for month in months] == [1, 1] and months[0].period == metering.period_of()


def test_the_rate_limit_counts_the_last_minute():
    entitlement = api_access(free_calls=100, rate_limit_per_minute=2)
    assert [call(entitlement).rate_left for _ in range(2)] == [1, 0]
    error = refused(entitlement)
    assert error.code == "rate_limited" and "2 calls a minute" in str(error.message)
    assert 1 <= error.retry_after <= 60
    # a minute later the window has moved on
    UsageRecord.objects.update(created_at=timezone.now() - datetime.timedelta(seconds=61))
    assert call(entitlement).record is not None


def test_a_failed_call_records_nothing():
    entitlement = api_access(free_calls=5)
    with pytest.raises(RuntimeError), metering.metered_call(entitlement=entitlement):
        raise RuntimeError("the query failed")
    assert not UsageRecord.objects.exists()


def test_periods_are_calendar_months_in_the_exchange_time_zone():
    late_on_the_31st_utc = datetime.datetime(2026, 1, 31, 17, 30, tzinfo=datetime.UTC)  # 01:30 on 1 Feb in Shanghai
    assert metering.period_of(late_on_the_31st_utc) == datetime.date(2026, 2, 1)
    start = metering.next_period_start(datetime.datetime(2026, 12, 15, tzinfo=SHANGHAI))
    assert start == datetime.datetime(2027, 1, 1, tzinfo=SHANGHAI)


@pytest.mark.django_db(transaction=True)
def test_two_calls_racing_for_the_last_free_call_get_one():
    entitlement = api_access(free_calls=1, price_per_call=Decimal(0))
    barrier, outcomes = threading.Barrier(2), []

    def attempt():
        barrier.wait()
        try:
            call(entitlement)
            outcomes.append("ok")
        except metering.UsageRefused as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "quota_exceeded"]
    assert UsageRecord.objects.count() == 1
