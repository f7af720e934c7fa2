"""Exports: a result leaves the sandbox only when the dataset's operator approves a buyer's request.

    submitted → approved | rejected

- Request: a member of the buyer organisation that ran the query (role that may add), on a succeeded run, once per
  run, with a purpose, while the contract's sandbox access runs.
- Decision: a manager (owner or administrator) of the operator organisation who is not the requester
  (`own_request`); a rejection carries a reason the buyer reads.
- Approval writes the released file: the run's columns and rows as CSV (UTF-8 with a byte-order mark, so
  spreadsheets read the Chinese text), fingerprinted for the contract by `marketplace.fingerprint` like every file
  the exchange delivers; its SHA-256 and fingerprint id are recorded.
- Download: members of the buyer organisation only (404 for anybody else), each download logged (`ExportDownload`
  and an audit event).
- Mail (after the commit, `sandbox.tasks`): a request goes to the operator's owners and administrators with a link
  to its review page; a decision to the requester (approved: a link to the run; rejected: the reason).
- Tracing: `manage.py trace_leak` considers the contracts of approved exports (`export_leak_candidates`, registered
  in apps.py) and lists their downloads (`export_delivery_log`).
"""

import codecs
import csv
import hashlib
import io
import json
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import grant_to_organization, person_of, require_role, require_verified
from audit.services import audit_record
from core.errors import PermissionDeniedError
from marketplace import fingerprint
from marketplace.models import Contract
from marketplace.services.downloads import DeliveryLogEntry, ended_message, is_running
from registry import encoding as enc
from sandbox.choices import ExportStatus, QueryStatus
from sandbox.models import ExportDownload, ExportRequest, QueryRun
from sandbox.services.common import SandboxConflict, SandboxError, SandboxNotFound, acts_for, require_reason


@transaction.atomic
def export_request(*, run: QueryRun, by: Any, purpose: str) -> ExportRequest:
    """Ask the operator to release a succeeded query's result."""
    runs = QueryRun.objects.restrict(by, "view").select_related("dataset", "entitlement__contract")
    run = runs.select_for_update(of=("self",)).filter(pk=run.pk).first()
    if run is None:
        raise SandboxNotFound()
    require_role(user=by, organization=run.organization, action="add")
    if run.status != QueryStatus.SUCCEEDED:
        raise SandboxConflict(_("Only the result of a query that succeeded can be exported."), code="run_not_succeeded")
    if ExportRequest.objects.filter(run=run).exists():
        raise SandboxConflict(_("An export of this result has already been requested."), code="already_requested")
    if not is_running(run.entitlement):
        raise SandboxError(ended_message(run.entitlement), code="entitlement_ended")
    purpose = (purpose or "").strip()
    if not purpose:
        raise SandboxError(_("Say what the result will be used for: the operator decides on it."),
                           code="purpose_required")  # fmt: skip
    export = ExportRequest.objects.create(run=run, dataset=run.dataset, organization=run.organization,
                                          requested_by=person_of(by), purpose=purpose)  # fmt: skip
    grant_to_organization(export, run.organization)
    grant_to_organization(export, run.dataset.organization)
    audit_record(action="exportrequest.submitted", obj=export, actor=by, organization_id=run.dataset.organization_id,
                 data={"run": run.pk, "contract": run.entitlement.contract.number, "rows": len(run.rows),
                       "purpose": purpose})  # fmt: skip
    _notify(export, "notify_export_requested")
    return export


