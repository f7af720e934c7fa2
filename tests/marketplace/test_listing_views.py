"""The merchant's listing pages: its listings by state, drafting, plans per kind, submitting and delisting."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape

from accounts.choices import Role
from audit.models import AuditEvent
from marketplace.choices import ListingStatus
from marketplace.models import Listing, PricePlan
from marketplace.services import listings
from marketplace.web.listings_forms import LICENCE_DEFAULTS, LICENCE_HELP, PLAN_HELP, TERRITORY_HELP, PlanForm
from registry.choices import LicenceTemplate
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import draft_listing, plan_fields, published_listing, registered_product
from tests.factories.registry import DataProductFactory

pytestmark = pytest.mark.django_db

PURPOSES = "Route planning for our own trucks."


def listing_data(**overrides) -> dict:
    data = {
        "title": "Qingdao port daily throughput",
        "description": "Containers per terminal per day.",
        "licence_template": "standard",
        "permitted_purposes": PURPOSES,
        "term_months": "12",
        "territory": "mainland",
    }
    return {**data, **overrides}


@pytest.fixture
def product(org):
    return registered_product(org)


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def url(name: str, *args) -> str:
    return reverse(f"marketplace:{name}", args=args)


# --- the list ---------------------------------------------------------------------------------------------------


def test_the_list_needs_a_sign_in(client):
    response = client.get(url("listing_list"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_the_list_shows_the_organisations_listings_by_state(signed_in, org, product):
    draft_listing(product, title="Our draft")
    published_listing(registered_product(org), title="Our published")
    published_listing(registered_product(), title="Someone else's")
    response = signed_in.get(url("listing_list"))
    page = response.content.decode()
    assert "Our draft" in page and "Our published" in page and "Someone else's" not in page
    tabs = {tab["value"]: tab["count"] for tab in response.context["tabs"]}
    assert tabs[""] == 2 and tabs[ListingStatus.DRAFT] == 1 and tabs[ListingStatus.PUBLISHED] == 1
    drafts = signed_in.get(url("listing_list"), {"status": "draft"})
    assert [listing.title for listing in drafts.context["listings_page"]] == ["Our draft"]
    unlisted = registered_product(org)
    page = signed_in.get(url("listing_list")).content.decode()
    assert url("listing_create", unlisted.pk) in page  # registered products without a listing can be listed here
    assert url("listing_create", product.pk) not in page


def test_the_list_costs_the_same_for_more_listings(signed_in, org, product, django_assert_max_num_queries):
    draft_listing(product)
    with django_assert_max_num_queries(10) as one:
        signed_in.get(url("listing_list"))
    for _ in range(4):
        draft_listing(registered_product(org), plans=[plan_fields(), plan_fields("sandbox")])
    with django_assert_max_num_queries(len(one.captured_queries)):
        signed_in.get(url("listing_list"))


# --- drafting ---------------------------------------------------------------------------------------------------


def test_the_form_starts_from_the_product_and_its_licence_template(signed_in, product):
    response = signed_in.get(url("listing_create", product.pk))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["title"].value() == product.title
    assert form["description"].value() == product.summary
    assert form["permitted_purposes"].value() == LICENCE_DEFAULTS[LicenceTemplate.STANDARD]["permitted_purposes"]
    assert form["redistribution"].value() is False and form["onward_transfer"].value() is False


def test_every_licence_term_has_inline_help(signed_in, product):
    page = signed_in.get(url("listing_create", product.pk)).content.decode()
    for text in [*LICENCE_HELP.values(), *TERRITORY_HELP.values()]:
        assert escape(str(text)) in page
    form = signed_in.get(url("listing_create", product.pk)).context["form"]
    assert all(form[name].help_text for name in form.TERMS)


def test_applying_a_template_fills_in_its_terms_and_saves_nothing(signed_in, product):
    data = listing_data(licence_template="open", title="Kept as typed", apply_template="1")
    response = signed_in.post(url("listing_create", product.pk), data)
    assert response.status_code == 200 and not Listing.objects.exists()
    form = response.context["form"]
    assert form["title"].value() == "Kept as typed"
    assert form["permitted_purposes"].value() == LICENCE_DEFAULTS[LicenceTemplate.OPEN]["permitted_purposes"]
    assert form["redistribution"].value() is True and form["onward_transfer"].value() is True


def test_creating_a_draft(signed_in, product):
    response = signed_in.post(url("listing_create", product.pk), listing_data(redistribution="on"))
    listing = Listing.objects.get()
    assert response.status_code == 302 and response["Location"] == url("listing_detail", listing.pk)
    assert listing.status == ListingStatus.DRAFT and listing.permitted_purposes == PURPOSES
    assert listing.redistribution and not listing.onward_transfer
    assert AuditEvent.objects.for_object(listing).filter(action="listing.created").exists()


def test_bad_input_is_shown_on_the_form(signed_in, product):
    response = signed_in.post(url("listing_create", product.pk), listing_data(permitted_purposes="", term_months="0"))
    assert response.status_code == 200 and not Listing.objects.exists()
    assert set(response.context["form"].errors) == {"permitted_purposes", "term_months"}


def test_only_the_organisations_registered_products_can_be_listed(signed_in, org):
    other = registered_product()
    assert signed_in.get(url("listing_create", other.pk)).status_code == 404
    draft = DataProductFactory(organization=org)
    response = signed_in.get(url("listing_create", draft.pk))
    assert response.status_code == 302 and response["Location"] == reverse("registry:product_detail", args=[draft.pk])


def test_a_viewer_cannot_list(client, org, product):
    client.force_login(member(org, Role.VIEWER))
    assert client.get(url("listing_create", product.pk)).status_code == 403
    assert client.post(url("listing_create", product.pk), listing_data()).status_code == 403
    assert not Listing.objects.exists()


def test_editing_a_draft_and_not_a_listing_under_review(signed_in, product):
    listing = draft_listing(product)
    response = signed_in.post(url("listing_edit", listing.pk), listing_data(title="New title", territory="city"))
    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.title == "New title" and listing.territory == "city"
    listings.listing_submit(listing=listing, by=owner_of(listing.organization))
    response = signed_in.get(url("listing_edit", listing.pk))
    assert response.status_code == 302 and response["Location"] == url("listing_detail", listing.pk)


def test_another_organisations_listing_is_a_404(signed_in):
    listing = draft_listing(registered_product())
    assert signed_in.get(url("listing_edit", listing.pk)).status_code == 404
    assert signed_in.get(url("plan_add", listing.pk)).status_code == 404
    assert signed_in.post(url("listing_submit", listing.pk)).status_code == 404
    assert signed_in.post(url("plan_withdraw", listing.plans.get().pk)).status_code == 404
    assert signed_in.post(url("listing_delist", listing.pk), {"reason": "x"}).status_code == 404


# --- plans ------------------------------------------------------------------------------------------------------

KIND_ONLY_FIELDS = {"billing_period", "download_days", "price_per_call", "free_calls", "rate_limit_per_minute"}


@pytest.mark.parametrize(
    ("kind", "own_fields"),
    [
        ("licence", {"download_days"}),
        ("subscription", {"billing_period"}),
        ("metered_api", {"price_per_call", "free_calls", "rate_limit_per_minute"}),
        ("sandbox", set()),
    ],
)
def test_each_plan_kind_shows_only_its_fields_with_help(signed_in, product, kind, own_fields):
    listing = draft_listing(product, plans=[])
    response = signed_in.get(url("plan_add", listing.pk), {"kind": kind})
    form = response.context["form"]
    assert set(form.fields) & KIND_ONLY_FIELDS == own_fields
    assert all(field.help_text for field in form.fields.values())
    page = response.content.decode()
    assert escape(str(PLAN_HELP["requires_approval"])) in page


def test_adding_a_subscription_plan(signed_in, product):
    listing = draft_listing(product, plans=[])
    data = {"kind": "subscription", "name": "Monthly", "price": "300", "billing_period": "month", "download_days": "7"}
    response = signed_in.post(url("plan_add", listing.pk) + "?kind=subscription", data)
    assert response.status_code == 302
    plan = PricePlan.objects.get()
    assert (plan.kind, plan.price, plan.billing_period) == ("subscription", 300, "month")
    assert plan.download_days == 30  # a licence's download window: not asked, and a posted one is not kept


@pytest.mark.parametrize("kind", ["licence", "subscription", "metered_api", "sandbox"])
def test_the_form_asks_for_the_fields_the_service_keeps(kind):
    form_fields = set(PlanForm(kind=kind).fields) & set(listings.KIND_FIELDS_ALL)
    assert form_fields == set(listings.KIND_FIELDS[kind])


def test_a_plan_needs_its_kinds_fields(signed_in, product):
    listing = draft_listing(product, plans=[])
    response = signed_in.post(url("plan_add", listing.pk), {"kind": "metered_api", "name": "Per call", "price": "0"})
    assert response.status_code == 200 and "price_per_call" in response.context["form"].errors
    assert not PricePlan.objects.exists()


def test_level_4_data_gets_sandbox_plans_only(signed_in, org):
    product = registered_product(org, sensitivity_level=4, classification="important")
    listing = draft_listing(product, plans=[])
    response = signed_in.get(url("plan_add", listing.pk), {"kind": "licence"})
    assert response.context["kind"] == "sandbox" and [k["value"] for k in response.context["kinds"]] == ["sandbox"]
    signed_in.post(url("plan_add", listing.pk), {"kind": "licence", "name": "Download", "price": "10"})
    assert list(PricePlan.objects.values_list("kind", flat=True)) == ["sandbox"]


def test_withdrawing_a_plan_but_not_a_published_listings_last(signed_in, product):
    listing = published_listing(product, plans=[plan_fields(), plan_fields("sandbox")])
    plan, last = listing.plans.order_by("position")
    assert signed_in.get(url("plan_withdraw", plan.pk)).status_code == 405
    response = signed_in.post(url("plan_withdraw", plan.pk))
    assert response.status_code == 302
    plan.refresh_from_db()
    assert not plan.is_active
    response = signed_in.post(url("plan_withdraw", last.pk), follow=True)
    assert response.redirect_chain[-1][0] == url("listing_detail", listing.pk)
    assert "last plan" in response.content.decode()
    last.refresh_from_db()
    assert last.is_active


# --- submitting and delisting -----------------------------------------------------------------------------------


def test_submitting_signs_from_the_clients_address(signed_in, product):
    listing = draft_listing(product)
    response = signed_in.post(url("listing_submit", listing.pk), REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING_REVIEW and listing.offer_signed_ip == "192.0.2.7"
    assert listing.offer_signed_by == owner_of(product.organization)


def test_submitting_without_a_plan_says_why(signed_in, product):
    listing = draft_listing(product, plans=[])
    response = signed_in.post(url("listing_submit", listing.pk), follow=True)
    assert "Add at least one price plan before submitting." in response.content.decode()
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT


def test_delisting_needs_a_reason_which_the_page_shows(signed_in, product):
    listing = published_listing(product)
    response = signed_in.post(url("listing_delist", listing.pk), {"reason": ""}, follow=True)
    assert "Give a reason for delisting" in response.content.decode()
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    page = signed_in.post(url("listing_delist", listing.pk), {"reason": "Superseded by a new dataset."}, follow=True)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DELISTED
    assert "Superseded by a new dataset." in page.content.decode()


def test_a_viewer_cannot_submit(client, org, product):
    listing = draft_listing(product)
    client.force_login(member(org, Role.VIEWER))
    response = client.post(url("listing_submit", listing.pk), follow=True)
    assert "does not allow this" in response.content.decode()
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT


def test_the_merchant_pages_render_in_chinese(signed_in, product):
    listing = draft_listing(product, plans=[plan_fields(price=Decimal("1.00"))])
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    for page in (url("listing_list"), url("listing_create", product.pk), url("listing_edit", listing.pk),
                 url("plan_add", listing.pk), url("listing_detail", listing.pk)):  # fmt: skip
        response = signed_in.get(page)
        assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode(), page


def test_another_member_organisation_does_not_see_the_draft(client):
    listing = draft_listing(registered_product())
    client.force_login(owner_of(OrganizationFactory()))
    assert client.get(url("listing_detail", listing.pk)).status_code == 404
