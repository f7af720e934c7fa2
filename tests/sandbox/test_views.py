"""Sandbox pages: the operator's datasets, policies, rules and export queue; the buyer's workspace, runs and exports."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from sandbox.choices import ColumnAccess, DatasetStatus, ExportStatus, QueryStatus
from sandbox.models import ColumnPolicy, ExportDownload, ExportRequest, QueryRun, SandboxDataset, SavedQuery
from sandbox.services import datasets, exports, queries, workspaces
from tests.factories import MembershipFactory, OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.sandbox import published_dataset, registered_version, sandbox_entitlement
from tests.sandbox.conftest import SQL, run

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"sandbox:{name}", args=args)


def page(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.content.decode()


def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def operator_client(client, operator_owner):
    return signed_in(client, operator_owner)


@pytest.fixture
def buyer_client(client, analyst, entitlement):
    return signed_in(client, analyst)


# --- who may see what ----------------------------------------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in(client, dataset, done_run, export):
    for path in (
        url("home"), url("dataset_list"), url("dataset_publish"), url("dataset_detail", dataset.pk),
        url("dataset_status", dataset.pk), url("export_queue"), url("export_review", export.pk),
        url("export_download", export.pk), url("workspace_list"), url("workspace", dataset.pk),
        url("run_detail", done_run.pk), url("run_status", done_run.pk),
    ):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"], path


def test_another_organisation_gets_404_everywhere(client, dataset, done_run, export):
    signed_in(client, owner_of(OrganizationFactory()))
    for path in (
        url("dataset_detail", dataset.pk), url("dataset_status", dataset.pk), url("export_review", export.pk),
        url("export_download", export.pk), url("workspace", dataset.pk), url("run_detail", done_run.pk),
        url("run_status", done_run.pk),
    ):  # fmt: skip
        assert client.get(path).status_code == 404, path
    for path in (url("dataset_rules", dataset.pk), url("dataset_withdraw", dataset.pk), url("query_run", dataset.pk),
                 url("export_request", done_run.pk), url("export_decide", export.pk)):  # fmt: skip
        assert client.post(path, {"reason": "x", "sql": SQL, "purpose": "x", "decision": "approve"}).status_code == 404
    assert ExportRequest.objects.get().status == ExportStatus.SUBMITTED
    assert SandboxDataset.objects.get().status == DatasetStatus.PUBLISHED


def test_the_sandbox_link_takes_operators_to_their_datasets_and_buyers_to_their_workspaces(client, operator_owner,
                                                                                           analyst):  # fmt: skip
    assert signed_in(client, operator_owner).get(url("home"))["Location"] == url("dataset_list")
    assert signed_in(client, analyst).get(url("home"))["Location"] == url("workspace_list")
    html = page(client.get(url("workspace_list")))
    assert f'href="{url("home")}" aria-current="page">Sandbox</a>' in html


# --- the operator's datasets ----------------------------------------------------------------------------------------


def test_the_dataset_list_shows_state_rows_and_queries_today(operator_client, dataset, done_run):
    html = page(operator_client.get(url("dataset_list")))
    assert url("dataset_detail", dataset.pk) in html and "Residents" in html
    assert "Published" in html and ">240<" in html
    assert '<td class="numeric" data-label="Queries today">1</td>' in html


def test_a_preparing_dataset_shows_a_progress_bar_that_polls_its_status(operator_client, operator):
    version = registered_version(operator, title="Households")
    dataset = datasets.dataset_publish(version=version, by=owner_of(operator), title="Households")  # not built yet
    html = page(operator_client.get(url("dataset_list")))
    assert f'data-poll-url="{url("dataset_status", dataset.pk)}"' in html and "<progress" in html
    status = operator_client.get(url("dataset_status", dataset.pk))
    assert status.json() == {"status": "preparing", "status_label": "Preparing", "progress": 0, "done": False,
                             "error": None}  # fmt: skip
    assert "no-store" in status["Cache-Control"]


def test_the_dataset_page_has_one_policy_row_per_column_and_the_rules(operator_client, dataset, done_run):
    html = page(operator_client.get(url("dataset_detail", dataset.pk)))
    for column in ("district", "age_band", "name", "id_number", "mobile", "income"):
        assert f">{column}</label>" in html
    assert "Identity card number" in html and "Mobile number" in html  # the PII found
    assert '<option value="hidden" selected>Hidden</option>' in html  # id_number
    assert 'name="min_group_size" value="10"' in html and 'name="row_cap" value="1000"' in html
    assert done_run.entitlement.contract.number in html  # usage per contract
    assert url("run_detail", done_run.pk) in html  # recent runs
    assert 'action="{}"'.format(url("dataset_withdraw", dataset.pk)) in html


def test_a_viewer_of_the_operator_sees_policies_and_rules_without_forms(client, operator, dataset):
    viewer = MembershipFactory(organization=operator, role=Role.VIEWER).user
    html = page(signed_in(client, viewer).get(url("dataset_detail", dataset.pk)))
    assert "badge-access-hidden" in html and "<select" not in html
    assert url("dataset_withdraw", dataset.pk) not in html


def test_publishing_a_registered_version(client, operator, operator_owner, django_capture_on_commit_callbacks):
    version = registered_version(operator, title="Households")
    signed_in(client, operator_owner)
    html = page(client.get(url("dataset_publish")))
    assert f'<option value="{version.pk}">Households — version 1</option>' in html
    data = {"version": version.pk, "title": "Households", "description": "", "min_group_size": 20, "row_cap": 500,
            "count_rounding": 10, "daily_query_quota": 50, "daily_scanned_rows_quota": 100000}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("dataset_publish"), data)
    dataset = SandboxDataset.objects.get()
    assert response.status_code == 302 and response["Location"] == url("dataset_detail", dataset.pk)
    assert (dataset.status, dataset.min_group_size, dataset.row_cap, dataset.row_count) == ("published", 20, 500, 240)
    assert f'<option value="{version.pk}">' not in page(client.get(url("dataset_publish")))  # published now


def test_the_publish_form_shows_inline_errors(client, operator, operator_owner):
    registered_version(operator)
    signed_in(client, operator_owner)
    html = page(client.post(url("dataset_publish"), {"version": "", "title": "", "min_group_size": 0, "row_cap": "x"}))
    assert "Some fields need attention" in html
    assert html.count('class="errorlist"') >= 4  # version, title, min_group_size, row_cap (and the quotas)
    assert not SandboxDataset.objects.exists()


def test_a_non_operator_cannot_publish(client):
    seller = OrganizationFactory()
    registered_version(seller)
    signed_in(client, owner_of(seller))
    html = page(client.get(url("dataset_publish")))
    assert "does not operate public data" in html


def test_changing_a_column_policy_rebuilds_the_dataset(operator_client, dataset, django_capture_on_commit_callbacks):
    order = list(datasets.policy_map(dataset))
    data = {f"access_{i}": access for i, access in enumerate(datasets.policy_map(dataset).values())}
    data[f"access_{order.index('income')}"] = ColumnAccess.AGGREGATE_ONLY
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = operator_client.post(url("dataset_policies", dataset.pk), data)
    assert response.status_code == 302 and callbacks  # the rebuild was queued
    assert ColumnPolicy.objects.get(dataset=dataset, column="income").access == ColumnAccess.AGGREGATE_ONLY
    assert SandboxDataset.objects.get().status == DatasetStatus.PUBLISHED  # rebuilt (eager Celery)


def test_a_policy_the_service_refuses_is_shown_on_the_form(operator_client, dataset):
    order = list(datasets.policy_map(dataset))
    data = {f"access_{i}": access for i, access in enumerate(datasets.policy_map(dataset).values())}
    data[f"access_{order.index('mobile')}"] = ColumnAccess.VISIBLE
    html = page(operator_client.post(url("dataset_policies", dataset.pk), data))
    assert "hold personal information and cannot be visible: mobile" in html and "form-errors" in html
    assert ColumnPolicy.objects.get(dataset=dataset, column="mobile").access == ColumnAccess.MASKED
    bad = page(operator_client.post(url("dataset_policies", dataset.pk), {**data, "access_0": "everything"}))
    assert "Select a valid choice" in bad


def test_rules_are_saved_or_shown_with_inline_errors(operator_client, dataset):
    rules = {"min_group_size": 5, "row_cap": 200, "count_rounding": 1, "daily_query_quota": 3,
             "daily_scanned_rows_quota": 5000}  # fmt: skip
    assert operator_client.post(url("dataset_rules", dataset.pk), rules).status_code == 302
    dataset.refresh_from_db()
    assert (dataset.min_group_size, dataset.row_cap, dataset.daily_query_quota) == (5, 200, 3)
    html = page(operator_client.post(url("dataset_rules", dataset.pk), {**rules, "row_cap": 0}))
    assert "Ensure this value is greater than or equal to 1." in html
    dataset.refresh_from_db()
    assert dataset.row_cap == 200


def test_withdrawing_needs_a_reason(operator_client, dataset):
    html = page(operator_client.post(url("dataset_withdraw", dataset.pk), {"reason": ""}))
    assert "This field is required." in html and SandboxDataset.objects.get().status == DatasetStatus.PUBLISHED
    response = operator_client.post(url("dataset_withdraw", dataset.pk), {"reason": "Superseded by the 2026 census."})
    assert response.status_code == 302
    html = page(operator_client.get(url("dataset_detail", dataset.pk)))
    assert "Superseded by the 2026 census." in html and "Withdrawn" in html


# --- the buyer's workspace -----------------------------------------------------------------------------------------


def test_the_workspace_list_shows_entitled_datasets_or_points_to_the_catalogue(client, buyer_client, dataset):
    html = page(buyer_client.get(url("workspace_list")))
    assert url("workspace", dataset.pk) in html and "Residents" in html
    empty = page(signed_in(client, owner_of(OrganizationFactory())).get(url("workspace_list")))
    assert "No sandbox access yet." in empty and reverse("marketplace:catalogue") + "?plan_kind=sandbox" in empty


def test_the_workspace_list_filtered_by_product_goes_to_its_workspace(buyer_client, dataset):
    # the link from the buyer's "My access" page names the product, not the dataset
    response = buyer_client.get(url("workspace_list") + f"?product={dataset.product_id}")
    assert response.status_code == 302 and response["Location"] == url("workspace", dataset.pk)


def test_a_product_without_a_queryable_dataset_comes_back_to_the_list_with_the_reason(client, buyer_client, dataset):
    def follow(product_id: int) -> str:
        response = client.get(url("workspace_list") + f"?product={product_id}", follow=True)
        assert response.redirect_chain == [(url("workspace_list"), 302)]
        return page(response)

    # a product no dataset is published for
    assert "No dataset of this product can be queried now" in follow(registered_version().product_id)
    # a dataset, but another organisation holds the access
    signed_in(client, owner_of(OrganizationFactory()))
    assert "No dataset of this product can be queried now" in follow(dataset.product_id)


def test_the_workspace_shows_schema_masked_sample_editor_and_quota(buyer_client, dataset):
    html = page(buyer_client.get(url("workspace", dataset.pk)))
    assert '<th scope="row" class="mono">district</th>' in html
    assert "id_number" not in html  # a hidden column is not even named
    assert "badge-access-masked" in html and "table-sample" in html
    assert "****" in html  # the masked sample's mobiles
    assert "data-sql-editor" in html and url("query_run", dataset.pk) in html
    assert '<span class="quota-figure">0 / 200</span>' in html
    assert "js/sandbox.js" in html


def test_the_operator_has_no_workspace_on_its_own_dataset(operator_client, dataset):
    assert operator_client.get(url("workspace", dataset.pk)).status_code == 404


def test_the_buyer_flow_query_export_approval_download(client, buyer_client, dataset, analyst, operator_owner,
                                                       django_capture_on_commit_callbacks):  # fmt: skip
    # given: the buyer runs a query (the task runs eagerly after the commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = buyer_client.post(url("query_run", dataset.pk), {"sql": SQL})
    run = QueryRun.objects.get()
    assert response.status_code == 302 and response["Location"] == url("run_detail", run.pk)
    assert run.status == QueryStatus.SUCCEEDED
    # then: the result page shows the result and the suppressed small group
    html = page(buyer_client.get(url("run_detail", run.pk)))
    assert "1 group had fewer than 10 rows and was left out." in html and "small_groups" in html
    assert "李沧区" not in html and "市南区" in html
    assert "Counts are rounded to the nearest multiple of 5." in html
    assert "data-poll-url" not in html
    # when: the buyer asks for an export, stating the purpose
    assert "export-title" in html and url("export_request", run.pk) in html
    response = buyer_client.post(url("export_request", run.pk), {"purpose": "Plan the district's clinics."})
    assert response.status_code == 302
    export = ExportRequest.objects.get()
    assert "Awaiting the operator" in page(buyer_client.get(url("run_detail", run.pk)))
    assert url("export_decide", export.pk) not in page(buyer_client.get(url("export_review", export.pk)))
    # then: the operator sees it in the queue and reviews query, result, report and purpose
    signed_in(client, operator_owner)
    queue = page(client.get(url("export_queue")))
    assert url("export_review", export.pk) in queue and "Plan the district" in queue
    review = page(client.get(url("export_review", export.pk)))
    assert "GROUP BY district" in review and "市南区" in review and "Plan the district" in review
    assert "1 group had fewer than 10 rows" in review and url("export_decide", export.pk) in review
    response = client.post(url("export_decide", export.pk), {"decision": "approve", "reason": ""})
    assert response.status_code == 302
    assert ExportRequest.objects.get().status == ExportStatus.APPROVED
    # and the buyer downloads the fingerprinted result
    signed_in(client, analyst)
    assert url("export_download", export.pk) in page(client.get(url("run_detail", run.pk)))
    download = client.get(url("export_download", export.pk), REMOTE_ADDR="203.0.113.7")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert 'filename="sandbox-export-' in download["Content-Disposition"] and "no-store" in download["Cache-Control"]
    assert "district" in download.content.decode("utf-8-sig")
    assert ExportDownload.objects.get().ip_address == "203.0.113.7"


def test_the_operator_cannot_download_the_released_result(operator_client, export, operator_owner):
    exports.export_decide(export=export, by=operator_owner, approve=True)
    html = page(operator_client.get(url("export_review", export.pk)))
    assert "Approved" in html and url("export_download", export.pk) not in html
    assert operator_client.get(url("export_download", export.pk)).status_code == 404


def test_a_refused_query_shows_its_reason_and_code(buyer_client, dataset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        buyer_client.post(url("query_run", dataset.pk), {"sql": "SELECT id_number FROM data"})
    run = QueryRun.objects.get()
    html = page(buyer_client.get(url("run_detail", run.pk)))
    assert run.status == QueryStatus.REFUSED and "The query was refused." in html
    assert run.refusal_code in html and run.message in html and url("export_request", run.pk) not in html


def test_a_queued_run_polls_its_status(buyer_client, dataset, analyst):
    queued = queries.query_submit(dataset=dataset, by=analyst, sql=SQL)  # the commit (and the task) never comes
    html = page(buyer_client.get(url("run_detail", queued.pk)))
    assert f'data-poll-url="{url("run_status", queued.pk)}"' in html and "Queued" in html
    assert buyer_client.get(url("run_status", queued.pk)).json() == {
        "status": "queued", "status_label": "Queued", "done": False
    }  # fmt: skip


def test_the_editor_shows_inline_errors_and_a_used_up_quota(buyer_client, dataset, analyst):
    html = page(buyer_client.post(url("query_run", dataset.pk), {"sql": "   "}))
    assert "This field is required." in html and not QueryRun.objects.exists()
    too_long = page(buyer_client.post(url("query_run", dataset.pk), {"sql": "SELECT 1 " + "x" * 20_000}))
    assert "at most 20000 characters" in too_long
    datasets.dataset_update(dataset=dataset, by=owner_of(dataset.organization), daily_query_quota=1)
    run(dataset, analyst, SQL)
    refused = buyer_client.post(url("query_run", dataset.pk), {"sql": SQL})
    assert "quota of this contract is used up" in page(refused, 429)
    assert QueryRun.objects.count() == 1


def test_saving_loading_changing_and_deleting_queries(buyer_client, dataset):
    html = page(buyer_client.post(url("saved_query_save", dataset.pk), {"sql": SQL, "title": "", "save": "new"}))
    assert "Give the query a title to save it." in html and not SavedQuery.objects.exists()
    response = buyer_client.post(url("saved_query_save", dataset.pk), {"sql": SQL, "title": "By district"})
    saved = SavedQuery.objects.get()
    assert response["Location"] == f"{url('workspace', dataset.pk)}?saved={saved.pk}"
    loaded = page(buyer_client.get(response["Location"]))
    assert "By district" in loaded and "GROUP BY district ORDER BY district</textarea>" in loaded
    assert f'name="saved" value="{saved.pk}"' in loaded
    buyer_client.post(url("saved_query_save", dataset.pk), {"sql": "SELECT count(*) FROM data",
                      "title": "Everyone", "saved": saved.pk, "save": "update"})  # fmt: skip
    saved.refresh_from_db()
    assert (saved.title, saved.sql, SavedQuery.objects.count()) == ("Everyone", "SELECT count(*) FROM data", 1)
    assert buyer_client.post(url("saved_query_delete", saved.pk)).status_code == 302
    assert not SavedQuery.objects.exists()


def test_another_organisation_cannot_delete_a_saved_query(client, dataset, entitlement, analyst):
    saved = workspaces.saved_query_save(dataset=dataset, by=analyst, title="Mine", sql=SQL)
    signed_in(client, owner_of(OrganizationFactory()))
    assert client.post(url("saved_query_delete", saved.pk)).status_code == 404
    assert SavedQuery.objects.exists()


# --- the export queue ------------------------------------------------------------------------------------------------


def test_rejecting_needs_a_reason_and_the_buyer_reads_it(client, operator_client, export, analyst):
    html = page(operator_client.post(url("export_decide", export.pk), {"decision": "reject", "reason": " "}))
    assert "Say why the export is rejected" in html and ExportRequest.objects.get().status == ExportStatus.SUBMITTED
    operator_client.post(url("export_decide", export.pk), {"decision": "reject", "reason": "Too fine-grained."})
    assert ExportRequest.objects.get().status == ExportStatus.REJECTED
    html = page(signed_in(client, analyst).get(url("run_detail", export.run_id)))
    assert "Rejected" in html and "Too fine-grained." in html
    assert url("export_download", export.pk) not in html


def test_the_requester_never_sees_the_decision_form_for_their_own_request(client, operator, operator_owner,
                                                                          dataset, buyer):  # fmt: skip
    # given: the operator's owner also works for the buyer and asks for an export there
    MembershipFactory(user=operator_owner, organization=buyer, role=Role.ADMIN)
    sandbox_entitlement(dataset, buyer)
    mine = exports.export_request(run=run(dataset, operator_owner, SQL), by=operator_owner, purpose="Mine.")
    signed_in(client, operator_owner)
    html = page(client.get(url("export_review", mine.pk)))
    assert "This is your own request" in html and url("export_decide", mine.pk) not in html
    response = client.post(url("export_decide", mine.pk), {"decision": "approve", "reason": ""})
    assert "Somebody else must decide" in page(response, 403)
    assert ExportRequest.objects.get().status == ExportStatus.SUBMITTED


def test_an_editor_of_the_operator_reviews_but_does_not_decide(client, operator_editor, export):
    html = page(signed_in(client, operator_editor).get(url("export_review", export.pk)))
    assert "An owner or administrator of your organisation decides" in html
    assert url("export_decide", export.pk) not in html


def test_the_queue_filters_by_state(operator_client, export, operator_owner):
    assert url("export_review", export.pk) in page(operator_client.get(url("export_queue") + "?status=submitted"))
    assert url("export_review", export.pk) not in page(operator_client.get(url("export_queue") + "?status=approved"))


# --- escaping and query counts -----------------------------------------------------------------------------------


def test_pages_escape_titles_and_sql(client, operator_client, operator_owner, analyst, entitlement, dataset):
    SandboxDataset.objects.filter(pk=dataset.pk).update(title="<script>alert(1)</script>", description="<b>x</b>")
    sql = "SELECT '<img src=x onerror=alert(1)>' AS a, count(*) AS n FROM data"
    done = run(dataset, analyst, sql)
    export = exports.export_request(run=done, by=analyst, purpose="<i>purpose</i>")
    pages = [operator_client.get(url(name, *args)) for name, args in (
        ("dataset_list", ()), ("dataset_detail", (dataset.pk,)), ("export_queue", ()), ("export_review", (export.pk,)),
    )]  # fmt: skip
    signed_in(client, analyst)
    pages += [
        client.get(url("workspace_list")),
        client.get(url("workspace", dataset.pk)),
        client.get(url("run_detail", done.pk)),
        client.get(url("workspace", dataset.pk) + f"?run={done.pk}"),
    ]
    for response in pages:
        html = page(response)
        assert "<script>alert" not in html and "<img src=x" not in html and "<i>purpose" not in html
        assert "<b>x</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in page(pages[-1])


def _count(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_list_pages_do_not_grow_with_their_rows(client, operator, operator_owner, dataset, entitlement, analyst):
    signed_in(client, operator_owner)
    first = exports.export_request(run=run(dataset, analyst, SQL), by=analyst, purpose="One.")
    lists = {"dataset_list": url("dataset_list"), "export_queue": url("export_queue"),
             "dataset_detail": url("dataset_detail", dataset.pk)}  # fmt: skip
    few = {name: _count(client, path) for name, path in lists.items()}
    second = published_dataset(operator)
    for target in (dataset, second):
        held = sandbox_entitlement(target)
        for _ in range(2):
            done = run(target, owner_of(held.contract.buyer), SQL)
        exports.export_request(run=done, by=owner_of(held.contract.buyer), purpose="More.")
    assert first and {name: _count(client, path) for name, path in lists.items()} == few

    signed_in(client, analyst)
    buyer_lists = {"workspace_list": url("workspace_list"), "workspace": url("workspace", dataset.pk)}
    few = {name: _count(client, path) for name, path in buyer_lists.items()}
    sandbox_entitlement(second, entitlement.contract.buyer)
    for i in range(3):
        workspaces.saved_query_save(dataset=dataset, by=analyst, title=f"Q{i}", sql=SQL)
        run(dataset, analyst, SQL)
    assert {name: _count(client, path) for name, path in buyer_lists.items()} == few


def test_a_disclosure_note_is_worded_again_in_the_readers_language():
    """A run's notes are stored in the language of whoever ran the query (a worker, in English); a reader sees them
    built again from their code and numbers in the active language, and old notes without numbers as they were."""
    from django.utils import translation

    from sandbox.web.common import note_text

    note = {"code": "small_groups", "count": 2, "params": {"minimum": 10}, "message": "stored in another language"}
    with translation.override("en"):
        assert note_text(note) == "2 groups had fewer than 10 rows and were left out."
    with translation.override("zh-hans"):
        assert note_text(note) == translation.ngettext(
            "%(count)d group had fewer than %(minimum)d rows and was left out.",
            "%(count)d groups had fewer than %(minimum)d rows and were left out.",
            2,
        ) % {"count": 2, "minimum": 10}
    assert note_text({"code": "small_groups", "count": 2, "message": "as stored"}) == "as stored"
