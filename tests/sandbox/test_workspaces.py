"""Buyers' workspaces: reaching a dataset through a sandbox entitlement, the daily quota, saved queries."""

import datetime

import pytest
from django.utils import timezone

from core.errors import PermissionDeniedError
from marketplace.services import contracts
from sandbox.models import QueryRun, SavedQuery
from sandbox.services import datasets, workspaces
from sandbox.services.common import SandboxError, SandboxNotFound
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import regulator
from tests.factories.sandbox import sandbox_entitlement
from tests.sandbox.conftest import actions, run

pytestmark = pytest.mark.django_db

SQL = "SELECT district, count(*) AS residents FROM data GROUP BY district"


def test_a_buyer_reaches_the_dataset_through_its_running_sandbox_entitlement(dataset, entitlement, analyst):
    assert list(workspaces.buyer_datasets(analyst)) == [dataset]
    workspace = workspaces.workspace_for(analyst, dataset.pk)
    assert workspace.dataset == dataset and workspace.entitlement == entitlement


def test_another_organisation_and_the_operator_find_no_workspace(dataset, entitlement, operator_owner):
    outsider = owner_of(OrganizationFactory())
    for user in (outsider, operator_owner):
        assert not workspaces.buyer_datasets(user).exists()
        with pytest.raises(SandboxNotFound):
            workspaces.workspace_for(user, dataset.pk)
    with pytest.raises(SandboxNotFound):
        workspaces.workspace_for(owner_of(entitlement.contract.buyer), "not-a-number")


def test_an_ended_entitlement_closes_the_workspace_with_its_reason(dataset, entitlement, analyst):
    contracts.contract_terminate(contract=entitlement.contract, by=regulator(), reason="Use beyond the licence.")

    assert not workspaces.buyer_datasets(analyst).exists()
    with pytest.raises(SandboxError) as ended:
        workspaces.workspace_for(analyst, dataset.pk)
    assert ended.value.code == "entitlement_ended" and "Use beyond the licence." in ended.value.message


def test_a_withdrawn_dataset_is_not_reached(dataset, entitlement, analyst, operator_owner):
    datasets.dataset_withdraw(dataset=dataset, by=operator_owner, reason="Data replaced.")
    with pytest.raises(SandboxNotFound):
        workspaces.workspace_for(analyst, dataset.pk)


def test_usage_counts_the_contract_s_queries_and_scanned_rows_of_one_local_day(dataset, entitlement, analyst):
    first, second = run(dataset, analyst, SQL), run(dataset, analyst, SQL)
    yesterday = timezone.now() - datetime.timedelta(days=1)
    QueryRun.objects.filter(pk=first.pk).update(created_at=yesterday)
    other = sandbox_entitlement(dataset)  # another buyer's contract counts on its own
    run(dataset, owner_of(other.contract.buyer), SQL)

    today = workspaces.usage(entitlement)
    assert (today.queries, today.scanned_rows) == (1, second.scanned_rows) and second.scanned_rows == 240
    assert (today.query_quota, today.scanned_rows_quota) == (200, 1_000_000_000) and not today.exhausted
    earlier = workspaces.usage(entitlement, timezone.localdate(yesterday), dataset=dataset)
    assert earlier.queries == 1

    by_contract = workspaces.dataset_usage(dataset)
    assert [(item.pk, used.queries) for item, used in by_contract] == [(entitlement.pk, 1), (other.pk, 1)]


def test_a_day_is_the_calendar_day_in_shanghai():
    start, end = workspaces.day_bounds(datetime.date(2026, 12, 1))
    assert start.isoformat() == "2026-12-01T00:00:00+08:00" and end - start == datetime.timedelta(days=1)


# --- saved queries ---------------------------------------------------------------------------------------------


def test_saving_changing_and_deleting_a_query(dataset, entitlement, analyst):
    saved = workspaces.saved_query_save(dataset=dataset, by=analyst, title=" By district ", sql=f" {SQL} ")
    assert (saved.title, saved.sql, saved.organization) == ("By district", SQL, entitlement.contract.buyer)
    colleague = member(entitlement.contract.buyer, "editor")
    assert SavedQuery.objects.restrict(colleague).get() == saved

    changed = workspaces.saved_query_save(dataset=dataset, by=colleague, title="Districts", sql=SQL, saved=saved)
    assert changed.title == "Districts"
    workspaces.saved_query_delete(saved=changed, by=colleague)

    assert not SavedQuery.objects.exists()
    assert actions(saved) == ["savedquery.created", "savedquery.updated", "savedquery.deleted"]


def test_another_organisation_cannot_touch_a_saved_query(dataset, entitlement, analyst):
    saved = workspaces.saved_query_save(dataset=dataset, by=analyst, title="Mine", sql=SQL)
    other = sandbox_entitlement(dataset)
    intruder = owner_of(other.contract.buyer)
    with pytest.raises(SandboxNotFound):
        workspaces.saved_query_save(dataset=dataset, by=intruder, title="Theirs", sql=SQL, saved=saved)
    with pytest.raises(SandboxNotFound):
        workspaces.saved_query_delete(saved=saved, by=intruder)
    assert SavedQuery.objects.get().title == "Mine"


def test_a_viewer_cannot_save_and_a_query_needs_a_title_and_sql(dataset, entitlement, analyst):
    with pytest.raises(PermissionDeniedError):
        workspaces.saved_query_save(dataset=dataset, by=member(entitlement.contract.buyer, "viewer"), title="T",
                                    sql=SQL)  # fmt: skip
    for title, sql, code in (("", SQL, "title_required"), ("T", "  ", "sql_required"), ("T", "x" * 20_001,
                                                                                         "sql_too_long")):  # fmt: skip
        with pytest.raises(SandboxError) as refused:
            workspaces.saved_query_save(dataset=dataset, by=analyst, title=title, sql=sql)
        assert refused.value.code == code
