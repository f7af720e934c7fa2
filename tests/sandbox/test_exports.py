"""Exports: a buyer asks, a manager of the operator who did not ask decides, the released CSV is fingerprinted for the
contract and every download is logged."""

import csv
import hashlib
import io
import random

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.choices import Role
from accounts.services import membership_add
from core.errors import PermissionDeniedError
from marketplace import fingerprint
from sandbox.choices import ExportStatus, QueryStatus
from sandbox.models import ExportDownload, ExportRequest
from sandbox.services import exports
from sandbox.services.common import SandboxConflict, SandboxError, SandboxNotFound
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.sandbox import published_dataset, sandbox_entitlement
from tests.sandbox.conftest import actions, run

pytestmark = pytest.mark.django_db

BY_DISTRICT = "SELECT district, count(*) AS residents FROM data GROUP BY district ORDER BY district"
PURPOSE = "District-level credit risk model for the board's review."


@pytest.fixture
def result(dataset, entitlement, analyst):
    done = run(dataset, analyst, BY_DISTRICT)
    assert done.status == QueryStatus.SUCCEEDED
    return done


@pytest.fixture
def export(result, analyst):
    return exports.export_request(run=result, by=analyst, purpose=PURPOSE)


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_a_buyer_asks_for_an_export_and_both_sides_see_it(export, result, analyst, operator_owner):
    assert (export.status, export.purpose, export.requested_by) == (ExportStatus.SUBMITTED, PURPOSE, analyst)
    assert export.dataset == result.dataset and export.organization == result.organization
    assert list(ExportRequest.objects.restrict(analyst)) == [export]
    assert list(ExportRequest.objects.restrict(operator_owner)) == [export]
    assert not ExportRequest.objects.restrict(owner_of(OrganizationFactory())).exists()
    assert actions(export) == ["exportrequest.submitted"]


def test_a_result_is_asked_for_once_only_when_it_succeeded_and_with_a_purpose(dataset, entitlement, analyst, result):
    with pytest.raises(SandboxError) as no_purpose:
        exports.export_request(run=result, by=analyst, purpose="  ")
    assert no_purpose.value.code == "purpose_required"
    exports.export_request(run=result, by=analyst, purpose=PURPOSE)
    with pytest.raises(SandboxConflict) as twice:
        exports.export_request(run=result, by=analyst, purpose=PURPOSE)
    assert twice.value.code == "already_requested"

    refused = run(dataset, analyst, "SELECT id_number FROM data")
    with pytest.raises(SandboxConflict) as not_succeeded:
        exports.export_request(run=refused, by=analyst, purpose=PURPOSE)
    assert not_succeeded.value.code == "run_not_succeeded"


def test_another_organisation_cannot_ask_for_or_decide_an_export(result, export):
    outsider = owner_of(OrganizationFactory())
    with pytest.raises(SandboxNotFound):
        exports.export_request(run=result, by=outsider, purpose=PURPOSE)
    with pytest.raises(SandboxNotFound):
        exports.export_decide(export=export, by=outsider, approve=True)


def test_the_requester_never_approves_their_own_request(export, analyst, operator):
    membership_add(organization=operator, user=analyst, role="admin", by=None)  # a manager of the operator too

    with pytest.raises(PermissionDeniedError) as own:
        exports.export_decide(export=export, by=analyst, approve=True)
    assert own.value.code == "own_request"
    export.refresh_from_db()
    assert export.status == ExportStatus.SUBMITTED and not export.file


def test_only_a_manager_of_the_operator_decides(export, operator_editor, buyer):
    for user in (operator_editor, owner_of(buyer)):
        with pytest.raises(PermissionDeniedError):
            exports.export_decide(export=export, by=user, approve=True)


