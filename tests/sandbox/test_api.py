"""The sandbox API: operators' datasets, buyers' workspaces, runs, saved queries and exports; scopes, visibility,
errors, query counts."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.choices import ApiKeyScope
from sandbox.choices import ColumnAccess, DatasetStatus, ExportStatus, QueryStatus
from sandbox.models import ColumnPolicy, ExportRequest, QueryRun, SandboxDataset, SavedQuery
from sandbox.services import datasets, exports, workspaces
from tests.api import assert_error, signed_in, with_key
from tests.factories import ApiKeyFactory, OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.sandbox import published_dataset, registered_version, sandbox_entitlement
from tests.sandbox.conftest import SQL, run

pytestmark = pytest.mark.django_db

API = "/api/v1/sandbox/"


def key_client(organization, scope: str = ApiKeyScope.WRITE) -> APIClient:
    return with_key(ApiKeyFactory(organization=organization, scope=scope)[1])


@pytest.fixture
def operator_api(operator) -> APIClient:
    return key_client(operator)


@pytest.fixture
def buyer_api(buyer, entitlement) -> APIClient:
    return key_client(buyer)


@pytest.fixture
def outsider_api() -> APIClient:
    return key_client(OrganizationFactory())


def invalid(response) -> dict:
    """The fields a 400 `invalid` names."""
    return assert_error(response, 400, "invalid")["fields"]


def ok(response, status: int = 200) -> dict | list:
    assert response.status_code == status, response.content
    return response.json()


# --- anonymous and read-only keys ----------------------------------------------------------------------------------


def test_every_endpoint_needs_credentials(api_client, dataset, done_run, export):
    for path in ("datasets/", f"datasets/{dataset.pk}/", "workspaces/", f"workspaces/{dataset.pk}/", "runs/",
                 f"runs/{done_run.pk}/", "saved-queries/", "exports/", f"exports/{export.pk}/download/"):  # fmt: skip
        assert_error(api_client.get(API + path), 401, "not_authenticated")
    for path in ("datasets/", "runs/", "saved-queries/", "exports/", f"exports/{export.pk}/approve/"):
        assert_error(api_client.post(API + path, {}, format="json"), 401, "not_authenticated")


def test_a_read_only_key_reads_but_never_writes(operator, buyer, dataset, entitlement, done_run, export):
    operator_read, buyer_read = key_client(operator, ApiKeyScope.READ), key_client(buyer, ApiKeyScope.READ)
    saved = workspaces.saved_query_save(dataset=dataset, by=owner_of(buyer), title="Mine", sql=SQL)
    assert ok(operator_read.get(API + "datasets/"))["count"] == 1
    assert ok(buyer_read.get(API + f"runs/{done_run.pk}/"))["status"] == "succeeded"
    writes = [
        operator_read.post(API + "datasets/", {"version": dataset.version_id, "title": "x"}, format="json"),
        operator_read.patch(API + f"datasets/{dataset.pk}/", {"row_cap": 10}, format="json"),
        operator_read.post(API + f"datasets/{dataset.pk}/withdraw/", {"reason": "x"}, format="json"),
        operator_read.post(API + f"exports/{export.pk}/reject/", {"reason": "x"}, format="json"),
        buyer_read.post(API + "runs/", {"dataset": dataset.pk, "sql": SQL}, format="json"),
        buyer_read.post(API + "saved-queries/", {"dataset": dataset.pk, "title": "t", "sql": SQL}, format="json"),
        buyer_read.patch(API + f"saved-queries/{saved.pk}/", {"title": "t"}, format="json"),
        buyer_read.delete(API + f"saved-queries/{saved.pk}/"),
        buyer_read.post(API + "exports/", {"run": done_run.pk, "purpose": "x"}, format="json"),
    ]
    for response in writes:
        assert_error(response, 403, "insufficient_scope")
    assert QueryRun.objects.count() == 1 and SavedQuery.objects.get().title == "Mine"
    assert SandboxDataset.objects.get().row_cap == 1000 and ExportRequest.objects.get().status == "submitted"


# --- datasets (operator) ---------------------------------------------------------------------------------------------


def test_the_operator_lists_and_reads_its_datasets(operator_api, outsider_api, buyer_api, dataset):
    body = ok(operator_api.get(API + "datasets/"))
    assert [item["id"] for item in body["results"]] == [dataset.pk]
    item = ok(operator_api.get(API + f"datasets/{dataset.pk}/"))
    assert item["status"] == "published" and item["row_count"] == 240 and item["version"] == 1
    assert {"column": "id_number", "access": "hidden"} in item["policies"]
    assert item["min_group_size"] == 10 and "id_number" not in [column["name"] for column in item["schema"]]
    for client in (outsider_api, buyer_api):
        assert ok(client.get(API + "datasets/"))["count"] == 0
        assert_error(client.get(API + f"datasets/{dataset.pk}/"), 404, "not_found")


def test_publishing_over_the_api(operator, operator_api, django_capture_on_commit_callbacks):
    version = registered_version(operator, title="Households")
    body = {"version": version.pk, "title": "Households", "min_group_size": 20,
            "policies": {"income": "aggregate_only"}}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        created = ok(operator_api.post(API + "datasets/", body, format="json"), 201)
    assert created["status"] == "preparing" and created["min_group_size"] == 20 and created["row_cap"] == 1000
    assert {"column": "income", "access": "aggregate_only"} in created["policies"]
    assert ok(operator_api.get(API + f"datasets/{created['id']}/"))["status"] == "published"


def test_publishing_refuses_bad_bodies_and_other_organisations_versions(operator, operator_api):
    version = registered_version(operator)
    for body, field in (({"title": "x"}, "version"), ({"version": version.pk}, "title"),
                        ({"version": version.pk, "title": "x", "min_group_size": 0}, "min_group_size"),
                        ({"version": version.pk, "title": "x", "policies": {"income": "all"}}, "policies.income"),
                        ({"version": version.pk, "title": "x", "colour": "red"}, "colour")):  # fmt: skip
        assert field in invalid(operator_api.post(API + "datasets/", body, format="json"))
    pii = {"version": version.pk, "title": "x", "policies": {"mobile": "visible"}}
    assert "policies" in invalid(operator_api.post(API + "datasets/", pii, format="json"))
    foreign = registered_version(OrganizationFactory(can_operate_public_data=True))
    assert_error(operator_api.post(API + "datasets/", {"version": foreign.pk, "title": "x"}, format="json"), 404,
                 "not_found")  # fmt: skip
    assert not SandboxDataset.objects.exists()


def test_a_non_operator_cannot_publish(django_capture_on_commit_callbacks):
    seller = OrganizationFactory()
    version = registered_version(seller)
    response = key_client(seller).post(API + "datasets/", {"version": version.pk, "title": "x"}, format="json")
    assert_error(response, 400, "not_an_operator")


def test_changing_rules_and_policies(operator_api, outsider_api, dataset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        body = ok(operator_api.patch(API + f"datasets/{dataset.pk}/", {"row_cap": 50, "policies": {
            "income": "aggregate_only"}}, format="json"))  # fmt: skip
    assert body["row_cap"] == 50 and body["status"] == "preparing"
    assert ColumnPolicy.objects.get(dataset=dataset, column="income").access == ColumnAccess.AGGREGATE_ONLY
    assert SandboxDataset.objects.get().status == DatasetStatus.PUBLISHED
    assert_error(operator_api.patch(API + f"datasets/{dataset.pk}/", {"row_cap": -1}, format="json"), 400, "invalid")
    assert_error(outsider_api.patch(API + f"datasets/{dataset.pk}/", {"row_cap": 5}, format="json"), 404, "not_found")
    assert SandboxDataset.objects.get().row_cap == 50


def test_withdrawing(operator_api, outsider_api, dataset):
    assert_error(operator_api.post(API + f"datasets/{dataset.pk}/withdraw/", {}, format="json"), 400, "invalid")
    assert_error(outsider_api.post(API + f"datasets/{dataset.pk}/withdraw/", {"reason": "x"}, format="json"), 404,
                 "not_found")  # fmt: skip
    body = ok(operator_api.post(API + f"datasets/{dataset.pk}/withdraw/", {"reason": "Replaced."}, format="json"))
    assert body["status"] == "withdrawn" and body["status_reason"] == "Replaced."
    again = operator_api.post(API + f"datasets/{dataset.pk}/withdraw/", {"reason": "Again."}, format="json")
    assert again.status_code == 409


# --- workspaces (buyer) ----------------------------------------------------------------------------------------------


def test_the_buyer_lists_and_opens_its_workspaces(buyer_api, outsider_api, operator_api, dataset):
    assert [item["id"] for item in ok(buyer_api.get(API + "workspaces/"))["results"]] == [dataset.pk]
    body = ok(buyer_api.get(API + f"workspaces/{dataset.pk}/"))
    names = [column["name"] for column in body["columns"]]
    assert "id_number" not in names and {"name": "mobile", "type": "VARCHAR", "access": "masked"} in body["columns"]
    assert body["masked_sample"]["columns"] == names and body["masked_sample"]["rows"]
    assert body["usage"] == {"queries": 0, "query_quota": 200, "queries_left": 200, "scanned_rows": 0,
                             "scanned_rows_quota": 1_000_000_000, "scanned_rows_left": 1_000_000_000,
                             "exhausted": False}  # fmt: skip
    assert body["contract"] and body["operator"]["name"] == dataset.organization.name
    for client in (outsider_api, operator_api):
        assert ok(client.get(API + "workspaces/"))["count"] == 0
        assert_error(client.get(API + f"workspaces/{dataset.pk}/"), 404, "not_found")


# --- runs ------------------------------------------------------------------------------------------------------------


def test_submitting_a_query_answers_202_with_the_run(buyer_api, dataset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        body = ok(buyer_api.post(API + "runs/", {"dataset": dataset.pk, "sql": SQL}, format="json"), 202)
    assert body["status"] in ("queued", "succeeded")
    run_body = ok(buyer_api.get(API + f"runs/{body['id']}/"))
    assert run_body["status"] == "succeeded" and run_body["columns"] == ["district", "residents"]
    assert "李沧区" not in [row[0] for row in run_body["rows"]] and run_body["suppressed_rows"] == 1
    codes = [note["code"] for note in run_body["notes"]]
    assert "small_groups" in codes and "rounded" in codes
    assert run_body["row_count"] == len(run_body["rows"]) == 3


def test_a_refused_query_says_why(buyer_api, dataset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        body = ok(buyer_api.post(API + "runs/", {"dataset": dataset.pk, "sql": "SELECT id_number FROM data"},
                                 format="json"), 202)  # fmt: skip
    refused = ok(buyer_api.get(API + f"runs/{body['id']}/"))
    assert refused["status"] == QueryStatus.REFUSED and refused["refusal_code"] == "hidden_column"
    assert refused["message"] and refused["rows"] == []


def test_bad_run_bodies_and_datasets_out_of_reach(buyer_api, outsider_api, dataset):
    assert "sql" in assert_error(buyer_api.post(API + "runs/", {"dataset": dataset.pk}, format="json"), 400,
                                 "invalid")["fields"]  # fmt: skip
    too_long = {"dataset": dataset.pk, "sql": "SELECT 1 " + "x" * 20_000}
    assert "sql" in assert_error(buyer_api.post(API + "runs/", too_long, format="json"), 400, "invalid")["fields"]
    blank = {"dataset": dataset.pk, "sql": "  "}
    assert_error(buyer_api.post(API + "runs/", blank, format="json"), 400, "sql_required")
    assert_error(outsider_api.post(API + "runs/", {"dataset": dataset.pk, "sql": SQL}, format="json"), 404,
                 "not_found")  # fmt: skip
    assert not QueryRun.objects.exists()


def test_a_used_up_quota_answers_429(buyer_api, dataset, analyst, operator_owner):
    datasets.dataset_update(dataset=dataset, by=operator_owner, daily_query_quota=1)
    run(dataset, analyst, SQL)
    assert_error(buyer_api.post(API + "runs/", {"dataset": dataset.pk, "sql": SQL}, format="json"), 429,
                 "quota_exceeded")  # fmt: skip
    assert QueryRun.objects.count() == 1


def test_runs_are_listed_for_the_buyer_and_the_operator_only(buyer_api, operator_api, outsider_api, done_run):
    assert [item["id"] for item in ok(buyer_api.get(API + "runs/"))["results"]] == [done_run.pk]
    listed = ok(operator_api.get(API + "runs/"))["results"]
    assert [item["id"] for item in listed] == [done_run.pk] and "rows" not in listed[0]
    assert ok(outsider_api.get(API + "runs/"))["count"] == 0
    assert_error(outsider_api.get(API + f"runs/{done_run.pk}/"), 404, "not_found")


# --- saved queries ---------------------------------------------------------------------------------------------------


def test_saved_queries_crud(buyer_api, outsider_api, dataset):
    created = ok(buyer_api.post(API + "saved-queries/", {"dataset": dataset.pk, "title": "By district", "sql": SQL},
                                format="json"), 201)  # fmt: skip
    assert created["dataset"] == dataset.pk and created["sql"] == SQL
    path = API + f"saved-queries/{created['id']}/"
    assert ok(buyer_api.get(API + "saved-queries/", {"dataset": dataset.pk}))["count"] == 1
    assert ok(buyer_api.patch(path, {"title": "Districts"}, format="json"))["title"] == "Districts"
    assert_error(buyer_api.patch(path, {"title": ""}, format="json"), 400, "invalid")
    assert_error(buyer_api.post(API + "saved-queries/", {"dataset": dataset.pk, "sql": SQL}, format="json"), 400,
                 "invalid")  # fmt: skip
    assert_error(outsider_api.get(path), 404, "not_found")
    assert_error(outsider_api.delete(path), 404, "not_found")
    assert_error(outsider_api.post(API + "saved-queries/", {"dataset": dataset.pk, "title": "x", "sql": SQL},
                                   format="json"), 404, "not_found")  # fmt: skip
    assert buyer_api.delete(path).status_code == 204
    assert not SavedQuery.objects.exists()


# --- exports ---------------------------------------------------------------------------------------------------------


def test_the_export_flow_over_the_api(buyer_api, operator_owner, done_run):
    created = ok(buyer_api.post(API + "exports/", {"run": done_run.pk, "purpose": "Clinics."}, format="json"), 201)
    assert created["status"] == "submitted" and created["download_url"] is None
    assert_error(buyer_api.get(API + f"exports/{created['id']}/download/"), 409, "not_approved")
    operator = signed_in(operator_owner)
    assert [item["id"] for item in ok(operator.get(API + "exports/"))["results"]] == [created["id"]]
    approved = ok(operator.post(API + f"exports/{created['id']}/approve/", {}, format="json"))
    assert approved["status"] == "approved" and approved["sha256"] and approved["fingerprint"]
    body = ok(buyer_api.get(API + f"exports/{created['id']}/"))
    assert body["download_url"].endswith(f"/api/v1/sandbox/exports/{created['id']}/download/")
    download = buyer_api.get(API + f"exports/{created['id']}/download/")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    # the header is a fingerprinted record like the others: its first field is quoted or not by the contract's key
    assert next(csv.reader(io.StringIO(download.content.decode("utf-8-sig")))) == ["district", "residents"]
    assert_error(operator.get(API + f"exports/{created['id']}/download/"), 404, "not_found")


def test_export_requests_refuse_bad_input(buyer_api, outsider_api, done_run, export):
    assert "purpose" in assert_error(buyer_api.post(API + "exports/", {"run": done_run.pk}, format="json"), 400,
                                     "invalid")["fields"]  # fmt: skip
    assert_error(buyer_api.post(API + "exports/", {"run": done_run.pk, "purpose": "Again."}, format="json"), 409,
                 "already_requested")  # fmt: skip
    assert_error(outsider_api.post(API + "exports/", {"run": done_run.pk, "purpose": "x"}, format="json"), 404,
                 "not_found")  # fmt: skip
    assert_error(outsider_api.get(API + f"exports/{export.pk}/"), 404, "not_found")
    assert ok(outsider_api.get(API + "exports/"))["count"] == 0


def test_decisions_need_a_manager_who_is_not_the_requester(operator_editor, operator_owner, operator_api, export):
    reject = API + f"exports/{export.pk}/reject/"
    assert "reason" in assert_error(signed_in(operator_owner).post(reject, {}, format="json"), 400, "invalid")["fields"]
    assert_error(signed_in(operator_editor).post(reject, {"reason": "No."}, format="json"), 403, "permission_denied")
    assert_error(signed_in(export.requested_by).post(reject, {"reason": "No."}, format="json"), 403, "own_request")
    assert ExportRequest.objects.get().status == ExportStatus.SUBMITTED
    body = ok(signed_in(operator_owner).post(reject, {"reason": "Too fine-grained."}, format="json"))
    assert body["status"] == "rejected" and body["reason"] == "Too fine-grained."
    again = signed_in(operator_owner).post(API + f"exports/{export.pk}/approve/", {}, format="json")
    assert_error(again, 409, "already_decided")


def test_the_requester_cannot_decide_their_own_request(operator_owner, buyer, dataset):
    from accounts.choices import Role
    from tests.factories import MembershipFactory

    MembershipFactory(user=operator_owner, organization=buyer, role=Role.ADMIN)
    sandbox_entitlement(dataset, buyer)
    mine = exports.export_request(run=run(dataset, operator_owner, SQL), by=operator_owner, purpose="Mine.")
    response = signed_in(operator_owner).post(API + f"exports/{mine.pk}/approve/", {}, format="json")
    assert_error(response, 403, "own_request")


# --- query counts ----------------------------------------------------------------------------------------------------


def _count(client: APIClient, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_list_endpoints_do_not_grow_with_their_rows(operator, buyer, dataset, entitlement, analyst):
    operator_api, buyer_api = key_client(operator), key_client(buyer)
    exports.export_request(run=run(dataset, analyst, SQL), by=analyst, purpose="One.")
    workspaces.saved_query_save(dataset=dataset, by=analyst, title="One", sql=SQL)
    paths = {"datasets/": operator_api, "runs/": buyer_api, "exports/": buyer_api, "saved-queries/": buyer_api,
             "workspaces/": buyer_api}  # fmt: skip
    _count(operator_api, API + "datasets/")  # a key's first call of the minute records its use: warm up
    _count(buyer_api, API + "runs/")
    few = {path: _count(client, API + path) for path, client in paths.items()}
    second = published_dataset(operator)
    sandbox_entitlement(second, buyer)
    for i in range(3):
        exports.export_request(run=run(dataset, analyst, SQL), by=analyst, purpose="More.")
        workspaces.saved_query_save(dataset=dataset, by=analyst, title=f"Q{i}", sql=SQL)
    assert {path: _count(client, API + path) for path, client in paths.items()} == few
