"""Read-only figures for the dashboards: a merchant's sales and payouts, a buyer's contracts and use, and the
exchange's public statistics.

Each figure is one aggregate query (GROUP BY in the database), so a dashboard costs the same few queries whatever
the data size. Months are calendar months in settings.TIME_ZONE (Asia/Shanghai): a sale recorded at 17:00 UTC on
31 January counts in February.

Public statistics aggregate the whole exchange and never show one organisation's figures:
- "Contracts" are the contracts that started (were activated: paid, or free and signed) and were not refunded, i.e.
  active, expired or terminated; their "transaction value" is the sum of their contract prices. Count and value come
  from the same contracts, so hiding a small count hides its value too. Contract prices, not Stripe payments: a price
  is fixed when the contract starts, so a past month's figures never change afterwards (a refund excludes its
  contract); metered per-call charges, billed later, are not in it (merchants see them on their own dashboard).
- Only complete months count (the twelve before the current one): a figure that moved with each new contract would
  give that contract's price away to anyone comparing the page before and after.
- A cell of one or two contracts shows "<3" instead of its count and value. When the hidden cells together hold
  fewer than three contracts, the smallest other cells are hidden too, so that the hidden ones cannot be worked out
  by subtracting the shown ones from the total (secondary suppression).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, DateField, Q, Sum, Value, When, Window
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.choices import OrganizationKind
from accounts.models import Organization
from marketplace.choices import ContractStatus, EntitlementKind, PayoutStatus, SettlementKind
from marketplace.models import Contract, Download, Entitlement, Listing, Payout, SettlementEntry, UsageRecord
from registry.choices import ProductStatus, Sector
from registry.models import DataProduct

__all__ = [
    "MIN_CONTRACTS",
    "BuyerSummary",
    "Cell",
    "ExchangeStatistics",
    "MerchantSummary",
    "buyer_summary",
    "exchange_statistics",
    "home_figures",
    "merchant_summary",
    "month_starts",
    "protect_cells",
]

MONTHS = 12
MIN_CONTRACTS = 3  # public cells of fewer contracts are hidden
# Contracts that count as traded: started and not refunded.
TRADED_STATES = (ContractStatus.ACTIVE, ContractStatus.EXPIRED, ContractStatus.TERMINATED)
STATISTICS_CACHE_KEY = "marketplace:exchange-statistics:v1"
TOP_LISTINGS = 5
RECENT_PAYOUTS = 5
ENTITLEMENTS_SHOWN = 10
ZERO = Decimal(0)

# --- months -----------------------------------------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_starts(
    count: int = MONTHS, *, complete: bool = False, now: datetime.datetime | None = None
) -> list[datetime.date]:
    """First days of the last `count` months in the exchange's time zone, oldest first; `complete` leaves out the
    current month."""
    this_month = timezone.localdate(now or timezone.now(), timezone=_zone()).replace(day=1)
    last = _add_months(this_month, -1) if complete else this_month
    return [_add_months(last, -offset) for offset in range(count - 1, -1, -1)]


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=_zone())


def _month_of(field_name: str) -> TruncMonth:
    return TruncMonth(field_name, output_field=DateField(), tzinfo=_zone())


# --- merchant ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthSales:
    """A merchant's month: sales (count, gross, net of the fee), metered usage and refunds (net, refunds negative)."""

    month: datetime.date
    sales: int = 0
    gross: Decimal = ZERO
    net: Decimal = ZERO
    usage: Decimal = ZERO
    refunds: Decimal = ZERO


@dataclass(frozen=True)
class TopListing:
    listing_id: int
    title: str
    sales: int
    gross: Decimal
    net: Decimal


@dataclass(frozen=True)
class StateCount:
    """Contracts in one state: how many, and the sum of their prices."""

    status: str
    count: int
    value: Decimal

    @property
    def label(self) -> str:
        return ContractStatus(self.status).label


@dataclass(frozen=True)
class MerchantSummary:
    months: list[MonthSales]
    balance: Decimal  # owed to the merchant: every settlement line's net, payouts negative
    lifetime_gross: Decimal
    payouts_paid: Decimal
    payouts_pending: Decimal
    recent_payouts: list[Payout]
    states: list[StateCount]
    top_listings: list[TopListing]

    @property
    def this_month(self) -> MonthSales:
        return self.months[-1]

    @property
    def recent_sales(self) -> bool:
        return any(month.sales or month.usage or month.refunds for month in self.months)

    @property
    def contracts(self) -> int:
        return sum(state.count for state in self.states)

    @property
    def awaiting_answer(self) -> int:
        return _count_in(self.states, ContractStatus.REQUESTED)


