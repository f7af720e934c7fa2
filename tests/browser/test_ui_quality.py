"""UI quality a person expects (issue 8): every main page usable at phone width (no sideways scrolling) and free of
console errors at desktop width, every form field labelled, helpful empty states, page links on long lists, charts
drawn by the app itself (inline SVG, no external script), and a progress bar wherever the exchange works in the
background: uploads, profiling, valuations and batch jobs (a sandbox dataset's preparation, a revaluation)."""

import re

import pytest
from playwright.sync_api import expect

from registry.models import ProductVersion
from sandbox.services import datasets
from tests.browser.conftest import sign_in_by_cookie
from tests.browser.pages import build_world, key_pages, people, unlabelled_fields, without_tasks
from tests.factories import OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.registry import CSV, DataProductFactory, upload_version
from tests.factories.sandbox import registered_version
from tests.factories.valuation import valuation_of
from valuation import services as valuation_services

pytestmark = pytest.mark.django_db(transaction=True)

# Scripts the pages load from anywhere but the exchange itself (the pay page's Stripe.js is the one exception).
FOREIGN_SCRIPTS_JS = """() => [...document.scripts].map((script) => script.src)
  .filter((src) => src && !src.startsWith(location.origin))"""


def test_every_main_page_fits_a_phone(journeys):
    # given
    world = build_world()
    tabs = people(journeys, world, phone=True)
    too_wide = []
    for page in key_pages(world):
        # when
        tab = tabs[page.who]
        tab.goto(page.path)
        tab.shot(page.name)
        # then
        try:
            tab.assert_fits_width()
        except AssertionError as problem:
            too_wide.append(str(problem))
    assert not too_wide, "\n".join(too_wide)
    # and the navigation folds behind the menu button
    member = tabs["org"]
    navigation = member.page.get_by_role("navigation", name="Main")
    expect(navigation).to_be_hidden()
    member.page.get_by_role("button", name="Menu").click()
    expect(navigation.get_by_role("link", name="Data products")).to_be_visible()
    member.assert_fits_width()
    member.shot("menu open")


def test_every_main_page_labels_its_fields_and_runs_no_foreign_script(journeys):
    # given
    world = build_world()
    tabs = people(journeys, world)
    unlabelled, foreign = {}, {}
    for page in key_pages(world):
        # when
        tab = tabs[page.who]
        tab.goto(page.path)
        # then (console errors fail the test in the fixture)
        if fields := unlabelled_fields(tab):
            unlabelled[page.path] = fields
        if (scripts := tab.page.evaluate(FOREIGN_SCRIPTS_JS)) and page.name != "pay":
            foreign[page.path] = scripts
    assert not unlabelled, f"form fields without a label: {unlabelled}"
    assert not foreign, f"scripts from elsewhere: {foreign}"


EMPTY_LISTS = [
    ("/registry/", "products"),
    ("/market/contracts/", "contracts"),
    ("/market/my/access/", "downloads"),
    ("/market/demands/", "demands"),
    ("/sandbox/workspaces/", "workspaces"),
]


def test_a_new_organisations_lists_say_what_to_do_instead_of_showing_blank_tables(journeys):
    # given
    newcomer = journeys("newcomer")
    sign_in_by_cookie(newcomer, owner_of(OrganizationFactory()))
    for path, name in EMPTY_LISTS:
        # when
        newcomer.goto(path)
        newcomer.shot(f"empty {name}")
        # then
        main = newcomer.page.locator("main")
        expect(main.locator(".empty-state, .empty-state-inline").first).to_be_visible()
        assert main.locator("table").count() == 0, f"{path} shows an empty table"


def test_a_long_list_has_page_links(journeys):
    # given: more products than a page holds (25)
    organization = OrganizationFactory()
    with without_tasks():
        for _ in range(26):
            DataProductFactory(organization=organization)
    merchant = journeys("merchant")
    sign_in_by_cookie(merchant, owner_of(organization))
    # when
    merchant.goto("/registry/")
    pages = merchant.page.get_by_role("navigation", name="Pages")
    # then
    expect(pages).to_be_visible()
    merchant.shot("products page 1")
    pages.get_by_role("link", name="Next").click()
    expect(merchant.page.get_by_role("navigation", name="Pages")).to_contain_text("Page 2 of 2")
    expect(merchant.page.locator("main tbody tr")).to_have_count(1)


def test_the_charts_are_drawn_by_the_app(journeys):
    # given
    world = build_world()
    tabs = people(journeys, world)
    charts = [
        (f"/registry/versions/{world.ids['versions']}/", "figure.quality-chart svg", "org"),
        (f"/valuation/products/{world.ids['products']}/", "figure.chart-figure svg", "org"),
        ("/market/dashboard/sales/", "figure.dash-chart svg", "org"),
        ("/market/statistics/", "figure.dash-chart svg", "visitor"),
    ]
    for path, chart, who in charts:
        # when
        tab = tabs[who]
        tab.goto(path)
        # then
        expect(tab.page.locator(chart).first).to_be_visible()
        assert tab.page.evaluate(FOREIGN_SCRIPTS_JS) == [], path
        tab.shot(path)


def test_background_work_shows_a_progress_bar(journeys):
    # given: work queued that no worker has picked up yet
    organization = OrganizationFactory(can_operate_public_data=True)
    owner = owner_of(organization)
    product = DataProductFactory(organization=organization)
    upload_version(product)  # profiled: a quality score to value with
    with without_tasks():
        profiling = upload_version(product)
        valuation = valuation_of(product)
        batch = valuation_services.revaluation_start(organization=organization, by=owner, queue=False)
    version = registered_version(organization)
    with without_tasks():
        dataset = datasets.dataset_publish(version=version, by=owner, title="Residents")
    merchant = journeys("merchant")
    sign_in_by_cookie(merchant, owner)
    for name, path in [
        ("profiling", f"/registry/versions/{profiling.pk}/"),
        ("valuation", f"/valuation/{valuation.pk}/"),
        ("revaluation", f"/valuation/revaluations/{batch.pk}/"),
        ("dataset preparation", f"/sandbox/datasets/{dataset.pk}/"),
    ]:
        # when
        merchant.goto(path)
        # then
        expect(merchant.page.locator("main").get_by_role("progressbar").first).to_be_visible()
        merchant.shot(name)


def test_an_upload_shows_its_progress_until_the_server_answers(journeys):
    # given
    product = DataProductFactory()
    merchant = journeys("merchant")
    sign_in_by_cookie(merchant, owner_of(product.organization))
    merchant.goto(f"/registry/products/{product.pk}/versions/new/")
    held = []
    merchant.page.route(re.compile(r".*/versions/new/$"), lambda route: held.append(route)
                        if route.request.method == "POST" else route.continue_())  # fmt: skip
    # when
    merchant.page.get_by_label(re.compile("file", re.I)).set_input_files(
        files=[{"name": "port.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    merchant.page.get_by_role("button", name="Upload and profile").click()
    # then
    expect(merchant.page.get_by_role("progressbar")).to_be_visible()
    merchant.shot("uploading")
    held[0].continue_()
    merchant.page.wait_for_url(re.compile(r"/registry/versions/\d+/$"))
    assert ProductVersion.objects.filter(product=product).exists()
    merchant.shot("uploaded")
