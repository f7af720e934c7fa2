"""The buyer's journey end to end (issue 5): find a product, sign a contract, pay with a test card at localstripe,
download the fingerprinted file; once in the browser and once with an API key.

Only the setup uses factories (a verified merchant's registered product, published with a paid one-off licence, and
a verified buyer). From then on everything goes through HTTP: the pages and the API as the buyer, localstripe as
Stripe.js in the buyer's browser, and /webhooks/stripe/ as Stripe calling Databourse. The only look inside is
`marketplace.fingerprint`, to check that the delivered file names its contract.
"""

import csv
import hashlib
import io
import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import ApiKeyScope
from audit.models import AuditEvent
from marketplace import fingerprint
from tests.api import with_key
from tests.factories import ApiKeyFactory, OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.marketplace import (
    PURPOSE,
    REEFER_CSV,
    REEFER_PRICE,
    REEFER_TITLE,
    REEFER_WORD,
    plan_fields,
    published_listing,
    registered_product,
)
from tests.marketplace import stripe_helpers as stripe_test

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def listing():
    """A verified merchant's registered product, published with a paid one-off licence (no approval needed), next
    to another merchant's listing the search must leave out."""
    published_listing(registered_product(title="Dalian port weather"))
    product = registered_product(title=REEFER_TITLE, content=REEFER_CSV)
    return published_listing(product, plans=[plan_fields("licence", name="One-off licence", price=REEFER_PRICE)])


@pytest.fixture
def buyer():
    """A verified organisation that buys."""
    return OrganizationFactory(can_sell=False)


@pytest.fixture
def browser(client, buyer):
    """The buyer's owner, signed in."""
    client.force_login(owner_of(buyer))
    return client


@pytest.fixture
def stripe_js(settings):
    """The pay page as it is with Stripe's own Stripe.js: it hands out the PaymentIntent untouched and the browser
    confirms it with the card typed in. (With localstripe's Stripe.js the server picks a 3-D Secure test card itself,
    so no card of the buyer's choosing could be tried: test_payment_views covers that mode.)"""
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"


@pytest.fixture
def stripe():
    """Stripe's side of the webhook: a client of its own, no session."""
    return Client()


# --- in the browser ---------------------------------------------------------------------------------------------


def find_in_catalogue(browser, word: str) -> str:
    """Search the catalogue; the product page the result links to."""
    page = browser.get(reverse("marketplace:catalogue"), {"q": word})
    assert page.status_code == 200
    results = re.findall(r'<h3 class="listing-card-title"><a href="([^"]+)">([^<]+)</a></h3>', page.content.decode())
    assert [title for _url, title in results] == [REEFER_TITLE], f"searching for {word!r} found {results}"
    return results[0][0]


def open_product_page(browser, url: str) -> tuple[str, dict]:
    """The product page's request form on the licence plan: where it posts and its hidden fields."""
    html = browser.get(url).content.decode()
    assert REEFER_TITLE in html and "One-off licence" in html and "¥5,000.00" in html
    form = re.search(r'<form class="plan-request" method="post" action="([^"]+)">(.*?)</form>', html, re.S)
    assert form, "the product page offers no request form"
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(2)))
    assert "purpose" in form.group(2)
    return form.group(1), hidden


def request_and_sign(browser, action: str, fields: dict) -> str:
    """Fill in the purpose and send the form: the buyer signs the terms; the contract page's address."""
    response = browser.post(action, {**fields, "purpose": PURPOSE})
    assert response.status_code == 302 and "/market/contracts/" in response.url
    return response.url


def contract_page(browser, url: str) -> str:
    page = browser.get(url)
    assert page.status_code == 200
    return page.content.decode()


def status_on(html: str) -> str:
    return re.search(r'<span class="badge badge-contract badge-contract-(\w+)">', html).group(1)


def number_on(html: str) -> str:
    return re.search(r'<p class="contract-meta"><span class="mono">([^<]+)</span>', html).group(1)


