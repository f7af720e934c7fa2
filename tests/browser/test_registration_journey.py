"""Issue 8, journeys 1 and 2 in a real browser.

1. A merchant signs up with its organisation, uploads the business licence and is verified by a regulator; drafts a
   data product, uploads a file (with the upload progress bar), reads its profile and submits it for registration.
2. A regulator logs in to the console with a password and a TOTP code, reviews the product and approves it; the
   merchant sees the certificate and anyone verifies it; the merchant lists the product with a price plan and submits
   the listing; the regulator approves it and the listing is in the public catalogue.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.choices import VerificationStatus
from accounts.models import Organization
from marketplace.choices import ListingStatus
from marketplace.models import Listing
from registry import services as registry_services
from registry.choices import ProductStatus, UpdateFrequency
from registry.models import DataProduct, RegistrationCertificate
from registry.tasks import version_profile
from tests.browser.conftest import sign_in
from tests.browser.registration_helpers import (
    accept_dialogs,
    admin_decide,
    admin_sign_in,
    port_throughput_csv,
    totp_device,
)
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import PASSWORD, credit_code, owner_of
from tests.factories.registry import DataProductFactory, upload_version

pytestmark = pytest.mark.django_db(transaction=True)

MERCHANT_EMAIL = "wang.fang@haiyun-data.example.com"
MERCHANT_PASSWORD = "blue-harbour-lantern-42"
ORGANISATION = "Qingdao Haiyun Port Data Co., Ltd."
TITLE = "Qingdao port monthly container throughput"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def regulator():
    """A member of the municipal regulator (staff in the console), with an authenticator app set up."""
    user = member(OrganizationFactory(kind="regulator", name="Qingdao Big Data Bureau", can_sell=False), "admin")
    return user, totp_device(user)


def test_a_merchant_signs_up_is_verified_registers_a_product_and_submits_it(journeys, regulator):
    merchant = journeys("merchant")
    accept_dialogs(merchant)
    page = merchant.page

    # signs up with the organisation on the public registration page
    merchant.goto("/accounts/register/")
    page.get_by_label("Full name").fill("Wang Fang")
    page.get_by_label("E-mail", exact=True).fill(MERCHANT_EMAIL)
    page.get_by_label("Password", exact=True).fill(MERCHANT_PASSWORD)
    page.get_by_label("Password again").fill(MERCHANT_PASSWORD)
    page.get_by_label("Organisation name").fill(ORGANISATION)
    page.get_by_label("Unified social credit code").fill(credit_code())
    page.get_by_label("Sells data (data merchant)").check()
    page.get_by_label("Registered address").fill("88 Xiangjiang Road, Huangdao District, Qingdao, Shandong")
    page.get_by_label("Contact person").fill("Wang Fang")
    page.get_by_label("Contact e-mail").fill("registry@haiyun-data.example.com")
    page.get_by_label("Contact phone").fill("0532-8688 0000")
    merchant.shot("sign-up")
    page.get_by_role("button", name="Register", exact=True).click()

    # lands on the organisation page, pending, and uploads the business licence
    expect(page).to_have_url(re.compile(r"/accounts/organization/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(ORGANISATION)
    expect(page.locator(".status-panel")).to_contain_text("Next step")
    page.get_by_label("Business licence", exact=True).set_input_files(
        {"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Upload the licence").click()
    expect(page.locator(".messages")).to_contain_text("The business licence is uploaded")
    merchant.shot("organisation awaiting verification")

    # a regulator verifies the organisation in the console
    user, device = regulator
    console = journeys("regulator")
    admin_sign_in(console, user.email, PASSWORD, device)
    console.page.get_by_role("link", name="Organisations").first.click()
    console.page.get_by_role("link", name=ORGANISATION).click()
    expect(console.page.get_by_role("heading", name="Review the organisation")).to_be_visible()
    expect(console.page.locator("#content")).to_contain_text("Open licence")
    expect(console.page.get_by_role("button", name="Save")).to_have_count(0)  # every field is read-only
    admin_decide(console, "Verify", "Business licence matches the national enterprise credit register.")
    assert Organization.objects.get(name=ORGANISATION).status == VerificationStatus.VERIFIED

    # the merchant sees the verified state
    page.reload()
    expect(page.locator(".status-panel")).to_contain_text("Verified on")
    merchant.shot("organisation verified")

    # drafts a data product, declaring two column rules
    merchant.goto("/registry/products/new/")
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Summary").fill("Container throughput (TEU) and cargo tonnage of the four Qingdao port areas.")
    page.get_by_label(re.compile("^Description")).fill(
        "One row per port area and month, July 2022 to August 2026, from the terminal operating systems."
    )
    page.get_by_label("Sector").select_option(label="Transport and logistics")
    page.get_by_label("Tags").fill("港口, 集装箱, Qingdao")
    page.get_by_label("Source and acquisition").select_option(label="Generated by our own operations")
    page.get_by_label("Legal basis").fill("Operational records of our own terminals, held under the port concession.")
    page.get_by_label("Resource holding right").check()
    page.get_by_label("Product operation right").check()
    page.get_by_label("Update frequency").select_option(label="Monthly")
    page.get_by_label("Covers from").fill("2022-07-01")
    page.get_by_label("Area covered").fill("Qingdao port: Qianwan, Dongjiakou, Huangdao and Dagang port areas")
    page.get_by_label("Contact person").fill("Wang Fang")
    page.get_by_label("Contact e-mail").fill("data@haiyun-data.example.com")
    page.get_by_label("Column", exact=True).nth(0).fill("集装箱吞吐量_标箱")
    page.get_by_label("Holds", exact=True).nth(0).select_option(label="Whole number")
    page.get_by_label("Column", exact=True).nth(1).fill("统计月份")
    page.get_by_label("Holds", exact=True).nth(1).select_option(label="Text")
    page.get_by_label("Pattern (optional)", exact=True).nth(1).fill(r"20\d{2}-(0[1-9]|1[0-2])")
    merchant.shot("product form")
    page.get_by_role("button", name="Create the draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)

    # uploads the file; the progress bar shows while it is on its way
    page.get_by_role("link", name="Upload the first version").click()
    page.get_by_label("Data file").set_input_files(
        {"name": "qingdao-port-throughput.csv", "mimeType": "text/csv", "buffer": port_throughput_csv()}
    )
    # A local upload of 10 kB is over in an instant: the request is held back until the screenshot is taken.
    upload_url = re.compile(r"/versions/new/$")
    held = []
    page.route(upload_url, lambda route: held.append(route))
    with page.expect_request(upload_url):
        page.get_by_role("button", name="Upload and profile").click()
    expect(page.locator("[data-upload-progress]")).to_be_visible()
    expect(page.get_by_role("button", name="Upload and profile")).to_be_disabled()
    expect(page.get_by_role("button", name="Cancel the upload")).to_be_visible()
    merchant.shot("upload in progress")
    assert held, "the upload request never reached the route"
    held[0].continue_()
    page.unroute(upload_url)

    # reads the profile: quality, columns, personal information, masked sample
    expect(page).to_have_url(re.compile(r"/registry/versions/\d+/$"))
    expect(page.get_by_role("heading", name="Quality")).to_be_visible()
    expect(page.locator(".quality-row-completeness .quality-value")).not_to_have_text("100.0")
    expect(page.get_by_role("heading", name="Personal information found")).to_be_visible()
    expect(page.locator("#validity")).to_contain_text("Every value of the declared columns fits its rule.")
    expect(page.locator("section[aria-labelledby=file-title] .details")).to_contain_text("200")
    merchant.shot("version profile")

    # submits the product for registration
    page.get_by_role("link", name="Go to the product to submit it").click()
    page.get_by_role("button", name="Submit for registration").click()
    expect(page.locator(".status-panel")).to_contain_text("Under review")
    merchant.shot("submitted product")
    assert DataProduct.objects.get(title=TITLE).status == ProductStatus.SUBMITTED


def _submitted_product():
    """A verified merchant's product, profiled and submitted: where journey 1 ends."""
    organization = OrganizationFactory(name=ORGANISATION)
    product = DataProductFactory(
        organization=organization,
        title=TITLE,
        summary="Container throughput (TEU) and cargo tonnage of the four Qingdao port areas.",
        description="One row per port area and month, July 2022 to August 2026, from the terminal operating systems.",
        update_frequency=UpdateFrequency.MONTHLY,
        spatial_coverage="Qingdao port",
    )
    version = upload_version(product, port_throughput_csv(), "qingdao-port-throughput.csv")
    if not version.is_profiled:
        version_profile(version.pk)
    return registry_services.product_submit(product=product, by=owner_of(organization))


