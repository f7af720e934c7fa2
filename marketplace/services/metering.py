"""The metered data API: a page of rows from the registered version, each call recorded, the free quota, billing and
the rate limit around it.

- Which data: the latest registered version of the listing's product (a metered API serves current data).
- A period is a calendar month in TIME_ZONE; `UsageRecord.period` is its first day. Each successful call is one
  record: the rows returned, billable once the entitlement's `free_calls` of the period are used, and then
  `amount = price_per_call`. A refused call (400, 403, 404, 429) records nothing and costs nothing.
- Quota: a plan without a price per call (a free plan) stops at its free calls: 429 `quota_exceeded` until the next
  month (Retry-After: seconds until it starts). A priced plan goes on, each further call billed.
- Rate limit: at most `rate_limit_per_minute` calls in any 60 seconds, counted from the usage records themselves:
  exact across processes and servers whatever cache is configured (Django's default cache is per process), at one
  query that reads at most that many rows. Over it: 429 `rate_limited`, Retry-After: when the oldest call in the
  window turns a minute old.
- The checks, the query and the record run in one transaction that holds the entitlement's row lock: concurrent
  calls of one entitlement queue, so two of them cannot both take the last free call or the last slot of the
  minute, and a query that fails leaves no record behind.
- Rows are read with DuckDB through registry.profiling's locked-down connection (one file, no extensions, no other
  paths); values come back as text: CSV exactly as written, other formats in DuckDB's text form. Filters compare
  that text for equality; a repeated parameter means any of its values.
"""

import datetime
import logging
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFoundError
from marketplace.choices import EntitlementKind
from marketplace.models import Entitlement, Listing, UsageRecord
from marketplace.services.common import MarketError
from marketplace.services.downloads import (
    DeliveryRefused,
    buyer_entitlements,
    ended_message,
    is_running,
    require_access,
)
from registry.models import ProductVersion
from registry.profiling import ProfilingError, open_dataset
from registry.profiling.sql import sql_ident, sql_literal
from registry.storage import local_path

logger = logging.getLogger(__name__)

MAX_PAGE = 1000
DEFAULT_PAGE = 100
# Query parameters that are not column filters (`format` is DRF's).
RESERVED_PARAMETERS = frozenset({"limit", "offset", "format"})
WINDOW = datetime.timedelta(minutes=1)


class UsageRefused(MarketError):
    """A call over the quota or the rate limit; `retry_after` says in how many seconds it may succeed."""

    status = 429

    def __init__(self, message: str, *, code: str, retry_after: int) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)


class DataUnreadable(MarketError):
    status = 503
    code = "data_unreadable"


# --- periods -------------------------------------------------------------------------------------------------------


def period_of(moment: datetime.datetime | None = None) -> datetime.date:
    """The first day of the month `moment` falls in, in TIME_ZONE."""
    return timezone.localdate(moment or timezone.now()).replace(day=1)


def next_period_start(moment: datetime.datetime | None = None) -> datetime.datetime:
    """Midnight, local time, at the start of the month after `moment`'s."""
    first = period_of(moment)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return timezone.make_aware(datetime.datetime.combine(following, datetime.time.min))


# --- which entitlement and version serve a call --------------------------------------------------------------------


def api_entitlement(*, user: Any, listing_id: int) -> Entitlement:
    """The caller's running metered-API entitlement on the listing; 404 when the listing is not theirs to see."""
    held = list(
        buyer_entitlements(user)
        .filter(kind=EntitlementKind.API, contract__listing_id=listing_id)
        .select_related("contract__buyer", "contract__listing__product")
    )
    running = [entitlement for entitlement in held if is_running(entitlement)]
    if running:
        require_access(running[0], by=user, kind=EntitlementKind.API)
        return running[0]
    if held:
        raise DeliveryRefused(ended_message(held[0]), code="entitlement_ended")
    if Listing.objects.visible_to(user).filter(pk=listing_id).exists():
        raise DeliveryRefused(
            _("Your organisation has no metered-API contract on this listing: buy a metered plan first."),
            code="no_entitlement",
        )
    raise NotFoundError()


def serving_version(entitlement: Entitlement) -> ProductVersion:
    """The latest registered version of the entitlement's product."""
    versions = ProductVersion.objects.registered().filter(product_id=entitlement.contract.listing.product_id)
    version = versions.order_by("-number").first()
    if version is None:
        raise DeliveryRefused(_("No registered version of this product can be served."), code="no_version")
    return version


def check_filters(version: ProductVersion, filters: Mapping[str, list[str]]) -> None:
    """Every filter names a column of the version (400 `unknown_column` otherwise)."""
    columns = [column["name"] for column in version.columns]
    unknown = [name for name in filters if name not in columns]
    if unknown:
        raise MarketError(
            _("No column named %(names)s. Filter on one of: %(columns)s (or use limit and offset).")
            % {"names": ", ".join(unknown), "columns": ", ".join(columns)},
            code="unknown_column",
        )


# --- metering ------------------------------------------------------------------------------------------------------


@dataclass
class Meter:
    """One call in progress: what it is allowed, and the rows it returned (set by the caller)."""

    entitlement: Entitlement
    billable: bool
    free_left: int
    rate_left: int | None
    rows: int = 0
    record: UsageRecord | None = None


@contextmanager
def metered_call(*, entitlement: Entitlement, api_key: Any = None) -> Iterator[Meter]:
    """Lock the entitlement, refuse a call over quota or rate (429), and record it if the body succeeds."""
    with transaction.atomic():
        entitlement = Entitlement.objects.select_for_update().get(pk=entitlement.pk)
        now = timezone.now()
        meter = _allowance(entitlement, now)
        yield meter
        meter.record = _record(entitlement, api_key, meter, now)