def pay_link_on(html: str) -> str:
    return re.search(r'<a class="button" href="([^"]+/pay/)">Pay ¥5,000.00</a>', html).group(1)


def open_pay_page(browser, url: str) -> tuple[str, str, str]:
    """The pay page: its HTML, the PaymentIntent's client secret it hands Stripe.js, and the status URL it polls."""
    page = browser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    secret = re.search(r'data-client-secret="([^"]+)"', html).group(1)
    return html, secret, re.search(r'data-status-url="([^"]+)"', html).group(1)


def stripe_calls_back(stripe, type_: str, client_secret: str) -> str:
    """Stripe posts the event about the PaymentIntent to /webhooks/stripe/; what Databourse did with it."""
    response = stripe_test.relay(stripe, type_, stripe_test.intent_id_of(client_secret))
    assert response.status_code == 200, response.content
    return response.json()["outcome"]


def poll_status(browser, url: str) -> dict:
    """What the pay page's script asks once Stripe.js has answered."""
    response = browser.get(url)
    assert response.status_code == 200
    return response.json()


def download_from(browser, contract_html: str) -> tuple[bytes, str]:
    """The contract's Download button, the page that says what it delivers, its button, then the file."""
    access = re.search(r'<a class="button button-small" href="([^"]+)">Download</a>', contract_html)
    assert access, "the contract page offers no download"
    confirm = browser.get(access.group(1)).content.decode()
    assert "carries a fingerprint of your contract" in confirm
    action = re.search(r'<form method="post" action="([^"]+)" class="actions">', confirm).group(1)
    link = browser.post(action)
    assert link.status_code == 302 and "/market/d/" in link.url
    file = browser.get(link.url)
    assert file.status_code == 200 and file["Content-Disposition"].startswith("attachment")
    return b"".join(file.streaming_content), file["Content-Disposition"]


def assert_fingerprinted_for(delivered: bytes, number: str, tmp_path) -> None:
    """The merchant's values, byte-for-byte different only by the marks, which name this contract and no other."""
    assert delivered != REEFER_CSV

    def rows(content: bytes) -> list:
        return list(csv.reader(io.StringIO(content.decode(), newline="")))

    assert rows(delivered) == rows(REEFER_CSV)
    assert delivered.replace(b'"', b"") == REEFER_CSV  # the marks are quotes around values that need none
    copy = tmp_path / "copy.csv"
    copy.write_bytes(delivered)
    results = fingerprint.score(fingerprint.read_marks(copy), [number, "DB-2026-NOBODY"])
    assert [match.number for match in results if match.named] == [number]


def test_a_buyer_finds_signs_pays_with_a_test_card_and_downloads_in_the_browser(browser, listing, stripe_js, stripe,
                                                                                tmp_path):  # fmt: skip
    # given the buyer found the product and signed a contract on its licence
    product_page = find_in_catalogue(browser, REEFER_WORD)
    contract_url = request_and_sign(browser, *open_product_page(browser, product_page))
    html = contract_page(browser, contract_url)
    assert status_on(html) == "awaiting_payment" and "Pay to start it." in html
    # when they pay with 4242 4242 4242 4242 and Stripe tells Databourse
    pay_html, secret, status_url = open_pay_page(browser, pay_link_on(html))
    assert "¥5,000.00" in pay_html
    assert stripe_test.confirm_card_payment(secret, stripe_test.VISA)["status"] == "succeeded"
    assert stripe_calls_back(stripe, "payment_intent.succeeded", secret) == "contract activated"
    # then the pay page's poll sends them to the contract, which is active
    status = poll_status(browser, status_url)
    assert status["paid"] and status["contract_status"] == "active" and status["redirect"] == contract_url
    html = contract_page(browser, contract_url)
    assert status_on(html) == "active" and "Active since" in html
    # and the download is the merchant's file, marked for this contract
    delivered, disposition = download_from(browser, html)
    assert "-v1.csv" in disposition
    assert_fingerprinted_for(delivered, number_on(html), tmp_path)


