"""Journey 3 (issue 8): a buyer searches the catalogue, reads the product page, requests a contract the merchant
approves, pays with a test card on the pay page (localstripe's Stripe.js), downloads the fingerprinted file and rates
the listing; a declined card leaves the contract awaiting payment.

Only the setup uses factories (a verified merchant's registered product, published with a licence that needs the
merchant's approval, and a verified buyer); from then on the buyer and the merchant act in their own browser tabs.
"""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from marketplace import fingerprint
from tests.browser.buy_helpers import DECLINED, VISA, fill_card, pay_with_card
from tests.browser.conftest import sign_in, sign_in_by_cookie
from tests.factories import OrganizationFactory
from tests.factories.accounts import PASSWORD, owner_of
from tests.factories.marketplace import (
    PURPOSE,
    REEFER_CSV,
    REEFER_PRICE,
    REEFER_TITLE,
    REEFER_WORD,
    contract_on,
    plan_fields,
    published_listing,
    registered_product,
)

pytestmark = pytest.mark.django_db(transaction=True)

COMMENT = "Complete berth-level counts, as described; the March figures matched our own terminal logs."


@pytest.fixture
def listing():
    """A verified merchant's product, published with a licence the merchant approves, next to another merchant's
    listing the search must leave out."""
    published_listing(registered_product(title="Dalian port weather"))
    product = registered_product(title=REEFER_TITLE, content=REEFER_CSV)
    plan = plan_fields("licence", name="Approved licence", price=REEFER_PRICE, requires_approval=True)
    return published_listing(product, plans=[plan])


@pytest.fixture
def buyer():
    """The owner of a verified organisation that buys."""
    return owner_of(OrganizationFactory(can_sell=False))


def search_the_catalogue(journey, word: str) -> None:
    journey.goto("/market/")
    journey.page.get_by_role("searchbox").fill(word)
    journey.page.get_by_role("button", name="Search", exact=True).click()
    results = journey.page.locator(".listing-card-title")
    expect(results).to_have_text([REEFER_TITLE])


def read_the_product_page(journey) -> None:
    page = journey.page
    page.get_by_role("link", name=REEFER_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(REEFER_TITLE)
    for heading in ("Masked sample", "What the data holds", "Registration certificate", "Plans", "Reviews"):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.get_by_text("No reviews yet.")).to_be_visible()


def request_a_contract(journey) -> str:
    """Fill in the purpose on the licence and send it: the buyer signs the terms; the contract page's address."""
    page = journey.page
    page.get_by_label("Your purpose").fill(PURPOSE)
    page.get_by_role("button", name="Request a contract").click()
    expect(page.locator(".contract-meta .badge")).to_have_text("Requested")
    return page.url


def approve_as_the_merchant(merchant, contract_url: str) -> None:
    """The merchant, in their own tab, approves the request and signs the same terms."""
    merchant.goto(contract_url)
    merchant.page.once("dialog", lambda dialog: dialog.accept())
    merchant.page.get_by_role("button", name="Approve and sign").click()
    expect(merchant.page.locator(".contract-meta .badge")).to_have_text("Awaiting payment")


def download_the_file(journey) -> bytes:
    """The contract's Download button, the page that says what it delivers, then the file."""
    page = journey.page
    page.get_by_role("link", name="Download", exact=True).click()
    expect(page.get_by_text("carries a fingerprint of your contract")).to_be_visible()
    journey.shot("download")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the file").click()
    assert download.value.suggested_filename.endswith("-v1.csv")
    return open(download.value.path(), "rb").read()


def assert_is_the_data_marked_for(delivered: bytes, number: str, tmp_path) -> None:
    """The merchant's values, record for record, with marks that name this contract and no other."""

    def rows(content: bytes) -> list:
        return list(csv.reader(io.StringIO(content.decode(), newline="")))

    assert delivered != REEFER_CSV and rows(delivered) == rows(REEFER_CSV)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(delivered)
    results = fingerprint.score(fingerprint.read_marks(copy), [number, "DB-2026-NOBODY"])
    assert [match.number for match in results if match.named] == [number]


def rate_the_listing(journey) -> None:
    page = journey.page
    page.get_by_role("link", name="Rate the data").click()
    page.get_by_label(re.compile("Excellent")).check()
    page.get_by_label("Comment").fill(COMMENT)
    journey.shot("review form")
    page.get_by_role("button", name="Publish the rating").click()
    expect(page.get_by_text("your rating is published on the listing's page")).to_be_visible()


