"""Settlement: the platform fee on each sale, the fee returned with refunds, balances, payouts and statements."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
import stripe
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditEvent
from core.errors import PermissionDeniedError
from marketplace.choices import PayoutStatus, SettlementKind
from marketplace.models import Payment, Payout, SettlementEntry
from marketplace.services import settlement
from marketplace.services.common import MarketError
from tests.factories.accounts import owner_of
from tests.factories.marketplace import contract_on, published_listing, registered_product, regulator
from tests.marketplace.stripe_helpers import booked_sale

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture
def contract():
    return contract_on(published_listing(registered_product()))


@pytest.fixture
def merchant(contract):
    return contract.merchant


def refunded(payment: Payment, amount: str) -> SettlementEntry:
    before = payment.refunded_amount
    payment.refunded_amount += Decimal(amount)
    payment.save(update_fields=["refunded_amount"])
    return settlement.refund_record(payment=payment, amount=Decimal(amount), refunded_before=before)


# --- the platform fee -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "gross", "fee"),
    [("5", "5000.00", "250.00"), ("5", "0.10", "0.01"), ("5", "0.09", "0.00"), ("5", "33.33", "1.67"),
     ("2.5", "100.00", "2.50"), ("2.5", "0.20", "0.01"), ("0", "100.00", "0.00")],
)  # fmt: skip
def test_the_fee_is_a_percentage_rounded_half_up_to_the_fen(settings, percent, gross, fee):
    settings.MARKETPLACE_PLATFORM_FEE_PERCENT = percent
    assert settlement.platform_fee(Decimal(gross)) == Decimal(fee)


def test_a_sale_line_is_gross_fee_and_net_once_per_payment(contract, merchant):
    payment = booked_sale(contract, "1234.50")
    with pytest.raises(IntegrityError), transaction.atomic():  # the constraint backs up the payments service
        settlement.sale_record(payment=payment)
    line = SettlementEntry.objects.get()
    assert line.organization == merchant and line.contract == contract
    assert (line.kind, line.gross, line.fee, line.net) == (
        "sale",
        Decimal("1234.50"),
        Decimal("61.73"),
        Decimal("1172.77"),
    )


def test_refunds_give_the_fee_back_pro_rata_and_add_up_exactly(contract, merchant):
    # given a ¥100.00 sale (fee ¥5.00) refunded in three uneven parts
    payment = booked_sale(contract, "100.00")
    lines = [refunded(payment, amount) for amount in ("33.33", "33.33", "33.34")]
    # then each refund carries its share of the fee, and together they return the whole sale
    assert [line.fee for line in lines] == [Decimal("-1.67"), Decimal("-1.66"), Decimal("-1.67")]
    assert sum(line.gross for line in lines) == Decimal(-100) and sum(line.fee for line in lines) == Decimal(-5)
    assert settlement.balance(merchant) == Decimal("0.00")


def test_a_refund_of_a_payment_never_booked_writes_no_line(contract):
    payment = Payment.objects.create(contract=contract, amount=Decimal(10), idempotency_key="k", status="succeeded")
    assert settlement.refund_record(payment=payment, amount=Decimal(10), refunded_before=Decimal(0)) is None


def test_the_balance_is_per_merchant(contract, merchant):
    booked_sale(contract, "5000.00")
    other = contract_on(published_listing(registered_product()))
    booked_sale(other, "200.00")
    assert settlement.balance(merchant) == Decimal("4750.00")
    assert settlement.balance(other.merchant) == Decimal("190.00")
    assert settlement.balance(contract.buyer) == Decimal("0.00")


# --- payouts ----------------------------------------------------------------------------------------------------


def test_a_regulator_pays_out_up_to_the_balance(contract, merchant):
    booked_sale(contract, "5000.00")
    officer = regulator()
    with pytest.raises(PermissionDeniedError):
        settlement.payout_create(organization=merchant, amount=Decimal(100), by=owner_of(merchant))
    with pytest.raises(ValidationError) as exc:
        settlement.payout_create(organization=merchant, amount=Decimal("4750.01"), by=officer)
    assert "4750.00" in exc.value.message_dict["amount"][0]
    with pytest.raises(ValidationError):
        settlement.payout_create(organization=merchant, amount=Decimal("-1"), by=officer)
    payout = settlement.payout_create(organization=merchant, amount=Decimal("4000.00"), by=officer)
    assert payout.status == PayoutStatus.PENDING and settlement.balance(merchant) == Decimal("750.00")
    line = SettlementEntry.objects.get(kind=SettlementKind.PAYOUT)
    assert (line.payout, line.gross, line.fee, line.net) == (payout, Decimal(-4000), Decimal(0), Decimal(-4000))
    assert Payout.objects.restrict(owner_of(merchant)).filter(pk=payout.pk).exists()
    assert not Payout.objects.restrict(owner_of(contract.buyer)).exists()


def test_marking_a_payout_paid_needs_a_reference_and_happens_once(contract, merchant):
    booked_sale(contract, "5000.00")
    officer = regulator()
    payout = settlement.payout_create(organization=merchant, amount=Decimal("1000.00"), by=officer)
    with pytest.raises(ValidationError) as exc:
        settlement.payout_mark_paid(payout=payout, by=officer, reference=" ")
    assert "reference" in exc.value.message_dict
    paid = settlement.payout_mark_paid(payout=payout, by=officer, reference="ICBC 2026-0042")
    assert (paid.status, paid.reference, paid.paid_by, paid.stripe_transfer) == ("paid", "ICBC 2026-0042", officer, "")
    assert paid.paid_at is not None
    with pytest.raises(MarketError) as exc:
        settlement.payout_mark_paid(payout=payout, by=officer, reference="again")
    assert exc.value.code == "payout_already_paid"
    actions = list(AuditEvent.objects.for_object(payout).values_list("action", flat=True))
    assert sorted(actions) == ["payout.created", "payout.paid"]


def test_with_stripe_connect_the_payout_is_a_transfer(settings, monkeypatch, contract, merchant):
    # localstripe has no Connect: the suite stands in for /v1/transfers and checks what would be sent
    settings.STRIPE_CONNECT_ENABLED = True
    sent = []

    def create_transfer(service, params, options=None):
        sent.append((params, options))
        return stripe.Transfer.construct_from({"id": "tr_test_1", "object": "transfer", **params}, "sk_test")

    monkeypatch.setattr(stripe.TransferService, "create", create_transfer)
    booked_sale(contract, "5000.00")
    officer = regulator()
    payout = settlement.payout_create(organization=merchant, amount=Decimal("1000.50"), by=officer)
    with pytest.raises(ValidationError):
        settlement.payout_mark_paid(payout=payout, by=officer, reference="ICBC 1")  # not a connected account
    paid = settlement.payout_mark_paid(payout=payout, by=officer, reference="acct_1Merchant")
    assert paid.stripe_transfer == "tr_test_1" and paid.status == PayoutStatus.PAID
    params, options = sent[0]
    assert (params["amount"], params["currency"], params["destination"]) == (100050, "cny", "acct_1Merchant")
    assert options == {"idempotency_key": f"databourse-payout-{payout.pk}"}


# --- statements -------------------------------------------------------------------------------------------------


def _at(entry: SettlementEntry, moment: datetime.datetime) -> None:
    SettlementEntry.objects.filter(pk=entry.pk).update(created_at=moment)


@pytest.fixture
def two_months(contract, merchant):
    """A sale on 31 May 23:30 Shanghai time (still May there, June 1st in no time zone), a refund and a payout in
    June."""
    payment = booked_sale(contract, "1000.00")
    _at(SettlementEntry.objects.get(kind="sale"), datetime.datetime(2026, 5, 31, 23, 30, tzinfo=SHANGHAI))
    _at(refunded(payment, "100.00"), datetime.datetime(2026, 6, 2, 9, 0, tzinfo=SHANGHAI))
    payout = settlement.payout_create(organization=merchant, amount=Decimal("500.00"), by=regulator())
    _at(payout.entry, datetime.datetime(2026, 6, 20, 9, 0, tzinfo=SHANGHAI))
    return merchant


def test_monthly_statements_carry_the_balance_forward(two_months, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        june, may = settlement.statement_months(two_months)
    assert (may.month, may.entries, may.opening, may.net, may.closing) == (
        datetime.date(2026, 5, 1), 1, Decimal(0), Decimal(950), Decimal(950)
    )  # fmt: skip
    assert (june.month, june.entries, june.gross, june.fee, june.net) == (
        datetime.date(2026, 6, 1), 2, Decimal(-600), Decimal(-5), Decimal(-595)
    )  # fmt: skip
    assert (june.opening, june.closing) == (Decimal(950), Decimal(355))


def test_a_statement_lists_the_months_lines_with_totals_by_kind(two_months):
    june = settlement.statement(two_months, 2026, 6)
    assert [entry.kind for entry in june.entries] == ["refund", "payout"]
    assert (june.opening, june.net, june.closing) == (Decimal(950), Decimal(-595), Decimal(355))
    assert june.totals["refund"] == {"gross": Decimal(-100), "fee": Decimal(-5), "net": Decimal(-95)}
    assert june.totals["payout"]["net"] == Decimal(-500)
    assert settlement.statement(two_months, 2026, 7).entries == []


def test_the_statement_csv(two_months):
    rows = list(csv.reader(io.StringIO(settlement.statement_csv(settlement.statement(two_months, 2026, 6)))))
    assert rows[0] == settlement.CSV_HEADER
    assert rows[1][1:] == ["opening_balance", "", "", "", "", "950.00"]
    assert rows[2][0].startswith("2026-06-02T09:00:00+08:00") and rows[2][1] == "refund"
    assert rows[2][4:] == ["-100.00", "-5.00", "-95.00"]
    assert rows[3][1] == "payout" and rows[-1][1:] == ["closing_balance", "", "", "", "", "355.00"]


def test_no_such_month():
    with pytest.raises(ValidationError):
        settlement.statement(None, 2026, 13)


def test_fee_percent_out_of_range_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.MARKETPLACE_PLATFORM_FEE_PERCENT = "120"
    with pytest.raises(ImproperlyConfigured):
        settlement.fee_percent()


def test_entries_are_ordered_newest_first(contract, merchant):
    first, second = booked_sale(contract, "10.00"), booked_sale(contract, "20.00")
    SettlementEntry.objects.filter(payment=first).update(created_at=timezone.now() - datetime.timedelta(days=1))
    assert [e.payment_id for e in settlement.entries_of(merchant)] == [second.pk, first.pk]