def test_a_declined_card_leaves_the_contract_awaiting_payment_with_a_clear_message(browser, listing, stripe_js,
                                                                                   stripe):  # fmt: skip
    # given a signed contract and its pay page
    contract_url = request_and_sign(browser, *open_product_page(browser, find_in_catalogue(browser, REEFER_WORD)))
    pay_url = pay_link_on(contract_page(browser, contract_url))
    _html, secret, status_url = open_pay_page(browser, pay_url)
    # when the card issuer declines the card (4000 0000 0000 0341) and Stripe says so
    assert stripe_test.confirm_card_payment(secret, stripe_test.DECLINED)["status"] == "requires_payment_method"
    assert stripe_calls_back(stripe, "payment_intent.payment_failed", secret) == "payment failed"
    # then the poll and the pay page say why, and the pay page is ready for another attempt
    status = poll_status(browser, status_url)
    assert (status["status"], status["done"], status["paid"]) == ("failed", True, False)
    assert status["message"] == "Your card was declined." and status["contract_status"] == "awaiting_payment"
    again, again_secret, _ = open_pay_page(browser, pay_url)
    assert "The last attempt did not go through" in again and "Your card was declined." in again
    assert "Nothing was charged. The contract still awaits payment" in again and again_secret == secret
    # and the contract still awaits payment, with nothing to download
    html = contract_page(browser, contract_url)
    assert status_on(html) == "awaiting_payment" and pay_link_on(html) == pay_url and ">Download</a>" not in html


def test_after_a_failed_attempt_paying_again_with_a_good_card_works(browser, listing, stripe_js, stripe, tmp_path):
    # given a first card whose 3-D Secure check the buyer failed (localstripe cannot try again after a charge was
    # declined, real Stripe can; a failed check leaves the same PaymentIntent to try again on both)
    contract_url = request_and_sign(browser, *open_product_page(browser, find_in_catalogue(browser, REEFER_WORD)))
    pay_url = pay_link_on(contract_page(browser, contract_url))
    _html, secret, status_url = open_pay_page(browser, pay_url)
    assert stripe_test.confirm_card_payment(secret, stripe_test.card_asking_3ds())["status"] == "requires_action"
    stripe_test.authenticate_like_stripe_js(secret, success=False)
    failed = poll_status(browser, status_url)
    assert failed["status"] == "failed" and "failed authentication" in failed["message"]
    # when the buyer comes back to the pay page and pays with 4242 4242 4242 4242
    again, again_secret, _ = open_pay_page(browser, pay_url)
    assert "failed authentication" in again and again_secret == secret
    assert stripe_test.confirm_card_payment(again_secret, stripe_test.VISA)["status"] == "succeeded"
    assert stripe_calls_back(stripe, "payment_intent.succeeded", again_secret) == "contract activated"
    # then the contract is active and delivers
    assert poll_status(browser, status_url)["paid"]
    html = contract_page(browser, contract_url)
    assert status_on(html) == "active"
    assert_fingerprinted_for(download_from(browser, html)[0], number_on(html), tmp_path)


# --- with an API key --------------------------------------------------------------------------------------------


def partner_of(organization):
    """A client of the organisation's partner system, with a read-and-write API key."""
    return with_key(ApiKeyFactory(organization=organization, scope=ApiKeyScope.WRITE)[1])


def search_listings(api, word: str) -> dict:
    """The catalogue searched for `word`: the one listing found."""
    response = api.get(f"{API}/listings/", {"search": word})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [row["title"] for row in results] == [REEFER_TITLE]
    return results[0]


def licence_plan_of(api, listing_id: int) -> dict:
    detail = api.get(f"{API}/listings/{listing_id}/").json()
    (plan,) = [plan for plan in detail["plans"] if plan["kind"] == "licence"]
    assert plan["price"] == "5000.00" and not plan["requires_approval"]
    return plan