def merchant_summary(organization: Organization, *, now: datetime.datetime | None = None) -> MerchantSummary:
    """Sales by month for 12 months, the balance owed, payouts, contracts by state and the best-selling listings."""
    entries = SettlementEntry.objects.filter(organization=organization)
    totals = entries.aggregate(
        balance=Sum("net", default=ZERO),
        gross=Sum("gross", filter=Q(kind=SettlementKind.SALE), default=ZERO),
    )
    recent = _recent_payouts(Payout.objects.filter(organization=organization))
    return MerchantSummary(
        months=_sales_by_month(entries, month_starts(now=now)),
        balance=totals["balance"],
        lifetime_gross=totals["gross"],
        payouts_paid=recent[0].paid_total if recent else ZERO,
        payouts_pending=recent[0].pending_total if recent else ZERO,
        recent_payouts=recent,
        states=_states(Contract.objects.filter(merchant=organization)),
        top_listings=_top_listings(entries),
    )


def _recent_payouts(payouts) -> list[Payout]:
    """The latest payouts, each carrying the totals paid and pending of all of them (window sums: one query)."""

    def total(status: str) -> Window:
        return Window(Sum(Case(When(status=status, then="amount"), default=Value(ZERO))))

    latest = payouts.annotate(paid_total=total(PayoutStatus.PAID), pending_total=total(PayoutStatus.PENDING))
    return list(latest.order_by("-created_at", "-pk")[:RECENT_PAYOUTS])


def _sales_by_month(entries, months: list[datetime.date]) -> list[MonthSales]:
    kinds = (SettlementKind.SALE, SettlementKind.USAGE, SettlementKind.REFUND)
    rows = (
        entries.filter(kind__in=kinds, created_at__gte=_local_midnight(months[0]))
        .annotate(month=_month_of("created_at"))
        .values("month", "kind")
        .annotate(count=Count("pk"), gross=Sum("gross"), net=Sum("net"))
    )
    figures: dict[datetime.date, dict] = defaultdict(dict)
    for row in rows:
        month = figures[row["month"]]
        if row["kind"] == SettlementKind.SALE:
            month.update(sales=row["count"], gross=row["gross"], net=row["net"])
        else:
            month["usage" if row["kind"] == SettlementKind.USAGE else "refunds"] = row["net"]
    return [MonthSales(month=month, **figures.get(month, {})) for month in months]


def _count_in(states: list[StateCount], status: str) -> int:
    return next((state.count for state in states if state.status == status), 0)


def _states(contracts) -> list[StateCount]:
    """Contracts by state in the order of the state machine, states without any left out."""
    rows = {r["status"]: r for r in contracts.values("status").annotate(count=Count("pk"), value=Sum("price"))}
    return [
        StateCount(status, rows[status]["count"], rows[status]["value"] or ZERO)
        for status in ContractStatus.values
        if status in rows
    ]


def _top_listings(entries) -> list[TopListing]:
    rows = (
        entries.filter(kind=SettlementKind.SALE, contract__isnull=False)
        .values("contract__listing_id", "contract__listing__title")
        .annotate(sales=Count("pk"), gross=Sum("gross"), net=Sum("net"))
        .order_by("-gross", "contract__listing_id")[:TOP_LISTINGS]
    )
    return [
        TopListing(r["contract__listing_id"], r["contract__listing__title"], r["sales"], r["gross"], r["net"])
        for r in rows
    ]


# --- buyer ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthUse:
    """A buyer's month: downloads (files, bytes) and metered API calls (all, billable, amount billed)."""

    month: datetime.date
    downloads: int = 0
    bytes: int = 0
    calls: int = 0
    billable_calls: int = 0
    billed: Decimal = ZERO


@dataclass(frozen=True)
class BuyerSummary:
    months: list[MonthUse]
    states: list[StateCount]
    entitlements: dict[str, int]  # active entitlements by kind
    ending_soon: list[Entitlement]  # the active ones that end first, with their contract and listing

    @property
    def this_month(self) -> MonthUse:
        return self.months[-1]

    @property
    def contracts(self) -> int:
        return sum(state.count for state in self.states)

    @property
    def active_entitlements(self) -> int:
        return sum(self.entitlements.values())

    @property
    def active_contracts(self) -> int:
        return _count_in(self.states, ContractStatus.ACTIVE)

    @property
    def awaiting_payment(self) -> int:
        return _count_in(self.states, ContractStatus.AWAITING_PAYMENT)

    @property
    def recent_use(self) -> bool:
        return any(month.downloads or month.calls for month in self.months)


