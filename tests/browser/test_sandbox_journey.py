"""Journey 4 (issue 8): an operator publishes a sandbox dataset, a buyer queries it, the operator approves an export.

The operator publishes a registered version of residents through /sandbox/ (the build shows its progress until it is
done), sets each column's access and the minimum group size; a buyer holding a sandbox contract opens the workspace,
reads the schema and the masked sample, runs a grouped query (a small district is suppressed), saves it and asks
for an export; the operator approves it from the review queue and the buyer downloads the fingerprinted CSV.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.choices import Role
from sandbox import tasks
from sandbox.choices import ColumnAccess, DatasetStatus, ExportStatus
from sandbox.models import ColumnPolicy, ExportDownload, ExportRequest, SandboxDataset, SavedQuery
from tests.browser.conftest import sign_in, sign_in_by_cookie
from tests.browser.sandbox_helpers import held_dataset_builds
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import PASSWORD, owner_of
from tests.factories.sandbox import DISTRICTS, SMALL_DISTRICT, operator_org, registered_version, sandbox_entitlement

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCT = "Qingdao residents sample"
TITLE = "Qingdao residents 2025"
# Districts of 78 residents each, and 李沧区 with 6: below a minimum group size of 20.
SQL = (
    "SELECT district, count(*) AS residents, round(avg(income)) AS mean_income\n"
    "FROM data\nGROUP BY district\nORDER BY district"
)
PURPOSE = "Plan where the district clinics open next year."


def test_an_operator_publishes_a_dataset_a_buyer_queries_it_and_the_operator_releases_an_export(journeys, monkeypatch):
    # given: an operator with a registered version, and a buyer's analyst (the contract comes once it is published)
    operator = operator_org(name="Qingdao Public Data Operation Co.")
    version = registered_version(operator, title=PRODUCT)
    operator_owner = owner_of(operator)
    buyer = OrganizationFactory(name="Shandong Port Supply Chain Finance Co.")
    analyst = member(buyer, Role.EDITOR)

    staff = journeys("operator")
    sign_in(staff, operator_owner.email, PASSWORD)
    dataset = publish(staff, version, monkeypatch)
    set_policies(staff, dataset)

    # given: the buyer's sandbox contract on the dataset's product (a free sandbox plan on its listing)
    sandbox_entitlement(dataset, buyer)
    analyst_tab = journeys("buyer")
    sign_in(analyst_tab, analyst.email, PASSWORD)
    run_url = query_and_ask_for_export(analyst_tab, dataset)

    approve_export(staff)
    download(analyst_tab, run_url)

    # and: the buyer's pages work at phone width too
    phone = journeys("buyer-phone", phone=True)
    sign_in_by_cookie(phone, analyst)
    for path, name in ((f"/sandbox/workspaces/{dataset.pk}/", "workspace at phone width"),
                       (run_url, "run at phone width")):  # fmt: skip
        phone.goto(path)
        phone.assert_fits_width()
        phone.shot(name)


def publish(staff, version, monkeypatch) -> SandboxDataset:
    """The operator publishes the version; the page shows the build's progress, then the published dataset."""
    page = staff.page
    staff.goto("/sandbox/")
    expect(page.get_by_role("heading", name="Published datasets", level=1)).to_be_visible()
    expect(page.get_by_text("Nothing published in the sandbox yet.")).to_be_visible()
    staff.shot("dataset list empty")
    page.get_by_role("link", name="Publish a dataset").click()

    page.get_by_label("Registered version").select_option(label=f"{PRODUCT} — version {version.number}")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Description").fill("Residents by district and age band; names and mobiles masked.")
    page.get_by_label("Minimum group size").fill("20")
    staff.shot("publish form")
    with held_dataset_builds(monkeypatch) as held:
        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_role("heading", name="Preparing the sandbox copy")).to_be_visible()
    dataset = SandboxDataset.objects.get(title=TITLE)
    assert held == [dataset.pk] and dataset.status == DatasetStatus.PREPARING
    expect(page.get_by_role("progressbar", name="Preparation progress")).to_be_visible()
    staff.shot("dataset build in progress")

    # when: a worker builds the Parquet file, the page (polling its status) reloads by itself
    tasks.prepare_dataset.apply(args=(dataset.pk,))
    expect(page.get_by_role("heading", name="Preparing the sandbox copy")).to_have_count(0)
    expect(page.locator("h1 .badge-sandbox")).to_have_text("Published")
    dataset.refresh_from_db()
    assert (dataset.status, dataset.row_count, dataset.min_group_size) == (DatasetStatus.PUBLISHED, 240, 20)
    staff.shot("dataset build done")
    return dataset


def set_policies(staff, dataset: SandboxDataset) -> None:
    """Income only in aggregates, gender left out; the PII columns stay as the profile suggested."""
    page = staff.page
    policies = page.get_by_role("region", name="Column policies")
    expect(policies.get_by_label("id_number", exact=True)).to_have_value(ColumnAccess.HIDDEN)
    expect(policies.get_by_label("mobile", exact=True)).to_have_value(ColumnAccess.MASKED)
    expect(policies.get_by_label("name", exact=True)).to_have_value(ColumnAccess.MASKED)
    expect(policies.get_by_label("district", exact=True)).to_have_value(ColumnAccess.VISIBLE)
    policies.get_by_label("income", exact=True).select_option(ColumnAccess.AGGREGATE_ONLY)
    policies.get_by_label("gender", exact=True).select_option(ColumnAccess.HIDDEN)
    staff.shot("policy form")
    policies.get_by_role("button", name="Save the column policies").click()  # rebuilt at once (eager Celery)
    expect(page.get_by_text("The column policies are saved")).to_be_visible()
    expect(page.locator("h1 .badge-sandbox")).to_have_text("Published")
    access = dict(ColumnPolicy.objects.filter(dataset=dataset).values_list("column", "access"))
    assert access["income"] == ColumnAccess.AGGREGATE_ONLY and access["gender"] == ColumnAccess.HIDDEN

    staff.goto("/sandbox/datasets/")
    row = page.get_by_role("row").filter(has_text=TITLE)
    expect(row).to_contain_text("Published")
    expect(row.get_by_role("cell").nth(2)).to_have_text("240")
    staff.shot("dataset list")


