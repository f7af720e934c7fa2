"""The signed contract as a PDF: what it prints, in English and in Chinese, and the terms read from the snapshot."""

from decimal import Decimal

import pytest
from django.utils import translation

from marketplace.contract_pdf import contract_pdf, signature_lines, terms_intact, terms_sections
from marketplace.models import Contract
from marketplace.services import contracts
from tests.factories import OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.marketplace import PURPOSE, contract_on, plan_fields, published_listing, registered_product
from tests.pdf import content, info, pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing():
    return published_listing(registered_product(title="Port throughput"))


def test_the_pdf_prints_the_parties_terms_hash_and_both_signatures(listing):
    contract = contract_on(listing)
    pdf = contract_pdf(contract)
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    assert info(pdf, "Author") == contract.merchant.name and contract.number in info(pdf, "Title")
    text = content(pdf)
    for expected in (
        contract.number,
        contract.buyer.name,
        contract.buyer.credit_code,
        contract.merchant.credit_code,
        "Port throughput",
        "licence plan",
        "5,000.00",
        "Analysis and forecasting inside the buyer.",
        PURPOSE,
        contract.terms_sha256,  # in full
        "10.0.0.2",  # the buyer's address
        "10.0.0.1",  # the merchant's standing offer, signed when the listing was submitted
        "Standing offer signed by",
        "Awaiting payment",
        "Page 1 of 1",
    ):
        assert expected in text, expected


def test_the_pdf_reads_the_signed_snapshot_not_the_listing_of_today(listing):
    contract = contract_on(listing)
    listing.permitted_purposes = "Anything at all."
    listing.save(update_fields=["permitted_purposes"])
    text = content(contract_pdf(Contract.objects.get(pk=contract.pk)))
    assert "Analysis and forecasting inside the buyer." in text and "Anything at all." not in text


def test_an_unsigned_side_and_a_metered_plan(django_capture_on_commit_callbacks):
    plans = [plan_fields("metered_api", price=Decimal(100), requires_approval=True)]
    contract = contract_on(published_listing(registered_product(), plans=plans))
    text = content(contract_pdf(contract))
    assert "Not signed yet." in text and "Free calls per month" in text and "0.0500" in text
    lines = signature_lines(contract, list(contract.signatures.all()))
    assert [(line.party, line.signed) for line in lines] == [("buyer", True), ("merchant", False)]


def test_the_pdf_in_chinese_uses_the_cid_font():
    listing = published_listing(registered_product(title="青岛港集装箱吞吐量"))
    contract = contract_on(listing, buyer=OrganizationFactory(name="青岛某物流有限公司"))
    with translation.override("zh-hans"):
        pdf = contract_pdf(contract)
    assert b"/BaseFont /STSong-Light" in pdf and b"/Lang (zh-hans)" in pdf
    assert pages(pdf) == 1


def test_a_long_purpose_runs_onto_more_pages_with_the_number_on_each(listing):
    buyer = OrganizationFactory()
    purpose = "Forecasting berth occupancy for the next quarter. " * 300
    contract = contracts.contract_request(
        listing=listing, plan=listing.plans.get(), buyer=buyer, by=owner_of(buyer), purpose=purpose
    )
    pdf = contract_pdf(contract)
    text = content(pdf)
    assert pages(pdf) >= 2 and f"Page 2 of {pages(pdf)}" in text
    assert text.count(contract.number) >= 2 * pages(pdf)  # header and footer of every page


def test_invariant_output_is_repeatable(listing):
    contract = contract_on(listing)
    assert contract_pdf(contract, invariant=True) == contract_pdf(contract, invariant=True)


def test_terms_in_words_and_their_hash(listing):
    contract = contract_on(listing)
    sections = {section.key: dict(section.rows) for section in terms_sections(contract.terms)}
    assert sections["licence"]["Licence"] == "Standard commercial licence"
    assert sections["licence"]["Term"] == "12 months" and sections["plan"]["Exclusive"] == "No"
    assert sections["purpose"]["Purpose stated by the buyer"] == PURPOSE
    assert terms_intact(contract)
    Contract.objects.filter(pk=contract.pk).update(terms={**contract.terms, "price": "1.00"})
    assert not terms_intact(Contract.objects.get(pk=contract.pk))