def _allowance(entitlement: Entitlement, now: datetime.datetime) -> Meter:
    period = period_of(now)
    used = UsageRecord.objects.filter(entitlement=entitlement, period=period)[: entitlement.free_calls].count()
    free_left = max(entitlement.free_calls - used, 0)
    if not free_left and not entitlement.price_per_call:
        raise UsageRefused(
            _("The %(count)s free calls of this month are used up and this plan bills no further calls; the quota "
              "renews on %(date)s.") % {"count": entitlement.free_calls, "date": next_period_start(now).date()},
            code="quota_exceeded", retry_after=math.ceil((next_period_start(now) - now).total_seconds()),
        )  # fmt: skip
    rate_left = _rate_left(entitlement, now)
    return Meter(entitlement=entitlement, billable=not free_left, free_left=max(free_left - 1, 0), rate_left=rate_left)


def _rate_left(entitlement: Entitlement, now: datetime.datetime) -> int | None:
    """Calls left in the current minute after this one; None without a limit."""
    limit = entitlement.rate_limit_per_minute
    if not limit:
        return None
    recent = list(
        UsageRecord.objects.filter(entitlement=entitlement, created_at__gt=now - WINDOW)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) >= limit:
        raise UsageRefused(
            _("Rate limit reached: this plan allows %(limit)s calls a minute.") % {"limit": limit},
            code="rate_limited", retry_after=math.ceil((recent[-1] + WINDOW - now).total_seconds()),
        )  # fmt: skip
    return limit - len(recent) - 1


def _record(entitlement: Entitlement, api_key: Any, meter: Meter, now: datetime.datetime) -> UsageRecord:
    record = UsageRecord(
        entitlement=entitlement, api_key=api_key, period=period_of(now), rows=meter.rows, billable=meter.billable,
        amount=entitlement.price_per_call if meter.billable else Decimal(0),
    )  # fmt: skip
    record.full_clean()
    record.save()
    return record


# --- reading rows --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowsPage:
    """One page of rows and the call that paid for it."""

    version: ProductVersion
    columns: list[str]
    rows: list[dict[str, str | None]]
    has_more: bool
    meter: Meter


def data_page(*, user: Any, listing_id: int, filters: Mapping[str, list[str]], limit: int, offset: int) -> RowsPage:
    """One metered call of the data API: the entitlement, the checks, the rows, the usage record."""
    entitlement = api_entitlement(user=user, listing_id=listing_id)
    version = serving_version(entitlement)
    check_filters(version, filters)
    with metered_call(entitlement=entitlement, api_key=getattr(user, "api_key", None)) as meter:
        columns, rows = read_rows(version, filters=filters, limit=limit + 1, offset=offset)
        meter.rows = min(len(rows), limit)
    return RowsPage(version=version, columns=columns, rows=rows[:limit], has_more=len(rows) > limit, meter=meter)


def read_rows(
    version: ProductVersion, *, filters: Mapping[str, list[str]], limit: int, offset: int
) -> tuple[list[str], list[dict[str, str | None]]]:
    """(column names, rows as text) of the version's file, filtered, in file order."""
    try:
        with (
            local_path(version.file, suffix="." + version.file_format) as path,
            open_dataset(path, declared_name=version.original_name) as dataset,
        ):
            rows = dataset.run(lambda: _rows_sql(dataset, filters, limit, offset))
            names = [name for name, _ in dataset.schema]
    except ProfilingError as exc:
        logger.exception("Version %s could not be read for the data API", version.pk)
        raise DataUnreadable(_("The data file could not be read just now; try again later.")) from exc
    return names, [dict(zip(names, row, strict=True)) for row in rows]


def _rows_sql(dataset: Any, filters: Mapping[str, list[str]], limit: int, offset: int) -> str:
    # Column names go through sql_ident() and values through sql_literal(), as everywhere in registry.profiling.
    conditions = [
        f"CAST({sql_ident(name)} AS VARCHAR) IN ({', '.join(sql_literal(value) for value in values)})"
        for name, values in filters.items()
    ]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    select = f"SELECT {dataset.as_text_columns()} FROM {dataset.text_relation()}"  # noqa: S608
    return f"{select}{where} LIMIT {int(limit)} OFFSET {int(offset)}"


# --- usage ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodUsage:
    """The calls of one month."""

    period: datetime.date
    calls: int = 0
    billable_calls: int = 0
    rows: int = 0
    amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class UsageSummary:
    """This month's calls against the free quota, and every month's totals, newest first."""

    current: PeriodUsage
    free_calls: int
    free_left: int
    months: list[PeriodUsage]


def usage_by_period(entitlement: Entitlement) -> list[PeriodUsage]:
    """Totals per month, newest first (one query)."""
    totals = (
        UsageRecord.objects.filter(entitlement=entitlement)
        .values("period")
        .annotate(
            calls=Count("pk"),
            billable_calls=Count("pk", filter=Q(billable=True)),
            total_rows=Sum("rows"),
            total_amount=Sum("amount"),
        )
        .order_by("-period")
    )
    return [
        PeriodUsage(row["period"], row["calls"], row["billable_calls"], row["total_rows"] or 0, row["total_amount"])
        for row in totals
    ]


def usage_summary(entitlement: Entitlement, now: datetime.datetime | None = None) -> UsageSummary:
    """What the usage page and the usage endpoint show."""
    months = usage_by_period(entitlement)
    period = period_of(now)
    current = next((month for month in months if month.period == period), PeriodUsage(period))
    free_left = max(entitlement.free_calls - current.calls, 0)
    return UsageSummary(current=current, free_calls=entitlement.free_calls, free_left=free_left, months=months)