def test_a_buyer_finds_signs_pays_downloads_and_rates(journeys, listing, buyer, tmp_path):
    shopper = journeys("buyer")
    merchant = journeys("merchant")
    sign_in(shopper, buyer.email, PASSWORD)
    sign_in_by_cookie(merchant, owner_of(listing.organization))
    # given the buyer found the product, read its page and asked for a contract on its licence
    search_the_catalogue(shopper, REEFER_WORD)
    shopper.shot("catalogue search results")
    read_the_product_page(shopper)
    shopper.shot("product page")
    contract_url = request_a_contract(shopper)
    shopper.shot("contract signed by the buyer")
    # when the merchant approves it in their tab, and the buyer pays with 4242 4242 4242 4242
    approve_as_the_merchant(merchant, contract_url)
    shopper.goto(contract_url)
    expect(shopper.page.get_by_text("Both sides have signed.")).to_be_visible()
    shopper.shot("contract signed by both")
    shopper.page.get_by_role("link", name="Pay ¥5,000.00").click()
    fill_card(shopper, VISA)
    shopper.shot("pay page with the card")
    pay_with_card(shopper)
    # then the pay page waits for the confirmation and opens the contract, which is active
    expect(shopper.page).to_have_url(shopper.url(contract_url))
    expect(shopper.page.locator(".contract-meta .badge")).to_have_text("Active")
    expect(shopper.page.get_by_text("Active since")).to_be_visible()
    shopper.shot("paid contract")
    number = shopper.page.locator(".contract-meta .mono").inner_text()
    # and the download is the merchant's data, marked for this contract
    shopper.goto(contract_url)
    assert_is_the_data_marked_for(download_the_file(shopper), number, tmp_path)
    shopper.goto("/market/my/access/")
    expect(shopper.page.get_by_text(number)).to_be_visible()
    shopper.shot("downloads")
    # and the buyer's rating shows on the product page
    shopper.goto(contract_url)
    rate_the_listing(shopper)
    shopper.goto(f"/market/listings/{listing.pk}/")
    reviews = shopper.page.locator("#reviews")
    expect(reviews.get_by_text(COMMENT)).to_be_visible()
    expect(reviews.get_by_text("5 of 5")).to_be_attached()
    shopper.shot("product page with the rating")
    # and both dashboards show the sale
    merchant.goto("/market/dashboard/sales/")
    expect(merchant.page.get_by_text("¥5,000.00").first).to_be_visible()
    merchant.shot("sales dashboard")
    shopper.goto("/market/dashboard/purchases/")
    expect(shopper.page.get_by_text(REEFER_TITLE).first).to_be_visible()
    shopper.shot("purchases dashboard")


def test_a_declined_card_is_explained_and_leaves_the_contract_awaiting_payment(journeys):
    # given a signed contract on a licence that needs no approval
    listing = published_listing(registered_product(title=REEFER_TITLE, content=REEFER_CSV),
                                plans=[plan_fields("licence", name="One-off licence", price=REEFER_PRICE)])  # fmt: skip
    contract = contract_on(listing)
    shopper = journeys("buyer")
    sign_in_by_cookie(shopper, owner_of(contract.buyer))
    # when the buyer pays with a card its issuer declines (4000 0000 0000 0341)
    shopper.goto(f"/market/contracts/{contract.pk}/pay/")
    fill_card(shopper, DECLINED)
    pay_with_card(shopper)
    # then the pay page says so, and the button is there for another try
    expect(shopper.page.get_by_role("status").filter(has_text="Your card was declined.")).to_be_visible()
    expect(shopper.page.get_by_role("button", name="Pay ¥5,000.00")).to_be_enabled()
    shopper.shot("declined")
    shopper.forget_problems(r"status of 402")
    # and the contract still awaits payment, with nothing to download
    shopper.page.get_by_role("link", name="Back to the contract").click()
    expect(shopper.page.locator(".contract-meta .badge")).to_have_text("Awaiting payment")
    expect(shopper.page.get_by_role("link", name="Download", exact=True)).to_have_count(0)
    shopper.shot("contract still awaiting payment")
    # and the pay page, opened again, says why the last attempt failed
    shopper.page.get_by_role("link", name="Pay ¥5,000.00").click()
    failed = shopper.page.get_by_role("alert").filter(has_text="The last attempt did not go through")
    expect(failed).to_contain_text("Your card was declined.")
    expect(failed).to_contain_text("Nothing was charged.")
    shopper.shot("pay page after the decline")