def buyer_summary(organization: Organization, *, now: datetime.datetime | None = None) -> BuyerSummary:
    """Contracts by state, active entitlements, downloads and API calls by month for 12 months."""
    active = Entitlement.objects.active().filter(contract__buyer=organization)
    kinds = {r["kind"]: r["count"] for r in active.values("kind").annotate(count=Count("pk"))}
    ending = active.select_related("contract__listing").order_by("ends_at", "pk")[:ENTITLEMENTS_SHOWN]
    return BuyerSummary(
        months=_use_by_month(organization, month_starts(now=now)),
        states=_states(Contract.objects.filter(buyer=organization)),
        entitlements={kind: kinds[kind] for kind in EntitlementKind.values if kind in kinds},
        ending_soon=list(ending),
    )


def _use_by_month(organization: Organization, months: list[datetime.date]) -> list[MonthUse]:
    downloads = (
        Download.objects.filter(entitlement__contract__buyer=organization, created_at__gte=_local_midnight(months[0]))
        .annotate(month=_month_of("created_at"))
        .values("month")
        .annotate(downloads=Count("pk"), bytes=Sum("size"))
    )
    calls = (
        UsageRecord.objects.filter(entitlement__contract__buyer=organization, period__gte=months[0])
        .values("period")
        .annotate(calls=Count("pk"), billable_calls=Count("pk", filter=Q(billable=True)), billed=Sum("amount"))
    )
    figures: dict[datetime.date, dict] = defaultdict(dict)
    for row in downloads:
        figures[row["month"]].update(downloads=row["downloads"], bytes=row["bytes"] or 0)
    for row in calls:
        figures[row["period"].replace(day=1)].update(
            calls=row["calls"], billable_calls=row["billable_calls"], billed=row["billed"] or ZERO
        )
    return [MonthUse(month=month, **figures.get(month, {})) for month in months]


# --- public statistics ------------------------------------------------------------------------------------------


@dataclass
class Cell:
    """Contracts and their value in one sector or month; `hidden` is "small" (fewer than 3 contracts) or
    "secondary" (hidden so that the small ones cannot be worked out from the total), else ""."""

    key: str | datetime.date | None
    contracts: int = 0
    value: Decimal = ZERO
    hidden: str = ""

    @property
    def shown(self) -> bool:
        return not self.hidden


def protect_cells(cells: list[Cell], total: Cell) -> None:
    """Mark the cells to hide: those of 1-2 contracts, then the smallest others until the hidden ones hold at least
    three contracts together; the total itself when it holds fewer than three."""
    small = [cell for cell in cells if 0 < cell.contracts < MIN_CONTRACTS]
    if not small:
        return
    for cell in small:
        cell.hidden = "small"
    hidden = sum(cell.contracts for cell in small)
    for cell in sorted((c for c in cells if c.contracts >= MIN_CONTRACTS), key=lambda c: (c.contracts, c.value)):
        if hidden >= MIN_CONTRACTS:
            break
        cell.hidden, hidden = "secondary", hidden + cell.contracts
    if hidden < MIN_CONTRACTS:
        total.hidden = "small"


@dataclass(frozen=True)
class SectorRow:
    """One sector: registered products and published listings now, contracts and their value over the 12 months."""

    sector: str
    products: int
    listings: int
    trade: Cell

    @property
    def label(self) -> str:
        return Sector(self.sector).label


@dataclass(frozen=True)
class ExchangeStatistics:
    members: dict[str, int]  # verified members: total, enterprises, regulators, and per capability
    months: list[Cell]  # contracts started per complete month, oldest first
    sectors: list[SectorRow]  # sectors with any product, listing or contract, in the order of Sector
    total: Cell  # contracts over the months
    products: int
    listings: int
    computed_at: datetime.datetime = field(default_factory=timezone.now)

    @property
    def first_month(self) -> datetime.date:
        return self.months[0].key

    @property
    def last_month(self) -> datetime.date:
        return self.months[-1].key