def test_approval_writes_the_result_as_a_csv_fingerprinted_for_the_contract(export, result, operator_owner):
    approved = exports.export_decide(export=export, by=operator_owner, approve=True, reason="Aggregates only.")

    assert approved.status == ExportStatus.APPROVED and approved.decided_by == operator_owner
    assert approved.decided_at is not None and approved.reason == "Aggregates only."
    content = approved.file.read()
    assert content.startswith(b"\xef\xbb\xbf") and hashlib.sha256(content).hexdigest() == approved.sha256
    number = result.entitlement.contract.number
    assert approved.fingerprint == fingerprint.fingerprint_id(number)
    assert _rows(content) == [result.columns, *[[str(value) for value in row] for row in result.rows]]
    assert actions(approved) == ["exportrequest.submitted", "exportrequest.approved"]


def test_a_released_result_traces_back_to_its_contract(operator, buyer, analyst, operator_owner, tmp_path):
    # given a result of enough distinct rows for the fingerprint to name a contract (>= 25)
    dataset = published_dataset(operator)
    entitlement = sandbox_entitlement(dataset, buyer)
    other = sandbox_entitlement(dataset)
    rows = run(dataset, analyst, "SELECT district, age_band, gender, name, mobile FROM data LIMIT 100")
    export = exports.export_request(run=rows, by=analyst, purpose=PURPOSE)
    approved = exports.export_decide(export=export, by=operator_owner, approve=True)

    leaked = tmp_path / "leak.csv"
    leaked.write_bytes(approved.file.read())
    marks = fingerprint.read_marks(leaked)
    numbers = [entitlement.contract.number, other.contract.number]
    named = [match.number for match in fingerprint.score(marks, numbers) if match.named]
    assert named == [entitlement.contract.number]


def test_a_rejection_needs_a_reason_and_releases_nothing(export, operator_owner, analyst):
    with pytest.raises(SandboxError) as no_reason:
        exports.export_decide(export=export, by=operator_owner, approve=False, reason="")
    assert no_reason.value.code == "reason_required"

    rejected = exports.export_decide(export=export, by=operator_owner, approve=False, reason="Too fine-grained.")
    assert rejected.status == ExportStatus.REJECTED and rejected.reason == "Too fine-grained." and not rejected.file
    with pytest.raises(SandboxConflict) as decided:
        exports.export_decide(export=export, by=operator_owner, approve=True)
    assert decided.value.code == "already_decided"
    with pytest.raises(SandboxConflict) as not_approved:
        exports.export_file(export=export, by=analyst)
    assert not_approved.value.code == "not_approved"


def test_the_buyer_downloads_an_approved_export_and_every_download_is_logged(export, operator_owner, analyst):
    exports.export_decide(export=export, by=operator_owner, approve=True)

    name, content = exports.export_file(export=export, by=analyst, ip="10.0.0.7")
    exports.export_file(export=export, by=owner_of(export.organization), ip="10.0.0.8")

    export.refresh_from_db()
    assert name == f"sandbox-export-{export.pk}.csv" and hashlib.sha256(content).hexdigest() == export.sha256
    downloads = ExportDownload.objects.filter(export=export).order_by("pk")
    assert [(download.user, download.ip_address) for download in downloads] == [
        (analyst, "10.0.0.7"), (owner_of(export.organization), "10.0.0.8"),
    ]  # fmt: skip
    assert actions(export)[-2:] == ["exportrequest.downloaded", "exportrequest.downloaded"]


def test_only_the_requesting_organisation_downloads(export, operator_owner):
    exports.export_decide(export=export, by=operator_owner, approve=True)
    for user in (operator_owner, owner_of(OrganizationFactory())):
        with pytest.raises(SandboxNotFound):
            exports.export_file(export=export, by=user)
    assert not ExportDownload.objects.exists()


# --- mail ----------------------------------------------------------------------------------------------------------


