"""Settlement: what each merchant is owed after the platform fee, the payouts that pay it, and monthly statements.

The ledger is SettlementEntry rows, append-only, amounts signed, in CNY:
    sale / usage   gross = what the buyer paid, fee = MARKETPLACE_PLATFORM_FEE_PERCENT of gross (half-up to the fen)
    refund         gross = -what went back, fee = -the part of the sale's fee it carried (pro rata), net = gross - fee
    payout         gross = net = -what was paid out, fee = 0
A merchant's balance is the sum of `net`. Entries are scoped by their `organization` column (the merchant, looked
up through `Organization.objects.restrict`), not by per-row grants: a ledger line belongs to the organisation it
names, and three grants per line would triple the writes of every webhook.
"""

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization
from accounts.services import grant_to_organization, person_of
from audit.services import audit_record
from marketplace import stripe_gateway
from marketplace.choices import PaymentPurpose, PayoutStatus, SettlementKind
from marketplace.models import Payment, Payout, Refund, SettlementEntry
from marketplace.services.common import MarketError, require_regulator

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
CSV_HEADER = ["recorded_at", "kind", "contract", "payment", "gross_cny", "fee_cny", "net_cny"]


def _fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def fee_percent() -> Decimal:
    """The platform's share of each sale, in percent (settings.MARKETPLACE_PLATFORM_FEE_PERCENT)."""
    percent = Decimal(str(settings.MARKETPLACE_PLATFORM_FEE_PERCENT))
    if not ZERO <= percent <= 100:
        raise ImproperlyConfigured("MARKETPLACE_PLATFORM_FEE_PERCENT must be between 0 and 100")
    return percent


def platform_fee(gross: Decimal) -> Decimal:
    """The fee on a sale of `gross` CNY, rounded half-up to the fen."""
    return _fen(gross * fee_percent() / 100)


# --- entries written by the payments service --------------------------------------------------------------------


def sale_record(*, payment: Payment) -> SettlementEntry:
    """The merchant's line for a payment that went through. Once per payment: the caller holds the payment's lock
    and books it as the payment turns succeeded (a unique constraint backs this up for sales)."""
    kind = SettlementKind.USAGE if payment.purpose == PaymentPurpose.USAGE else SettlementKind.SALE
    fee = platform_fee(payment.amount)
    return SettlementEntry.objects.create(
        organization_id=payment.contract.merchant_id, kind=kind, contract_id=payment.contract_id, payment=payment,
        gross=payment.amount, fee=fee, net=payment.amount - fee,
    )  # fmt: skip


def refund_record(
    *, payment: Payment, amount: Decimal, refunded_before: Decimal, refund: Refund | None = None
) -> SettlementEntry | None:
    """A negative line for money given back; the fee goes back in proportion. None if the sale was never booked."""
    sale = SettlementEntry.objects.filter(payment=payment, kind__in=(SettlementKind.SALE, SettlementKind.USAGE)).first()
    if sale is None:  # e.g. a payment returned because its contract had been cancelled meanwhile
        return None
    # Cumulative rounding: the fee returned over all refunds adds up to the sale's fee exactly.
    fee_back = _fen(sale.fee * (refunded_before + amount) / sale.gross) - _fen(sale.fee * refunded_before / sale.gross)
    return SettlementEntry.objects.create(
        organization_id=sale.organization_id, kind=SettlementKind.REFUND, contract_id=sale.contract_id,
        payment=payment, refund=refund, gross=-amount, fee=-fee_back, net=-(amount - fee_back),
    )  # fmt: skip


# --- balance and payouts ----------------------------------------------------------------------------------------


def entries_of(organization: Organization) -> QuerySet:
    """The organisation's ledger, newest first, with what the pages show in the same query."""
    return SettlementEntry.objects.filter(organization=organization).select_related("contract", "payment", "payout")


def balance(organization: Organization) -> Decimal:
    """What the exchange owes the merchant now: the sum of its ledger's net amounts."""
    total = SettlementEntry.objects.filter(organization=organization).aggregate(total=Sum("net"))["total"]
    return total if total is not None else ZERO


def positive_amount(amount: Any, field_name: str = "amount") -> Decimal:
    """An amount of money typed in: above zero, in yuan with at most two decimals (else a field error)."""
    try:
        amount = Decimal(str(amount))
    except ArithmeticError:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        raise ValidationError({field_name: _("Enter an amount above zero.")}, code="invalid")
    if amount != amount.quantize(FEN):
        raise ValidationError({field_name: _("Enter the amount in yuan with at most two decimals.")}, code="invalid")
    return amount


@transaction.atomic
def payout_create(*, organization: Organization, amount: Decimal, by: Any) -> Payout:
    """A regulator (the exchange's admin) pays a merchant up to its balance; the ledger drops at once."""
    require_regulator(by)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)  # one payout at a time
    amount = positive_amount(amount)
    available = balance(organization)
    if amount > available:
        raise ValidationError(
            {"amount": _("%(org)s is owed ¥%(balance)s; a payout cannot be larger.")
                       % {"org": organization.name, "balance": available}}, code="above_balance"
        )  # fmt: skip
    payout = Payout.objects.create(organization=organization, amount=amount)
    SettlementEntry.objects.create(
        organization=organization, kind=SettlementKind.PAYOUT, payout=payout, gross=-amount, fee=ZERO, net=-amount
    )
    grant_to_organization(payout, organization)
    audit_record(action="payout.created", obj=payout, actor=by, organization_id=organization.pk,
                 data={"amount": str(amount), "balance_before": str(available)})  # fmt: skip
    return payout


