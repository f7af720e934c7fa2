"""The pay page and the status it polls (driven like localstripe's Stripe.js drives them), the merchant's refund
form, the settlement page with its CSV statements, and the regulator console for payments and payouts."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import Role
from marketplace.choices import ContractStatus, PaymentStatus, PayoutStatus
from marketplace.models import Contract, Payment, Payout, Refund, SettlementEntry
from marketplace.services import payments, settlement
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import contract_on, published_listing, registered_product
from tests.marketplace import stripe_helpers as stripe_test

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract():
    return contract_on(published_listing(registered_product()))


def signed_in(client, user):
    client.force_login(user)
    return client


def pay_page(client, contract):
    return client.get(reverse("marketplace:payment_start", args=[contract.pk]))


def client_secret_of(page) -> str:
    return re.search(r'data-client-secret="([^"]+)"', page.content.decode()).group(1)


def paid_payment(contract) -> Payment:
    """A contract paid through the service and localstripe (refresh, no webhook)."""
    checkout = payments.payment_start(contract=contract, by=owner_of(contract.buyer))
    stripe_test.confirm_with_card(checkout.payment.stripe_payment_intent)
    return payments.payment_refresh(payment=checkout.payment)


# --- the pay page -----------------------------------------------------------------------------------------------


def test_the_pay_page_shows_the_amount_the_terms_hash_and_loads_stripe_js_with_the_nonce(client, contract, settings):
    page = pay_page(signed_in(client, owner_of(contract.buyer)), contract)
    assert page.status_code == 200
    html = page.content.decode()
    assert "¥5,000.00" in html and contract.terms_sha256 in html and contract.number in html
    nonce = re.search(r'<script src="([^"]+)" nonce="([^"]+)"></script>', html)
    assert nonce.group(1) == settings.STRIPE_JS_URL and nonce.group(2)
    assert 'src="/static/js/checkout.js"' in html and "marketplace-payments.css" in html
    payment = Payment.objects.get(contract=contract)
    assert client_secret_of(page).startswith(payment.stripe_payment_intent)
    assert f'data-status-url="{reverse("marketplace:payment_status", args=[payment.pk])}"' in html
    # Stripe.js's card inputs are a group named by the heading (a label may only point at a form control)
    assert 'id="card-element-label"' in html and 'aria-labelledby="card-element-label"' in html
    assert 'for="card-element"' not in html
    # localstripe's Stripe.js confirms a PaymentIntent waiting for 3-D Secure: the server prepared it
    assert stripe_test.intent(payment.stripe_payment_intent)["status"] == "requires_action"


def test_paying_like_make_run_does_without_a_webhook(client, contract):
    # given the pay page, and the buyer completing localstripe's 3-D Secure box
    page = pay_page(signed_in(client, owner_of(contract.buyer)), contract)
    stripe_test.authenticate_like_stripe_js(client_secret_of(page), success=True)
    # when the page polls the status
    payment = Payment.objects.get(contract=contract)
    status = client.get(reverse("marketplace:payment_status", args=[payment.pk])).json()
    # then the server asked Stripe itself, and the contract is active
    assert status["paid"] and status["done"] and status["status"] == "succeeded"
    assert status["redirect"] == reverse("marketplace:contract_detail", args=[contract.pk])
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    # and the pay page now sends the buyer to the contract
    again = pay_page(client, contract)
    assert again.status_code == 302 and again.url == status["redirect"]


def test_a_failed_attempt_is_explained_and_the_buyer_can_try_again(client, contract):
    page = pay_page(signed_in(client, owner_of(contract.buyer)), contract)
    stripe_test.authenticate_like_stripe_js(client_secret_of(page), success=False)
    payment = Payment.objects.get(contract=contract)
    status = client.get(reverse("marketplace:payment_status", args=[payment.pk])).json()
    assert status["status"] == "failed" and status["done"] and not status["paid"]
    assert "failed authentication" in status["message"]
    # the page says so, and is ready for another attempt on the same payment
    retry = pay_page(client, contract)
    assert retry.status_code == 200 and "failed authentication" in retry.content.decode()
    assert Payment.objects.filter(contract=contract).count() == 1
    stripe_test.authenticate_like_stripe_js(client_secret_of(retry), success=True)
    assert client.get(reverse("marketplace:payment_status", args=[payment.pk])).json()["paid"]


@pytest.mark.parametrize(
    ("who", "status"),
    [(lambda c: owner_of(c.merchant), 403), (lambda c: owner_of(OrganizationFactory()), 404)],
    ids=["merchant", "stranger"],
)
def test_only_the_buyer_sees_the_pay_page(client, contract, who, status):
    assert pay_page(signed_in(client, who(contract)), contract).status_code == status
    assert not Payment.objects.exists()


def test_a_viewer_of_the_buyer_is_told_why_they_cannot_pay(client, contract):
    page = pay_page(signed_in(client, member(contract.buyer, Role.VIEWER)), contract)
    assert page.status_code == 403 and "does not allow" in page.content.decode()


def test_anonymous_visitors_sign_in_first(client, contract):
    page = pay_page(client, contract)
    assert page.status_code == 302 and "/accounts/" in page.url


def test_the_status_of_another_organisations_payment_is_a_404(client, contract):
    payment = payments.payment_start(contract=contract, by=owner_of(contract.buyer)).payment
    signed_in(client, owner_of(OrganizationFactory()))
    assert client.get(reverse("marketplace:payment_status", args=[payment.pk])).status_code == 404


# --- refunds ----------------------------------------------------------------------------------------------------


def test_the_merchant_refunds_part_of_a_payment(client, contract):
    payment = paid_payment(contract)
    url = reverse("marketplace:payment_refund", args=[payment.pk])
    signed_in(client, owner_of(contract.merchant))
    form = client.get(url)
    assert form.status_code == 200 and "¥5,000.00" in form.content.decode()
    response = client.post(url, {"amount": "1200.00", "reason": "Two days late."})
    assert response.status_code == 302 and response.url == url
    page = client.get(url).content.decode()
    assert "Two days late." in page and "¥3,800.00" in page
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED and payment.refunded_amount == Decimal(1200)


def test_a_refund_above_what_is_left_is_a_field_error(client, contract):
    payment = paid_payment(contract)
    signed_in(client, owner_of(contract.merchant))
    response = client.post(reverse("marketplace:payment_refund", args=[payment.pk]), {"amount": "9000", "reason": "x"})
    assert response.status_code == 200 and "At most ¥5000.00 is left" in response.content.decode()
    assert not Refund.objects.exists()


def test_a_refund_after_expiry_shows_the_reason(client, contract):
    payment = paid_payment(contract)
    Contract.objects.filter(pk=contract.pk).update(ends_at=contract.created_at)
    signed_in(client, owner_of(contract.merchant))
    response = client.post(reverse("marketplace:payment_refund", args=[payment.pk]), {"reason": "Goodwill."})
    assert response.status_code == 400 and "can no longer be refunded" in response.content.decode()
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [(lambda c: owner_of(c.buyer), 403), (lambda c: member(c.merchant, Role.VIEWER), 403),
     (lambda c: owner_of(OrganizationFactory()), 404)],
    ids=["buyer", "merchant's viewer", "stranger"],
)  # fmt: skip
def test_only_the_merchants_editors_refund(client, contract, who, status):
    payment = paid_payment(contract)
    signed_in(client, who(contract))
    response = client.post(reverse("marketplace:payment_refund", args=[payment.pk]), {"reason": "x"})
    assert response.status_code == status
    assert not Refund.objects.exists()


# --- settlement -------------------------------------------------------------------------------------------------


def _sales(contract, count: int) -> None:
    for n in range(count):
        stripe_test.booked_sale(contract, f"{100 + n}.00")


def test_the_settlement_page_shows_balance_ledger_statements_and_payouts(
    client, contract, django_assert_max_num_queries
):
    _sales(contract, 30)
    payout = settlement.payout_create(organization=contract.merchant, amount=Decimal(1000), by=None)
    signed_in(client, owner_of(contract.merchant))
    with django_assert_max_num_queries(16):
        page = client.get(reverse("marketplace:settlement"))
    html = page.content.decode()
    assert page.status_code == 200
    balance = settlement.balance(contract.merchant)
    assert f"¥{balance:,}" in html and "5%" in html
    assert html.count('class="badge badge-entry ') == 25 and "Page 1 of 2" in html
    today = timezone.localdate()
    csv_url = reverse("marketplace:statement_csv", args=[today.year, today.month])
    assert csv_url in html and f"¥{payout.amount:,}" in html


def test_the_settlement_page_query_count_does_not_grow_with_the_ledger(client, contract, django_assert_max_num_queries):
    _sales(contract, 3)
    signed_in(client, owner_of(contract.merchant))
    client.get(reverse("marketplace:settlement"))
    _sales(contract, 40)
    with django_assert_max_num_queries(16):
        assert client.get(reverse("marketplace:settlement")).status_code == 200


def test_an_empty_ledger_says_what_will_appear(client):
    signed_in(client, owner_of(OrganizationFactory()))
    html = client.get(reverse("marketplace:settlement")).content.decode()
    assert "Nothing to settle yet." in html and "No statements yet." in html


def test_the_monthly_statement_downloads_as_csv(client, contract):
    _sales(contract, 2)
    signed_in(client, owner_of(contract.merchant))
    today = timezone.localdate()
    response = client.get(reverse("marketplace:statement_csv", args=[today.year, today.month]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    name = f"statement-{contract.merchant.pk}-{today.year}-{today.month:02d}.csv"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("recorded_at,kind") and len(lines) == 1 + 1 + 2 + 1
    assert client.get(reverse("marketplace:statement_csv", args=[2026, 13])).status_code == 404


def test_the_statement_is_the_active_organisations_own(client, contract):
    _sales(contract, 1)
    signed_in(client, owner_of(contract.buyer))  # the buyer has no sales
    today = timezone.localdate()
    lines = client.get(reverse("marketplace:statement_csv", args=[today.year, today.month])).content.decode()
    assert len(lines.splitlines()) == 3  # header, opening and closing balance


# --- the regulator console --------------------------------------------------------------------------------------


@pytest.fixture
def console(client):
    """A client in the admin as a regulator with a verified TOTP device."""
    officer = member(OrganizationFactory(kind="regulator", can_buy=False), "admin")
    device = TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)
    client.force_login(officer)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def test_the_console_lists_payments_read_only_and_refunds_with_a_reason(console, contract):
    payment = paid_payment(contract)
    changelist = console.get(reverse("admin:marketplace_payment_changelist"))
    assert changelist.status_code == 200 and contract.number in changelist.content.decode()
    page = console.get(reverse("admin:marketplace_payment_change", args=[payment.pk])).content.decode()
    decide = reverse("admin:marketplace_payment_decide", args=[payment.pk, "refund"])
    assert decide in page and 'name="amount"' not in page  # read-only: no editable fields
    assert console.post(decide, {"reason": "Data unlawfully collected."}).status_code == 302
    payment.refresh_from_db()
    contract.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and contract.status == ContractStatus.REFUNDED
    assert Refund.objects.get().reason == "Data unlawfully collected."
    assert console.get(reverse("admin:marketplace_payment_add")).status_code == 403


def test_the_console_orders_a_payout_and_marks_it_paid(console, contract):
    _sales(contract, 1)
    add = reverse("admin:marketplace_payout_add")
    too_much = console.post(add, {"organization": contract.merchant.pk, "amount": "1000.00"})
    assert too_much.status_code == 200 and "a payout cannot be larger" in too_much.content.decode()
    response = console.post(add, {"organization": contract.merchant.pk, "amount": "90.00"})
    payout = Payout.objects.get()
    assert response.status_code == 302 and payout.amount == Decimal(90)
    decide = reverse("admin:marketplace_payout_decide", args=[payout.pk, "mark_paid"])
    assert console.post(decide, {"reason": "ICBC 2026-0099"}).status_code == 302
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID and payout.reference == "ICBC 2026-0099"


def test_the_console_shows_the_ledger_and_stripe_events_read_only(console, contract, client):
    _sales(contract, 3)
    stripe_test.deliver(client, stripe_test.event("customer.created", {"id": "cus_1"}))
    for name in ("settlemententry", "stripeevent", "refund"):
        assert console.get(reverse(f"admin:marketplace_{name}_changelist")).status_code == 200
        assert console.get(reverse(f"admin:marketplace_{name}_add")).status_code == 403
    entry = SettlementEntry.objects.first()
    assert console.post(reverse("admin:marketplace_settlemententry_delete", args=[entry.pk])).status_code == 403