def request_and_sign_contract(api, listing_id: int, plan_id: int) -> dict:
    """Ask for the contract, signing its terms; both signatures cover the hash of the terms returned."""
    response = api.post(f"{API}/contracts/", {"listing": listing_id, "plan": plan_id, "purpose": PURPOSE},
                        format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    contract = response.json()
    canonical = json.dumps(contract["terms"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == contract["terms_sha256"]
    signed = {(s["party"], s["terms_sha256"]) for s in contract["signatures"]}
    assert signed == {("buyer", contract["terms_sha256"]), ("merchant", contract["terms_sha256"])}
    return contract


def start_payment(api, contract_id: int) -> dict:
    response = api.post(f"{API}/payments/", {"contract": contract_id}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def contract_once_active(api, contract_id: int, *, polls: int = 5) -> dict:
    """Poll the contract, as a partner does after paying, until it is active (a few polls at most)."""
    for _ in range(polls):
        contract = api.get(f"{API}/contracts/{contract_id}/").json()
        if contract["status"] == "active":
            return contract
    raise AssertionError(f"contract {contract_id} is still {contract['status']}")


def download_link(api, entitlement_id: int) -> dict:
    response = api.post(f"{API}/entitlements/{entitlement_id}/download-link/")
    assert response.status_code == 201, response.content
    return response.json()


def download(api, url: str) -> bytes:
    response = api.get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    return b"".join(response.streaming_content)


def test_a_partner_system_does_the_same_with_an_api_key(listing, buyer, stripe, tmp_path):
    api = partner_of(buyer)
    # given the listing found by a word of its title, and a contract on its licence requested and signed
    found = search_listings(api, REEFER_WORD)
    contract = request_and_sign_contract(api, found["id"], licence_plan_of(api, found["id"])["id"])
    assert contract["status"] == "awaiting_payment" and contract["price"] == "5000.00"
    # when the partner starts the payment, confirms it with 4242 4242 4242 4242 and Stripe tells Databourse
    checkout = start_payment(api, contract["id"])
    assert checkout["needs_payment"] and checkout["payment"]["amount"] == "5000.00"
    assert stripe_test.confirm_card_payment(checkout["client_secret"], stripe_test.VISA)["status"] == "succeeded"
    assert stripe_calls_back(stripe, "payment_intent.succeeded", checkout["client_secret"]) == "contract activated"
    # then the contract turns active with a download entitlement
    active = contract_once_active(api, contract["id"])
    (access,) = active["entitlements"]
    assert (access["kind"], access["status"]) == ("download", "active")
    assert api.get(f"{API}/payments/{checkout['payment']['id']}/").json()["status"] == "succeeded"
    # and its download link delivers the merchant's file, marked for this contract
    link = download_link(api, access["id"])
    assert link["version"] == 1 and link["filename"].endswith("-v1.csv")
    assert_fingerprinted_for(download(api, link["url"]), active["number"], tmp_path)


def test_looking_at_a_declined_payment_again_records_the_decline_once(browser, listing, stripe_js, stripe):
    # given a card declined and Stripe's event about it delivered
    contract_url = request_and_sign(browser, *open_product_page(browser, find_in_catalogue(browser, REEFER_WORD)))
    pay_url = pay_link_on(contract_page(browser, contract_url))
    _html, secret, status_url = open_pay_page(browser, pay_url)
    stripe_test.confirm_card_payment(secret, stripe_test.DECLINED)
    stripe_calls_back(stripe, "payment_intent.payment_failed", secret)
    # when the buyer's page polls once more and they open the pay page twice before trying another card
    poll_status(browser, status_url)
    open_pay_page(browser, pay_url)
    open_pay_page(browser, pay_url)
    # then the ledger holds the one decline that happened
    assert AuditEvent.objects.filter(action="payment.failed").count() == 1
