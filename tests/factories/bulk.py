"""Marketplace rows straight into the tables, in bulk, for the dashboards' figures (the settlement service is tested
elsewhere): contracts, settlement lines, entitlements, downloads and API calls, at chosen moments."""

import datetime
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from marketplace.choices import ContractStatus, EntitlementKind
from marketplace.models import Contract, Download, Entitlement, SettlementEntry, UsageRecord
from tests.factories.accounts import owner_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


def at(month: datetime.date, day: int = 10, hour: int = 12) -> datetime.datetime:
    """A moment in `month`, exchange time."""
    return datetime.datetime(month.year, month.month, day, hour, tzinfo=SHANGHAI)


def bulk_contracts(listing, buyer, count: int, *, starts_at=None, status=ContractStatus.ACTIVE, price="1000"):
    """`count` contracts on the listing's first plan, straight into the table."""
    plan, user = listing.plans.first(), owner_of(buyer)
    rows = [
        Contract(
            number=f"T-{next(_numbers):07d}", listing=listing, plan=plan, buyer=buyer, merchant=listing.organization,
            price=Decimal(price), purpose="Testing.", terms={}, terms_sha256="0" * 64, requested_by=user,
            status=status, starts_at=starts_at,
        )
        for _ in range(count)
    ]  # fmt: skip
    return Contract.objects.bulk_create(rows)


def ledger(organization, kind: str, gross: str, *, when=None, contract=None, count: int = 1) -> None:
    """`count` settlement lines of `kind` (5% fee), recorded at `when` (default: now)."""
    gross = Decimal(gross)
    fee = (gross * Decimal("0.05")).quantize(Decimal("0.01")) if kind in ("sale", "usage") else Decimal(0)
    made = SettlementEntry.objects.bulk_create(
        SettlementEntry(organization=organization, kind=kind, contract=contract, gross=gross, fee=fee, net=gross - fee)
        for _ in range(count)
    )
    if when is not None:
        SettlementEntry.objects.filter(pk__in=[e.pk for e in made]).update(created_at=when)


def grant(contract_list, kind=EntitlementKind.DOWNLOAD) -> list[Entitlement]:
    start, end = timezone.now() - datetime.timedelta(days=1), timezone.now() + datetime.timedelta(days=30)
    return Entitlement.objects.bulk_create(
        Entitlement(contract=c, kind=kind, starts_at=start, ends_at=end) for c in contract_list
    )


def downloads(entitlement, count: int, *, when=None, size: int = 1000) -> None:
    version = entitlement.contract.listing.product.versions.first()
    made = Download.objects.bulk_create(
        Download(entitlement=entitlement, version=version, user=owner_of(entitlement.contract.buyer),
                 fingerprint="f" * 64, sha256="a" * 64, size=size)
        for _ in range(count)
    )  # fmt: skip
    if when is not None:
        Download.objects.filter(pk__in=[d.pk for d in made]).update(created_at=when)


def calls(entitlement, count: int, *, period: datetime.date, billable: bool = False, amount: str = "0") -> None:
    UsageRecord.objects.bulk_create(
        UsageRecord(entitlement=entitlement, period=period, rows=10, billable=billable, amount=Decimal(amount))
        for _ in range(count)
    )