@transaction.atomic
def export_decide(*, export: ExportRequest, by: Any, approve: bool, reason: str = "") -> ExportRequest:
    """The operator approves (writing the fingerprinted file) or rejects (with a reason) an export request."""
    related = ExportRequest.objects.restrict(by, "view").select_related(
        "dataset__organization", "run__entitlement__contract"
    )
    export = related.select_for_update(of=("self",)).filter(pk=export.pk).first()
    if export is None:
        raise SandboxNotFound()
    if person_of(by).pk == export.requested_by_id:
        raise PermissionDeniedError(_("Somebody else must decide on your own export request."), code="own_request")
    require_role(user=by, organization=export.dataset.organization, action="manage")
    if export.status != ExportStatus.SUBMITTED:
        raise SandboxConflict(_("This export request has already been decided."), code="already_decided")
    export.reason = (reason or "").strip() if approve else require_reason(reason)
    export.decided_by, export.decided_at = person_of(by), timezone.now()
    data = {}
    if approve:
        _release(export)
        data = {"sha256": export.sha256, "fingerprint": export.fingerprint, "file": export.file.name}
    export.transition_to(ExportStatus.APPROVED if approve else ExportStatus.REJECTED, by=by, reason=export.reason,
                         data=data)  # fmt: skip
    _notify(export, "notify_export_decided")
    return export


def _notify(export: ExportRequest, task_name: str) -> None:
    """Queue the mail about the request after the commit (the task reads the request again)."""
    from sandbox import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(export.pk))


def _release(export: ExportRequest) -> None:
    """Write the run's result as the fingerprinted CSV of its contract."""
    number = export.run.entitlement.contract.number
    content = released_csv(export.run.columns, export.run.rows, number=number)
    export.sha256 = hashlib.sha256(content).hexdigest()
    export.fingerprint = fingerprint.fingerprint_id(number)
    export.file.save(f"export-{export.pk}.csv", ContentFile(content), save=False)


def released_csv(columns: list[str], rows: list[list], *, number: str) -> bytes:
    """The result as UTF-8 CSV (with a BOM), every record marked with the contract's fingerprint."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_csv_value(value) for value in row] for row in rows)
    plain = codecs.BOM_UTF8 + text.getvalue().encode("utf-8")
    key = fingerprint.contract_key(number)
    marked = fingerprint.mark_text(io.BytesIO(plain), file_format="csv", encoding=enc.UTF8_BOM, key=key, delimiter=",")
    return b"".join(marked)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@transaction.atomic
def export_file(*, export: ExportRequest, by: Any, ip: str | None = None) -> tuple[str, bytes]:
    """The released CSV for a member of the requesting organisation; every download is logged."""
    export = ExportRequest.objects.select_related("organization").filter(pk=export.pk).first()
    if export is None or not acts_for(by, export.organization):
        raise SandboxNotFound()
    if export.status != ExportStatus.APPROVED:
        raise SandboxConflict(_("Only an approved export can be downloaded."), code="not_approved")
    require_verified(export.organization)
    with export.file.open("rb") as handle:
        content = handle.read()
    download = ExportDownload.objects.create(export=export, user=person_of(by), ip_address=ip)
    audit_record(action="exportrequest.downloaded", obj=export, actor=by, organization_id=export.organization_id,
                 data={"download": download.pk, "sha256": export.sha256, "fingerprint": export.fingerprint,
                       "ip": ip})  # fmt: skip
    return f"sandbox-export-{export.pk}.csv", content


# --- tracing leaked copies (marketplace.services.downloads hooks) ---------------------------------------------------


def export_leak_candidates(*, product_id: int | None = None) -> QuerySet:
    """Ids of the contracts an export was released under (of the product, if given)."""
    approved = ExportRequest.objects.filter(status=ExportStatus.APPROVED)
    if product_id:
        approved = approved.filter(dataset__product_id=product_id)
    return approved.values("run__entitlement__contract_id")


def export_delivery_log(*, contract: Contract) -> list[DeliveryLogEntry]:
    """The downloads of the results released under the contract, newest first."""
    downloads = ExportDownload.objects.filter(export__run__entitlement__contract=contract)
    downloads = downloads.select_related("user", "export").order_by("-created_at", "-pk")
    return [
        DeliveryLogEntry(
            at=download.created_at,
            email=download.user.email,
            ip=download.ip_address,
            what=f"sandbox export #{download.export_id}, sha256 {download.export.sha256}",
        )
        for download in downloads
    ]