@transaction.atomic
def payout_mark_paid(*, payout: Payout, by: Any, reference: str) -> Payout:
    """Record that the money left: a bank reference, or (STRIPE_CONNECT_ENABLED) a transfer to `reference`, the
    merchant's connected account (acct_…)."""
    require_regulator(by)
    payout = Payout.objects.select_for_update().select_related("organization").get(pk=payout.pk)
    if payout.status != PayoutStatus.PENDING:
        raise MarketError(_("This payout is already marked paid."), code="payout_already_paid")
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": _("Give the bank or transfer reference.")}, code="required")
    if settings.STRIPE_CONNECT_ENABLED:
        payout.stripe_transfer = _transfer(payout, reference)["id"]
    payout.status, payout.reference, payout.paid_by, payout.paid_at = (
        PayoutStatus.PAID, reference[:200], person_of(by), timezone.now()
    )  # fmt: skip
    payout.save(update_fields=["status", "reference", "paid_by", "paid_at", "stripe_transfer"])
    audit_record(action="payout.paid", obj=payout, actor=by, organization_id=payout.organization_id,
                 data={"amount": str(payout.amount), "reference": payout.reference,
                       "stripe_transfer": payout.stripe_transfer})  # fmt: skip
    return payout


def _transfer(payout: Payout, destination: str) -> dict:
    if not destination.startswith("acct_"):
        raise ValidationError(
            {"reference": _("With Stripe Connect, give the merchant's connected account (acct_…).")}, code="invalid"
        )
    return stripe_gateway.transfer_create(
        amount=payout.amount, destination=destination, idempotency_key=f"databourse-payout-{payout.pk}",
        metadata={"payout": str(payout.pk), "organization": str(payout.organization_id)},
    )  # fmt: skip


# --- statements -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthSummary:
    """One month of a merchant's ledger: totals and the balance before and after it."""

    month: datetime.date
    entries: int
    gross: Decimal
    fee: Decimal
    net: Decimal
    opening: Decimal
    closing: Decimal


@dataclass(frozen=True)
class Statement:
    """A merchant's statement for one month: opening balance, every line, totals by kind, closing balance."""

    organization: Organization
    month: datetime.date
    opening: Decimal
    entries: list[SettlementEntry]
    totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    @property
    def net(self) -> Decimal:
        return sum((entry.net for entry in self.entries), ZERO)

    @property
    def closing(self) -> Decimal:
        return self.opening + self.net


def statement_months(organization: Organization) -> list[MonthSummary]:
    """Every month with ledger lines, newest first, with its totals and balances (one query)."""
    rows = (
        SettlementEntry.objects.filter(organization=organization)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(entries=Count("pk"), gross=Sum("gross"), fee=Sum("fee"), net=Sum("net"))
        .order_by("month")
    )
    months, running = [], ZERO
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], datetime.datetime) else row["month"]
        months.append(MonthSummary(month, row["entries"], row["gross"], row["fee"], row["net"], running,
                                   running + row["net"]))  # fmt: skip
        running += row["net"]
    return months[::-1]


def _month_bounds(year: int, month: int) -> tuple[datetime.datetime, datetime.datetime]:
    try:
        start = datetime.datetime(year, month, 1, tzinfo=timezone.get_current_timezone())
    except ValueError as exc:
        raise ValidationError({"month": _("No such month.")}, code="invalid") from exc
    following = datetime.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=start.tzinfo)
    return start, following


def statement(organization: Organization, year: int, month: int) -> Statement:
    """The merchant's statement for a calendar month (in the exchange's time zone)."""
    start, end = _month_bounds(year, month)
    ledger = SettlementEntry.objects.filter(organization=organization)
    opening = ledger.filter(created_at__lt=start).aggregate(total=Sum("net"))["total"] or ZERO
    entries = list(
        ledger.filter(created_at__gte=start, created_at__lt=end)
        .select_related("contract", "payment")
        .order_by("created_at", "pk")
    )
    totals: dict[str, dict[str, Decimal]] = {}
    for entry in entries:
        kind = totals.setdefault(entry.kind, {"gross": ZERO, "fee": ZERO, "net": ZERO})
        kind["gross"], kind["fee"], kind["net"] = (
            kind["gross"] + entry.gross,
            kind["fee"] + entry.fee,
            kind["net"] + entry.net,
        )
    return Statement(organization, start.date(), opening, entries, totals)


def statement_csv(report: Statement) -> str:
    """The statement as CSV: one row per line, then the opening and closing balances."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    writer.writerow(["", "opening_balance", "", "", "", "", report.opening])
    for entry in report.entries:
        writer.writerow([
            timezone.localtime(entry.created_at).isoformat(timespec="seconds"), entry.kind,
            entry.contract.number if entry.contract else "", entry.payment_id or "", entry.gross, entry.fee, entry.net,
        ])  # fmt: skip
    writer.writerow(["", "closing_balance", "", "", "", "", report.closing])
    return out.getvalue()
