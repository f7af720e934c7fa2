"""Queries: submitted in a workspace within the quota, run by the engine, every outcome stored and audited."""

import pytest

from audit.models import AuditEvent
from marketplace.services import contracts
from sandbox import engine
from sandbox.choices import QueryStatus
from sandbox.models import QueryRun
from sandbox.services import datasets, queries
from sandbox.services.common import QuotaExceeded, SandboxConflict, SandboxError, SandboxNotFound
from tests.factories import OrganizationFactory
from tests.factories.accounts import owner_of
from tests.factories.marketplace import regulator
from tests.factories.sandbox import SMALL_DISTRICT, published_dataset, sandbox_entitlement
from tests.sandbox.conftest import actions, run

pytestmark = pytest.mark.django_db

BY_DISTRICT = "SELECT district, count(*) AS residents FROM data GROUP BY district ORDER BY district"


def test_a_query_runs_and_keeps_what_disclosure_control_let_through(dataset, entitlement, analyst):
    done = run(dataset, analyst, BY_DISTRICT)

    assert done.status == QueryStatus.SUCCEEDED, done.message
    assert done.columns == ["district", "residents"] and done.aggregated
    assert all(isinstance(count, int) and count % 5 == 0 for _district, count in done.rows)  # rounded
    assert SMALL_DISTRICT not in [district for district, _count in done.rows] and done.suppressed_rows == 1
    assert done.notes  # what was suppressed, and why
    assert done.scanned_rows == dataset.row_count == 240
    assert done.entitlement == entitlement and done.organization == entitlement.contract.buyer
    assert done.duration_ms is not None and done.finished_at is not None
    assert actions(done) == ["queryrun.queued", "queryrun.running", "queryrun.succeeded"]
    queued = AuditEvent.objects.for_object(done).get(action="queryrun.queued")
    assert queued.data["sql"] == BY_DISTRICT and queued.data["contract"] == entitlement.contract.number


def test_a_submitted_query_runs_on_a_worker_after_the_commit(
    dataset, entitlement, analyst, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submitted = queries.query_submit(dataset=dataset, by=analyst, sql=BY_DISTRICT)
    assert submitted.status == QueryStatus.QUEUED
    submitted.refresh_from_db()
    assert submitted.status == QueryStatus.SUCCEEDED


def test_a_query_naming_a_hidden_column_is_refused_with_the_reason(dataset, entitlement, analyst):
    refused = run(dataset, analyst, "SELECT id_number FROM data")

    assert refused.status == QueryStatus.REFUSED
    assert refused.refusal_code and refused.message and refused.rows == []
    assert actions(refused)[-1] == "queryrun.refused"
    event = AuditEvent.objects.for_object(refused).get(action="queryrun.refused")
    assert event.data["code"] == refused.refusal_code


def test_an_engine_failure_fails_the_run_without_showing_its_internals(dataset, entitlement, analyst, monkeypatch):
    def broken(sql, **kwargs):
        raise RuntimeError("segfault near 张伟 13812345678")

    monkeypatch.setattr(engine, "run_query", broken)
    failed = run(dataset, analyst, BY_DISTRICT)

    assert failed.status == QueryStatus.FAILED and "138" not in failed.message and failed.message
    assert actions(failed)[-1] == "queryrun.failed"


def test_a_run_found_running_again_was_cut_off_and_fails(dataset, entitlement, analyst):
    submitted = queries.query_submit(dataset=dataset, by=analyst, sql=BY_DISTRICT)
    submitted.transition_to(QueryStatus.RUNNING)  # the worker died here

    again = queries.query_execute(run_id=submitted.pk)

    assert again.status == QueryStatus.FAILED and actions(again)[-1] == "queryrun.failed"


def test_the_daily_query_quota_of_a_contract(operator, buyer, analyst):
    dataset = published_dataset(operator, daily_query_quota=2)
    entitlement = sandbox_entitlement(dataset, buyer)
    run(dataset, analyst, BY_DISTRICT)
    run(dataset, analyst, "SELECT id_number FROM data")  # refused queries count too

    with pytest.raises(QuotaExceeded) as exceeded:
        queries.query_submit(dataset=dataset, by=analyst, sql=BY_DISTRICT)
    assert exceeded.value.code == "quota_exceeded" and exceeded.value.status == 429
    assert QueryRun.objects.filter(entitlement=entitlement).count() == 2
    other = sandbox_entitlement(dataset)  # another contract has its own quota
    assert run(dataset, owner_of(other.contract.buyer), BY_DISTRICT).status == QueryStatus.SUCCEEDED


def test_the_daily_scanned_rows_quota_of_a_contract(operator, buyer, analyst):
    dataset = published_dataset(operator, daily_scanned_rows_quota=200)
    sandbox_entitlement(dataset, buyer)
    assert run(dataset, analyst, BY_DISTRICT).scanned_rows == 240  # under the quota when it started

    with pytest.raises(QuotaExceeded):
        run(dataset, analyst, BY_DISTRICT)


def test_an_ended_entitlement_runs_no_more_queries(dataset, entitlement, analyst):
    queued = queries.query_submit(dataset=dataset, by=analyst, sql=BY_DISTRICT)
    contracts.contract_terminate(contract=entitlement.contract, by=regulator(), reason="Breach of the licence.")

    with pytest.raises(SandboxError) as ended:
        queries.query_submit(dataset=dataset, by=analyst, sql=BY_DISTRICT)
    assert ended.value.code == "entitlement_ended"
    refused = queries.query_execute(run_id=queued.pk)  # queued before the end: refused when it comes to run
    assert refused.status == QueryStatus.REFUSED and refused.refusal_code == "entitlement_ended"


def test_another_organisation_cannot_query_the_dataset(dataset, entitlement):
    with pytest.raises(SandboxNotFound):
        queries.query_submit(dataset=dataset, by=owner_of(OrganizationFactory()), sql=BY_DISTRICT)


def test_a_dataset_being_rebuilt_takes_no_queries(dataset, entitlement, analyst, operator_owner):
    datasets.dataset_update(dataset=dataset, by=operator_owner, policies={"gender": "hidden"})
    with pytest.raises(SandboxConflict) as refused:
        queries.query_submit(dataset=dataset, by=analyst, sql=BY_DISTRICT)
    assert refused.value.code == "dataset_preparing"


@pytest.mark.parametrize(("sql", "code"), [("", "sql_required"), ("   ", "sql_required"), ("x" * 20_001,
                                                                                         "sql_too_long")])  # fmt: skip
def test_empty_or_overlong_sql_is_refused_before_it_is_queued(dataset, entitlement, analyst, sql, code):
    with pytest.raises(SandboxError) as refused:
        queries.query_submit(dataset=dataset, by=analyst, sql=sql)
    assert refused.value.code == code and not QueryRun.objects.exists()


def test_runs_are_visible_to_the_buyer_and_the_operator_only(dataset, entitlement, analyst, operator_owner):
    done = run(dataset, analyst, BY_DISTRICT)

    assert list(QueryRun.objects.visible_to(analyst)) == [done]
    assert list(QueryRun.objects.visible_to(operator_owner)) == [done]
    assert not QueryRun.objects.visible_to(owner_of(OrganizationFactory())).exists()