def query_and_ask_for_export(buyer, dataset: SandboxDataset) -> str:
    """The buyer reads the schema and sample, runs a grouped query, saves it and asks for its export."""
    page = buyer.page
    buyer.goto("/sandbox/")
    page.get_by_role("link", name="Open the workspace").click()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    schema = page.get_by_role("region", name="Schema")
    expect(schema.get_by_role("rowheader")).to_have_text(["district", "age_band", "name", "mobile", "income"])
    expect(schema.get_by_role("row").filter(has_text="income")).to_contain_text("Aggregates only")
    sample = page.get_by_role("region", name="Masked sample").get_by_role("table")
    expect(sample.get_by_role("columnheader")).to_have_text(["district", "age_band", "name", "mobile", "income"])
    expect(sample).to_contain_text("****")  # masked mobiles

    # when: the buyer writes the query and runs it with Ctrl+Enter (the editor's shortcut)
    editor = page.get_by_label("SQL")
    editor.fill(SQL)
    buyer.shot("workspace with schema, sample and query")
    editor.press("Control+Enter")
    expect(page.get_by_role("heading", name=re.compile(r"^Run \d+"))).to_be_visible()
    expect(page.locator("h1 .badge-run")).to_have_text("Succeeded")
    result = page.get_by_role("region", name=re.compile("The result")).get_by_role("table")
    expect(result.get_by_role("columnheader")).to_have_text(["district", "residents", "mean_income"])
    expect(result.get_by_role("row")).to_have_count(1 + len(DISTRICTS))
    expect(result).not_to_contain_text(SMALL_DISTRICT)
    report = page.get_by_role("region", name="Disclosure report")
    expect(report).to_contain_text("1 group had fewer than 20 rows and was left out.")
    expect(report).to_contain_text("Counts are rounded to the nearest multiple of 5.")
    run_url = page.url
    buyer.shot("query result with disclosure report")

    # when: the buyer keeps the query under a title
    page.get_by_role("link", name="Edit this query").click()
    expect(page.get_by_label("SQL")).to_have_value(SQL)
    page.get_by_label("Title").fill("Residents and income by district")
    page.get_by_role("button", name="Save as a new query").click()
    expect(page.get_by_text("The query “Residents and income by district” is saved.")).to_be_visible()
    saved = page.get_by_role("region", name="Saved queries")
    expect(saved.get_by_role("link", name="Residents and income by district")).to_be_visible()
    assert "GROUP BY district" in SavedQuery.objects.get().sql

    # when: the buyer asks the operator to release the result
    page.get_by_role("region", name="Run history").get_by_role("link").first.click()
    page.get_by_label("Purpose of the export").fill(PURPOSE)
    buyer.shot("export request form")
    page.get_by_role("button", name="Request the export").click()
    expect(page.get_by_text("The export is requested.")).to_be_visible()
    expect(page.get_by_role("region", name="Export")).to_contain_text("Awaiting the operator")
    buyer.shot("export requested")
    assert ExportRequest.objects.get().status == ExportStatus.SUBMITTED
    return run_url


def approve_export(staff) -> None:
    """The operator finds the request in the queue, reviews it and approves it."""
    page = staff.page
    staff.goto("/sandbox/exports/")
    row = page.get_by_role("row").filter(has_text=PURPOSE[:40])
    expect(row).to_contain_text("Awaiting the operator")
    expect(row).to_contain_text("Shandong Port Supply Chain Finance Co.")
    staff.shot("operator review queue")
    row.get_by_role("link").first.click()

    expect(page.get_by_role("region", name="The query")).to_contain_text("GROUP BY district")
    expect(page.get_by_role("region", name="Disclosure report")).to_contain_text("1 group had fewer than 20 rows")
    page.get_by_label("Approve the export").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("The export is approved")).to_be_visible()
    expect(page.locator("h1 .badge-export")).to_have_text("Approved")
    expect(page.get_by_role("link", name="Download the result")).to_have_count(0)  # the operator cannot download
    staff.shot("approved export")
    assert ExportRequest.objects.get().status == ExportStatus.APPROVED


def download(buyer, run_url: str) -> None:
    """The buyer downloads the released CSV from the run's page."""
    page = buyer.page
    buyer.goto(run_url)
    export = page.get_by_role("region", name="Export")
    expect(export).to_contain_text("Approved")
    buyer.shot("download")
    with page.expect_download() as info:
        export.get_by_role("link", name="Download the result").click()
    # Parsed, not compared as text: the per-contract fingerprint may quote some fields.
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert info.value.suggested_filename.startswith("sandbox-export-") and rows[0][0] == "district"
    districts = {row[0] for row in rows[1:]}
    assert districts >= set(DISTRICTS) and SMALL_DISTRICT not in districts
    assert ExportDownload.objects.count() == 1