def test_a_request_is_mailed_to_the_operators_managers_with_a_link_to_review_it(
    result, analyst, operator, operator_owner, operator_editor, mailoutbox, django_capture_on_commit_callbacks
):
    admin = member(operator, Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.export_request(run=result, by=analyst, purpose=PURPOSE)

    assert [message.to for message in mailoutbox] == [sorted([operator_owner.email, admin.email])]
    notice = mailoutbox[0]
    assert export.organization.name in notice.subject and export.dataset.title in notice.subject
    assert PURPOSE in notice.body and result.entitlement.contract.number in notice.body
    assert f"{settings.SITE_URL}{reverse('sandbox:export_review', args=[export.pk])}" in notice.body
    assert operator_editor.email not in notice.to and analyst.email not in notice.to


def test_an_approval_is_mailed_to_the_requester_with_a_link_to_the_run(
    export, result, analyst, operator_owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        exports.export_decide(export=export, by=operator_owner, approve=True)

    assert [message.to for message in mailoutbox] == [[analyst.email]]
    assert "approved" in mailoutbox[0].subject and export.dataset.title in mailoutbox[0].subject
    assert f"{settings.SITE_URL}{reverse('sandbox:run_detail', args=[result.pk])}" in mailoutbox[0].body


def test_a_rejection_is_mailed_to_the_requester_with_the_reason(
    export, analyst, operator_owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        exports.export_decide(export=export, by=operator_owner, approve=False, reason="Too fine-grained & <b>.")

    assert [message.to for message in mailoutbox] == [[analyst.email]]
    assert "rejected" in mailoutbox[0].subject and "Too fine-grained & <b>." in mailoutbox[0].body  # plain text


def test_nothing_is_mailed_when_the_request_fails(result, analyst, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(SandboxError):
        exports.export_request(run=result, by=analyst, purpose="")
    assert mailoutbox == []


# --- tracing a leaked copy (manage.py trace_leak) -------------------------------------------------------------------


def _trace(path) -> str:
    out = io.StringIO()
    call_command("trace_leak", str(path), stdout=out)
    return out.getvalue()


def _released(dataset, analyst, operator_owner, sql: str):
    export = exports.export_request(run=run(dataset, analyst, sql), by=analyst, purpose=PURPOSE)
    return exports.export_decide(export=export, by=operator_owner, approve=True)


def test_trace_leak_names_the_contract_a_leaked_export_came_from(dataset, buyer, analyst, operator_owner, tmp_path):
    # given two buyers with released results of the same dataset, the first downloaded twice
    rows_sql = "SELECT district, age_band, gender, name, mobile FROM data ORDER BY mobile LIMIT 60"
    entitlement = sandbox_entitlement(dataset, buyer)
    approved = _released(dataset, analyst, operator_owner, rows_sql)
    exports.export_file(export=approved, by=analyst, ip="10.0.0.7")
    exports.export_file(export=approved, by=analyst, ip="10.0.0.8")
    other_buyer = OrganizationFactory()
    sandbox_entitlement(dataset, other_buyer)
    other = _released(dataset, owner_of(other_buyer), operator_owner, rows_sql)
    # when the first export leaks shuffled, without its header
    records = approved.file.read().decode("utf-8-sig").splitlines(keepends=True)[1:]
    assert len(records) == 60
    random.Random(3).shuffle(records)
    leak = tmp_path / "posted-on-a-forum.csv"
    leak.write_text("".join(records), encoding="utf-8")
    report = _trace(leak)
    # then its contract is named, with the export's downloads; the other buyer's is not
    contract = entitlement.contract
    assert "2 candidate contract(s)" in report and f"Contract {contract.number}" in report
    assert buyer.name in report and "60 of 60 records match (100.0%)" in report
    assert report.count(f"by {analyst.email} from 10.0.0.") == 2 and f"sandbox export #{approved.pk}" in report
    assert other.run.entitlement.contract.number not in report


def test_a_small_aggregate_export_is_reported_as_too_short_to_trace(export, operator_owner, tmp_path):
    approved = exports.export_decide(export=export, by=operator_owner, approve=True)
    leak = tmp_path / "districts.csv"
    leak.write_bytes(approved.file.read())

    with pytest.raises(CommandError, match="Too few rows to trace: the file has 4 distinct marked record"):
        _trace(leak)


def test_a_rejected_export_is_no_candidate(export, operator_owner, tmp_path):
    exports.export_decide(export=export, by=operator_owner, approve=False, reason="No.")
    leak = tmp_path / "leak.csv"
    leak.write_text("district,residents\n")

    with pytest.raises(CommandError, match="No contract has had a file delivered"):
        _trace(leak)