def exchange_statistics() -> ExchangeStatistics:
    """The exchange's public figures, computed at most every few minutes (they are cached)."""
    seconds = getattr(settings, "MARKETPLACE_STATISTICS_CACHE_SECONDS", 300)
    key = f"{STATISTICS_CACHE_KEY}:{month_starts(1)[0].isoformat()}"
    return cache.get_or_set(key, compute_exchange_statistics, seconds)


def compute_exchange_statistics(now: datetime.datetime | None = None) -> ExchangeStatistics:
    """The public figures from the database: four aggregate queries."""
    months = month_starts(complete=True, now=now)
    by_sector, by_month, total = _trade(months)
    products = _count_by_sector(DataProduct.objects.filter(status=ProductStatus.REGISTERED), "sector")
    listings = _count_by_sector(Listing.objects.published(), "product__sector")
    sectors = [
        SectorRow(code, products.get(code, 0), listings.get(code, 0), by_sector.get(code, Cell(code)))
        for code in Sector.values
        if code in products or code in listings or code in by_sector
    ]
    return ExchangeStatistics(
        members=_members(),
        months=by_month,
        sectors=sectors,
        total=total,
        products=sum(products.values()),
        listings=sum(listings.values()),
    )


def _members() -> dict[str, int]:
    enterprise = Q(kind=OrganizationKind.ENTERPRISE)
    return Organization.objects.verified().aggregate(
        total=Count("pk"),
        enterprises=Count("pk", filter=enterprise),
        regulators=Count("pk", filter=Q(kind=OrganizationKind.REGULATOR)),
        merchants=Count("pk", filter=enterprise & Q(can_sell=True)),
        buyers=Count("pk", filter=enterprise & Q(can_buy=True)),
        operators=Count("pk", filter=enterprise & Q(can_operate_public_data=True)),
        appraisers=Count("pk", filter=enterprise & Q(can_appraise=True)),
    )


def _count_by_sector(queryset, sector_field: str) -> dict[str, int]:
    return {r[sector_field]: r["count"] for r in queryset.values(sector_field).annotate(count=Count("pk"))}


def _trade(months: list[datetime.date]) -> tuple[dict[str, Cell], list[Cell], Cell]:
    """Traded contracts by sector and by month (one query grouped by both), each margin protected."""
    rows = (
        Contract.objects.filter(
            status__in=TRADED_STATES,
            starts_at__gte=_local_midnight(months[0]),
            starts_at__lt=_local_midnight(_add_months(months[-1], 1)),
        )
        .annotate(month=_month_of("starts_at"))
        .values("listing__product__sector", "month")
        .annotate(contracts=Count("pk"), value=Sum("price"))
    )
    by_sector: dict[str, Cell] = {}
    by_month = {month: Cell(month) for month in months}
    total = Cell(None)
    for row in rows:
        sector = by_sector.setdefault(row["listing__product__sector"], Cell(row["listing__product__sector"]))
        for cell in (sector, by_month[row["month"]], total):
            cell.contracts += row["contracts"]
            cell.value += row["value"] or ZERO
    month_cells = list(by_month.values())
    protect_cells(list(by_sector.values()), total)
    protect_cells(month_cells, total)
    return by_sector, month_cells, total


# --- the signed-in home page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeFigures:
    """The few figures the signed-in dashboard's cards show (two queries)."""

    sales_this_month: Decimal
    balance: Decimal
    requests: int  # contracts waiting for the merchant's answer
    active_purchases: int
    awaiting_payment: int


def home_figures(organization: Organization, *, now: datetime.datetime | None = None) -> HomeFigures:
    """This month's sales and the balance owed, requests to answer, and purchases active or awaiting payment."""
    month_start = _local_midnight(month_starts(1, now=now)[0])
    this_month_sale = Q(kind=SettlementKind.SALE, created_at__gte=month_start)
    money = SettlementEntry.objects.filter(organization=organization).aggregate(
        month=Sum("gross", filter=this_month_sale, default=ZERO), balance=Sum("net", default=ZERO)
    )
    sold, bought = Q(merchant=organization), Q(buyer=organization)
    counts = Contract.objects.filter(sold | bought).aggregate(
        requests=Count("pk", filter=sold & Q(status=ContractStatus.REQUESTED)),
        active=Count("pk", filter=bought & Q(status=ContractStatus.ACTIVE)),
        awaiting=Count("pk", filter=bought & Q(status=ContractStatus.AWAITING_PAYMENT)),
    )
    return HomeFigures(money["month"], money["balance"], counts["requests"], counts["active"], counts["awaiting"])
