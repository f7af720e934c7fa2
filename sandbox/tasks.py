"""Sandbox work on Celery workers (eagerly in the one-command run): building datasets' Parquet, running queries,
and mail about export requests.

The export services queue the mail after their transaction commits; each task reads the request again, so a notice
describes it as it is when the mail goes out. A mail server that refuses is logged, not retried: the same facts are
on the export's pages. Each notice is written in its recipient's language (core.mail.send_mail_to).
"""

from celery import shared_task
from django.urls import reverse
from django.utils.translation import gettext as _

from core.mail import send_mail_to
from marketplace.tasks.demands import managers
from sandbox.choices import ExportStatus
from sandbox.models import ExportRequest
from sandbox.services import datasets, queries


@shared_task(name="sandbox.prepare_dataset", acks_late=True)
def prepare_dataset(dataset_id: int) -> dict:
    """Build a preparing dataset's Parquet file and publish it (or mark it failed)."""
    dataset = datasets.dataset_prepare(dataset_id=dataset_id)
    return {"status": dataset.status if dataset is not None else "gone"}


@shared_task(name="sandbox.run_query", acks_late=True)
def run_query(run_id: int) -> dict:
    """Run a queued query through the engine and store what disclosure control let through."""
    run = queries.query_execute(run_id=run_id)
    return {"status": run.status if run is not None else "gone"}


def _export(export_id: int) -> ExportRequest | None:
    related = ("dataset__organization", "organization", "requested_by", "decided_by", "run__entitlement__contract")
    return ExportRequest.objects.select_related(*related).filter(pk=export_id).first()


@shared_task(name="sandbox.notify_export_requested")
def notify_export_requested(export_id: int) -> int:
    """Tell the operator's owners and administrators that a result awaits their decision; returns how many were
    mailed."""
    export = _export(export_id)
    if export is None or export.status != ExportStatus.SUBMITTED:
        return 0
    context = {"export": export, "path": reverse("sandbox:export_review", args=[export.pk])}
    return send_mail_to(
        managers(export.dataset.organization_id),
        lambda: (
            _("Databourse: %(buyer)s asks to export a result of %(dataset)s")
            % {"buyer": export.organization.name, "dataset": export.dataset.title}
        ),
        "sandbox/email/export_requested.txt",
        context,
    )


@shared_task(name="sandbox.notify_export_decided")
def notify_export_decided(export_id: int) -> int:
    """Tell the requester the operator's decision: a link to the run when approved, the reason when rejected."""
    export = _export(export_id)
    if export is None or export.status == ExportStatus.SUBMITTED or not export.requested_by.is_active:
        return 0
    approved = export.status == ExportStatus.APPROVED
    context = {"export": export, "approved": approved, "path": reverse("sandbox:run_detail", args=[export.run_id])}
    return send_mail_to(
        [export.requested_by],
        lambda: (_("Databourse: your export of %(dataset)s is approved") if approved
                 else _("Databourse: your export of %(dataset)s is rejected")) % {"dataset": export.dataset.title},
        "sandbox/email/export_decided.txt",
        context,
    )  # fmt: skip