def test_a_regulator_approves_the_product_and_its_listing_with_two_factor(journeys, regulator):
    product = _submitted_product()
    user, device = regulator

    # the regulator logs in with password and TOTP code and opens the review queue
    console = journeys("regulator")
    admin = console.page
    admin_sign_in(console, user.email, PASSWORD, device, screenshot=True)
    admin.get_by_role("link", name="Data products").first.click()
    admin.get_by_role("link", name=TITLE).click()
    expect(admin.locator("#content")).to_contain_text("Version under review")
    console.shot("admin review page")
    admin_decide(console, "Approve registration", "Rights and legal basis documented; no personal information found.")
    certificate = RegistrationCertificate.objects.get(product=product)

    # the merchant sees the certificate
    merchant = journeys("merchant")
    accept_dialogs(merchant)
    page = merchant.page
    sign_in(merchant, owner_of(product.organization).email, PASSWORD)
    merchant.goto(f"/registry/products/{product.pk}/")
    expect(page.locator("#certificate")).to_contain_text(certificate.number)
    expect(page.locator(".status-panel")).to_contain_text("Registered")
    merchant.shot("registered product with its certificate")

    # and anyone verifies it at the certificate lookup
    visitor = journeys("visitor")
    visitor.goto("/registry/certificates/")
    visitor.page.get_by_label("Certificate number").fill(certificate.number)
    visitor.page.get_by_role("button", name="Verify").click()
    expect(visitor.page.locator(".verdict")).to_have_class(re.compile("verdict-valid"))
    visitor.shot("certificate")

    # the merchant lists the product with a price plan and submits the listing
    page.get_by_role("link", name="List on the exchange").click()
    merchant.shot("listing form")
    page.get_by_role("button", name="Create the draft").click()
    page.locator("#plans").get_by_role("link", name="Add a plan").click()
    page.get_by_label("Name").fill("Annual licence, 2022 to date")
    page.get_by_label("Price").first.fill("12000")
    page.get_by_role("button", name="Add the plan").click()
    page.get_by_role("button", name="Sign and submit for review").click()
    expect(page.locator(".manage-panel")).to_contain_text("A regulator is reviewing the listing")
    listing = Listing.objects.get(product=product)

    # the regulator approves the listing
    console.goto("/admin/marketplace/listing/")
    admin.get_by_role("link", name=listing.title).first.click()
    admin_decide(console, "Approve and publish", "Terms and plans are clear and lawful.")
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.PUBLISHED

    # the listing is in the public catalogue
    visitor.goto("/market/")
    visitor.page.get_by_role("link", name=listing.title).first.click()
    expect(visitor.page.get_by_role("heading", level=1)).to_contain_text(listing.title)
    visitor.shot("published listing")
